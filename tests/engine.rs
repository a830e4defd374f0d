//! What `dis` shows is what runs: every instruction `--trace` prints is one that `minivm dis`
//! lists at that index of that code object, and `--stats` counts exactly the instructions
//! `--trace` prints (superinstructions are real opcodes chosen at compile time, not fusions
//! made by peeking at the next opcode at run time).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");

fn program() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/engine/agree.mini")
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str]) -> (String, String) {
    let out = Command::new(MINIVM)
        .args(args)
        .output()
        .expect("start minivm");
    assert!(out.status.success(), "minivm {args:?} failed");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Collapse runs of spaces, so a listing's columns and a trace's text compare.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `minivm dis`: code object name -> (instruction index -> "INDEX OPNAME raw (arg)"), with
/// `>>` before the index of a jump target.
fn listing(file: &str) -> HashMap<String, HashMap<usize, String>> {
    let (dis, _) = run(&["dis", file]);
    let mut out: HashMap<String, HashMap<usize, String>> = HashMap::new();
    let mut current = "<module>".to_string();
    for line in dis.lines() {
        if let Some(rest) = line.strip_prefix("Disassembly of <code object ") {
            current = rest.split(" at line").next().unwrap_or("?").to_string();
            continue;
        }
        // Fields: [line] [>>] index OPNAME ...; the index is the first all-digit field
        // after the optional line number and jump marker.
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(op_at) = fields
            .iter()
            .position(|f| f.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        else {
            continue;
        };
        let Some(index) = op_at.checked_sub(1).and_then(|i| fields[i].parse().ok()) else {
            continue;
        };
        let target = if fields.contains(&">>") { ">>" } else { "" };
        let text = format!("{target}{index} {}", fields[op_at..].join(" "));
        out.entry(current.clone()).or_default().insert(index, text);
    }
    out
}

/// The `--trace` lines of the main thread's program: (code object name, "INDEX OPNAME ...").
fn traced(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("[MainThread] "))
        .map(|l| {
            let instr = l.split(" stack=[").next().unwrap_or("");
            let (name, rest) = instr.split_once(':').unwrap_or(("?", ""));
            // rest: "LINE INDEX OPNAME ..."; drop the line number.
            let rest = words(rest);
            let rest = rest.split_once(' ').map_or("", |(_, r)| r);
            (name.to_string(), rest.to_string())
        })
        .collect()
}

#[test]
fn trace_shows_the_listed_instructions() {
    let file = program();
    let dis = listing(&file);
    let (_, stderr) = run(&["--trace", &file]);
    let trace = traced(&stderr);
    assert!(trace.len() > 100, "too short a trace:\n{stderr}");
    let mut checked = 0;
    let mut modules = 0;
    let mut last: HashMap<String, usize> = HashMap::new();
    for (name, text) in &trace {
        let index: usize = text
            .split(' ')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(usize::MAX);
        // A module of the embedded library the program's end loads is traced too: stop there.
        if name == "<module>" && index == 0 {
            modules += 1;
            if modules > 1 {
                break;
            }
        }
        let listed = dis[name].get(&index).map(|s| words(s)).unwrap_or_default();
        assert_eq!(
            listed.trim_start_matches(">>"),
            words(text),
            "{name}: --trace ran an instruction dis does not list there"
        );
        // Within a code object, execution goes to the next instruction, or to a jump target
        // (jumps, loops, handlers), or starts again at 0 (a new call): nothing is skipped.
        if let Some(prev) = last.insert(name.clone(), index) {
            assert!(
                index == prev + 1 || index == 0 || listed.starts_with(">>"),
                "{name}: --trace went from instruction {prev} to {index} without a jump"
            );
        }
        checked += 1;
    }
    assert!(
        checked > 100,
        "only {checked} traced instructions matched a listing"
    );
    for superinstruction in [
        "LOAD_LOCAL_PAIR",
        "LOAD_ATTR_LOCAL",
        "STORE_ATTR_LOCAL",
        "COMPARE_CONST_JUMP",
        "FOR_NEXT_STORE",
        "FOR_RANGE_PREP",
        "FOR_RANGE",
        "BINARY_LOCAL_CONST",
        "INPLACE_LOCALS",
        "INPLACE_LOCAL_CONST",
        "COMPARE_LOCAL_CONST_JUMP",
        "BINARY_LOCALS_CMP_JUMP",
        "BINARY_CONST_CMP_JUMP",
        "REVERSE",
        "UNPACK_STORE",
        "STORE_LOCALS",
        "SUBSCR_LOCAL_CONST",
        "SUBSCR_KEEP",
        "INPLACE_STORE_SUBSCR",
        "INPLACE_SUBSCR_LOC_CONST",
        "INPLACE_ITEM_MUL",
        "LOAD_ATTR_KEEP",
        "INPLACE_STORE_ATTR",
        "INPLACE_STORE_LOCAL",
        "BINARY_STORE_LOCAL",
        "INPLACE_ATTR_LOCAL",
        "INPLACE_ATTR_CONST",
        "SUBSCR_LOCALS",
        "BINARY_TOP_LOCAL",
        "BINARY_TOP_CONST",
        "YIELD_POP",
        "LOAD_ATTR_LOCAL_STORE",
        "ATTR_JUMP_IF_FALSE",
        "ATTR_JUMP_IF_TRUE",
        "CALL_LOADED_LOCAL",
    ] {
        assert!(
            trace.iter().any(|(_, t)| t.contains(superinstruction)),
            "{superinstruction} never ran"
        );
    }
}

#[test]
fn stats_count_the_traced_instructions() {
    let file = program();
    let (plain, _) = run(&[&file]);
    let (stdout, stderr) = run(&["--trace", "--stats", &file]);
    assert_eq!(stdout, plain, "tracing changed the program's output");
    let traced = traced(&stderr).len() as u64;
    let total: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("total"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("--stats prints a total line");
    assert_eq!(
        total, traced,
        "--stats counted {total}, --trace printed {traced}"
    );
    // Counting does not depend on tracing.
    let (_, stats_only) = run(&["--stats", &file]);
    assert!(stats_only
        .lines()
        .any(|l| l.starts_with("total") && words(l).starts_with(&format!("total {total} "))));
}

/// `--stats=opcodes` counts, per opcode, exactly the instructions `--trace` prints with that
/// name, and its counts add up to the thread table's total; `--stats=json` carries the same.
#[test]
fn opcode_counts_are_the_traced_opcodes() {
    let file = program();
    let (_, stderr) = run(&["--trace", "--stats=opcodes", &file]);
    let mut traced_by_name: HashMap<String, u64> = HashMap::new();
    for (_, text) in traced(&stderr) {
        // text: "INDEX OPNAME ..." (a jump target's ">>" is not printed by --trace).
        let name = text.split(' ').nth(1).unwrap_or("?").to_string();
        *traced_by_name.entry(name).or_default() += 1;
    }
    let table = stderr
        .split_once("\nopcode ")
        .map(|(_, t)| t)
        .expect("--stats=opcodes prints an opcode table");
    let mut counted: HashMap<String, u64> = HashMap::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let n: u64 = f[1].replace(',', "").parse().expect("a count");
        counted.insert(f[0].to_string(), n);
    }
    assert!(counted.len() > 10, "too few opcodes counted:\n{table}");
    assert_eq!(counted, traced_by_name);
    let total: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("total"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .expect("--stats prints a total line");
    assert_eq!(counted.values().sum::<u64>(), total);
    // Most executed first.
    let order: Vec<u64> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|n| n.replace(',', "").parse().ok())
        .collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "{table}");
    // JSON: the same counts, by name.
    let (_, json) = run(&["--stats=json", &file]);
    let ops = json
        .split_once("\"opcodes\": {")
        .and_then(|(_, r)| r.split_once('}'))
        .map(|(o, _)| o)
        .expect("--stats=json has an opcodes object");
    for (name, n) in &counted {
        assert!(
            ops.contains(&format!("\"{name}\": {n}")),
            "{name} {n} not in {ops}"
        );
    }
    // Plain --stats prints no opcode table.
    let (_, plain) = run(&["--stats", &file]);
    assert!(!plain.contains("\nopcode "), "{plain}");
}

