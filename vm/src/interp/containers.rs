//! Building containers from the stack (`BuildSet`, `BuildMap`, comprehension appends) and hashing keys.

use std::sync::Arc;

use crate::interp::Interp;
use crate::object::{type_name, Dict, HashKey, KeySet, SetObj};
use crate::value::Value;
use crate::{err, PyResult};

impl Interp {
    /// A dict/set key: built-in values hash without running code; instances use `__hash__` if defined.
    pub fn hash_key(&mut self, v: Value) -> PyResult<HashKey> {
        if let Value::Instance(inst) = &v {
            let cls = inst.class.clone();
            if let Some(h) = cls.lookup("__hash__") {
                if h.is_none() {
                    return Err(err!(TypeError, "unhashable type: '{}'", cls.name));
                }
                let r = self.call(&h, std::slice::from_ref(&v))?;
                let Value::Int(hash) = r else {
                    return Err(err!(TypeError, "__hash__ method should return an integer"));
                };
                if cls.lookup("__eq__").is_some() {
                    return Err(err!(
                        TypeError,
                        "minivm cannot use instances of '{}' (a class defining __eq__) as dict keys or set members",
                        cls.name
                    ));
                }
                return Ok(HashKey { hash: hash as u64, value: v });
            }
            if cls.lookup("__eq__").is_some() {
                return Err(err!(TypeError, "unhashable type: '{}'", cls.name));
            }
        }
        HashKey::from_value(v)
    }

    pub(crate) fn new_set(&mut self, items: Vec<Value>) -> PyResult<Value> {
        let mut set = KeySet::default();
        for v in items {
            set.insert(self.hash_key(v)?);
        }
        Ok(Value::Set(Arc::new(SetObj::new(set, false))))
    }

    pub(crate) fn new_dict_from_pairs(&mut self, flat: Vec<Value>) -> PyResult<Value> {
        let d = Dict::new();
        let mut it = flat.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.set(self.hash_key(k)?, v);
        }
        Ok(Value::Dict(Arc::new(d)))
    }

    /// `ListAppend`/`SetAdd`/`ListExtend`/`SetUpdate`: add one value to a list or set under construction.
    pub(crate) fn container_add(&mut self, target: &Value, v: Value) -> PyResult<()> {
        match target {
            Value::List(l) => l.items.lock().push(v),
            Value::Set(s) => {
                let k = self.hash_key(v)?;
                s.items.lock().insert(k);
            }
            other => return Err(err!(SystemError, "cannot add to {}", type_name(other))),
        }
        Ok(())
    }

    /// `dict.update(m)` for `{**m}` and `f(**m)` (`merge` rejects repeated keys).
    pub fn dict_update(&mut self, target: &Value, m: &Value, merge: bool) -> PyResult<()> {
        let Value::Dict(d) = target else {
            return Err(err!(SystemError, "dict update target is not a dict"));
        };
        let pairs = match m {
            Value::Dict(src) => src.items(),
            other => {
                let Some(keys) = crate::object::class_of(other).lookup("keys") else {
                    return Err(err!(TypeError, "'{}' object is not a mapping", type_name(other)));
                };
                let ks = self.call(&keys, std::slice::from_ref(other))?;
                let mut out = Vec::new();
                for k in self.collect_iter(&ks)? {
                    let v = self.getitem(other, &k)?;
                    out.push((k, v));
                }
                out
            }
        };
        for (k, v) in pairs {
            let key = self.hash_key(k.clone())?;
            if merge && d.map.lock().contains_key(&key) {
                let name = self.repr(&k)?;
                return Err(err!(TypeError, "got multiple values for keyword argument {name}"));
            }
            d.set(key, v);
        }
        Ok(())
    }
}
