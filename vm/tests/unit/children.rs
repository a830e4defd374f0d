//! Unit tests of `vm::timeline::children` (moved out of the crate: see main.rs).

use std::time::{Duration, Instant};

use minivm_vm::stats::{Report, ThreadStats};
use minivm_vm::timeline::children::*;

#[test]
fn a_report_round_trips_onto_the_parent_clock() {
    let origin = Instant::now();
    let mut t = ThreadStats::new("MainThread");
    // 42 instructions: 40 of the first opcode, 2 of the third.
    t.ops[0] = 40;
    t.ops[2] = 2;
    t.holding = Duration::from_millis(5);
    t.ended = Some(t.started + Duration::from_millis(9));
    let report = Report {
        mode: minivm_vm::gil::GilMode::On,
        switch_interval: Duration::from_millis(5),
        wall: Duration::from_millis(10),
        threads: vec![t],
        drop_requests: 0,
        max_concurrent: 1,
        gc: Default::default(),
    };
    let text = render(&report, None, origin);
    let child = parse(&text, origin, unix_secs(origin), 0).expect("parses");
    assert_eq!(child.stats.len(), 1);
    assert_eq!(child.stats[0].instructions(), 42);
    assert_eq!((child.stats[0].ops[0], child.stats[0].ops[2]), (40, 2));
    assert!(child.stats[0].name.ends_with(": MainThread"));
    assert!(parse("garbage", origin, 0.0, 0).is_none());
}
