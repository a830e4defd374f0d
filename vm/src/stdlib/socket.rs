//! Stage 4 (VM), standard library.
//! The `socket` module: TCP/IPv4 sockets on `std::net`, every blocking call (connect, accept,
//! recv, send) made with the GIL released.
//!
//! Sockets carry bytes, as in CPython: `send`/`sendall` take any bytes-like object, `recv(n)`
//! returns `bytes` (`b''` at end of stream).
//!
//! The descriptor a socket gets at creation is bound and connected itself (rustix's calls), then
//! handed to std's `TcpListener`/`TcpStream`/`UdpSocket`, so the socket is one open socket from
//! `socket()` to `close()`, as in CPython: `fileno()` stays the same, and an `epoll` (or
//! `selectors.DefaultSelector`) registration made before `connect()` or `bind()` still holds.
//!
//! Deviations from CPython:
//! * `bind()` of a TCP socket binds *and listens* (as std's `TcpListener::bind` does), so a
//!   client may connect before `listen()` is called; `listen()` only sets the backlog (and binds
//!   an unbound socket, as Linux does);
//! * only `AF_INET` and `AF_INET6` (addresses `(host, port[, flowinfo[, scope_id]])`), with
//!   `SOCK_STREAM` (TCP) or `SOCK_DGRAM` (UDP: `sendto`, `recvfrom`, and `send`/`recv` after
//!   `connect`), and `AF_UNIX` (paths, abstract names; stream and datagram).
//!
//! A Unix-domain socket's descriptor goes through the same std types (their reads, writes,
//! timeouts and shutdown are plain socket calls); what reads or takes an address (bind,
//! connect, accept, sendto, recvfrom, getsockname) calls rustix with a Unix address instead,
//! and a Unix stream socket's `bind` does not listen.
//!
//! Non-blocking mode (`setblocking(False)`, `settimeout(0)`) sets `O_NONBLOCK` on the descriptor,
//! as CPython does: a call that would wait raises `BlockingIOError`, and `connect()` starts the
//! connection and raises `BlockingIOError: [Errno 115] Operation now in progress` (`connect_ex`
//! returns 115); `getsockopt(SOL_SOCKET, SO_ERROR)` then tells how it ended. That is what an
//! event loop (`asyncio`) builds on.

use std::io::{Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener,
    TcpStream, ToSocketAddrs, UdpSocket,
};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::builtins::args::{ArgsExt, Sig, Style};
use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, types, Class, ExcKind, Instance, Module};
use crate::stdlib::os::{exc_of_class, extra_exc_class, os_error};
use crate::stdlib::select::poll_fds;
use crate::stdlib::{arg, func, make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

#[path = "socket_msg.rs"]
mod msg;

const AF_INET: i64 = 2;
const AF_UNIX: i64 = 1;
const SOCK_STREAM: i64 = 1;
const SOCK_DGRAM: i64 = 2;
const IPPROTO_UDP: i64 = 17;
const SO_BROADCAST: i64 = 6;
/// `SOCK_NONBLOCK | SOCK_CLOEXEC`, flags Linux lets programs OR into the type.
const SOCK_TYPE_FLAGS: i64 = 0o4000 | 0o2000000;
const IPPROTO_TCP: i64 = 6;
const TCP_NODELAY: i64 = 1;
const SOL_SOCKET: i64 = 1;
const SOCK_RAW: i64 = 3;
const AF_INET6: i64 = 10;
const AI_PASSIVE: i64 = 1;
const AI_CANONNAME: i64 = 2;
const AI_NUMERICHOST: i64 = 4;
const AI_NUMERICSERV: i64 = 0x400;
const SO_ERROR: i64 = 4;
const SO_TYPE: i64 = 3;
const SO_REUSEADDR: i64 = 2;
const SO_KEEPALIVE: i64 = 9;
const SO_REUSEPORT: i64 = 15;
const IPPROTO_IPV6: i64 = 41;
const IPV6_V6ONLY: i64 = 26;
/// The on/off `SOL_SOCKET` options `setsockopt` records for `getsockopt` (see `SocketData`).
const KEPT_FLAGS: [i64; 3] = [SO_REUSEADDR, SO_KEEPALIVE, SO_REUSEPORT];

enum Sock {
    /// Created, neither bound nor connected: the descriptor `fileno()` reports, an OS socket of
    /// the kind asked for, which `bind`/`connect` bind or connect (`bind_first`, `do_connect`).
    Unbound(Option<OwnedFd>),
    /// Bound (and, in std, already listening).
    Listener {
        listener: Arc<TcpListener>,
        listening: bool,
    },
    Stream(Arc<TcpStream>),
    /// A UDP socket, bound (by `bind`, or on its first `sendto`/`recvfrom`/`connect`).
    Datagram(Arc<UdpSocket>),
    Closed,
}

/// Rust data of a `socket.socket` instance. The lock is held only to read or swap the state,
/// never across a blocking call: those work on a clone of the `Arc`.
pub struct SocketData {
    state: Mutex<Sock>,
    /// `None`: blocking; `Some(0)`: non-blocking; otherwise the timeout of every blocking call.
    timeout: Mutex<Option<Duration>>,
    nodelay: Mutex<bool>,
    /// The `SOL_SOCKET` flags set with `setsockopt` that minivm's sockets do not act on (std
    /// sets `SO_REUSEADDR` on every listener), as `(option, value)`: `getsockopt` reads them back.
    flags: Mutex<Vec<(i64, i64)>>,
    /// Made with `SOCK_DGRAM`: binding makes a UDP socket, not a listener.
    dgram: bool,
    /// Made with `AF_INET6`: addresses are IPv6 ones, `(host, port, flowinfo, scope_id)`.
    v6: bool,
    /// Made with `AF_UNIX`: addresses are paths (see [`unix_addr_arg`]).
    unix: bool,
}

static SOCKET_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn socket_class() -> Ref<Class> {
    SOCKET_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "socket",
                "socket",
                &[
                    ("__init__", sock_init),
                    ("bind", sock_bind),
                    ("listen", sock_listen),
                    ("accept", sock_accept),
                    ("connect", sock_connect),
                    ("connect_ex", sock_connect_ex),
                    ("recv", sock_recv),
                    ("recvfrom", sock_recvfrom),
                    ("recv_into", sock_recv_into),
                    ("recvfrom_into", sock_recvfrom_into),
                    ("sendto", sock_sendto),
                    ("sendmsg", msg::sock_sendmsg),
                    ("recvmsg", msg::sock_recvmsg),
                    ("send", sock_send),
                    ("sendall", sock_sendall),
                    ("shutdown", sock_shutdown),
                    ("close", sock_close),
                    ("settimeout", sock_settimeout),
                    ("gettimeout", sock_gettimeout),
                    ("setblocking", sock_setblocking),
                    ("getblocking", sock_getblocking),
                    ("setsockopt", sock_setsockopt),
                    ("getsockopt", sock_getsockopt),
                    ("fileno", sock_fileno),
                    ("dup", sock_dup),
                    ("makefile", sock_makefile),
                    ("getsockname", sock_getsockname),
                    ("getpeername", sock_getpeername),
                    ("__enter__", sock_enter),
                    ("__exit__", sock_exit),
                    ("__repr__", sock_repr),
                ],
            );
            {
                // `family` and `type` read as `AddressFamily`/`SocketKind` members, as
                // CPython's (the ints stay in the instance, which the properties shadow).
                let mut dict = cls.dict.write();
                dict.insert(
                    Arc::from("family"),
                    crate::stdlib::sync::property(("family", sock_family)),
                );
                dict.insert(
                    Arc::from("type"),
                    crate::stdlib::sync::property(("type", sock_type)),
                );
            }
            cls
        })
        .clone()
}

/// The names `socket` takes from `vm/lib/_socketinfo.mini` (`interp/modules.rs`, loaded at
/// the first use of one): the families and types as `AddressFamily`/`SocketKind` members, and
/// the reverse lookups.
pub const MINI_NAMES: &[&str] = &[
    "AddressFamily",
    "SocketKind",
    "AF_UNSPEC",
    "AF_UNIX",
    "AF_INET",
    "AF_INET6",
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_RDM",
    "SOCK_SEQPACKET",
    "SOCK_NONBLOCK",
    "SOCK_CLOEXEC",
    "herror",
    "gethostbyaddr",
    "getnameinfo",
    "getfqdn",
    "NI_NUMERICHOST",
    "NI_NUMERICSERV",
    "NI_NOFQDN",
    "NI_NAMEREQD",
    "NI_DGRAM",
    "NI_MAXHOST",
    "NI_MAXSERV",
    "has_dualstack_ipv6",
    "send_fds",
    "recv_fds",
];

pub fn socket_module() -> Ref<Module> {
    let oserror = Value::Class(types().exc(ExcKind::OSError).clone());
    let int = Value::Int;
    make_module(
        "socket",
        vec![
            ("socket", Value::Class(socket_class())),
            (
                "create_connection",
                func("create_connection", create_connection),
            ),
            ("socketpair", func("socketpair", socketpair)),
            ("fromfd", func("fromfd", fromfd)),
            ("CMSG_LEN", func("CMSG_LEN", msg::cmsg_len)),
            ("CMSG_SPACE", func("CMSG_SPACE", msg::cmsg_space)),
            ("SCM_RIGHTS", int(msg::SCM_RIGHTS)),
            ("SCM_CREDENTIALS", int(2)),
            ("MSG_OOB", int(1)),
            ("MSG_PEEK", int(2)),
            ("MSG_DONTROUTE", int(4)),
            ("MSG_CTRUNC", int(8)),
            ("MSG_TRUNC", int(0x20)),
            ("MSG_DONTWAIT", int(0x40)),
            ("MSG_EOR", int(0x80)),
            ("MSG_WAITALL", int(0x100)),
            ("MSG_NOSIGNAL", int(0x4000)),
            ("MSG_CMSG_CLOEXEC", int(0x4000_0000)),
            ("gethostname", func("gethostname", gethostname)),
            ("IPPROTO_UDP", int(IPPROTO_UDP)),
            ("SO_BROADCAST", int(SO_BROADCAST)),
            ("SOL_SOCKET", int(SOL_SOCKET)),
            ("SO_ERROR", int(SO_ERROR)),
            ("SO_REUSEADDR", int(SO_REUSEADDR)),
            ("SO_KEEPALIVE", int(SO_KEEPALIVE)),
            ("SO_TYPE", int(SO_TYPE)),
            ("IPPROTO_TCP", int(IPPROTO_TCP)),
            ("TCP_NODELAY", int(TCP_NODELAY)),
            ("SHUT_RD", int(0)),
            ("SHUT_WR", int(1)),
            ("SHUT_RDWR", int(2)),
            // The codes of `gaierror` (`e.errno == socket.EAI_NONAME`).
            ("EAI_BADFLAGS", int(-1)),
            ("EAI_NONAME", int(-2)),
            ("EAI_AGAIN", int(-3)),
            ("EAI_FAIL", int(-4)),
            ("EAI_NODATA", int(-5)),
            ("EAI_FAMILY", int(-6)),
            ("EAI_SOCKTYPE", int(-7)),
            ("EAI_SERVICE", int(-8)),
            ("EAI_ADDRFAMILY", int(-9)),
            ("EAI_MEMORY", int(-10)),
            ("EAI_SYSTEM", int(-11)),
            ("EAI_OVERFLOW", int(-12)),
            ("error", oserror),
            (
                "timeout",
                Value::Class(types().exc(ExcKind::TimeoutError).clone()),
            ),
            ("gaierror", Value::Class(extra_exc_class("gaierror"))),
            ("gethostbyname", func("gethostbyname", gethostbyname)),
            (
                "gethostbyname_ex",
                func("gethostbyname_ex", gethostbyname_ex),
            ),
            ("getprotobyname", func("getprotobyname", getprotobyname)),
            ("IPPROTO_ICMP", int(1)),
            ("IPPROTO_RAW", int(255)),
            ("INADDR_ANY", int(0)),
            ("INADDR_BROADCAST", int(0xffff_ffff)),
            ("INADDR_LOOPBACK", int(0x7f00_0001)),
            ("INADDR_NONE", int(0xffff_ffff)),
            ("getaddrinfo", func("getaddrinfo", getaddrinfo)),
            ("inet_aton", func("inet_aton", inet_aton)),
            ("inet_ntoa", func("inet_ntoa", inet_ntoa)),
            ("inet_pton", func("inet_pton", inet_pton)),
            ("inet_ntop", func("inet_ntop", inet_ntop)),
            ("getservbyname", func("getservbyname", getservbyname)),
            ("getservbyport", func("getservbyport", getservbyport)),
            ("has_ipv6", Value::Bool(true)),
            ("IPPROTO_IP", int(0)),
            ("IPPROTO_IPV6", int(IPPROTO_IPV6)),
            ("IPV6_V6ONLY", int(IPV6_V6ONLY)),
            ("AI_PASSIVE", int(AI_PASSIVE)),
            ("AI_CANONNAME", int(AI_CANONNAME)),
            ("AI_NUMERICHOST", int(AI_NUMERICHOST)),
            ("AI_V4MAPPED", int(8)),
            ("AI_ALL", int(0x10)),
            ("AI_ADDRCONFIG", int(0x20)),
            ("AI_NUMERICSERV", int(AI_NUMERICSERV)),
            ("htons", func("htons", htons)),
            ("ntohs", func("ntohs", ntohs)),
            ("htonl", func("htonl", htonl)),
            ("ntohl", func("ntohl", ntohl)),
            ("SO_REUSEPORT", int(SO_REUSEPORT)),
            ("SOMAXCONN", int(4096)),
            ("create_server", func("create_server", create_server)),
            (
                "getdefaulttimeout",
                func("getdefaulttimeout", getdefaulttimeout),
            ),
            (
                "setdefaulttimeout",
                func("setdefaulttimeout", setdefaulttimeout),
            ),
        ],
    )
}

