//! `string`: the character-class constants.

use super::module_from_fns as make_module;
use crate::heap::Ref;
use crate::object::Module;
use crate::value::Value;

pub fn string_module() -> Ref<Module> {
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
