//! `_resource` (stdlib stage): the system calls of `resource` (`vm/lib/resource.mini`, which
//! makes `struct_rusage`): resource limits (getrlimit(2)/setrlimit(2), through rustix) and
//! resource usage (getrusage(2), through nix), with CPython's errors.

use crate::builtins::args::{to_index, ArgsExt};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::os::os_error;
use crate::value::Value;
use crate::{err, PyResult};
use rustix::process::{Resource, Rlimit};

const FUNCS: Methods = &[
    ("getrlimit", getrlimit),
    ("setrlimit", setrlimit),
    ("getrusage", getrusage),
    ("getpagesize", getpagesize),
];

pub fn module() -> Ref<Module> {
    super::module_from_fns("_resource", FUNCS, Vec::new())
}

/// Linux's resource numbers, in order (`RLIMIT_CPU` is 0 ... `RLIMIT_RTTIME` 15).
const RESOURCES: [Resource; 16] = [
    Resource::Cpu,
    Resource::Fsize,
    Resource::Data,
    Resource::Stack,
    Resource::Core,
    Resource::Rss,
    Resource::Nproc,
    Resource::Nofile,
    Resource::Memlock,
    Resource::As,
    Resource::Locks,
    Resource::Sigpending,
    Resource::Msgqueue,
    Resource::Nice,
    Resource::Rtprio,
    Resource::Rttime,
];

fn resource_arg(v: &Value) -> PyResult<Resource> {
    let n = to_index(v)?;
    usize::try_from(n)
        .ok()
        .and_then(|i| RESOURCES.get(i).copied())
        .ok_or_else(|| err!(ValueError, "invalid resource specified"))
}

/// A limit as Python sees it: RLIM_INFINITY is -1.
fn limit_value(l: Option<u64>) -> Value {
    match l {
        None => Value::Int(-1),
        Some(n) => i64::try_from(n).map_or(Value::Int(-1), Value::Int),
    }
}

/// A limit from Python: -1 (or any value the kernel's RLIM_INFINITY reads as) is no limit.
fn limit_arg(v: &Value) -> PyResult<Option<u64>> {
    let n = to_index(v)?;
    Ok(match n {
        -1 => None,
        n => Some(n as u64),
    })
}

/// `getrlimit(resource)`: `(soft, hard)`.
fn getrlimit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let r = resource_arg(args.one("getrlimit")?)?;
    let l = rustix::process::getrlimit(r);
    Ok(Value::tuple(vec![
        limit_value(l.current),
        limit_value(l.maximum),
    ]))
}

/// `setrlimit(resource, (soft, hard))` (the limits already a 2-tuple: `resource.mini` checks).
fn setrlimit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("setrlimit", 3, 3)?;
    let r = resource_arg(&args.pos[0])?;
    let new = Rlimit {
        current: limit_arg(&args.pos[1])?,
        maximum: limit_arg(&args.pos[2])?,
    };
    match rustix::process::setrlimit(r, new) {
        Ok(()) => Ok(Value::None),
        Err(e) if e == rustix::io::Errno::INVAL => {
            Err(err!(ValueError, "current limit exceeds maximum limit"))
        }
        Err(e) if e == rustix::io::Errno::PERM => {
            Err(err!(ValueError, "not allowed to raise maximum limit"))
        }
        Err(e) => Err(os_error(&std::io::Error::from(e), None)),
    }
}

/// `getrusage(who)`: the 16 fields of `struct_rusage` (times in seconds, as floats).
fn getrusage(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use nix::sys::resource::UsageWho;
    let who = match to_index(args.one("getrusage")?)? {
        0 => UsageWho::RUSAGE_SELF,
        -1 => UsageWho::RUSAGE_CHILDREN,
        1 => UsageWho::RUSAGE_THREAD,
        _ => return Err(err!(ValueError, "invalid who parameter")),
    };
    let u =
        nix::sys::resource::getrusage(who).map_err(|e| os_error(&std::io::Error::from(e), None))?;
    let secs = |t: nix::sys::time::TimeVal| {
        Value::Float(t.tv_sec() as f64 + t.tv_usec() as f64 * 0.000001)
    };
    let n = Value::Int;
    Ok(Value::tuple(vec![
        secs(u.user_time()),
        secs(u.system_time()),
        n(u.max_rss()),
        n(u.shared_integral()),
        n(u.unshared_data_integral()),
        n(u.unshared_stack_integral()),
        n(u.minor_page_faults()),
        n(u.major_page_faults()),
        n(u.full_swaps()),
        n(u.block_reads()),
        n(u.block_writes()),
        n(u.ipc_sends()),
        n(u.ipc_receives()),
        n(u.signals()),
        n(u.voluntary_context_switches()),
        n(u.involuntary_context_switches()),
    ]))
}

fn getpagesize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("getpagesize")?;
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) => Ok(Value::Int(n)),
        Ok(None) => Ok(Value::Int(4096)),
        Err(e) => Err(os_error(&std::io::Error::from(e), None)),
    }
}
