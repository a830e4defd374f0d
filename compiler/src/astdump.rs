//! `minivm ast`: the AST printed as an indented tree for teaching. Owned by the front-end work.

use crate::ast::Module;

pub fn dump_module(m: &Module) -> String {
    format!("{m:#?}")
}