/// Bind the socket's own descriptor (it must be `Unbound`) to `addr`: a TCP socket then listens
/// (std's `TcpListener::bind` did both, and minivm keeps that: see the module doc; with
/// `SO_REUSEADDR`, as std set it) and becomes a `Listener` (`listening` as given), a UDP socket a
/// `Datagram`. Binding never waits, so the state's lock is held throughout (another thread
/// binding or connecting at once gets `EINVAL`).
fn bind_first(
    d: &SocketData,
    addr: &impl rustix::net::addr::SocketAddrArg,
    listening: bool,
) -> PyResult<()> {
    let timeout = *d.timeout.lock();
    let sys = |e: rustix::io::Errno| os_error(&e.into(), None);
    let mut st = d.state.lock();
    let first = match &mut *st {
        Sock::Unbound(first) => first,
        Sock::Closed => return Err(errno(libc::EBADF)),
        _ => return Err(errno(libc::EINVAL)),
    };
    let Some(fd) = first.as_ref() else {
        return Err(errno(libc::EBADF));
    };
    if !d.dgram && !d.unix {
        let _ = rustix::net::sockopt::set_socket_reuseaddr(fd, true);
    }
    rustix::net::bind(fd, addr).map_err(sys)?;
    if !d.dgram && !d.unix {
        rustix::net::listen(fd, 128).map_err(sys)?;
    }
    let Some(fd) = first.take() else {
        return Err(errno(libc::EBADF));
    };
    *st = if d.dgram {
        let udp = UdpSocket::from(fd);
        apply_udp_timeout(&udp, timeout);
        Sock::Datagram(Arc::new(udp))
    } else {
        let listener = TcpListener::from(fd);
        apply_listener_mode(&listener, timeout);
        Sock::Listener {
            listener: Arc::new(listener),
            listening,
        }
    };
    Ok(())
}

/// The descriptor a new socket gets at creation (`Sock::Unbound`): a close-on-exec IPv4 (IPv6
/// with `v6`) socket of the kind asked for, so that it can be polled and its options read before
/// it is bound or connected. Running out of descriptors is CPython's `OSError: [Errno 24] Too
/// many open files`.
fn first_fd(dgram: bool, family: i64) -> PyResult<OwnedFd> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let kind = if dgram {
        SocketType::DGRAM
    } else {
        SocketType::STREAM
    };
    let family = match family {
        AF_INET6 => AddressFamily::INET6,
        AF_UNIX => AddressFamily::UNIX,
        _ => AddressFamily::INET,
    };
    rustix::net::socket_with(family, kind, SocketFlags::CLOEXEC, None)
        .map_err(|e| os_error(&e.into(), None))
}

fn errno(code: i32) -> PyErr {
    os_error(&std::io::Error::from_raw_os_error(code), None)
}

fn timed_out() -> PyErr {
    err!(TimeoutError, "timed out")
}

fn sock_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "socket.__init__ needs a socket instance"));
    };
    let int_arg = |i: usize, name: &str, default: i64| -> PyResult<i64> {
        // (An `AddressFamily`/`SocketKind` member from `getaddrinfo` is an int subclass: its
        // int is read.)
        match arg(&args, i, name).map(|v| crate::object::builtin_base(v).unwrap_or(v)) {
            None | Some(Value::None) => Ok(default),
            Some(Value::Int(n)) if *n == -1 => Ok(default),
            Some(Value::Int(n)) => Ok(*n),
            Some(other) => Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            )),
        }
    };
    let family = int_arg(1, "family", AF_INET)?;
    let kind = int_arg(2, "type", SOCK_STREAM)?;
    let proto = int_arg(3, "proto", 0)?;
    if let Some(f) = arg(&args, 4, "fileno").filter(|f| !f.is_none()) {
        let given = |i: usize, name: &str| {
            arg(&args, i, name).is_some_and(|v| !v.is_none() && !matches!(v, Value::Int(-1)))
        };
        let given = [
            given(1, "family").then_some(family),
            given(2, "type").then_some(kind),
            given(3, "proto").then_some(proto),
        ];
        return init_from_fd(inst, f, given);
    }
    if family != AF_INET && family != AF_INET6 && family != AF_UNIX {
        return Err(err!(
            NotImplementedError,
            "minivm sockets support only AF_INET, AF_INET6 and AF_UNIX, not family {family}"
        ));
    }
    let base = kind & !SOCK_TYPE_FLAGS;
    if base != SOCK_STREAM && base != SOCK_DGRAM {
        return Err(err!(
            NotImplementedError,
            "minivm sockets support only SOCK_STREAM (TCP) and SOCK_DGRAM (UDP), not type {kind}"
        ));
    }
    let dgram = base == SOCK_DGRAM;
    let unix = family == AF_UNIX;
    if proto != 0 && (unix || proto != if dgram { IPPROTO_UDP } else { IPPROTO_TCP }) {
        return Err(errno(libc::EPROTONOSUPPORT));
    }
    let timeout = if kind & 0o4000 != 0 {
        Some(Duration::ZERO)
    } else {
        *DEFAULT_TIMEOUT.lock()
    };
    let v6 = family == AF_INET6;
    let mut data = new_data(Sock::Unbound(Some(first_fd(dgram, family)?)), timeout);
    data.dgram = dgram;
    data.v6 = v6;
    data.unix = unix;
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "socket.__init__() called twice"));
    }
    set_ints(inst, family, base, proto);
    Ok(Value::None)
}

/// `socket(family, type, proto, fileno)`: the socket object of an open descriptor, in the state
/// the OS reports (listening, connected, or neither); the family, type and protocol are the
/// descriptor's unless given.
fn init_from_fd(inst: &Instance, fileno: &Value, given: [Option<i64>; 3]) -> PyResult<Value> {
    use rustix::net::sockopt;
    let n = match fileno {
        Value::Int(n) => *n,
        other => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
    };
    if n < 0 {
        return Err(err!(ValueError, "negative file descriptor"));
    }
    let fd = msg::adopt_fd(n)?;
    let os_err = |e: rustix::io::Errno| errno(e.raw_os_error());
    let family = sockopt::socket_domain(&fd).map_err(os_err)?.as_raw() as i64;
    let base = sockopt::socket_type(&fd).map_err(os_err)?.as_raw() as i64;
    let proto = sockopt::socket_protocol(&fd)
        .ok()
        .flatten()
        .map_or(0, |p| p.as_raw().get() as i64);
    if family != AF_INET && family != AF_INET6 && family != AF_UNIX {
        return Err(err!(
            NotImplementedError,
            "minivm sockets support only AF_INET, AF_INET6 and AF_UNIX, not family {family}"
        ));
    }
    if base != SOCK_STREAM && base != SOCK_DGRAM {
        return Err(err!(
            NotImplementedError,
            "minivm sockets support only SOCK_STREAM (TCP) and SOCK_DGRAM (UDP), not type {base}"
        ));
    }
    let dgram = base == SOCK_DGRAM;
    let listening = !dgram && sockopt::socket_acceptconn(&fd).unwrap_or(false);
    let connected = rustix::net::getpeername(&fd).is_ok_and(|a| a.is_some());
    let state = if dgram {
        Sock::Datagram(Arc::new(UdpSocket::from(fd)))
    } else if listening {
        Sock::Listener {
            listener: Arc::new(TcpListener::from(fd)),
            listening: true,
        }
    } else if connected {
        Sock::Stream(Arc::new(TcpStream::from(fd)))
    } else {
        Sock::Unbound(Some(fd))
    };
    let timeout = *DEFAULT_TIMEOUT.lock();
    let mut data = new_data(state, timeout);
    data.dgram = dgram;
    data.v6 = family == AF_INET6;
    data.unix = family == AF_UNIX;
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "socket.__init__() called twice"));
    }
    set_ints(
        inst,
        given[0].unwrap_or(family),
        given[1].unwrap_or(base),
        given[2].unwrap_or(proto),
    );
    Ok(Value::None)
}

/// `socket.fromfd(fd, family, type, proto=0)`: a socket object over a duplicate of `fd`.
fn fromfd(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, family, kind, proto] =
        Sig::py("fromfd", &["fd", "family", "type", "proto"], 3).bind::<4>(&args)?;
    let n = match fd {
        Some(Value::Int(n)) => *n,
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
        None => return Err(err!(TypeError, "fromfd() missing required argument 'fd'")),
    };
    let copy = msg::dup_fd(n)?;
    let number = crate::stdlib::os::hand_out_fd(copy);
    let call_args = [
        family.cloned().unwrap_or(Value::Int(-1)),
        kind.cloned().unwrap_or(Value::Int(-1)),
        proto.cloned().unwrap_or(Value::Int(0)),
        Value::Int(number),
    ];
    interp.call(&Value::Class(socket_class()), &call_args)
}

fn new_data(state: Sock, timeout: Option<Duration>) -> SocketData {
    SocketData {
        state: Mutex::new(state),
        timeout: Mutex::new(timeout),
        nodelay: Mutex::new(false),
        flags: Mutex::new(Vec::new()),
        dgram: false,
        v6: false,
        unix: false,
    }
}

fn set_ints(inst: &Instance, family: i64, kind: i64, proto: i64) {
    let mut d = inst.dict.lock();
    d.insert(Arc::from("family"), Value::Int(family));
    d.insert(Arc::from("type"), Value::Int(kind));
    d.insert(Arc::from("proto"), Value::Int(proto));
}

/// The timeout new sockets start with (`socket.setdefaulttimeout`); None: blocking.
static DEFAULT_TIMEOUT: Mutex<Option<Duration>> = Mutex::new(None);

/// A new `socket.socket` of `family` around a connected stream (from `accept` or
/// `socketpair`), with the default timeout, as CPython gives an accepted socket.
fn stream_socket(stream: TcpStream, family: i64) -> Value {
    let inst = Instance::new(socket_class());
    let timeout = *DEFAULT_TIMEOUT.lock();
    if timeout.is_some() {
        apply_timeout(&stream, timeout);
    }
    let mut data = new_data(Sock::Stream(Arc::new(stream)), timeout);
    data.v6 = family == AF_INET6;
    data.unix = family == AF_UNIX;
    inst.set_native(Box::new(data));
    set_ints(&inst, family, SOCK_STREAM, 0);
    Value::Instance(Ref::new(inst))
}

/// A socket address argument before its host is resolved: `(host, port)`, and for IPv6 the
/// optional flow label and scope id.
struct AddrArg {
    host: String,
    port: u16,
    flowinfo: u32,
    scope_id: u32,
}

/// An `(host, port)` argument (IPv6: `(host, port[, flowinfo[, scope_id]])`), checked as
/// CPython does; `what` is `bind`/`connect`.
fn addr_arg(v: Option<&Value>, what: &str, v6: bool) -> PyResult<AddrArg> {
    let family = if v6 { "AF_INET6" } else { "AF_INET" };
    let t = match v {
        Some(Value::Tuple(t)) => t,
        Some(other) => {
            return Err(err!(
                TypeError,
                "{what}(): {family} address must be tuple, not {}",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "{what}() takes exactly one argument (0 given)"
            ))
        }
    };
    let (host, port, extra) = match &t.items[..] {
        [host, port] => (host, port, &[][..]),
        [host, port, extra @ ..] if v6 && extra.len() <= 2 => (host, port, extra),
        _ if v6 => {
            return Err(err!(
                TypeError,
                "AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])"
            ))
        }
        _ => {
            return Err(err!(
                TypeError,
                "AF_INET address must be a pair (host, port)"
            ))
        }
    };
    let host = match host {
        Value::Str(s) => s.as_str().to_string(),
        other => {
            return Err(err!(
                TypeError,
                "str, bytes or bytearray expected, not {}",
                type_name(other)
            ))
        }
    };
    let port = match port {
        Value::Int(p) => *p,
        Value::Bool(b) => *b as i64,
        other => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
    };
    let port =
        u16::try_from(port).map_err(|_| err!(OverflowError, "{what}(): port must be 0-65535."))?;
    let mut ints = [0u32; 2];
    for (slot, v) in ints.iter_mut().zip(extra) {
        let n = crate::builtins::args::to_index(v)?;
        *slot = u32::try_from(n).map_err(|_| {
            err!(
                OverflowError,
                "Python int too large to convert to C unsigned long"
            )
        })?;
    }
    if ints[0] > 0xFFFFF {
        return Err(err!(OverflowError, "{what}(): flowinfo must be 0-1048575."));
    }
    Ok(AddrArg {
        host,
        port,
        flowinfo: ints[0],
        scope_id: ints[1],
    })
}

