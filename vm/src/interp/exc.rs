//! Stage 4 (VM), the interpreter.
//! Exceptions at run time: `raise`, matching `except` clauses, `with` exits, and tracebacks shaped
//! like CPython's.

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::carets::Printer;
use crate::interp::Interp;
use crate::object::{type_name, types, Class, Instance, TraceEntry, TypeKind};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

impl Interp {
    /// Does the exception match an `except` clause's type (a class or a tuple of classes)?
    pub(crate) fn exception_matches(&mut self, exc: &Value, typ: &Value) -> PyResult<bool> {
        let Value::Instance(inst) = exc else {
            return Ok(false);
        };
        match typ {
            Value::Class(c) if c.kind == TypeKind::Exception => Ok(inst.class.is_subclass(c)),
            // Only a flat tuple of classes, as in CPython (a nested tuple is a `TypeError`).
            Value::Tuple(t) if !t.items.iter().any(|i| matches!(i, Value::Tuple(_))) => {
                for item in t.items.iter() {
                    if self.exception_matches(exc, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => Err(err!(
                TypeError,
                "catching classes that do not inherit from BaseException is not allowed"
            )),
        }
    }

    pub(crate) fn as_exception(&mut self, v: Value) -> PyResult<PyErr> {
        match PyErr::from_instance(&v) {
            Some(e) => Ok(e),
            None => Err(err!(TypeError, "exceptions must derive from BaseException")),
        }
    }

    /// Turn `raise X` / `raise X from Y` / bare `raise` into the error to propagate.
    pub(crate) fn raise(&mut self, exc: Option<Value>, cause: Option<Value>) -> PyResult<PyErr> {
        let Some(exc) = exc else {
            return match self.handled_exc() {
                Some(v) => {
                    self.reraising = true;
                    self.as_exception(v)
                }
                None => Err(err!(RuntimeError, "No active exception to reraise")),
            };
        };
        let e = self.exception_from(exc)?;
        // Chained here too, not only when the first frame is added: an exception given a
        // traceback (`with_traceback`) has frames already.
        self.chain_context(&e, self.cur_exc.clone());
        if let Some(cause) = cause {
            let cause = match cause {
                Value::None => None,
                other => Some(self.exception_from(other)?.value()),
            };
            if let Some(d) = e.exc.exc() {
                let mut d = d.lock();
                d.cause = cause;
                d.suppress_context = true;
            }
        }
        Ok(e)
    }

    /// An exception instance from `raise`'s operand: an instance, or a class to instantiate.
    fn exception_from(&mut self, v: Value) -> PyResult<PyErr> {
        match &v {
            Value::Class(c) if c.kind == TypeKind::Exception => {
                let inst = self.instantiate(c, &[], &[])?;
                self.as_exception(inst)
            }
            Value::Instance(i) if i.class.kind == TypeKind::Exception => self.as_exception(v),
            _ => Err(err!(TypeError, "exceptions must derive from BaseException")),
        }
    }

    /// Record `ctx` as the implicit `__context__` of `new` (the exception being handled when it was raised).
    pub(crate) fn chain_context(&self, new: &PyErr, ctx: Option<Value>) {
        let Some(ctx) = ctx else { return };
        if ctx.is(&new.value()) {
            return;
        }
        if let Some(d) = new.exc.exc() {
            let mut d = d.lock();
            if d.context.is_none() {
                d.context = Some(ctx);
            }
        }
    }

    /// `BeforeWith`: the bound `__exit__` and the result of `__enter__()`.
    pub(crate) fn before_with(&mut self, mgr: &Value) -> PyResult<(Value, Value)> {
        let cls = crate::object::class_of(mgr);
        use crate::interp::special::lookup_special_on;
        let (Some(enter), Some(exit)) = (
            lookup_special_on(&cls, "__enter__"),
            lookup_special_on(&cls, "__exit__"),
        ) else {
            return Err(err!(
                TypeError,
                "'{}' object does not support the context manager protocol",
                type_name(mgr)
            ));
        };
        let exit = self.bind(mgr.clone(), exit);
        let entered = self.call(&enter, std::slice::from_ref(mgr))?;
        Ok((exit, entered))
    }

    /// `WithExceptStart`: call `exit(type, exc, traceback)`.
    pub(crate) fn with_exit_exc(&mut self, exit: &Value, exc: &Value) -> PyResult<Value> {
        let typ = match exc {
            Value::Instance(i) => Value::Class(i.class.get().clone()),
            _ => Value::None,
        };
        let tb = match exc {
            Value::Instance(i) => traceback_value(i),
            _ => Value::None,
        };
        self.call(exit, &[typ, exc.clone(), tb])
    }

    /// The full report CPython prints for an uncaught exception, chained causes and contexts first.
    pub fn format_exception(&mut self, err: &PyErr) -> String {
        let mut out = String::new();
        self.format_chain(&err.value(), &mut out, &mut PrintCtx::default());
        out
    }

    /// The report as `traceback.format_exception(exc, value, tb, limit, chain)` makes it: `tb`
    /// (a traceback chain, or None) instead of the exception's own frames, each traceback cut
    /// to its first `limit` frames (the last `-limit` when negative), causes and contexts left
    /// out unless `chain`.
    pub fn format_exception_with(
        &mut self,
        err: &PyErr,
        tb: Option<&Value>,
        limit: Option<i64>,
        chain: bool,
    ) -> PyResult<String> {
        let mut ctx = PrintCtx {
            limit,
            no_chain: !chain,
            no_suggestion: true,
            ..PrintCtx::default()
        };
        if let Some(tb) = tb {
            ctx.top_frames = Some(traceback_entries(tb)?);
        }
        let mut out = String::new();
        self.format_chain(&err.value(), &mut out, &mut ctx);
        Ok(out)
    }

    /// The report CPython's default `sys.unraisablehook` writes after its head line
    /// (`write_unraisable_exc_file`): the exception's own traceback (no cause or context, which
    /// CPython's hook does not follow), then `module.Qualname: message`, the module left out for
    /// `builtins` and `__main__`, the ": " written even for an empty message, and no notes.
    pub fn format_unraisable(&mut self, err: &PyErr) -> String {
        let mut out = String::new();
        let tb = err
            .exc
            .exc()
            .map(|d| d.lock().traceback.clone())
            .unwrap_or_default();
        if !tb.is_empty() {
            out.push_str("Traceback (most recent call last):\n");
            self.format_entries(&tb, &mut out, Printer::Interpreter);
        }
        let cls = err.exc.class.get();
        if cls.builtin {
            out.push_str(&cls.name());
        } else {
            let module = cls.module_name();
            if !matches!(module.as_ref(), "builtins" | "__main__") {
                out.push_str(&module);
                out.push('.');
            }
            out.push_str(&cls.qualname());
        }
        let msg = match self.str_of(&err.value()) {
            Ok(s) => s,
            Err(_) => "<exception str() failed>".to_string(),
        };
        out.push_str(&format!(": {msg}\n"));
        out
    }

    /// The last line of the report, `ValueError: message` (`traceback.format_exception_only`).
    pub fn exception_only(&mut self, err: &PyErr) -> String {
        let exc = err.value();
        let mut line = self.exception_line(&exc, &err.exc.class.get(), false);
        line.push('\n');
        line
    }

    fn format_chain(&mut self, exc: &Value, out: &mut String, ctx: &mut PrintCtx) {
        // The chain, outermost first: each exception with the message that leads to the next.
        let mut chain: Vec<(Option<&str>, Value)> = Vec::new();
        let mut cur = Some(exc.clone());
        while let Some(e) = cur.take() {
            let Value::Instance(inst) = &e else { break };
            let Some(data) = inst.exc() else { break };
            let (cause, context, suppress) = {
                let d = data.lock();
                (d.cause.clone(), d.context.clone(), d.suppress_context)
            };
            let link = match (cause, context) {
                (Some(c), _) => Some((CAUSE_MESSAGE, c)),
                (None, Some(c)) if !suppress => Some((CONTEXT_MESSAGE, c)),
                _ => None,
            };
            // A chain may loop (`e1.__context__ = e2; e2.__context__ = e1`): as CPython, it stops
            // before an exception already in it.
            let seen = |c: &Value| c.is(&e) || chain.iter().any(|(_, x)| x.is(c));
            let link = link.filter(|(_, c)| !ctx.no_chain && !seen(c));
            cur = link.as_ref().map(|(_, c)| c.clone());
            chain.push((link.map(|(m, _)| m), e));
        }
        // Printed innermost cause first, each link's message before the exception it leads to.
        let top = ctx.top_frames.take();
        for (i, (msg, e)) in chain.iter().enumerate().rev() {
            let Value::Instance(inst) = e else { continue };
            if let Some(m) = msg {
                ctx.emit(m, '|', out);
            }
            let mut tb = match (&top, i) {
                (Some(frames), 0) => frames.clone(),
                _ => inst
                    .exc()
                    .map(|d| d.lock().traceback.clone())
                    .unwrap_or_default(),
            };
            // Innermost first: a positive limit keeps the outermost frames, a negative one the
            // innermost.
            match ctx.limit {
                Some(n) if n >= 0 => {
                    let keep = usize::try_from(n).unwrap_or(usize::MAX).min(tb.len());
                    tb.drain(..tb.len() - keep);
                }
                Some(n) => tb.truncate(usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX)),
                None => {}
            }
            if crate::interp::excgroup::is_group(e) {
                self.format_group(e, &tb, out, ctx);
            } else {
                if !tb.is_empty() {
                    ctx.emit("Traceback (most recent call last):\n", '|', out);
                    let mut entries = String::new();
                    self.format_entries(&tb, &mut entries, ctx.printer());
                    ctx.emit(&entries, '|', out);
                }
                let line = self.exception_line(e, &inst.class.get(), !ctx.no_suggestion);
                ctx.emit(&format!("{line}\n"), '|', out);
            }
        }
    }

    /// An exception group as CPython's `traceback` draws it: its own traceback and line, then
    /// each sub-exception in a numbered box, nested groups indented (at most 15 shown per group
    /// and 10 levels deep, as CPython's defaults).
    fn format_group(
        &mut self,
        eg: &Value,
        tb: &[TraceEntry],
        out: &mut String,
        ctx: &mut PrintCtx,
    ) {
        const MAX_WIDTH: usize = 15;
        const MAX_DEPTH: usize = 10;
        if ctx.depth > MAX_DEPTH {
            ctx.emit(&format!("... (max_group_depth is {MAX_DEPTH})\n"), '|', out);
            return;
        }
        let toplevel = ctx.depth == 0;
        if toplevel {
            ctx.depth += 1;
        }
        if !tb.is_empty() {
            let margin = if toplevel { '+' } else { '|' };
            ctx.emit(
                "Exception Group Traceback (most recent call last):\n",
                margin,
                out,
            );
            let mut entries = String::new();
            self.format_entries(tb, &mut entries, ctx.printer());
            ctx.emit(&entries, '|', out);
        }
        if let Value::Instance(inst) = eg {
            let line = self.exception_line(eg, &inst.class.get(), !ctx.no_suggestion);
            ctx.emit(&format!("{line}\n"), '|', out);
        }
        let excs = crate::interp::excgroup::group_exceptions(eg);
        let n = excs.len().min(MAX_WIDTH + 1);
        ctx.need_close = false;
        for i in 0..n {
            let last = i + 1 == n;
            if last {
                // The closing line may be drawn by a nested group instead.
                ctx.need_close = true;
            }
            let truncated = i >= MAX_WIDTH;
            let title = if truncated {
                "...".to_string()
            } else {
                (i + 1).to_string()
            };
            let corner = if i == 0 { "+-" } else { "  " };
            out.push_str(&format!(
                "{}{corner}+---------------- {title} ----------------\n",
                ctx.indent()
            ));
            ctx.depth += 1;
            if truncated {
                let remaining = excs.len() - MAX_WIDTH;
                let s = if remaining > 1 { "s" } else { "" };
                ctx.emit(&format!("and {remaining} more exception{s}\n"), '|', out);
            } else {
                self.format_chain(&excs[i], out, ctx);
            }
            if last && ctx.need_close {
                out.push_str(&format!(
                    "{}+------------------------------------\n",
                    ctx.indent()
                ));
                ctx.need_close = false;
            }
            ctx.depth -= 1;
        }
        if toplevel {
            ctx.depth = 0;
        }
    }

    /// The frames of `tb` as `printer` lists them (the two differ only on source lines with
    /// trailing whitespace, see `carets::Printer`).
    fn format_entries(&self, tb: &[TraceEntry], out: &mut String, printer: Printer) {
        // Innermost first in `tb`; CPython prints outermost first and folds long repeats.
        let mut last: Option<&TraceEntry> = None;
        let mut repeats = 0usize;
        let flush = |out: &mut String, repeats: usize| {
            if repeats > 3 {
                let n = repeats - 3;
                let s = if n == 1 { "" } else { "s" };
                out.push_str(&format!("  [Previous line repeated {n} more time{s}]\n"));
            }
        };
        for e in tb.iter().rev() {
            let same = last
                .is_some_and(|l| l.filename == e.filename && l.line == e.line && l.func == e.func);
            if same {
                repeats += 1;
                if repeats > 3 {
                    continue;
                }
            } else {
                flush(out, repeats);
                repeats = 1;
            }
            last = Some(e);
            out.push_str(&format!(
                "  File \"{}\", line {}, in {}\n",
                e.filename, e.line, e.func
            ));
            let src = match printer {
                Printer::Interpreter => self.printed_source_line(&e.filename, e.line),
                Printer::Module | Printer::ModuleBareLine => self.source_line(&e.filename, e.line),
            };
            if let Some(src) = src {
                out.push_str(&format!("    {src}\n"));
                if let Some(markers) = self.marker_line(e, printer) {
                    out.push_str(&markers);
                    out.push('\n');
                }
            }
        }
        flush(out, repeats);
    }

    /// `ValueError: message`, with the module prefix CPython shows for classes of imported modules
    /// and, if `suggest`, the `Did you mean` of a NameError or AttributeError (CPython 3.11 adds
    /// it in its own report of an exception, not in the `traceback` module's).
    fn exception_line(&mut self, exc: &Value, cls: &Ref<Class>, suggest: bool) -> String {
        // CPython prefixes the module name except for `builtins` and `__main__`, and names
        // the class by its qualified name (`Outer.Inner` for a class nested in another).
        let module = cls.module_name();
        let name = if cls.builtin {
            cls.name().to_string()
        } else if matches!(module.as_ref(), "builtins" | "__main__") {
            cls.qualname().to_string()
        } else {
            format!("{module}.{}", cls.qualname())
        };
        // A located `SyntaxError` shows its line and carets, then only its `msg`.
        let located = match exc {
            Value::Instance(i) => crate::interp::syntaxerr::located_block(i),
            _ => None,
        };
        let notes = self.notes_lines(exc);
        if let Some((block, msg)) = located {
            return format!("{block}{name}: {msg}{notes}");
        }
        let msg = match self.str_of(exc) {
            Ok(s) => s,
            Err(_) => "<exception str() failed>".to_string(),
        };
        let hint = match suggest.then(|| self.suggestion(exc)).flatten() {
            Some(s) => format!(". Did you mean: '{s}'?"),
            None => String::new(),
        };
        if msg.is_empty() {
            format!("{name}{hint}{notes}")
        } else {
            format!("{name}: {msg}{hint}{notes}")
        }
    }

    /// The notes an exception carries (`add_note`, PEP 678), each on lines of its own after
    /// the exception's line, as CPython prints them: every member of a list or tuple
    /// `__notes__` by its `str()`, any other `__notes__` but None by its `repr()`.
    fn notes_lines(&mut self, exc: &Value) -> String {
        let Value::Instance(_) = exc else {
            return String::new();
        };
        let Ok(notes) = self.getattr(exc, "__notes__") else {
            return String::new();
        };
        let mut out = String::new();
        let members = match &notes {
            Value::None => return out,
            Value::List(l) => l.snapshot(),
            Value::Tuple(t) => t.items.to_vec(),
            other => {
                let text = self
                    .repr(other)
                    .unwrap_or_else(|_| "<__notes__ repr() failed>".to_string());
                out.push('\n');
                out.push_str(&text);
                return out;
            }
        };
        for note in &members {
            let text = match note {
                Value::Str(s) => s.as_str().to_string(),
                other => self
                    .str_of(other)
                    .unwrap_or_else(|_| "<note str() failed>".to_string()),
            };
            out.push('\n');
            out.push_str(&text);
        }
        out
    }

    /// The `~~^^` line under line `line` of `filename` for the source range `span` (`lookup`: a
    /// failed method lookup, underlined as the interpreter does), as `traceback`'s summaries
    /// draw it; None when nothing would be drawn.
    pub(crate) fn markers_at(
        &self,
        filename: &str,
        line: u32,
        span: (u32, u32),
        lookup: bool,
    ) -> Option<String> {
        self.marker_line(
            &TraceEntry {
                filename: Arc::from(filename),
                func: Arc::from(""),
                line,
                span,
                lookup,
                locals: None,
            },
            Printer::Module,
        )
    }

    /// Where the source range `span` of `filename` ends and its columns: `(end line, start
    /// column, end column)`, columns counted in UTF-8 bytes from the start of their line (as
    /// CPython's `co_positions`); None for an unknown range or source.
    pub(crate) fn span_columns(
        &self,
        filename: &str,
        span: (u32, u32),
        lookup: bool,
    ) -> Option<(u32, u32, u32)> {
        if span == (0, 0) {
            return None;
        }
        let src = self.source_text(filename)?;
        let src = &src;
        let span = if lookup {
            crate::interp::carets::callee_span(src, span)
        } else {
            span
        };
        let (start, end) = (span.0 as usize, span.1 as usize);
        let before = |at: usize| src.get(..at);
        let line_start = |at: usize| before(at).map(|b| b.rfind('\n').map_or(0, |i| i + 1));
        let end_line = before(end)?.matches('\n').count() + 1;
        let col = start - line_start(start)?;
        let end_col = end - line_start(end)?;
        Some((end_line as u32, col as u32, end_col as u32))
    }

    /// `code.co_positions()` of an instruction sequence: for instruction `i` (its line
    /// `lines[i]`, its source range `spans[i]` in `filename`) `[line, end line, column, end
    /// column]`, the columns counted as [`Self::span_columns`] counts them; the end line is the
    /// line and the columns None where the range or the source is unknown. The source's line
    /// starts are found once, not for each instruction.
    pub(crate) fn span_positions(
        &self,
        filename: &str,
        lines: &[u32],
        spans: &[(u32, u32)],
    ) -> Vec<[Option<u32>; 4]> {
        let src = self.source_text(filename);
        let starts: Vec<usize> = match &src {
            Some(text) => std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            None => Vec::new(),
        };
        let locate = |at: usize| -> Option<(u32, u32)> {
            if at > src.as_ref()?.len() {
                return None;
            }
            let row = starts.partition_point(|&s| s <= at).checked_sub(1)?;
            Some((row as u32 + 1, (at - starts[row]) as u32))
        };
        lines
            .iter()
            .enumerate()
            .map(|(i, &line)| {
                let span = spans.get(i).copied().unwrap_or((0, 0));
                let ends = (span != (0, 0) && span.0 <= span.1)
                    .then(|| Some((locate(span.0 as usize)?, locate(span.1 as usize)?)))
                    .flatten();
                match ends {
                    Some(((_, col), (end_line, end_col))) => {
                        [Some(line), Some(end_line), Some(col), Some(end_col)]
                    }
                    None => [Some(line), Some(line), None, None],
                }
            })
            .collect()
    }

    /// The `~~^^` line under a frame's source line (`carets.rs`).
    fn marker_line(&self, e: &TraceEntry, printer: Printer) -> Option<String> {
        let src = self.source_text(&e.filename)?;
        let span = if e.lookup {
            crate::interp::carets::callee_span(&src, e.span)
        } else {
            e.span
        };
        let printer = if printer == Printer::Module && self.vm.is_bare_source(&e.filename) {
            Printer::ModuleBareLine
        } else {
            printer
        };
        crate::interp::carets::marker_line(&src, e.line, span, printer)
    }

    /// The text of `filename` for a traceback: a source the VM compiled, else the file on disk
    /// (as CPython's `linecache` reads it: code compiled from text under a file's name, as
    /// `exec(compile(text, path, 'exec'))` does, shows that file's lines), kept once read.
    fn source_text(&self, filename: &str) -> Option<Arc<str>> {
        {
            let sources = self.vm.sources.lock();
            if let Some((_, text)) = sources.iter().find(|(f, _)| f.as_ref() == filename) {
                return Some(text.clone());
            }
        }
        if filename.is_empty() || filename.starts_with('<') {
            return None;
        }
        let bytes = std::fs::read(filename).ok()?;
        let text: Arc<str> = Arc::from(String::from_utf8_lossy(&bytes).as_ref());
        self.vm.add_source(filename, &text);
        Some(text)
    }

    /// Line `line` of `filename` as the interpreter's traceback printer shows it: its indent
    /// (spaces, tabs, form feeds) removed and its trailing whitespace kept, as `traceback.c`
    /// prints it; None for a blank or missing line.
    fn printed_source_line(&self, filename: &str, line: u32) -> Option<String> {
        if crate::interp::finalize::shutting_down() {
            return None;
        }
        let src = self.source_text(filename)?;
        let text = src.lines().nth(line.checked_sub(1)? as usize)?;
        if text.trim().is_empty() {
            return None;
        }
        let lead = crate::interp::carets::interpreter_indent(text);
        Some(text.chars().skip(lead).collect())
    }

    /// Line `line` of `filename` stripped on both sides, as the `warnings` and `traceback`
    /// modules show it; None for a blank or missing line.
    pub(crate) fn source_line(&self, filename: &str, line: u32) -> Option<String> {
        // At exit, once the modules are gone, CPython's traceback printer cannot import `io`
        // to read the file: a `__del__`'s traceback then shows no source lines.
        if crate::interp::finalize::shutting_down() {
            return None;
        }
        let src = self.source_text(filename)?;
        let text = src.lines().nth(line.checked_sub(1)? as usize)?;
        let t = text.trim();
        if t.is_empty() {
            None
        } else {
            Some(t.to_string())
        }
    }
}

/// `exc.__traceback__`: a chain of `traceback` objects, outermost frame first, each with
/// `tb_lineno`, `tb_next` and `tb_frame` (a frame object naming the file and function; None
/// when the exception has not passed through a frame yet).
pub fn traceback_value(exc: &Instance) -> Value {
    let Some(data) = exc.exc() else {
        return Value::None;
    };
    let (entries, cached) = {
        let d = data.lock();
        (d.traceback.clone(), d.tb_object.clone())
    };
    // The objects made last time stay the inner part of the chain: only the frames the
    // exception has passed through since then (the outer ones, at the end) are new.
    let (mut next, known) = match cached.map(|b| *b) {
        Some((n, tb)) if n == entries.len() => return tb,
        Some((n, tb)) if n < entries.len() => (tb, n),
        _ => (Value::None, 0),
    };
    let new = &entries[known..];
    // `new` is innermost first. Each frame object's `f_back` is the one a level out (the
    // outermost's is None: minivm does not know its caller here).
    let mut frames = Vec::with_capacity(new.len());
    let mut back = Value::None;
    for e in new.iter().rev() {
        back = crate::builtins::frame_object(&e.filename, &e.func, e.line, back, e.locals.as_ref());
        frames.push(back.clone());
    }
    // The chain is built from the inside out.
    for (e, frame) in new.iter().zip(frames.into_iter().rev()) {
        let tb = Instance::new(types().traceback.clone());
        {
            let mut d = tb.dict.lock();
            d.insert(Arc::from("tb_frame"), frame);
            d.insert(Arc::from("tb_lineno"), Value::Int(i64::from(e.line)));
            d.insert(Arc::from("tb_next"), next);
            // Kept so that a traceback handed back (`with_traceback`) keeps its markers.
            d.insert(
                Arc::from("_minivm_span"),
                Value::tuple(vec![
                    Value::Int(i64::from(e.span.0)),
                    Value::Int(i64::from(e.span.1)),
                    Value::Bool(e.lookup),
                ]),
            );
        }
        next = Value::Instance(Ref::new(tb));
    }
    data.lock().tb_object = Some(Box::new((entries.len(), next.clone())));
    next
}

/// The cell a traceback entry of `frame` keeps for `tb_frame.f_locals`. A function frame's
/// variables are only known when it finishes: the frame keeps the cell (`Frame::traced`, one
/// for all the entries it gets), which its `reset` fills if a traceback still holds it. An
/// exception pays a cell once per function frame it passes through. A module frame's
/// variables are its globals, a class body's its namespace: known now.
pub(crate) fn traced_locals(
    frame: &mut crate::interp::frame::Frame,
) -> Ref<crate::object::CellObj> {
    use crate::object::CellObj;
    if !crate::builtins::is_function(frame) {
        return Ref::new(CellObj::new(crate::builtins::frame_locals(frame)));
    }
    if let Some(cell) = &frame.traced {
        return cell.clone();
    }
    let cell = Ref::new(CellObj::new(Value::Undefined));
    frame.traced = Some(cell.clone());
    frame.set_extras();
    cell
}

/// `exc.__traceback__ = tb` (and `exc.with_traceback(tb)`): the frames of a traceback chain
/// `traceback_value` made (or None) become the exception's; raising it again adds the frames
/// it passes through, as CPython does.
pub fn set_traceback(exc: &Instance, tb: &Value) -> PyResult<()> {
    let entries = traceback_entries(tb)?;
    if let Some(data) = exc.exc() {
        let mut d = data.lock();
        // The chain given is the one `__traceback__` gives back.
        d.tb_object = Some(Box::new((entries.len(), tb.clone())));
        d.traceback = entries;
    }
    Ok(())
}

/// The frames of a traceback chain (or None), innermost first as exceptions keep them.
fn traceback_entries(tb: &Value) -> PyResult<Vec<TraceEntry>> {
    let mut entries = Vec::new();
    let mut cur = tb.clone();
    while let Value::Instance(t) = &cur {
        if !Ref::ptr_eq(&t.class.get(), &types().traceback) {
            break;
        }
        let (entry, next) = {
            let d = t.dict.lock();
            let field = |k: &str| d.get(k).cloned().unwrap_or(Value::None);
            (
                traceback_entry(
                    &field("tb_frame"),
                    &field("tb_lineno"),
                    &field("_minivm_span"),
                ),
                field("tb_next"),
            )
        };
        entries.push(entry);
        cur = next;
    }
    if !cur.is_none() {
        return Err(err!(TypeError, "__traceback__ must be a traceback or None"));
    }
    // The chain is outermost first; the exception keeps its frames innermost first.
    entries.reverse();
    Ok(entries)
}

/// One frame of a traceback object, read back from its `tb_frame` and `tb_lineno`.
fn traceback_entry(frame: &Value, line: &Value, span: &Value) -> TraceEntry {
    let text = |v: Option<Value>| match v {
        Some(Value::Str(s)) => Arc::from(s.as_str()),
        _ => Arc::from("?"),
    };
    let code = instance_attr(frame, "f_code");
    // `(start, end, lookup)` as `traceback_value` stored it; anything else: no markers.
    let (span, lookup) = match span {
        Value::Tuple(t) => match &t.items[..] {
            [Value::Int(a), Value::Int(b), l] => (
                (
                    u32::try_from(*a).unwrap_or(0),
                    u32::try_from(*b).unwrap_or(0),
                ),
                matches!(l, Value::Bool(true)),
            ),
            _ => ((0, 0), false),
        },
        _ => ((0, 0), false),
    };
    TraceEntry {
        filename: text(code.as_ref().and_then(|c| instance_attr(c, "co_filename"))),
        func: text(code.as_ref().and_then(|c| instance_attr(c, "co_name"))),
        line: match line {
            Value::Int(n) => u32::try_from(*n).unwrap_or(0),
            _ => 0,
        },
        span,
        lookup,
        locals: crate::builtins::frame_locals_cell(frame),
    }
}

fn instance_attr(v: &Value, name: &str) -> Option<Value> {
    match v {
        Value::Instance(i) => i.dict.lock().get(name).cloned(),
        _ => None,
    }
}

const CAUSE_MESSAGE: &str =
    "\nThe above exception was the direct cause of the following exception:\n\n";
const CONTEXT_MESSAGE: &str =
    "\nDuring handling of the above exception, another exception occurred:\n\n";

/// Where the traceback printer is in a tree of exception groups (`traceback.py`'s
/// `_ExceptionPrintContext`): inside a group every line is indented and gets a `| ` margin.
#[derive(Default)]
pub(crate) struct PrintCtx {
    depth: usize,
    need_close: bool,
    /// `traceback`'s `limit` argument (see `format_exception_with`).
    limit: Option<i64>,
    /// `chain=False`: the exception alone, without its cause or context.
    no_chain: bool,
    /// Frames given for the outermost exception (`tb`), innermost first.
    top_frames: Option<Vec<TraceEntry>>,
    /// The `traceback` module's report: no `Did you mean` hints (see `exception_line`).
    no_suggestion: bool,
}

impl PrintCtx {
    /// The `traceback` module's report (see `no_suggestion`) or the interpreter's own.
    fn printer(&self) -> Printer {
        if self.no_suggestion {
            Printer::Module
        } else {
            Printer::Interpreter
        }
    }

    fn indent(&self) -> String {
        " ".repeat(2 * self.depth)
    }

    /// Append `text` with every line (empty ones too) prefixed by the indentation and margin.
    fn emit(&self, text: &str, margin: char, out: &mut String) {
        let mut prefix = self.indent();
        if self.depth > 0 {
            prefix.push(margin);
            prefix.push(' ');
        }
        for line in text.split_inclusive('\n') {
            out.push_str(&prefix);
            out.push_str(line);
        }
    }
}
