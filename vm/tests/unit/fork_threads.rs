//! The fork's wait for threads that are starting or ending (`heap::fork::spawn`, `quiesce`): a
//! fork while one of them runs the runtime's own start-up or tear-down could copy a lock of the
//! runtime held, and the child's first new thread would block on it for good.

use minivm_vm::heap::fork::{ending_threads, quiesce, spawn, thread_exists};
use std::sync::atomic::{AtomicI32, Ordering};

fn my_tid() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}

#[test]
fn quiesce_waits_for_a_new_thread_to_begin() {
    static RAN: AtomicI32 = AtomicI32::new(0);
    let h = spawn(std::thread::Builder::new(), || {
        RAN.store(1, Ordering::SeqCst)
    })
    .unwrap();
    // Right after the spawn the thread is (almost always) still in the runtime's start-up:
    // the wait ends only once its closure has begun. (Whether the closure has run yet is not
    // known: it begins just after it stops counting as starting.)
    let quiet = quiesce();
    assert_eq!(quiet.starting(), 0);
    drop(quiet);
    h.join().unwrap();
    assert_eq!(RAN.load(Ordering::SeqCst), 1);
}

#[test]
fn quiesce_waits_for_an_ended_thread_to_exit() {
    /// A thread-local whose destructor (run after the closure) takes a while, as a runtime's
    /// tear-down may.
    struct SlowEnd;
    impl Drop for SlowEnd {
        fn drop(&mut self) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    thread_local! { static SLOW: SlowEnd = const { SlowEnd }; }
    let (tx, rx) = std::sync::mpsc::channel();
    // (Not joined: only the wait can tell that it is gone.)
    let _h = spawn(std::thread::Builder::new(), move || {
        SLOW.with(|_| ());
        tx.send(my_tid()).unwrap();
    })
    .unwrap();
    let tid = rx.recv().unwrap();
    // Until its closure has ended (it is listed as ending) or it has exited.
    let start = std::time::Instant::now();
    while !ending_threads().contains(&tid)
        && thread_exists(tid)
        && start.elapsed() < std::time::Duration::from_secs(1)
    {
        std::thread::yield_now();
    }
    let quiet = quiesce();
    assert!(!thread_exists(tid), "thread {tid} still tearing down");
    assert!(quiet.ending().is_empty());
}