/// Resolve an address argument to an IPv4 address (IPv6 with `v6`), with the GIL released
/// (name lookups block). An address of the other family is glibc's EAI_ADDRFAMILY, as in
/// CPython.
fn resolve(interp: &mut Interp, a: &AddrArg, v6: bool) -> PyResult<SocketAddr> {
    let host = match a.host.as_str() {
        "" if v6 => "::",
        "" => "0.0.0.0",
        "<broadcast>" => "255.255.255.255",
        h => h,
    };
    let with_port = |ip: IpAddr| match ip {
        IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, a.port)),
        IpAddr::V6(ip) => SocketAddr::V6(SocketAddrV6::new(ip, a.port, a.flowinfo, a.scope_id)),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_ipv6() != v6 {
            return Err(gai_error(-9, "Address family for hostname not supported"));
        }
        return Ok(with_port(ip));
    }
    let found = lookup_all(interp, host)?;
    match found.into_iter().find(|ip| ip.is_ipv6() == v6) {
        Some(ip) => Ok(with_port(ip)),
        // A name known only with the other family ('localhost' of /etc/hosts for an IPv6
        // socket): glibc's lookup restricted to the socket's family does not find it.
        None => Err(gai_error(-2, "Name or service not known")),
    }
}

/// The wildcard address of the socket's family, port 0 (what the kernel binds an unbound
/// socket to on `listen()` or a first `sendto()`).
fn any_addr(d: &SocketData) -> SocketAddr {
    if d.v6 {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    }
}

/// The `socket.gaierror` for a failed name lookup, with the C library's code and text.
fn lookup_error(e: &std::io::Error) -> PyErr {
    let text = e.to_string();
    let text = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text)
        .to_string();
    let code = match text.as_str() {
        "Name or service not known" => -2,
        "Temporary failure in name resolution" => -3,
        "No address associated with hostname" => -5,
        _ => 0,
    };
    gai_error(code, &text)
}

/// `socket.gaierror: [Errno -2] Name or service not known`, whose `args` are `(code, text)`
/// and whose `errno` and `strerror` are those, as CPython's (an unknown code: the text alone).
fn gai_error(code: i32, text: &str) -> PyErr {
    if code == 0 {
        return exc_of_class(extra_exc_class("gaierror"), text.to_string());
    }
    let args = vec![Value::Int(i64::from(code)), Value::str(text)];
    let e = crate::stdlib::os::exc_with_args(extra_exc_class("gaierror"), args);
    {
        let mut d = e.exc.dict.lock();
        d.insert(Arc::from("errno"), Value::Int(i64::from(code)));
        d.insert(Arc::from("strerror"), Value::str(text));
    }
    e
}

fn sock_bind(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    if d.unix {
        let addr = unix_addr_arg(arg(&args, 1, "address"), "bind")?;
        if let Sock::Datagram(u) = &*d.state.lock() {
            // (Sent from, or connected, before it was bound: the kernel decides.)
            return rustix::net::bind(&**u, &addr)
                .map(|()| Value::None)
                .map_err(|e| os_error(&e.into(), None));
        }
        bind_first(d, &addr, false)?;
        return Ok(Value::None);
    }
    let address = addr_arg(arg(&args, 1, "address"), "bind", d.v6)?;
    match &*d.state.lock() {
        Sock::Unbound(_) => {}
        Sock::Closed => return Err(errno(libc::EBADF)),
        _ => return Err(errno(libc::EINVAL)),
    }
    let addr = resolve(interp, &address, d.v6)?;
    // Binding (and listening) never waits, so the GIL stays held: a server thread that just
    // started keeps it until `accept`, and the thread that started it cannot connect before it
    // listens (Effective Python's item 61 relies on that).
    bind_first(d, &addr, false)?;
    Ok(Value::None)
}

fn sock_listen(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    if d.dgram {
        return Err(errno(libc::EOPNOTSUPP));
    }
    // CPython's default: min(SOMAXCONN, 128); a negative backlog counts as 0.
    let backlog = match arg(&args, 1, "backlog") {
        None => 128,
        Some(Value::Int(n)) => (*n).clamp(0, i64::from(i32::MAX)) as i32,
        Some(Value::Bool(b)) => i32::from(*b),
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
    };
    if matches!(*d.state.lock(), Sock::Unbound(_)) {
        if d.unix {
            // Linux does not listen on an unbound Unix socket.
            return Err(errno(libc::EINVAL));
        }
        // Linux binds an unbound socket to an ephemeral port on listen().
        bind_first(d, &any_addr(d), true)?;
    }
    match &mut *d.state.lock() {
        Sock::Listener {
            listener,
            listening,
        } => {
            // std listened with its own backlog when binding; listen(2) again sets the one asked
            // for (a server expecting 1,000 clients at once wants a longer accept queue).
            let _ = rustix::net::listen(&**listener, backlog);
            *listening = true;
            Ok(Value::None)
        }
        Sock::Closed => Err(errno(libc::EBADF)),
        _ => Err(errno(libc::EINVAL)),
    }
}

/// Wait (GIL released) until `fd` has `events` or the socket's timeout passes; in the main thread
/// Ctrl-C interrupts the wait. `Err(TimeoutError)` / `Err(BlockingIOError)` when it never came.
fn wait_ready(
    interp: &mut Interp,
    fd: libc::c_int,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> PyResult<()> {
    let mut fds = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    let vm = interp.vm.clone();
    let interrupt = interp.is_main.then_some(&vm.interrupted);
    let r = interp.allow_threads(|| poll_fds(&mut fds, timeout, interrupt));
    interp.check_signals()?;
    match r {
        Ok(0) if timeout == Some(Duration::ZERO) => Err(errno(libc::EAGAIN)),
        Ok(0) => Err(timed_out()),
        Ok(_) => Ok(()),
        Err(e) => Err(os_error(&e, None)),
    }
}

/// The connected stream, or the error CPython gives for a socket in another state.
fn stream_of(d: &SocketData) -> PyResult<Arc<TcpStream>> {
    match &*d.state.lock() {
        Sock::Stream(s) => Ok(s.clone()),
        Sock::Closed => Err(errno(libc::EBADF)),
        _ => Err(errno(libc::ENOTCONN)),
    }
}

/// Map a failed read/write: a kernel timeout (`SO_RCVTIMEO`) is `TimeoutError: timed out`.
fn io_err(e: &std::io::Error, timeout: Option<Duration>) -> PyErr {
    if e.kind() == std::io::ErrorKind::WouldBlock && timeout.is_some_and(|t| !t.is_zero()) {
        timed_out()
    } else {
        os_error(e, None)
    }
}

/// Give a stream the socket's timeout: `O_NONBLOCK` for a zero timeout, else kernel send/receive
/// timeouts (a safety net behind the `poll` before each call, for when another thread drains the
/// data first).
fn apply_timeout(stream: &TcpStream, timeout: Option<Duration>) {
    let t = timeout.filter(|t| !t.is_zero());
    let _ = stream.set_nonblocking(timeout == Some(Duration::ZERO));
    let _ = stream.set_read_timeout(t);
    let _ = stream.set_write_timeout(t);
}

/// A listener is non-blocking (its `accept` never waits in the kernel) for a zero timeout.
fn apply_listener_mode(listener: &TcpListener, timeout: Option<Duration>) {
    let _ = listener.set_nonblocking(timeout == Some(Duration::ZERO));
}

fn sock_accept(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    if d.dgram {
        return Err(errno(libc::EOPNOTSUPP));
    }
    let listener = match &*d.state.lock() {
        Sock::Listener {
            listener,
            listening: true,
        } => listener.clone(),
        Sock::Closed => return Err(errno(libc::EBADF)),
        _ => return Err(errno(libc::EINVAL)),
    };
    let timeout = *d.timeout.lock();
    wait_ready(interp, listener.as_raw_fd(), libc::POLLIN, timeout)?;
    if d.unix {
        // std's accept reads only IP addresses: the system call itself, for a path's peer.
        let got = interp.allow_threads(|| {
            rustix::net::acceptfrom_with(&*listener, rustix::net::SocketFlags::CLOEXEC)
        });
        let (fd, peer) = got.map_err(|e| os_error(&e.into(), None))?;
        return Ok(Value::tuple(vec![
            stream_socket(TcpStream::from(fd), AF_UNIX),
            unix_addr_value(peer)?,
        ]));
    }
    let (stream, peer) = interp
        .allow_threads(|| listener.accept())
        .map_err(|e| os_error(&e, None))?;
    drop(listener);
    let family = if d.v6 { AF_INET6 } else { AF_INET };
    Ok(Value::tuple(vec![
        stream_socket(stream, family),
        addr_value(peer),
    ]))
}

/// A socket address as Python sees it: `(host, port)`, or for IPv6 `(host, port, flowinfo,
/// scope_id)`.
fn addr_value(a: SocketAddr) -> Value {
    let mut items = vec![
        Value::string(a.ip().to_string()),
        Value::Int(a.port() as i64),
    ];
    if let SocketAddr::V6(a) = a {
        items.push(Value::Int(a.flowinfo().into()));
        items.push(Value::Int(a.scope_id().into()));
    }
    Value::tuple(items)
}

/// The repr of [`addr_value`]'s tuple, as a socket's repr shows it (`('::1', 80, 0, 0)`).
fn addr_repr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(a) => format!("('{}', {})", a.ip(), a.port()),
        SocketAddr::V6(a) => format!(
            "('{}', {}, {}, {})",
            a.ip(),
            a.port(),
            a.flowinfo(),
            a.scope_id()
        ),
    }
}

/// Connect `d` to the address in `args[1]`; the OS error, if any, for `connect_ex`.
fn do_connect(interp: &mut Interp, args: &Args<'_>, d: &SocketData) -> PyResult<Result<(), PyErr>> {
    if d.unix {
        return unix_connect(interp, args, d);
    }
    let address = addr_arg(arg(args, 1, "address"), "connect", d.v6)?;
    if d.dgram {
        // UDP: no handshake, only the peer that send/recv use from now on.
        let addr = resolve(interp, &address, d.v6)?;
        let udp = udp_of(d)?;
        return Ok(udp.connect(addr).map_err(|e| os_error(&e, None)));
    }
    let fd = match connecting_fd(d)? {
        Ok(fd) => fd,
        Err(e) => return Ok(Err(e)),
    };
    let addr = resolve(interp, &address, d.v6)?;
    connect_to(interp, d, fd, &addr)
}

/// A duplicate of the stream socket's own descriptor, to connect with the GIL released and the
/// state's lock free: both refer to the one socket, so connecting one connects the other.
/// `Ok(Err(EISCONN))` when it is connected already.
fn connecting_fd(d: &SocketData) -> PyResult<Result<OwnedFd, PyErr>> {
    match &*d.state.lock() {
        Sock::Unbound(Some(first)) => Ok(Ok(first.try_clone().map_err(|e| os_error(&e, None))?)),
        // A Unix client bound to a path of its own before connecting (the server sees that
        // path as the peer's address): binding did not listen, so it can still connect.
        Sock::Listener {
            listener,
            listening: false,
        } if d.unix => Ok(Ok(listener
            .try_clone()
            .map(OwnedFd::from)
            .map_err(|e| os_error(&e, None))?)),
        Sock::Unbound(None) | Sock::Closed => Err(errno(libc::EBADF)),
        Sock::Stream(_) | Sock::Datagram(_) => Ok(Err(errno(libc::EISCONN))),
        Sock::Listener { .. } => Err(err!(
            NotImplementedError,
            "minivm sockets cannot connect() after bind()"
        )),
    }
}

