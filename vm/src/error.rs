//! Python exceptions as Rust errors: `PyErr` wraps an exception instance; `PyResult` is the VM's `Result`.

use crate::heap::Ref;
use crate::object::{types, ExcKind, Instance, TypeKind};
use crate::value::Value;

/// A raised Python exception (always an instance of a `BaseException` subclass).
#[derive(Clone)]
pub struct PyErr {
    pub exc: Ref<Instance>,
}

pub type PyResult<T> = Result<T, PyErr>;

impl PyErr {
    /// A built-in exception with one string argument, as `TypeError("...")`.
    pub fn new(kind: ExcKind, msg: impl Into<String>) -> PyErr {
        PyErr::with_args(kind, vec![Value::string(msg.into())])
    }

    pub fn with_args(kind: ExcKind, args: Vec<Value>) -> PyErr {
        let inst = Instance::new(types().exc(kind).clone());
        // A SyntaxError raised by the VM itself (`eval('\0')`'s "source code string cannot
        // contain null bytes") has the fields CPython's `__init__` sets from its arguments:
        // `msg` is what `str()` shows. (Arguments made here never fail that `__init__`.)
        if matches!(
            kind,
            ExcKind::SyntaxError | ExcKind::IndentationError | ExcKind::TabError
        ) {
            let _ = crate::interp::syntaxerr::init_syntax_error(&inst, &args);
        }
        if let Some(d) = inst.exc() {
            d.lock().args = args;
        }
        PyErr {
            exc: Ref::new(inst),
        }
    }

    /// Wrap an existing exception instance; `None` if `v` is not one.
    pub fn from_instance(v: &Value) -> Option<PyErr> {
        match v {
            Value::Instance(i) if i.class.kind == TypeKind::Exception => {
                Some(PyErr { exc: i.clone() })
            }
            _ => None,
        }
    }

    pub fn value(&self) -> Value {
        Value::Instance(self.exc.clone())
    }

    /// `isinstance(exc, kind)`.
    pub fn is(&self, kind: ExcKind) -> bool {
        self.exc.class.is_subclass(types().exc(kind))
    }

    pub fn args(&self) -> Vec<Value> {
        self.exc
            .exc()
            .map(|d| d.lock().args.clone())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for PyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.exc.class.name(), self.args())
    }
}

/// `Err(PyErr::new(ExcKind::$kind, format!(...)))` in one line.
#[macro_export]
macro_rules! raise {
    ($kind:ident, $($fmt:tt)*) => {
        return Err($crate::error::PyErr::new($crate::object::ExcKind::$kind, format!($($fmt)*)))
    };
}

/// `PyErr::new(ExcKind::$kind, format!(...))` as a value.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($fmt:tt)*) => {
        $crate::error::PyErr::new($crate::object::ExcKind::$kind, format!($($fmt)*))
    };
}
