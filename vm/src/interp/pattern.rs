//! Stage 4 (patterns): the structural tests of the `match` statement (`Op::MatchSequence` ..), as CPython's
//! `MATCH_SEQUENCE`, `MATCH_MAPPING`, `GET_LEN`, `MATCH_KEYS`, `MATCH_CLASS` and
//! `COPY_DICT_WITHOUT_KEYS` do them. `compiler/src/compile/pattern.rs` says how they are combined.

use minivm_compiler::bytecode::Op;

use crate::builtins::functions::{class_matches, length};
use crate::heap::Ref;
use crate::interp::frame::Frame;
use crate::interp::Interp;
use crate::object::{class_of, types, Class, ExcKind, List, Tuple};
use crate::value::Value;
use crate::{err, raise, PyResult};

impl Interp {
    /// Run one pattern test (`cold_op` sends these six here); the stack effects are in the
    /// opcode table.
    pub(crate) fn match_op(&mut self, frame: &mut Frame, op: Op) -> PyResult<()> {
        let r = match op {
            Op::MatchSequence => {
                let s = top!(frame).clone();
                Value::Bool(self.is_match_sequence(&s)?)
            }
            Op::MatchMapping => {
                let s = top!(frame).clone();
                Value::Bool(self.is_match_mapping(&s)?)
            }
            Op::GetLen => {
                let s = top!(frame).clone();
                Value::Int(length(self, &s)?)
            }
            Op::MatchKeys => {
                let keys = self.peek(frame, 1)?;
                let s = self.peek(frame, 2)?;
                self.match_keys(&s, &keys)?
            }
            Op::MatchClass(npos) => {
                let names = pop!(frame);
                let cls = pop!(frame);
                let s = pop!(frame);
                self.match_class(&s, &cls, &names, npos as usize)?
            }
            Op::CopyDictWithoutKeys => {
                let keys = pop!(frame);
                let s = top!(frame).clone();
                self.dict_without_keys(&s, &keys)?
            }
            other => return Err(err!(SystemError, "{other:?} is not a pattern test")),
        };
        frame.stack.push(r);
        Ok(())
    }

    /// A sequence pattern's subject: list, tuple, range, deque (and their subclasses), or a
    /// `collections.abc.Sequence`; str, bytes and bytearray are sequences a pattern never unpacks.
    fn is_match_sequence(&mut self, s: &Value) -> PyResult<bool> {
        let cls = class_of(s);
        let t = types();
        if [&t.str_, &t.bytes, &t.bytearray]
            .iter()
            .any(|c| cls.is_subclass(c))
        {
            return Ok(false);
        }
        let deque = crate::stdlib::deque::deque_class();
        if [&t.list, &t.tuple, &t.range, &deque]
            .iter()
            .any(|c| cls.is_subclass(c))
        {
            return Ok(true);
        }
        self.is_abc_instance(&cls, "Sequence")
    }

    /// A mapping pattern's subject: dict (and subclasses) or a `collections.abc.Mapping`.
    fn is_match_mapping(&mut self, s: &Value) -> PyResult<bool> {
        let cls = class_of(s);
        if cls.is_subclass(&types().dict) {
            return Ok(true);
        }
        self.is_abc_instance(&cls, "Mapping")
    }

    /// `isinstance` against an ABC of `collections.abc`, if a program has imported it (a class
    /// can only derive from or register with an ABC it has imported).
    fn is_abc_instance(&mut self, cls: &Ref<Class>, abc: &str) -> PyResult<bool> {
        let Some(module) = self.vm.find_module("collections.abc") else {
            return Ok(false);
        };
        let spec = self.getattr(&Value::Module(module), abc)?;
        class_matches(
            self,
            None,
            cls,
            &spec,
            "isinstance",
            "a type, a tuple of types",
        )
    }

    /// The values of `keys` in the subject (through its `get`, so a `defaultdict` adds nothing),
    /// or None if one is missing. A key given twice (two names for one value) is a `ValueError`.
    fn match_keys(&mut self, s: &Value, keys: &Value) -> PyResult<Value> {
        let Value::Tuple(keys) = keys else {
            raise!(SystemError, "MATCH_KEYS without a tuple of keys");
        };
        let get = self.getattr(s, "get")?;
        let missing = Value::List(Ref::new(List::new(Vec::new())));
        let mut values = Vec::with_capacity(keys.items.len());
        for (i, key) in keys.items.iter().enumerate() {
            for earlier in &keys.items[..i] {
                if self
                    .compare(minivm_compiler::bytecode::CmpOp::Eq, earlier, key)
                    .and_then(|v| self.truthy(&v))?
                {
                    let r = self.repr(key)?;
                    raise!(ValueError, "mapping pattern checks duplicate key ({r})");
                }
            }
            let v = self.call(&get, &[key.clone(), missing.clone()])?;
            if v.is(&missing) {
                return Ok(Value::None);
            }
            values.push(v);
        }
        Ok(Value::Tuple(Ref::new(Tuple::new(values))))
    }