/// Connect the TCP socket `d` (its descriptor duplicated as `fd`) to `addr`: the OS error, if
/// any, for `connect_ex`.
fn connect_to(
    interp: &mut Interp,
    d: &SocketData,
    fd: OwnedFd,
    addr: &impl rustix::net::addr::SocketAddrArg,
) -> PyResult<Result<(), PyErr>> {
    let timeout = *d.timeout.lock();
    let non_blocking = timeout == Some(Duration::ZERO);
    let sys = |e: rustix::io::Errno| os_error(&e.into(), None);
    // Connect as CPython does with a timeout: start the connection non-blocking, then wait
    // (GIL released, Ctrl-C heard in the main thread) until the socket is writable and read
    // how it ended from SO_ERROR. A non-blocking socket does not wait: its `connect()` raises
    // `BlockingIOError: [Errno 115] Operation now in progress` (unless the kernel connected at
    // once, as it may over loopback) and `getsockopt(SOL_SOCKET, SO_ERROR)` tells later.
    let _ = rustix::io::ioctl_fionbio(&fd, true);
    let mut attempt = rustix::net::connect(&fd, addr);
    if d.unix && attempt == Err(rustix::io::Errno::AGAIN) && !non_blocking {
        // A Unix server's accept queue is full: the connection waits for room (poll does not
        // tell when), tried again every few milliseconds until the timeout, GIL released.
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        while attempt == Err(rustix::io::Errno::AGAIN) {
            if deadline.is_some_and(|end| std::time::Instant::now() >= end) {
                let _ = rustix::io::ioctl_fionbio(&fd, false);
                return Ok(Err(timed_out()));
            }
            interp.allow_threads(|| std::thread::sleep(Duration::from_millis(2)));
            interp.check_signals()?;
            attempt = rustix::net::connect(&fd, addr);
        }
    }
    let outcome = match attempt {
        Err(rustix::io::Errno::INPROGRESS) if !non_blocking => {
            match wait_ready(interp, fd.as_raw_fd(), libc::POLLOUT, timeout) {
                Ok(()) => match rustix::net::sockopt::socket_error(&fd) {
                    Ok(r) => r.map_err(sys),
                    Err(e) => Err(sys(e)),
                },
                Err(e) if e.is(ExcKind::TimeoutError) => Err(e),
                Err(e) => {
                    // Interrupted (KeyboardInterrupt): the socket stays unconnected.
                    let _ = rustix::io::ioctl_fionbio(&fd, false);
                    return Err(e);
                }
            }
        }
        other => other.map_err(sys),
    };
    if outcome.is_err() && !non_blocking {
        // A failed connect leaves the socket as it was (a later connect() may try again).
        let _ = rustix::io::ioctl_fionbio(&fd, false);
        return Ok(outcome);
    }
    let mut st = d.state.lock();
    let first = match std::mem::replace(&mut *st, Sock::Closed) {
        Sock::Unbound(first) => {
            drop(fd);
            first
        }
        // The bound Unix socket's own descriptor becomes the stream (the duplicate that
        // connected, if another thread still holds the listener).
        Sock::Listener {
            listener,
            listening: false,
        } if d.unix => Some(Arc::try_unwrap(listener).map_or(fd, OwnedFd::from)),
        other => {
            *st = other;
            return Ok(Err(errno(libc::EISCONN)));
        }
    };
    let Some(first) = first else {
        return Err(errno(libc::EBADF));
    };
    let stream = TcpStream::from(first);
    apply_timeout(&stream, timeout);
    if *d.nodelay.lock() {
        let _ = stream.set_nodelay(true);
    }
    *st = Sock::Stream(Arc::new(stream));
    Ok(outcome)
}

fn sock_connect(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    do_connect(interp, &args, d)??;
    Ok(Value::None)
}

/// `connect_ex(address)`: the errno instead of an exception (0 on success).
fn sock_connect_ex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    match do_connect(interp, &args, d)? {
        Ok(()) => Ok(Value::Int(0)),
        Err(e) => {
            let code = e.exc.dict.lock().get("errno").cloned();
            match code {
                Some(Value::Int(c)) => Ok(Value::Int(c)),
                _ if e.is(ExcKind::TimeoutError) => Ok(Value::Int(libc::EAGAIN as i64)),
                _ => Err(e),
            }
        }
    }
}

/// The `bufsize` argument of `recv`/`recvfrom` (`name`): a non-negative int, with CPython's
/// errors.
fn bufsize_arg(args: &Args<'_>, name: &str) -> PyResult<i64> {
    let n = match arg(args, 1, "bufsize") {
        Some(Value::Int(n)) => *n,
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "{name}() takes at least 1 argument (0 given)"
            ))
        }
    };
    if n < 0 {
        return Err(err!(ValueError, "negative buffersize in {name}"));
    }
    Ok(n)
}

/// `recv(bufsize)`: at most `bufsize` bytes; `b''` at end of stream.
fn sock_recv(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let n = bufsize_arg(&args, "recv")?;
    if d.dgram {
        let (data, _) = udp_receive(interp, d, n)?;
        return Ok(data);
    }
    let stream = stream_of(d)?;
    if n == 0 {
        // Linux's recv(2) of 0 bytes from a stream returns at once, data or not.
        return Ok(Value::bytes(Vec::new()));
    }
    let timeout = *d.timeout.lock();
    wait_ready(interp, stream.as_raw_fd(), libc::POLLIN, timeout)?;
    let mut buf = vec![0u8; (n as usize).min(1 << 20)];
    let got = interp.allow_threads(|| (&*stream).read(&mut buf));
    let got = got.map_err(|e| io_err(&e, timeout))?;
    buf.truncate(got);
    Ok(Value::bytes(buf))
}

/// The data argument of `send`/`sendall`: any bytes-like object.
fn data_arg<'a>(args: &Args<'a>) -> PyResult<std::borrow::Cow<'a, [u8]>> {
    match arg(args, 1, "data") {
        Some(v) => crate::object::bytes_like(v).ok_or_else(|| {
            err!(
                TypeError,
                "a bytes-like object is required, not '{}'",
                type_name(v)
            )
        }),
        None => Err(err!(
            TypeError,
            "send() takes at least 1 argument (0 given)"
        )),
    }
}

/// `send(data)`: the number of bytes the kernel took.
fn sock_send(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let data = data_arg(&args)?;
    if d.dgram {
        return udp_send(interp, d, &data, None);
    }
    stream_send(interp, d, &data)
}

/// One send on a TCP stream (waiting, GIL released, until it can take data); the bytes sent.
fn stream_send(interp: &mut Interp, d: &SocketData, data: &[u8]) -> PyResult<Value> {
    let stream = sending_stream_of(d)?;
    let timeout = *d.timeout.lock();
    wait_ready(interp, stream.as_raw_fd(), libc::POLLOUT, timeout)?;
    let sent = interp.allow_threads(|| (&*stream).write(data));
    let sent = sent.map_err(|e| io_err(&e, timeout))?;
    Ok(Value::Int(sent as i64))
}

/// The connection to send on: sending on a TCP socket that is not connected (new, or
/// listening) fails with EPIPE on Linux (receiving, with ENOTCONN: [`stream_of`]).
fn sending_stream_of(d: &SocketData) -> PyResult<Arc<TcpStream>> {
    match &*d.state.lock() {
        Sock::Stream(s) => Ok(s.clone()),
        Sock::Closed => Err(errno(libc::EBADF)),
        _ => Err(errno(libc::EPIPE)),
    }
}

/// `sendall(data)`: send everything, waiting (GIL released) as often as needed.
fn sock_sendall(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let all = data_arg(&args)?;
    if d.dgram {
        // One datagram carries it all (or the send fails).
        return udp_send(interp, d, &all, None).map(|_| Value::None);
    }
    let mut data: &[u8] = &all;
    let stream = sending_stream_of(d)?;
    let timeout = *d.timeout.lock();
    while !data.is_empty() {
        wait_ready(interp, stream.as_raw_fd(), libc::POLLOUT, timeout)?;
        let sent = interp.allow_threads(|| (&*stream).write(data));
        match sent {
            Ok(0) => return Err(errno(libc::EPIPE)),
            Ok(k) => data = &data[k.min(data.len())..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(&e, timeout)),
        }
    }
    Ok(Value::None)
}

fn sock_shutdown(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let how = match arg(&args, 1, "how") {
        Some(Value::Int(0)) => Shutdown::Read,
        Some(Value::Int(1)) => Shutdown::Write,
        Some(Value::Int(2)) => Shutdown::Both,
        Some(Value::Int(_)) => return Err(errno(libc::EINVAL)),
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "shutdown() takes exactly one argument (0 given)"
            ))
        }
    };
    let stream = stream_of(d)?;
    stream.shutdown(how).map_err(|e| os_error(&e, None))?;
    Ok(Value::None)
}

/// `close()`: the descriptor is closed once no call in another thread still uses it.
fn sock_close(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let old = std::mem::replace(&mut *d.state.lock(), Sock::Closed);
    drop(old);
    Ok(Value::None)
}

/// A timeout value as `settimeout` takes it.
fn timeout_value(v: Option<&Value>) -> PyResult<Option<Duration>> {
    // Converted to CPython's clock first: its errors come before the sign check.
    let t = match v {
        None => {
            return Err(err!(
                TypeError,
                "settimeout() takes exactly one argument (0 given)"
            ))
        }
        Some(Value::None) => return Ok(None),
        Some(v @ (Value::Int(_) | Value::Bool(_) | Value::Float(_) | Value::BigInt(_))) => {
            crate::stdlib::sync::seconds(v)?
        }
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
    };
    let ns = t.ns()?;
    if ns < 0 {
        return Err(err!(ValueError, "Timeout value out of range"));
    }
    Ok(Some(Duration::from_nanos(ns.unsigned_abs())))
}

fn set_timeout(d: &SocketData, t: Option<Duration>) {
    *d.timeout.lock() = t;
    match &*d.state.lock() {
        Sock::Stream(s) => apply_timeout(s, t),
        Sock::Listener { listener, .. } => apply_listener_mode(listener, t),
        Sock::Datagram(u) => apply_udp_timeout(u, t),
        Sock::Unbound(_) | Sock::Closed => {}
    }
}

fn sock_settimeout(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let t = timeout_value(arg(&args, 1, "value"))?;
    set_timeout(d, t);
    Ok(Value::None)
}

fn sock_gettimeout(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let t = *d.timeout.lock();
    Ok(t.map_or(Value::None, |t| Value::Float(t.as_secs_f64())))
}

/// `setblocking(flag)`: `settimeout(None)` or `settimeout(0.0)`.
fn sock_setblocking(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let Some(flag) = arg(&args, 1, "flag") else {
        return Err(err!(
            TypeError,
            "setblocking() takes exactly one argument (0 given)"
        ));
    };
    let blocking = interp.truthy(flag)?;
    set_timeout(d, if blocking { None } else { Some(Duration::ZERO) });
    Ok(Value::None)
}

fn sock_getblocking(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let t = *d.timeout.lock();
    Ok(Value::Bool(t != Some(Duration::ZERO)))
}

/// `setsockopt(level, option, value)`: `TCP_NODELAY` is applied; the rest (`SO_REUSEADDR`,
/// which std sets on every listener anyway, ...) are accepted and ignored.
fn sock_setsockopt(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let mut ints = [0i64; 3];
    for (i, slot) in ints.iter_mut().enumerate() {
        *slot = match args.pos.get(i + 1) {
            Some(Value::Int(n)) => *n,
            Some(Value::Bool(b)) => *b as i64,
            Some(other) => {
                return Err(err!(
                    TypeError,
                    "'{}' object cannot be interpreted as an integer",
                    type_name(other)
                ))
            }
            None => {
                return Err(err!(
                    TypeError,
                    "setsockopt() takes at least 3 arguments ({} given)",
                    args.pos.len().saturating_sub(1)
                ))
            }
        };
    }
    if matches!(*d.state.lock(), Sock::Closed) {
        return Err(errno(libc::EBADF));
    }
    if ints[0] == SOL_SOCKET && KEPT_FLAGS.contains(&ints[1]) {
        let mut flags = d.flags.lock();
        flags.retain(|(o, _)| *o != ints[1]);
        flags.push((ints[1], ints[2]));
    }
    if ints[0] == SOL_SOCKET && ints[1] == SO_BROADCAST && d.dgram {
        udp_of(d)?
            .set_broadcast(ints[2] != 0)
            .map_err(|e| os_error(&e, None))?;
    }
    if ints[0] == IPPROTO_IPV6 && ints[1] == IPV6_V6ONLY {
        // Set on the descriptor itself (before bind, where it matters): an IPv6 socket bound to
        // '::' then takes IPv6 connections only. Linux refuses it on an IPv4 socket.
        with_fd(d, |fd| {
            rustix::net::sockopt::set_ipv6_v6only(fd, ints[2] != 0)
        })?
        .map_err(|e| os_error(&e.into(), None))?;
    }
    if ints[0] == IPPROTO_TCP && d.unix {
        return Err(errno(libc::EOPNOTSUPP));
    }
    if ints[0] == IPPROTO_TCP && ints[1] == TCP_NODELAY {
        *d.nodelay.lock() = ints[2] != 0;
        if let Sock::Stream(s) = &*d.state.lock() {
            s.set_nodelay(ints[2] != 0)
                .map_err(|e| os_error(&e, None))?;
        }
    }
    Ok(Value::None)
}

