//! The built-in modules: `math`, `time`, `sys` and `string`.

mod math;
pub mod sys;
mod time;

use std::sync::Arc;

use crate::builtins::native;
use crate::builtins::Methods;
use crate::object::{Dict, Module};
use crate::value::Value;

/// A module from a name, its functions and its constants.
pub fn make_module(name: &str, funcs: Methods, consts: Vec<(&str, Value)>) -> Arc<Module> {
    let d = Dict::new();
    d.set_str("__name__", Value::str(name));
    for (n, f) in funcs {
        d.set_str(n, native(n, *f));
    }
    for (n, v) in consts {
        d.set_str(n, v);
    }
    Arc::new(Module {
        name: name.into(),
        dict: Arc::new(d),
    })
}

/// Create the built-in module `name`, if there is one.
pub fn import_builtin_module(name: &str) -> Option<Arc<Module>> {
    Some(match name {
        "math" => math::module(),
        "time" => time::module(),
        "sys" => sys::module(),
        "string" => string_module(),
        _ => return None,
    })
}

fn string_module() -> Arc<Module> {
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let ws = " \t\n\r\x0b\x0c";
    let consts = vec![
        ("ascii_lowercase", Value::str(lower)),
        ("ascii_uppercase", Value::str(upper)),
        ("ascii_letters", Value::string(format!("{lower}{upper}"))),
        ("digits", Value::str("0123456789")),
        ("hexdigits", Value::str("0123456789abcdefABCDEF")),
        ("octdigits", Value::str("01234567")),
        ("punctuation", Value::str(punct)),
        ("whitespace", Value::str(ws)),
        (
            "printable",
            Value::string(format!("0123456789{lower}{upper}{punct}{ws}")),
        ),
    ];
    make_module("string", &[], consts)
}