/// `docs/OPCODES.md` is `minivm dis --opcodes`: the table in the docs is the one the code
/// declares (regenerate with `minivm dis --opcodes > docs/OPCODES.md`).
#[test]
fn opcode_doc_is_current() {
    let (table, _) = run(&["dis", "--opcodes"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/OPCODES.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(table.contains("| `COMPARE_LOCAL_CONST_JUMP` |"), "{table}");
    assert!(
        doc == table,
        "docs/OPCODES.md is stale: run `minivm dis --opcodes > docs/OPCODES.md`"
    );
}

/// Every opcode name fits `dis`'s name column: the raw operands of a listing end in one column,
/// whatever the name before them (`COMPARE_LOCAL_CONST_JUMP` as `LOAD_CONST`).
#[test]
fn listing_columns_line_up() {
    let (dis, _) = run(&["dis", &program()]);
    let mut ends = std::collections::BTreeMap::new();
    for line in dis.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(op_at) = fields
            .iter()
            .position(|f| f.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        else {
            continue;
        };
        let Some(raw) = fields.get(op_at + 1).filter(|f| f.parse::<u32>().is_ok()) else {
            continue;
        };
        // Where the raw operand ends: after the (padded) name column.
        let name_at = line.find(fields[op_at]).unwrap_or(0);
        let end = line[name_at..]
            .find(&format!(" {raw}"))
            .map(|i| name_at + i + 1 + raw.len());
        ends.entry(end)
            .or_insert_with(Vec::new)
            .push(fields[op_at].to_string());
    }
    assert!(
        ends.len() == 1,
        "raw operands end in different columns: {ends:?}"
    );
    let names: Vec<&String> = ends.values().flatten().collect();
    assert!(
        names.iter().any(|n| *n == "COMPARE_LOCAL_CONST_JUMP"),
        "{names:?}"
    );
}

/// What `LOAD_METHOD` leaves below a receiver shows in `--trace` as what it stands for (the
/// hot built-in method a small int names, NULL, the function to bind), and the program's own
/// ints below a list as ints: the stack `--trace` prints is the one the instructions see.
#[test]
fn trace_names_loaded_method_slots() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/engine/loaded_slots.mini")
        .to_string_lossy()
        .into_owned();
    let (stdout, stderr) = run(&["--trace", &file]);
    assert_eq!(stdout, "5 [5]\n12\n2\n5\n");
    let stack_of = |instr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.starts_with("[MainThread] main:") && l.contains(instr))
            .filter_map(|l| l.split_once(" stack=[").map(|(_, s)| s.to_string()))
            .collect()
    };
    let expect = [
        // items.append(x): the method named, the receiver above it.
        (
            "CALL_LOADED_LOCAL (x)",
            "<method 'append' of 'list' objects>, []]",
        ),
        // print(x, items): the program's 5 below a list stays 5.
        (
            "CALL 2 (2 positional)",
            "<built-in function print>, 5, [5]]",
        ),
        // t + items.pop(0): t's 7, the method, the list, the argument 0.
        (
            "CALL_LOADED 1 (1 positional)",
            "<built-in function print>, 7, <method 'pop' of 'list' objects>, [5], 0]",
        ),
        // math.floor(2.5): NULL below the module's function.
        (
            "CALL_LOADED 1 (1 positional)",
            "<built-in function print>, NULL, <built-in function floor>, 2.5]",
        ),
    ];
    for (instr, stack) in expect {
        let seen = stack_of(instr);
        assert!(
            seen.iter().any(|s| s == stack),
            "{instr}: no stack [{stack} among {seen:?}"
        );
    }
    // b.put(x): the function to bind, then its receiver.
    assert!(
        stack_of("CALL_LOADED_LOCAL (x)")
            .iter()
            .any(|s| s.contains(", <function Box.put at ")
                && s.contains(", <__main__.Box object at ")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("<NULL>"),
        "a NULL slot printed as a value:\n{stderr}"
    );
}