/// `getsockopt(level, option[, buflen])`: `SO_ERROR` (the pending error, cleared as it is read:
/// how a non-blocking `connect` ended), `SO_TYPE`, `TCP_NODELAY`, `SO_BROADCAST` and the flags
/// `setsockopt` recorded; other options are `ENOPROTOOPT`.
fn sock_getsockopt(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let [level, option, buflen] = Sig::pos(
        "getsockopt",
        Style::Positional,
        &["level", "option", "buflen"],
        2,
    )
    .method()
    .bind::<3>(&args)?;
    if buflen.is_some() {
        return Err(err!(
            NotImplementedError,
            "minivm's socket.getsockopt() does not take a buffer length"
        ));
    }
    let int = |v: Option<&Value>| match v {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Bool(b)) => Ok(*b as i64),
        Some(other) => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
        None => Ok(0),
    };
    match (int(level)?, int(option)?) {
        (SOL_SOCKET, SO_ERROR) => match &*d.state.lock() {
            Sock::Stream(s) => match s.take_error() {
                Ok(None) => Ok(Value::Int(0)),
                Ok(Some(e)) | Err(e) => Ok(Value::Int(e.raw_os_error().unwrap_or(0) as i64)),
            },
            Sock::Datagram(u) => match u.take_error() {
                Ok(None) => Ok(Value::Int(0)),
                Ok(Some(e)) | Err(e) => Ok(Value::Int(e.raw_os_error().unwrap_or(0) as i64)),
            },
            Sock::Closed => Err(errno(libc::EBADF)),
            _ => Ok(Value::Int(0)),
        },
        (IPPROTO_TCP, TCP_NODELAY) => Ok(Value::Int(*d.nodelay.lock() as i64)),
        (IPPROTO_IPV6, IPV6_V6ONLY) => with_fd(d, |fd| rustix::net::sockopt::ipv6_v6only(fd))?
            .map(|on| Value::Int(on.into()))
            .map_err(|e| os_error(&e.into(), None)),
        (SOL_SOCKET, SO_TYPE) => Ok(Value::Int(if d.dgram { SOCK_DGRAM } else { SOCK_STREAM })),
        (SOL_SOCKET, flag) if KEPT_FLAGS.contains(&flag) => {
            let flags = d.flags.lock();
            let set = flags
                .iter()
                .find(|(o, _)| *o == flag)
                .map_or(0, |(_, v)| *v);
            // The kernel stores a flag as 0 or 1 (CPython reads back 1 after setting 5).
            Ok(Value::Int(i64::from(set != 0)))
        }
        (SOL_SOCKET, SO_BROADCAST) if d.dgram => match &*d.state.lock() {
            Sock::Datagram(u) => Ok(Value::Int(u.broadcast().unwrap_or(false) as i64)),
            _ => Ok(Value::Int(0)),
        },
        _ => Err(errno(libc::ENOPROTOOPT)),
    }
}

/// Run `f` on the socket's descriptor (`EBADF` once closed).
fn with_fd<R>(d: &SocketData, f: impl FnOnce(std::os::fd::BorrowedFd<'_>) -> R) -> PyResult<R> {
    use std::os::fd::AsFd;
    match &*d.state.lock() {
        Sock::Listener { listener, .. } => Ok(f(listener.as_fd())),
        Sock::Stream(s) => Ok(f(s.as_fd())),
        Sock::Datagram(u) => Ok(f(u.as_fd())),
        Sock::Unbound(Some(fd)) => Ok(f(fd.as_fd())),
        Sock::Unbound(None) | Sock::Closed => Err(errno(libc::EBADF)),
    }
}

fn raw_fd(d: &SocketData) -> i64 {
    match &*d.state.lock() {
        Sock::Listener { listener, .. } => listener.as_raw_fd() as i64,
        Sock::Stream(s) => s.as_raw_fd() as i64,
        Sock::Datagram(u) => u.as_raw_fd() as i64,
        Sock::Unbound(Some(fd)) => fd.as_raw_fd() as i64,
        Sock::Unbound(None) | Sock::Closed => -1,
    }
}

fn sock_fileno(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    Ok(Value::Int(raw_fd(d)))
}

/// `makefile(mode='r', buffering=None, *, encoding=None, errors=None, newline=None)`: a file
/// object over the connection (on a duplicate of its descriptor, so closing the socket leaves
/// the file usable, as CPython's reference counting does); `'r'`/`'w'` give text, with `'b'`
/// bytes, both letters a file that reads and writes. Its `name` is the socket's descriptor.
fn sock_makefile(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let [mode, _buffering, encoding, errors, newline] =
        Sig::py("makefile", &["mode", "buffering"], 0)
            .method()
            .kwonly(&["encoding", "errors", "newline"])
            .bind::<5>(&args)?;
    let mode = match mode {
        None => "r".to_string(),
        Some(Value::Str(m)) => m.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object is not iterable",
                type_name(other)
            ))
        }
    };
    if mode.is_empty() || !mode.chars().all(|c| "rwb".contains(c)) {
        return Err(err!(
            ValueError,
            "invalid mode {} (only r, w, b allowed)",
            crate::num::parse::str_repr(&mode)
        ));
    }
    let (read, write) = (mode.contains('r'), mode.contains('w'));
    let open_mode = match (read, write) {
        (true, true) => "r+",
        (false, true) => "w",
        _ => "r",
    };
    let open_mode = format!("{open_mode}{}", if mode.contains('b') { "b" } else { "" });
    let stream = stream_of(d)?;
    let dup = stream.try_clone().map_err(|e| os_error(&e, None))?;
    let name = Value::Int(stream.as_raw_fd() as i64);
    let text = crate::stdlib::file::TextArgs {
        encoding,
        errors,
        newline,
    };
    crate::stdlib::file::open_fd(std::os::fd::OwnedFd::from(dup), name, &open_mode, &text)
}

fn local_addr(d: &SocketData) -> PyResult<SocketAddr> {
    let r = match &*d.state.lock() {
        Sock::Unbound(_) => Ok(any_addr(d)),
        Sock::Listener { listener, .. } => listener.local_addr(),
        Sock::Stream(s) => s.local_addr(),
        Sock::Datagram(u) => u.local_addr(),
        Sock::Closed => return Err(errno(libc::EBADF)),
    };
    r.map_err(|e| os_error(&e, None))
}

fn sock_getsockname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    if d.unix {
        return unix_name(d, false);
    }
    Ok(addr_value(local_addr(d)?))
}

fn sock_getpeername(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    if d.unix {
        return unix_name(d, true);
    }
    if let Sock::Datagram(u) = &*d.state.lock() {
        let peer = u.peer_addr().map_err(|e| os_error(&e, None))?;
        return Ok(addr_value(peer));
    }
    let stream = stream_of(d)?;
    let peer = stream.peer_addr().map_err(|e| os_error(&e, None))?;
    Ok(addr_value(peer))
}

fn sock_enter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = this::<SocketData>(&args, "socket")?;
    Ok(Value::Instance(inst.clone()))
}

fn sock_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, _) = this::<SocketData>(&args, "socket")?;
    sock_close(interp, Args::new(&args.pos[..1]))?;
    Ok(Value::None)
}

/// `socket.family` / `socket.type`: the int the socket was made with, as a member of
/// `_socketinfo`'s enumeration (`_family_of`/`_kind_of` keep an unknown number an int).
fn sock_enum_attr(interp: &mut Interp, args: &Args<'_>, attr: &str, conv: &str) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "socket.{attr} needs a socket"));
    };
    let n = inst.dict.lock().get(attr).cloned().unwrap_or(Value::Int(0));
    let info = interp.import_module("_socketinfo")?;
    let f = interp.getattr(&info, conv)?;
    interp.call(&f, &[n])
}

fn sock_family(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    sock_enum_attr(interp, &args, "family", "_family_of")
}

fn sock_type(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    sock_enum_attr(interp, &args, "type", "_kind_of")
}

/// `dup()`: a new socket object of the same class on a duplicate of the descriptor (its own
/// `fileno()`, closed on its own, close-on-exec), with the same kind, options and timeout.
fn sock_dup(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<SocketData>(&args, "socket")?;
    let failed = |e: std::io::Error| os_error(&e, None);
    let state = match &*d.state.lock() {
        Sock::Unbound(Some(fd)) => Sock::Unbound(Some(fd.try_clone().map_err(failed)?)),
        Sock::Unbound(None) => Sock::Unbound(None),
        Sock::Listener {
            listener,
            listening,
        } => Sock::Listener {
            listener: Arc::new(listener.try_clone().map_err(failed)?),
            listening: *listening,
        },
        Sock::Stream(st) => Sock::Stream(Arc::new(st.try_clone().map_err(failed)?)),
        Sock::Datagram(u) => Sock::Datagram(Arc::new(u.try_clone().map_err(failed)?)),
        Sock::Closed => return Err(errno(libc::EBADF)),
    };
    let mut data = new_data(state, *d.timeout.lock());
    data.dgram = d.dgram;
    data.v6 = d.v6;
    data.unix = d.unix;
    *data.nodelay.lock() = *d.nodelay.lock();
    *data.flags.lock() = d.flags.lock().clone();
    let copy = Instance::new(inst.class.get().clone());
    copy.set_native(Box::new(data));
    let int_of = |name: &str| match inst.dict.lock().get(name) {
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    set_ints(&copy, int_of("family"), int_of("type"), int_of("proto"));
    Ok(Value::Instance(Ref::new(copy)))
}

/// `<socket.socket fd=3, family=2, type=1, proto=6, laddr=('127.0.0.1', 5000)>`
fn sock_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<SocketData>(&args, "socket")?;
    let fd = raw_fd(d);
    let closed = matches!(*d.state.lock(), Sock::Closed);
    let proto = match inst.dict.lock().get("proto") {
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    let mut s = format!(
        "<{}.{} {}fd={fd}, family={}, type={}, proto={proto}",
        inst.class.module,
        inst.class.qualname(),
        if closed { "[closed] " } else { "" },
        family_of(d),
        if d.dgram { SOCK_DGRAM } else { SOCK_STREAM }
    );
    if !closed && d.unix {
        // A path shows as itself, an unnamed end not at all (CPython shows `str()` of each).
        for (key, peer) in [("laddr", false), ("raddr", true)] {
            match unix_name(d, peer) {
                Ok(Value::Str(p)) if !p.as_str().is_empty() => {
                    s.push_str(&format!(", {key}={}", p.as_str()))
                }
                Ok(Value::Bytes(b)) => s.push_str(&format!(
                    ", {key}={}",
                    crate::interp::repr::bytes_repr(b.as_bytes())
                )),
                _ => {}
            }
        }
    } else if !closed {
        if let Ok(a) = local_addr(d) {
            s.push_str(&format!(", laddr={}", addr_repr(a)));
        }
        let peer = match &*d.state.lock() {
            Sock::Stream(st) => st.peer_addr().ok(),
            Sock::Datagram(u) => u.peer_addr().ok(),
            _ => None,
        };
        if let Some(a) = peer {
            s.push_str(&format!(", raddr={}", addr_repr(a)));
        }
    }
    s.push('>');
    Ok(Value::string(s))
}

/// `socket.getdefaulttimeout()`: the timeout of new sockets (None: they block).
fn getdefaulttimeout(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("getdefaulttimeout", Style::NoArgs, &[], 0).bind::<0>(&args)?;
    let t = *DEFAULT_TIMEOUT.lock();
    Ok(t.map_or(Value::None, |t| Value::Float(t.as_secs_f64())))
}

/// `socket.setdefaulttimeout(timeout)`: the timeout sockets made from now on start with
/// (those from `socket()`, `create_connection()` and `accept()`), checked as `settimeout`.
fn setdefaulttimeout(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [t] = Sig::pos("setdefaulttimeout", Style::One, &["timeout"], 1).bind::<1>(&args)?;
    *DEFAULT_TIMEOUT.lock() = timeout_value(t)?;
    Ok(Value::None)
}

/// `socket.create_server(address, *, family=AF_INET, backlog=None, reuse_port=False,
/// dualstack_ipv6=False)`: a TCP socket bound to `address` and listening. (The address is
/// reusable at once, as CPython sets SO_REUSEADDR: std's bind does the same on Unix.)
fn create_server(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [address, family, backlog, _reuse_port, dualstack] =
        Sig::py("create_server", &["address"], 1)
            .kwonly(&["family", "backlog", "reuse_port", "dualstack_ipv6"])
            .bind::<5>(&args)?;
    let family = family.cloned().unwrap_or(Value::Int(AF_INET));
    let dualstack = match dualstack {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    if dualstack
        && !matches!(
            crate::object::builtin_base(&family).unwrap_or(&family),
            Value::Int(10)
        )
    {
        return Err(err!(ValueError, "dualstack_ipv6 requires AF_INET6 family"));
    }
    let inst = Ref::new(Instance::new(socket_class()));
    let me = Value::Instance(inst.clone());
    sock_init(interp, Args::new(&[me.clone(), family]))?;
    let Some(d) = inst.native::<SocketData>() else {
        return Err(err!(SystemError, "socket data missing"));
    };
    if d.v6 {
        // As CPython: an IPv6 server takes IPv4 connections too only when asked (dualstack).
        with_fd(d, |fd| {
            rustix::net::sockopt::set_ipv6_v6only(fd, !dualstack)
        })?
        .map_err(|e| os_error(&e.into(), None))?;
    }
    let Some(address) = address else {
        return Err(err!(SystemError, "create_server() needs an address"));
    };
    sock_bind(interp, Args::new(&[me.clone(), address.clone()]))?;
    match backlog {
        None | Some(Value::None) => sock_listen(interp, Args::new(std::slice::from_ref(&me)))?,
        Some(b) => sock_listen(interp, Args::new(&[me.clone(), b.clone()]))?,
    };
    Ok(me)
}

/// `socket.gethostbyname(host)`: the IPv4 address of `host` as a dotted string, looked up
/// with the GIL released (`socket.gaierror` when there is none).
fn gethostbyname(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [host] = Sig::pos("gethostbyname", Style::One, &["host"], 1).bind::<1>(&args)?;
    let host = host_name_arg(host, "gethostbyname")?;
    let address = AddrArg {
        host,
        port: 0,
        flowinfo: 0,
        scope_id: 0,
    };
    let addr = resolve(interp, &address, false)?;
    Ok(Value::string(addr.ip().to_string()))
}

/// The host argument of `gethostbyname`/`gethostbyname_ex` (`fname`): a str or bytes name.
fn host_name_arg(host: Option<&Value>, fname: &str) -> PyResult<String> {
    match host {
        Some(Value::Str(s)) => Ok(s.as_str().to_string()),
        Some(Value::Bytes(b)) => crate::stdlib::posix_support::os_name(b.as_bytes(), "the host"),
        Some(other) => Err(err!(
            TypeError,
            "{fname}() argument 1 must be str, bytes or bytearray, not {}",
            type_name(other)
        )),
        None => Err(err!(
            TypeError,
            "{fname}() takes exactly one argument (0 given)"
        )),
    }
}

/// `socket.gethostbyname_ex(host)`: `(name, aliases, addresses)`, the IPv4 addresses of `host`
/// (looked up as `gethostbyname` does). The name and aliases are those of the `/etc/hosts`
/// line naming `host`, as the C library gives them; a name found elsewhere (DNS) is returned
/// as given, minivm having no canonical-name lookup.
fn gethostbyname_ex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [host] = Sig::pos("gethostbyname_ex", Style::One, &["host"], 1).bind::<1>(&args)?;
    let host = host_name_arg(host, "gethostbyname_ex")?;
    let strs = |v: Vec<String>| Value::list(v.into_iter().map(Value::string).collect());
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Value::tuple(vec![
            Value::string(host.clone()),
            strs(Vec::new()),
            strs(vec![ip.to_string()]),
        ]));
    }
    let mut addresses: Vec<String> = Vec::new();
    for ip in lookup_all(interp, &host)? {
        if let IpAddr::V4(v4) = ip {
            let text = v4.to_string();
            if !addresses.contains(&text) {
                addresses.push(text);
            }
        }
    }
    if addresses.is_empty() {
        return Err(gai_error(-2, "Name or service not known"));
    }
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let line = hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let ip = words.next()?.parse::<Ipv4Addr>().ok()?;
        let names: Vec<String> = words.map(str::to_string).collect();
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&host))
            .then_some((ip, names))
    });
    let (name, aliases) = match line {
        Some((_, mut names)) if !names.is_empty() => {
            let first = names.remove(0);
            (first, names)
        }
        _ => (host, Vec::new()),
    };
    Ok(Value::tuple(vec![
        Value::string(name),
        strs(aliases),
        strs(addresses),
    ]))
}

