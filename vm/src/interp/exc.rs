//! Exceptions at run time: `raise`, matching `except` clauses, `with` exits, and tracebacks shaped
//! like CPython's.

use std::sync::Arc;

use crate::heap::Ref;
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
            return match self.cur_exc.clone() {
                Some(v) => {
                    self.reraising = true;
                    self.as_exception(v)
                }
                None => Err(err!(RuntimeError, "No active exception to reraise")),
            };
        };
        let e = self.exception_from(exc)?;
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
        let (Some(enter), Some(exit)) = (cls.lookup("__enter__"), cls.lookup("__exit__")) else {
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
            Value::Instance(i) => Value::Class(i.class.clone()),
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
        self.format_chain(&err.value(), &mut out, 0);
        out
    }

    /// The last line of the report, `ValueError: message` (`traceback.format_exception_only`).
    pub fn exception_only(&mut self, err: &PyErr) -> String {
        let exc = err.value();
        let mut line = self.exception_line(&exc, &err.exc.class);
        line.push('\n');
        line
    }

    fn format_chain(&mut self, exc: &Value, out: &mut String, depth: usize) {
        let Value::Instance(inst) = exc else { return };
        let Some(data) = inst.exc() else { return };
        let (cause, context, suppress, tb) = {
            let d = data.lock();
            (
                d.cause.clone(),
                d.context.clone(),
                d.suppress_context,
                d.traceback.clone(),
            )
        };
        if depth < 20 {
            if let Some(c) = cause {
                self.format_chain(&c, out, depth + 1);
                out.push_str(
                    "\nThe above exception was the direct cause of the following exception:\n\n",
                );
            } else if let (Some(c), false) = (context, suppress) {
                self.format_chain(&c, out, depth + 1);
                out.push_str(
                    "\nDuring handling of the above exception, another exception occurred:\n\n",
                );
            }
        }
        if !tb.is_empty() {
            out.push_str("Traceback (most recent call last):\n");
            self.format_entries(&tb, out);
        }
        out.push_str(&self.exception_line(exc, &inst.class));
        out.push('\n');
    }

    fn format_entries(&self, tb: &[TraceEntry], out: &mut String) {
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
            if let Some(src) = self.source_line(&e.filename, e.line) {
                out.push_str(&format!("    {src}\n"));
            }
        }
        flush(out, repeats);
    }

    /// `ValueError: message`, with the module prefix CPython shows for classes of imported modules.
    fn exception_line(&mut self, exc: &Value, cls: &Ref<Class>) -> String {
        // CPython prefixes the module name except for `builtins` and `__main__`.
        let name = if cls.builtin || matches!(cls.module.as_ref(), "builtins" | "__main__") {
            cls.name.to_string()
        } else {
            format!("{}.{}", cls.module, cls.qualname)
        };
        let msg = match self.str_of(exc) {
            Ok(s) => s,
            Err(_) => "<exception str() failed>".to_string(),
        };
        let hint = match self.suggestion(exc) {
            Some(s) => format!(". Did you mean: '{s}'?"),
            None => String::new(),
        };
        if msg.is_empty() {
            format!("{name}{hint}")
        } else {
            format!("{name}: {msg}{hint}")
        }
    }

    pub(crate) fn source_line(&self, filename: &str, line: u32) -> Option<String> {
        let sources = self.vm.sources.lock();
        let src = sources.iter().find(|(f, _)| f.as_ref() == filename)?;
        let text = src.1.lines().nth(line.checked_sub(1)? as usize)?;
        let t = text.trim();
        if t.is_empty() {
            None
        } else {
            Some(t.to_string())
        }
    }
}

/// `exc.__traceback__`: a chain of `traceback` objects, outermost frame first, each with
/// `tb_lineno` and `tb_next` (None when the exception has not passed through a frame yet).
pub fn traceback_value(exc: &Instance) -> Value {
    let Some(data) = exc.exc() else {
        return Value::None;
    };
    let entries = data.lock().traceback.clone();
    // `entries` is innermost first: build the chain from the inside out.
    let mut next = Value::None;
    for e in &entries {
        let tb = Instance::new(types().traceback.clone());
        {
            let mut d = tb.dict.lock();
            d.insert(Arc::from("tb_lineno"), Value::Int(i64::from(e.line)));
            d.insert(Arc::from("tb_next"), next);
        }
        next = Value::Instance(Ref::new(tb));
    }
    next
}
