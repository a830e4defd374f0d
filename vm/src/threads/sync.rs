//! `threading.Lock`, `RLock`, `Event`, `Condition`, `Semaphore`, `Barrier`.

use crate::value::Value;

/// The synchronisation classes, for the `threading` module.
pub fn threading_items() -> Vec<(&'static str, Value)> {
    Vec::new()
}