/// `socket.getprotobyname(name)`: the number of a protocol of `/etc/protocols` (by its name or
/// an alias, as the C library matches them).
fn getprotobyname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::pos("getprotobyname", Style::One, &["name"], 1).bind::<1>(&args)?;
    let name = match name {
        Some(Value::Str(s)) => s.as_str().to_string(),
        other => {
            return Err(err!(
                TypeError,
                "getprotobyname() argument 1 must be str, not {}",
                other.map_or("NoneType".into(), type_name)
            ))
        }
    };
    let text = std::fs::read_to_string("/etc/protocols").unwrap_or_default();
    text.lines()
        .find_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let proto = words.next()?;
            let number: i64 = words.next()?.parse().ok()?;
            (proto == name || words.any(|alias| alias == name)).then_some(number)
        })
        .map(Value::Int)
        .ok_or_else(|| os_error_text("protocol not found"))
}

/// `socket.getaddrinfo(host, port, family=0, type=0, proto=0, flags=0)`: a list of `(family,
/// type, proto, canonname, sockaddr)`, family and type as `socket.AddressFamily` and
/// `socket.SocketKind` members (made in `vm/lib/_socketinfo.mini`). The addresses come from the
/// system resolver (through std, with the GIL released) in its order; each is listed once per
/// socket type (stream, datagram, raw when `type` is 0), as the C library's `getaddrinfo` does.
/// No host means the wildcard address with `AI_PASSIVE`, else the loopback one, in the order
/// glibc gives them. A port may be an int, a decimal string or a service name of
/// `/etc/services`.
fn getaddrinfo(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [host, port, family, kind, proto, flags] = Sig::kw(
        "getaddrinfo",
        &["host", "port", "family", "type", "proto", "flags"],
        2,
    )
    .bind::<6>(&args)?;
    let mut int = |v: Option<&Value>| -> PyResult<i64> {
        match v {
            None => Ok(0),
            Some(v) => interp.index_arg(crate::object::builtin_base(v).unwrap_or(v)),
        }
    };
    let (family, kind, proto, flags) = (int(family)?, int(kind)?, int(proto)?, int(flags)?);
    let host = match host {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) => Some(s.as_str().to_string()),
        Some(v) => match crate::object::bytes_like(v) {
            Some(b) => Some(crate::stdlib::posix_support::os_name(&b, "the host")?),
            None => {
                return Err(err!(
                    TypeError,
                    "getaddrinfo() argument 1 must be string or None"
                ))
            }
        },
    };
    // The C library reads a number as an unsigned long cut to 16 bits (70000 is port 4464);
    // "-1" is no number, so a service name that is not found.
    let no_service = || gai_error(-8, "Servname not supported for ai_socktype");
    let port = match port {
        None | Some(Value::None) => 0,
        Some(Value::Bool(b)) => u16::from(*b),
        Some(Value::Int(n)) if *n < 0 => return Err(no_service()),
        Some(Value::Int(n)) => (*n & 0xFFFF) as u16,
        Some(Value::BigInt(_)) => {
            return Err(err!(
                OverflowError,
                "Python int too large to convert to C long"
            ))
        }
        Some(v @ (Value::Str(_) | Value::Bytes(_))) => {
            let text = match v {
                Value::Str(s) => s.as_str().to_string(),
                _ => crate::object::bytes_like(v)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
            };
            let numeric = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            if numeric {
                (text.parse::<u64>().unwrap_or(u64::MAX) & 0xFFFF) as u16
            } else if flags & AI_NUMERICSERV != 0 {
                return Err(gai_error(-2, "Name or service not known"));
            } else {
                service_port(&text).ok_or_else(no_service)?
            }
        }
        Some(_) => return Err(os_error_text("Int or String expected")),
    };
    if !matches!(family, 0 | AF_INET | AF_INET6) {
        return Err(gai_error(-6, "ai_family not supported"));
    }
    let types: Vec<(i64, i64)> = match kind {
        // Every type, or with a protocol the type that goes with it (raw for any other).
        0 if proto == IPPROTO_TCP => vec![(SOCK_STREAM, proto)],
        0 if proto == IPPROTO_UDP => vec![(SOCK_DGRAM, proto)],
        0 if proto != 0 && port != 0 => return Err(no_service()),
        0 if proto != 0 => vec![(SOCK_RAW, proto)],
        0 => vec![
            (SOCK_STREAM, IPPROTO_TCP),
            (SOCK_DGRAM, IPPROTO_UDP),
            (SOCK_RAW, 0),
        ],
        SOCK_STREAM => vec![(SOCK_STREAM, if proto == 0 { IPPROTO_TCP } else { proto })],
        SOCK_DGRAM => vec![(SOCK_DGRAM, if proto == 0 { IPPROTO_UDP } else { proto })],
        _ if port != 0 => return Err(no_service()),
        other => vec![(other, proto)],
    };
    let addrs: Vec<std::net::IpAddr> = match &host {
        None => {
            let (v4, v6) = if flags & AI_PASSIVE != 0 {
                (Ipv4Addr::UNSPECIFIED, std::net::Ipv6Addr::UNSPECIFIED)
            } else {
                (Ipv4Addr::LOCALHOST, std::net::Ipv6Addr::LOCALHOST)
            };
            if flags & AI_PASSIVE != 0 {
                vec![v4.into(), v6.into()]
            } else {
                vec![v6.into(), v4.into()]
            }
        }
        Some(h) => match h.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) if flags & AI_NUMERICHOST != 0 => {
                return Err(gai_error(-2, "Name or service not known"))
            }
            Err(_) => lookup_all(interp, h)?,
        },
    };
    let wanted: Vec<std::net::IpAddr> = addrs
        .into_iter()
        .filter(|a| match family {
            AF_INET => a.is_ipv4(),
            AF_INET6 => a.is_ipv6(),
            _ => true,
        })
        .collect();
    if wanted.is_empty() {
        return Err(gai_error(-9, "Address family for hostname not supported"));
    }
    let info = interp.import_module("_socketinfo")?;
    let address_family = interp.getattr(&info, "AddressFamily")?;
    let socket_kind = interp.getattr(&info, "SocketKind")?;
    let mut out = Vec::new();
    for (i, ip) in wanted.iter().enumerate() {
        let (fam, sockaddr) = match ip {
            std::net::IpAddr::V4(a) => (
                AF_INET,
                Value::tuple(vec![Value::string(a.to_string()), Value::Int(port.into())]),
            ),
            std::net::IpAddr::V6(a) => (
                AF_INET6,
                Value::tuple(vec![
                    Value::string(a.to_string()),
                    Value::Int(port.into()),
                    Value::Int(0),
                    Value::Int(0),
                ]),
            ),
        };
        let fam = interp.call(&address_family, &[Value::Int(fam)])?;
        for (j, &(t, p)) in types.iter().enumerate() {
            // The canonical name goes with the first entry only, as the C library gives it.
            let canon = match &host {
                Some(h) if flags & AI_CANONNAME != 0 && i == 0 && j == 0 => {
                    Value::string(h.clone())
                }
                _ => Value::str(""),
            };
            let t = interp.call(&socket_kind, &[Value::Int(t)])?;
            out.push(Value::tuple(vec![
                fam.clone(),
                t,
                Value::Int(p),
                canon,
                sockaddr.clone(),
            ]));
        }
    }
    Ok(Value::list(out))
}

/// `OSError(text)` without an errno, as CPython raises for a bad port type.
fn os_error_text(text: &str) -> PyErr {
    exc_of_class(types().exc(ExcKind::OSError).clone(), text.to_string())
}

/// Every address of host name `host` (IPv4 and IPv6), each once, in the resolver's order; the
/// lookup runs with the GIL released.
fn lookup_all(interp: &mut Interp, host: &str) -> PyResult<Vec<std::net::IpAddr>> {
    let found = interp.allow_threads(|| {
        (host, 0u16).to_socket_addrs().map(|it| {
            let mut seen: Vec<std::net::IpAddr> = Vec::new();
            for a in it {
                if !seen.contains(&a.ip()) {
                    seen.push(a.ip());
                }
            }
            seen
        })
    });
    match found {
        Ok(v) if v.is_empty() => Err(gai_error(-5, "No address associated with hostname")),
        Ok(v) => Ok(v),
        Err(e) => Err(lookup_error(&e)),
    }
}

/// The port of service `name` (or one of its aliases) in `/etc/services`.
fn service_port(name: &str) -> Option<u16> {
    services()
        .into_iter()
        .find(|s| s.names.iter().any(|n| n == name))
        .map(|s| s.port)
}

/// One line of `/etc/services`: the service's name and aliases, its port and protocol.
struct Service {
    names: Vec<String>,
    port: u16,
    proto: String,
}

/// The entries of `/etc/services`, in file order (none if it cannot be read).
fn services() -> Vec<Service> {
    let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let (port, proto) = words.next()?.split_once('/')?;
            let mut names = vec![name.to_string()];
            names.extend(words.map(str::to_string));
            Some(Service {
                names,
                port: port.parse().ok()?,
                proto: proto.to_string(),
            })
        })
        .collect()
}

/// The optional protocol argument of `getservbyname`/`getservbyport` (`'tcp'`, `'udp'`).
fn proto_arg(v: Option<&Value>, fname: &str) -> PyResult<Option<String>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_str().to_string())),
        Some(other) => Err(err!(
            TypeError,
            "{fname}() argument 2 must be str, not {}",
            type_name(other)
        )),
    }
}