    /// `{**rest}`: a new dict of the subject's items without the matched keys.
    fn dict_without_keys(&mut self, s: &Value, keys: &Value) -> PyResult<Value> {
        let rest = self.call(&Value::Class(types().dict.clone()), std::slice::from_ref(s))?;
        if let Value::Tuple(keys) = keys {
            for k in keys.items.iter() {
                self.delitem(&rest, k)?;
            }
        }
        Ok(rest)
    }

    /// `Cls(p1, .., attr=q)`: None unless the subject is an instance of `cls`; else the tuple of
    /// the attributes to match, positional ones named by `cls.__match_args__` first.
    fn match_class(
        &mut self,
        s: &Value,
        cls: &Value,
        names: &Value,
        npos: usize,
    ) -> PyResult<Value> {
        let Value::Class(c) = cls else {
            raise!(TypeError, "called match pattern must be a type");
        };
        if !class_matches(self, Some(s), &class_of(s), cls, "isinstance", "a type")? {
            return Ok(Value::None);
        }
        let mut wanted: Vec<Option<Value>> = Vec::new();
        if npos > 0 {
            match self.match_args(c)? {
                None => {
                    if npos > 1 {
                        raise!(
                            TypeError,
                            "{}() accepts 1 positional sub-pattern ({npos} given)",
                            c.name()
                        );
                    }
                    // bool, int, str, list, ...: `int(x)` matches the subject itself.
                    wanted.push(None);
                }
                Some(args) => {
                    if args.len() < npos {
                        let s = if args.len() == 1 { "" } else { "s" };
                        raise!(
                            TypeError,
                            "{}() accepts {} positional sub-pattern{s} ({npos} given)",
                            c.name(),
                            args.len()
                        );
                    }
                    wanted.extend(args.into_iter().take(npos).map(Some));
                }
            }
        }
        if let Value::Tuple(kw) = names {
            wanted.extend(kw.items.iter().cloned().map(Some));
        }
        let mut seen: Vec<String> = Vec::new();
        let mut attrs = Vec::with_capacity(wanted.len());
        for name in wanted {
            let Some(name) = name else {
                attrs.push(s.clone());
                continue;
            };
            let Value::Str(n) = &name else {
                let t = crate::object::type_name(&name);
                raise!(
                    TypeError,
                    "__match_args__ elements must be strings (got {t})"
                );
            };
            if seen.iter().any(|x| x.as_str() == n.as_str()) {
                let r = self.repr(&name)?;
                raise!(
                    TypeError,
                    "{}() got multiple sub-patterns for attribute {r}",
                    c.name()
                );
            }
            seen.push(n.as_str().to_string());
            match self.getattr(s, n.as_str()) {
                Ok(v) => attrs.push(v),
                Err(e) if e.is(ExcKind::AttributeError) => return Ok(Value::None),
                Err(e) => return Err(e),
            }
        }
        Ok(Value::Tuple(Ref::new(Tuple::new(attrs))))
    }

    /// `cls.__match_args__` as a list of names; None for the built-in types whose single
    /// positional sub-pattern matches the subject itself (and for their subclasses).
    fn match_args(&mut self, c: &Ref<Class>) -> PyResult<Option<Vec<Value>>> {
        if c.lookup("__match_args__").is_none() {
            let t = types();
            let match_self = [
                &t.bool_,
                &t.bytearray,
                &t.bytes,
                &t.dict,
                &t.float,
                &t.frozenset,
                &t.int,
                &t.list,
                &t.set,
                &t.str_,
                &t.tuple,
            ];
            if match_self.iter().any(|b| c.is_subclass(b)) {
                return Ok(None);
            }
            return Ok(Some(Vec::new()));
        }
        let args = self.getattr(&Value::Class(c.clone()), "__match_args__")?;
        match &args {
            Value::Tuple(t) => Ok(Some(t.items.to_vec())),
            other => {
                let t = crate::object::type_name(other);
                raise!(
                    TypeError,
                    "{}.__match_args__ must be a tuple (got {t})",
                    c.name()
                )
            }
        }
    }
}
