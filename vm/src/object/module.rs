//! Stage 4 (VM), heap objects.
//! Modules: a name and a namespace dict (a `.mini` file's globals, or a built-in module's functions).

use std::sync::Arc;

use crate::heap::Ref;
use crate::object::Dict;

pub struct Module {
    pub name: Arc<str>,
    pub dict: Ref<Dict>,
}