/// `socket.getservbyname(name, proto=None)`: the port of a service of `/etc/services`.
fn getservbyname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name, proto] = Sig::pos(
        "getservbyname",
        Style::Positional,
        &["servicename", "protocolname"],
        1,
    )
    .bind::<2>(&args)?;
    let name = match name {
        Some(Value::Str(s)) => s.as_str().to_string(),
        other => {
            return Err(err!(
                TypeError,
                "getservbyname() argument 1 must be str, not {}",
                other.map_or("NoneType".into(), type_name)
            ))
        }
    };
    let proto = proto_arg(proto, "getservbyname")?;
    services()
        .into_iter()
        .find(|s| s.names.contains(&name) && proto.as_ref().is_none_or(|p| *p == s.proto))
        .map(|s| Value::Int(s.port.into()))
        .ok_or_else(|| os_error_text("service/proto not found"))
}

/// `socket.getservbyport(port, proto=None)`: the name of the service of `/etc/services` on a port.
fn getservbyport(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [port, proto] = Sig::pos(
        "getservbyport",
        Style::Positional,
        &["port", "protocolname"],
        1,
    )
    .bind::<2>(&args)?;
    let port = interp.index_arg(port.unwrap_or(&Value::None))?;
    let Ok(port) = u16::try_from(port) else {
        return Err(err!(OverflowError, "getservbyport: port must be 0-65535."));
    };
    let proto = proto_arg(proto, "getservbyport")?;
    services()
        .into_iter()
        .find(|s| s.port == port && proto.as_ref().is_none_or(|p| *p == s.proto))
        .map(|s| Value::string(s.names[0].clone()))
        .ok_or_else(|| os_error_text("port/proto not found"))
}

/// The bytes of a packed address argument (`inet_ntoa`, `inet_ntop`).
fn packed_arg(v: Option<&Value>) -> PyResult<Vec<u8>> {
    let v = v.unwrap_or(&Value::None);
    match crate::object::bytes_like(v) {
        Some(b) => Ok(b.to_vec()),
        None => Err(err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(v)
        )),
    }
}

/// An IPv4 address as the C library's `inet_aton` reads it: one to four parts separated by
/// dots, each decimal, octal (leading 0) or hexadecimal (0x), the last part filling the bytes
/// the others leave (`127.1` is 127.0.0.1).
fn parse_inet_aton(text: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(4);
    for part in &parts {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or(part.strip_prefix("0X"))
        {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        values.push(if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        });
    }
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|&v| v > 255) {
        return None;
    }
    let room = 8 * (4 - leading.len() as u32);
    if room < 32 && *last >= 1 << room {
        return None;
    }
    let mut n: u32 = 0;
    for (i, v) in leading.iter().enumerate() {
        n |= v << (24 - 8 * i as u32);
    }
    Some((n | last).to_be_bytes())
}

/// `socket.inet_aton(ip)`: the four bytes of an IPv4 address (`inet_aton`'s forms).
fn inet_aton(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [ip] = Sig::pos("inet_aton", Style::One, &["ip"], 1).bind::<1>(&args)?;
    let text = match ip {
        Some(Value::Str(s)) => s.as_str().to_string(),
        other => {
            return Err(err!(
                TypeError,
                "inet_aton() argument 1 must be str, not {}",
                other.map_or("NoneType".into(), type_name)
            ))
        }
    };
    parse_inet_aton(&text)
        .map(|b| Value::bytes(b.to_vec()))
        .ok_or_else(|| os_error_text("illegal IP address string passed to inet_aton"))
}

/// `socket.inet_ntoa(packed)`: the dotted form of four bytes.
fn inet_ntoa(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [packed] = Sig::pos("inet_ntoa", Style::One, &["packed_ip"], 1).bind::<1>(&args)?;
    let b = packed_arg(packed)?;
    let [a, b2, c, d] = b[..] else {
        return Err(os_error_text("packed IP wrong length for inet_ntoa"));
    };
    Ok(Value::string(Ipv4Addr::new(a, b2, c, d).to_string()))
}

/// The family argument of `inet_pton`/`inet_ntop`: AF_INET or AF_INET6, else EAFNOSUPPORT.
fn family_arg(interp: &mut Interp, v: Option<&Value>) -> PyResult<i64> {
    let family = interp.index_arg(v.unwrap_or(&Value::None))?;
    match family {
        AF_INET | AF_INET6 => Ok(family),
        _ => Err(errno(libc::EAFNOSUPPORT)),
    }
}

/// `socket.inet_pton(family, ip)`: the packed bytes of an address in its strict form.
fn inet_pton(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [family, ip] =
        Sig::pos("inet_pton", Style::Positional, &["af", "ip"], 2).bind::<2>(&args)?;
    let family = family_arg(interp, family)?;
    let text = match ip {
        Some(Value::Str(s)) => s.as_str().to_string(),
        other => {
            return Err(err!(
                TypeError,
                "inet_pton() argument 2 must be str, not {}",
                other.map_or("NoneType".into(), type_name)
            ))
        }
    };
    let packed = if family == AF_INET {
        text.parse::<Ipv4Addr>().ok().map(|a| a.octets().to_vec())
    } else {
        text.parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|a| a.octets().to_vec())
    };
    packed
        .map(Value::bytes)
        .ok_or_else(|| os_error_text("illegal IP address string passed to inet_pton"))
}

/// `socket.inet_ntop(family, packed)`: the text form of a packed address.
fn inet_ntop(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [family, packed] =
        Sig::pos("inet_ntop", Style::Positional, &["af", "packed_ip"], 2).bind::<2>(&args)?;
    let family = family_arg(interp, family)?;
    let b = packed_arg(packed)?;
    let text = match (family, b.len()) {
        (AF_INET, 4) => Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        (AF_INET6, 16) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&b);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => {
            return Err(err!(
                ValueError,
                "invalid length of packed IP address string"
            ))
        }
    };
    Ok(Value::string(text))
}

/// The argument of `htons`/`ntohs`: an int (or `__index__`) that fits 16 unsigned bits, with
/// CPython's messages.
fn short_arg(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<u16> {
    let [v] = Sig::pos(name, Style::One, &["x"], 1).bind::<1>(args)?;
    let v = v.cloned().unwrap_or(Value::None);
    let Some(i) = interp.number_index(&v)? else {
        return Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(&v)
        ));
    };
    match i {
        Value::Bool(b) => Ok(u16::from(b)),
        Value::Int(n) if n < 0 => Err(err!(
            OverflowError,
            "{name}: can't convert negative Python int to C 16-bit unsigned integer"
        )),
        Value::Int(n) if n > i64::from(i32::MAX) => Err(err!(
            OverflowError,
            "signed integer is greater than maximum"
        )),
        Value::Int(n) => u16::try_from(n).map_err(|_| {
            err!(
                OverflowError,
                "{name}: Python int too large to convert to C 16-bit unsigned integer"
            )
        }),
        _ => Err(err!(
            OverflowError,
            "Python int too large to convert to C long"
        )),
    }
}

/// The argument of `htonl`/`ntohl`: an int that fits 32 unsigned bits, with CPython's messages.
fn long_arg(args: &Args<'_>, name: &str) -> PyResult<u32> {
    let [v] = Sig::pos(name, Style::One, &["x"], 1).bind::<1>(args)?;
    match v {
        Some(Value::Bool(b)) => Ok(u32::from(*b)),
        Some(Value::Int(n)) if *n < 0 => Err(err!(
            OverflowError,
            "can't convert negative value to unsigned int"
        )),
        Some(Value::Int(n)) => {
            u32::try_from(*n).map_err(|_| err!(OverflowError, "int larger than 32 bits"))
        }
        Some(Value::BigInt(_)) => Err(err!(OverflowError, "int larger than 32 bits")),
        Some(other) => Err(err!(TypeError, "expected int, {} found", type_name(other))),
        None => Err(err!(
            TypeError,
            "{name}() takes exactly one argument (0 given)"
        )),
    }
}

fn htons(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(i64::from(
        short_arg(interp, &args, "htons")?.to_be(),
    )))
}

fn ntohs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(i64::from(u16::from_be(short_arg(
        interp, &args, "ntohs",
    )?))))
}

fn htonl(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(i64::from(long_arg(&args, "htonl")?.to_be())))
}

fn ntohl(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(i64::from(u32::from_be(long_arg(
        &args, "ntohl",
    )?))))
}

/// `socket.create_connection(address, timeout=None)`: a socket connected to the first of the
/// host's addresses (IPv4 or IPv6, in the resolver's order) that accepts, as CPython tries them
/// in turn; when none does, the first address's error.
fn create_connection(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let address = addr_arg(arg(&args, 0, "address"), "create_connection", true)?;
    let timeout = match arg(&args, 1, "timeout") {
        Some(t) => Some(timeout_value(Some(t))?),
        None => None,
    };
    let ips = match address.host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => lookup_all(interp, &address.host)?,
    };
    let mut first_error = None;
    for ip in ips {
        let inst = Ref::new(Instance::new(socket_class()));
        let me = Value::Instance(inst.clone());
        let family = Value::Int(if ip.is_ipv6() { AF_INET6 } else { AF_INET });
        sock_init(interp, Args::new(&[me.clone(), family]))?;
        let Some(d) = inst.native::<SocketData>() else {
            return Err(err!(SystemError, "socket data missing"));
        };
        if let Some(t) = timeout {
            set_timeout(d, t);
        }
        let fd = match &*d.state.lock() {
            Sock::Unbound(Some(first)) => first.try_clone().map_err(|e| os_error(&e, None))?,
            _ => return Err(errno(libc::EBADF)),
        };
        let target = match ip {
            IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, address.port)),
            IpAddr::V6(ip) => SocketAddr::V6(SocketAddrV6::new(
                ip,
                address.port,
                address.flowinfo,
                address.scope_id,
            )),
        };
        match connect_to(interp, d, fd, &target)? {
            Ok(()) => return Ok(me),
            Err(e) => {
                *d.state.lock() = Sock::Closed;
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| err!(OSError, "getaddrinfo returns an empty list")))
}

/// `socket.socketpair(family=AF_UNIX, type=SOCK_STREAM, proto=0)`: two Unix-domain stream
/// sockets connected to each other, as CPython's on Linux (`AF_INET` is Linux's EOPNOTSUPP
/// there too). The pair's descriptors are used through std's `TcpStream`, whose calls (read,
/// write, shutdown, timeouts, non-blocking mode) are plain socket calls that work on any
/// stream socket; the address calls are answered here (`''`, an unnamed Unix socket).
fn socketpair(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [family, kind, proto] =
        Sig::py("socketpair", &["family", "type", "proto"], 0).bind::<3>(&args)?;
    let int = |v: Option<&Value>, default: i64| match v
        .map(|v| crate::object::builtin_base(v).unwrap_or(v))
    {
        None | Some(Value::None) => Ok(default),
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    };
    let (family, kind, proto) = (
        int(family, AF_UNIX)?,
        int(kind, SOCK_STREAM)?,
        int(proto, 0)?,
    );
    if family != AF_UNIX {
        return Err(errno(libc::EOPNOTSUPP));
    }
    if (kind != SOCK_STREAM && kind != SOCK_DGRAM) || proto != 0 {
        return Err(err!(
            NotImplementedError,
            "minivm's socketpair() makes pairs of stream or datagram sockets only (type={kind}, proto={proto})"
        ));
    }
    if kind == SOCK_DGRAM {
        let (a, b) = std::os::unix::net::UnixDatagram::pair().map_err(|e| os_error(&e, None))?;
        let wrap = |s: std::os::unix::net::UnixDatagram| {
            let inst = Instance::new(socket_class());
            let timeout = *DEFAULT_TIMEOUT.lock();
            let udp = UdpSocket::from(OwnedFd::from(s));
            apply_udp_timeout(&udp, timeout);
            let mut data = new_data(Sock::Datagram(Arc::new(udp)), timeout);
            data.dgram = true;
            data.unix = true;
            inst.set_native(Box::new(data));
            set_ints(&inst, AF_UNIX, SOCK_DGRAM, 0);
            Value::Instance(Ref::new(inst))
        };
        return Ok(Value::tuple(vec![wrap(a), wrap(b)]));
    }
    let (a, b) = std::os::unix::net::UnixStream::pair().map_err(|e| os_error(&e, None))?;
    let wrap = |s: std::os::unix::net::UnixStream| {
        stream_socket(TcpStream::from(OwnedFd::from(s)), AF_UNIX)
    };
    Ok(Value::tuple(vec![wrap(a), wrap(b)]))
}

/// The address family of a socket: `AF_UNIX`, `AF_INET6` or `AF_INET`.
fn family_of(d: &SocketData) -> i64 {
    if d.unix {
        AF_UNIX
    } else if d.v6 {
        AF_INET6
    } else {
        AF_INET
    }
}

