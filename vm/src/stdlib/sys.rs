//! The `sys` module: `argv`, `exit`, the recursion limit, `maxsize`, `stdout`/`stderr`.

use std::sync::atomic::Ordering;

use super::module_from_fns as make_module;
use crate::builtins::args::{to_index, ArgsExt};
use crate::builtins::functions::{write_stream, Stream};
use crate::builtins::Methods;
use crate::error::{PyErr, PyResult};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, ExcKind, Module};
use crate::raise;
use crate::value::Value;

const FUNCS: Methods = &[
    ("exit", exit),
    ("getrecursionlimit", getrecursionlimit),
    ("setrecursionlimit", setrecursionlimit),
    (
        "setswitchinterval",
        crate::stdlib::os::sys_setswitchinterval,
    ),
    (
        "getswitchinterval",
        crate::stdlib::os::sys_getswitchinterval,
    ),
    ("_is_gil_enabled", crate::stdlib::os::sys_is_gil_enabled),
    ("get_int_max_str_digits", get_int_max_str_digits),
    ("set_int_max_str_digits", set_int_max_str_digits),
];

pub fn module() -> Ref<Module> {
    let consts = vec![
        ("maxsize", Value::Int(i64::MAX)),
        ("version", Value::str("3.11.0 (minivm)")),
        ("platform", Value::str(std::env::consts::OS)),
        (
            "byteorder",
            Value::str(if cfg!(target_endian = "little") {
                "little"
            } else {
                "big"
            }),
        ),
        (
            "stdout",
            Value::Module(stream_module("<stdout>", STDOUT_FUNCS)),
        ),
        (
            "stderr",
            Value::Module(stream_module("<stderr>", STDERR_FUNCS)),
        ),
    ];
    make_module("sys", FUNCS, consts)
}

/// `sys.argv` needs the VM's configuration, which `import_builtin_module` cannot see: the core
/// sets it after creating the module, `m.dict.set_str("argv", builtins::sys_argv(interp))`.
pub fn argv_value(interp: &Interp) -> Value {
    Value::list(
        interp
            .vm
            .config
            .argv
            .iter()
            .map(|a| Value::str(a))
            .collect(),
    )
}

fn stream_module(name: &str, funcs: Methods) -> Ref<Module> {
    make_module(name, funcs, vec![])
}

const STDOUT_FUNCS: Methods = &[("write", stdout_write), ("flush", stdout_flush)];
const STDERR_FUNCS: Methods = &[("write", stderr_write), ("flush", stderr_flush)];

fn write_impl(interp: &mut Interp, args: Args<'_>, stream: Stream) -> PyResult<Value> {
    match args.one("write")? {
        Value::Str(s) => {
            write_stream(interp, &stream, s.as_str())?;
            Ok(Value::Int(s.char_len() as i64))
        }
        other => raise!(
            TypeError,
            "write() argument must be str, not {}",
            type_name(other)
        ),
    }
}

fn stdout_write(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    write_impl(interp, args, Stream::Stdout)
}

fn stderr_write(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    write_impl(interp, args, Stream::Stderr)
}

fn stdout_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("flush")?;
    interp.flush_stdout()?;
    Ok(Value::None)
}

fn stderr_flush(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("flush")?;
    Ok(Value::None)
}

fn exit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("exit", 0, 1)?;
    let a = match args.get(0) {
        None => vec![],
        Some(v) => vec![v.clone()],
    };
    Err(PyErr::with_args(ExcKind::SystemExit, a))
}

fn get_int_max_str_digits(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("get_int_max_str_digits")?;
    Ok(Value::Int(crate::num::bigint::max_str_digits() as i64))
}

/// `sys.set_int_max_str_digits(maxdigits)`: the limit on int <-> decimal string conversions.
fn set_int_max_str_digits(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("set_int_max_str_digits", &["maxdigits"])?;
    if args.pos.len() > 1 {
        raise!(
            TypeError,
            "set_int_max_str_digits() takes at most 1 argument ({} given)",
            args.pos.len()
        );
    }
    let Some(n) = args.pos_or_kw("set_int_max_str_digits", 0, "maxdigits")? else {
        raise!(
            TypeError,
            "set_int_max_str_digits() missing required argument 'maxdigits' (pos 1)"
        );
    };
    crate::num::bigint::set_max_str_digits(to_index(n)?).map_err(crate::builtins::num_err)?;
    Ok(Value::None)
}

fn getrecursionlimit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("getrecursionlimit")?;
    Ok(Value::Int(
        interp.vm.recursion_limit.load(Ordering::Relaxed) as i64,
    ))
}

fn setrecursionlimit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let n = to_index(args.one("setrecursionlimit")?)?;
    if n < 1 {
        raise!(
            ValueError,
            "recursion limit must be greater or equal than 1"
        );
    }
    interp
        .vm
        .recursion_limit
        .store(n as usize, Ordering::Relaxed);
    Ok(Value::None)
}