/// `socket.gethostname()`: the machine's network name (uname(2)'s `nodename`).
fn gethostname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("_socket.gethostname")?;
    let u = rustix::system::uname();
    Ok(Value::string(u.nodename().to_string_lossy().into_owned()))
}

// ---- UDP ----

/// Make `udp` the socket's state (it must still be unbound), with the socket's timeout.
/// The UDP socket, bound first to an ephemeral port of every address if it is not yet (what
/// the kernel does on a first `sendto`).
fn udp_of(d: &SocketData) -> PyResult<Arc<UdpSocket>> {
    match &*d.state.lock() {
        Sock::Datagram(u) => return Ok(u.clone()),
        Sock::Closed => return Err(errno(libc::EBADF)),
        _ => {}
    }
    if d.unix {
        // A Unix datagram socket sends unbound (its datagrams come from no address).
        let timeout = *d.timeout.lock();
        let mut st = d.state.lock();
        if let Sock::Unbound(first) = &mut *st {
            if let Some(fd) = first.take() {
                let udp = UdpSocket::from(fd);
                apply_udp_timeout(&udp, timeout);
                *st = Sock::Datagram(Arc::new(udp));
            }
        }
        return match &*st {
            Sock::Datagram(u) => Ok(u.clone()),
            _ => Err(errno(libc::EBADF)),
        };
    }
    let bound = bind_first(d, &any_addr(d), false);
    match &*d.state.lock() {
        // (Bound here, or by another thread at the same moment.)
        Sock::Datagram(u) => Ok(u.clone()),
        _ => Err(bound.err().unwrap_or_else(|| errno(libc::EBADF))),
    }
}

/// As `apply_timeout`, for a UDP socket.
fn apply_udp_timeout(udp: &UdpSocket, timeout: Option<Duration>) {
    let t = timeout.filter(|t| !t.is_zero());
    let _ = udp.set_nonblocking(timeout == Some(Duration::ZERO));
    let _ = udp.set_read_timeout(t);
    let _ = udp.set_write_timeout(t);
}

/// Send one datagram (to `to`, else to the connected peer); the number of bytes sent.
fn udp_send(
    interp: &mut Interp,
    d: &SocketData,
    data: &[u8],
    to: Option<SocketAddr>,
) -> PyResult<Value> {
    let udp = udp_of(d)?;
    let timeout = *d.timeout.lock();
    wait_ready(interp, udp.as_raw_fd(), libc::POLLOUT, timeout)?;
    let sent = interp.allow_threads(|| match to {
        Some(addr) => udp.send_to(data, addr),
        None => udp.send(data),
    });
    let sent = sent.map_err(|e| io_err(&e, timeout))?;
    Ok(Value::Int(sent as i64))
}

/// Receive one datagram of at most `n` bytes (the rest of a longer one is lost, as in C):
/// (bytes, the sender's address).
fn udp_receive(interp: &mut Interp, d: &SocketData, n: i64) -> PyResult<(Value, Value)> {
    let udp = udp_of(d)?;
    let timeout = *d.timeout.lock();
    wait_ready(interp, udp.as_raw_fd(), libc::POLLIN, timeout)?;
    let mut buf = vec![0u8; usize::try_from(n).unwrap_or(0).min(1 << 20)];
    if d.unix {
        // std's recv_from reads only IP addresses.
        let got = interp.allow_threads(|| {
            rustix::net::recvfrom(&*udp, &mut buf[..], rustix::net::RecvFlags::empty())
        });
        let (len, _, from) = got.map_err(|e| io_err(&e.into(), timeout))?;
        buf.truncate(len);
        return Ok((Value::bytes(buf), unix_addr_value(from)?));
    }
    let got = interp.allow_threads(|| udp.recv_from(&mut buf));
    let (len, from) = got.map_err(|e| io_err(&e, timeout))?;
    buf.truncate(len);
    Ok((Value::bytes(buf), addr_value(from)))
}

/// `sendto(data[, flags], address)`: one datagram to `address`; the bytes sent. On a TCP
/// socket, as Linux: `send(data)` once connected (the address is checked, then ignored).
fn sock_sendto(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let rest = args.pos.get(1..).unwrap_or(&[]);
    let address = match rest {
        [_, address] | [_, _, address] => address,
        _ => {
            return Err(err!(
                TypeError,
                "sendto() takes 2 or 3 arguments ({} given)",
                rest.len()
            ))
        }
    };
    let data = data_arg(&args)?;
    if d.dgram && d.unix {
        let to = unix_addr_arg(Some(address), "sendto")?;
        return unix_send(interp, d, &data, &to);
    }
    if !d.dgram && d.unix {
        // A socketpair's end is connected: a path is refused as the system call refuses it.
        return match address {
            Value::Str(_) | Value::Bytes(_) => Err(errno(libc::EISCONN)),
            other => Err(err!(
                TypeError,
                "a bytes-like object is required, not '{}'",
                type_name(other)
            )),
        };
    }
    let address = addr_arg(Some(address), "sendto", d.v6)?;
    let addr = resolve(interp, &address, d.v6)?;
    if !d.dgram {
        // Linux ignores the address of a send on a connected TCP socket.
        return stream_send(interp, d, &data);
    }
    udp_send(interp, d, &data, Some(addr))
}

/// `recvfrom(bufsize[, flags])`: (bytes, (host, port)) of the next datagram; on a TCP
/// connection `(bytes, None)`, as Linux reports no address for a stream.
fn sock_recvfrom(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let n = bufsize_arg(&args, "recvfrom")?;
    if !d.dgram {
        let data = sock_recv(interp, args)?;
        return Ok(Value::tuple(vec![data, Value::None]));
    }
    let (data, from) = udp_receive(interp, d, n)?;
    Ok(Value::tuple(vec![data, from]))
}

/// `recv_into(buffer[, nbytes[, flags]])`: receive at most `nbytes` (0: `len(buffer)`) bytes
/// into the start of the writable buffer (a bytearray, a memoryview of one, an array) and
/// return how many came.
fn sock_recv_into(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    recv_into(interp, &args, "recv_into").map(|(n, _)| n)
}

/// `recvfrom_into(buffer[, nbytes[, flags]])`: as `recv_into`, with the sender's address:
/// `(count, address)` (`None` for a TCP connection).
fn sock_recvfrom_into(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (n, from) = recv_into(interp, &args, "recvfrom_into")?;
    Ok(Value::tuple(vec![n, from]))
}

/// The work of `recv_into`/`recvfrom_into`: the bytes received with `recvfrom` stored through
/// `file::read_into_buffer`, which checks the buffer and takes whole items for an array.
fn recv_into(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<(Value, Value)> {
    let (me, d) = this::<SocketData>(args, "socket")?;
    let me = Value::Instance(me.clone());
    let [buffer, nbytes, _flags] =
        Sig::pos(name, Style::Positional, &["buffer", "nbytes", "flags"], 1)
            .method()
            .bind::<3>(args)?;
    let Some(buffer) = buffer else {
        return Err(err!(
            TypeError,
            "{name}() missing required argument 'buffer' (pos 1)"
        ));
    };
    if !matches!(buffer, Value::ByteArray(_) | Value::Instance(_)) {
        return Err(err!(
            TypeError,
            "{name}() argument 1 must be read-write bytes-like object, not {}",
            type_name(buffer)
        ));
    }
    let limit = match nbytes {
        None => 0,
        Some(v) => crate::builtins::args::to_index(v)?,
    };
    if limit < 0 {
        return Err(err!(ValueError, "negative buffersize in {name}"));
    }
    let mut from = Value::None;
    let pair = [me.clone(), buffer.clone()];
    let n = crate::stdlib::file::read_into_buffer(
        interp,
        "socket",
        name,
        &Args::new(&pair),
        &mut |interp, len| {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            if limit > len {
                return Err(err!(ValueError, "buffer too small for requested bytes"));
            }
            let want = if limit == 0 { len } else { limit };
            if d.dgram {
                let (data, sender) = udp_receive(interp, d, want as i64)?;
                from = sender;
                return Ok(data);
            }
            let call = [me.clone(), Value::Int(want as i64)];
            sock_recv(interp, Args::new(&call))
        },
    )?;
    Ok((n, from))
}

// ---- Unix-domain sockets on paths ----

/// The longest path a Unix socket address holds (`sizeof(sun_path)`).
const UNIX_PATH_MAX: usize = 108;

/// A Unix-domain address argument, as CPython takes it: a str path (UTF-8) or a bytes-like
/// one; a name starting with a NUL byte is Linux's abstract namespace (no file), and `''` binds
/// to a name the kernel picks (autobind). `what` names the call for the missing-argument error.
fn unix_addr_arg(v: Option<&Value>, what: &str) -> PyResult<rustix::net::SocketAddrUnix> {
    use rustix::net::SocketAddrUnix;
    let bytes: Vec<u8> = match v {
        Some(Value::Str(s)) => s.as_str().as_bytes().to_vec(),
        Some(other) => match crate::object::bytes_like(other) {
            Some(b) => b.into_owned(),
            None => {
                return Err(err!(
                    TypeError,
                    "a bytes-like object is required, not '{}'",
                    type_name(other)
                ))
            }
        },
        None => {
            return Err(err!(
                TypeError,
                "{what}() takes exactly one argument (0 given)"
            ))
        }
    };
    if bytes.len() > UNIX_PATH_MAX {
        return Err(err!(OSError, "AF_UNIX path too long"));
    }
    let made = match bytes.split_first() {
        None => Ok(SocketAddrUnix::new_unnamed()),
        Some((0, name)) => SocketAddrUnix::new_abstract_name(name),
        Some(_) => SocketAddrUnix::new(&bytes[..]),
    };
    made.map_err(|e| os_error(&e.into(), None))
}

/// A Unix-domain address as Python sees it, decoded as CPython does: a path as str (up to its
/// NUL), an abstract name as bytes (with its leading NUL), an unnamed socket as `''`; no
/// address at all (a datagram from an unbound socket) as None.
fn unix_addr_value(a: Option<rustix::net::SocketAddrAny>) -> PyResult<Value> {
    let Some(a) = a else {
        return Ok(Value::None);
    };
    let raw = sockaddr_bytes(&a);
    let path = raw.get(2..).unwrap_or(&[]);
    match path.first() {
        None => Ok(Value::str("")),
        Some(0) => Ok(Value::bytes(path.to_vec())),
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            let text = crate::stdlib::posix_support::os_name(&path[..end], "the socket path")?;
            Ok(Value::string(text))
        }
    }
}

/// The raw bytes of a socket address (family first), as the kernel gave them. rustix's own
/// decoding of a Unix address assumes a NUL-terminated path no longer than `sun_path` (and
/// asserts it), which a 108-byte path breaks; its `Hash` writes exactly these bytes, which
/// this hasher records.
fn sockaddr_bytes(a: &rustix::net::SocketAddrAny) -> Vec<u8> {
    use std::hash::{Hash, Hasher};
    struct Recorder(Vec<u8>);
    impl Hasher for Recorder {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
        // (The slice's length prefix.)
        fn write_usize(&mut self, _: usize) {}
    }
    let mut r = Recorder(Vec::new());
    a.hash(&mut r);
    r.0
}

/// `getsockname()` (`getpeername()` with `peer`) of a Unix-domain socket.
fn unix_name(d: &SocketData, peer: bool) -> PyResult<Value> {
    let got = with_fd(d, |fd| {
        if peer {
            rustix::net::getpeername(fd)
        } else {
            rustix::net::getsockname(fd).map(Some)
        }
    })?;
    unix_addr_value(got.map_err(|e| os_error(&e.into(), None))?)
}

/// `connect(path)` of a Unix-domain socket: a stream one connects as a TCP socket does (the
/// wait, GIL released, in [`connect_to`]); a datagram one records its peer.
fn unix_connect(
    interp: &mut Interp,
    args: &Args<'_>,
    d: &SocketData,
) -> PyResult<Result<(), PyErr>> {
    let addr = unix_addr_arg(arg(args, 1, "address"), "connect")?;
    if d.dgram {
        let udp = udp_of(d)?;
        return Ok(rustix::net::connect(&*udp, &addr).map_err(|e| os_error(&e.into(), None)));
    }
    let fd = match connecting_fd(d)? {
        Ok(fd) => fd,
        Err(e) => return Ok(Err(e)),
    };
    connect_to(interp, d, fd, &addr)
}

/// Send one datagram to the Unix-domain address `to`; the number of bytes sent.
fn unix_send(
    interp: &mut Interp,
    d: &SocketData,
    data: &[u8],
    to: &rustix::net::SocketAddrUnix,
) -> PyResult<Value> {
    let udp = udp_of(d)?;
    let timeout = *d.timeout.lock();
    wait_ready(interp, udp.as_raw_fd(), libc::POLLOUT, timeout)?;
    let sent = interp
        .allow_threads(|| rustix::net::sendto(&*udp, data, rustix::net::SendFlags::empty(), to));
    let sent = sent.map_err(|e| io_err(&e.into(), timeout))?;
    Ok(Value::Int(sent as i64))
}
