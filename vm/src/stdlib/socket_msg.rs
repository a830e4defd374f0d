//! `socket.sendmsg`/`recvmsg` with `SCM_RIGHTS` ancillary data (descriptors passed between
//! processes over a Unix socket), `socket(fileno=n)` and `socket.fromfd`, which turn such a
//! descriptor number back into a socket object. A child module of `socket.rs` (its private
//! state is shared).

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags};

use super::{errno, io_err, wait_ready, Sock, SocketData};
use crate::builtins::args::Sig;
use crate::interp::{Args, Interp};
use crate::object::type_name;
use crate::stdlib::this;
use crate::value::Value;
use crate::{err, PyResult};

/// `SCM_RIGHTS`: the one kind of ancillary data minivm sends and receives.
pub const SCM_RIGHTS: i64 = 1;

/// The descriptor of a connected (or datagram) socket, kept open by the `Arc` while a call
/// blocks with the GIL released.
fn message_fd(d: &SocketData) -> PyResult<Arc<dyn AsRawFd + Send + Sync>> {
    match &*d.state.lock() {
        Sock::Stream(s) => Ok(s.clone()),
        Sock::Datagram(u) => Ok(u.clone()),
        Sock::Closed => Err(errno(libc::EBADF)),
        _ => Err(errno(libc::ENOTCONN)),
    }
}

fn flags_arg(v: Option<&Value>) -> PyResult<MsgFlags> {
    match v {
        None => Ok(MsgFlags::empty()),
        Some(Value::Int(n)) => Ok(MsgFlags::from_bits_truncate(*n as i32)),
        Some(other) => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    }
}

fn int_of(v: &Value) -> PyResult<i64> {
    match crate::object::builtin_base(v).unwrap_or(v) {
        Value::Int(n) => Ok(*n),
        other => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    }
}

/// The items of an iterable argument.
fn items_of(interp: &mut Interp, v: &Value, what: &str) -> PyResult<Vec<Value>> {
    interp
        .collect_iter(v)
        .map_err(|_| err!(TypeError, "sendmsg() argument {what} must be an iterable"))
}

/// `sendmsg(buffers[, ancdata[, flags[, address]]])`: the bytes of `buffers` in one message,
/// with `(SOL_SOCKET, SCM_RIGHTS, packed ints)` items of `ancdata` passing those descriptors;
/// the number of bytes sent.
pub fn sock_sendmsg(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let [buffers, ancdata, flags, address] = Sig::pos(
        "sendmsg",
        crate::builtins::args::Style::Positional,
        &["buffers", "ancdata", "flags", "address"],
        1,
    )
    .method()
    .bind::<4>(&args)?;
    let buffers = buffers.ok_or_else(|| err!(TypeError, "sendmsg() takes at least 1 argument"))?;
    let mut data: Vec<Vec<u8>> = Vec::new();
    for b in items_of(interp, buffers, "1")? {
        let bytes = crate::object::bytes_like(&b).ok_or_else(|| {
            err!(
                TypeError,
                "a bytes-like object is required, not '{}'",
                type_name(&b)
            )
        })?;
        data.push(bytes.into_owned());
    }
    let mut fds: Vec<RawFd> = Vec::new();
    if let Some(anc) = ancdata {
        for item in items_of(interp, anc, "2")? {
            let parts = interp.collect_iter(&item).unwrap_or_default();
            if parts.len() != 3 {
                return Err(err!(
                    TypeError,
                    "[sendmsg() ancillary data items]() argument must be sequence of length 3, \
                     not {}",
                    parts.len()
                ));
            }
            let (level, kind) = (int_of(&parts[0])?, int_of(&parts[1])?);
            if level != super::SOL_SOCKET || kind != SCM_RIGHTS {
                return Err(err!(
                    NotImplementedError,
                    "minivm's sendmsg() sends only (SOL_SOCKET, SCM_RIGHTS) ancillary data, \
                     not ({level}, {kind})"
                ));
            }
            let packed = crate::object::bytes_like(&parts[2]).ok_or_else(|| {
                err!(
                    TypeError,
                    "a bytes-like object is required, not '{}'",
                    type_name(&parts[2])
                )
            })?;
            // As the kernel reads it: whole native ints, a partial last one left out.
            for chunk in packed.chunks_exact(4) {
                fds.push(i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
            }
        }
    }
    if address.is_some_and(|a| !a.is_none()) {
        return Err(err!(
            NotImplementedError,
            "minivm's sendmsg() sends on connected sockets only (no address)"
        ));
    }
    let flags = flags_arg(flags)?;
    let sock = message_fd(d)?;
    let timeout = *d.timeout.lock();
    wait_ready(interp, sock.as_raw_fd(), libc::POLLOUT, timeout)?;
    let sent = interp.allow_threads(|| {
        let iov: Vec<IoSlice<'_>> = data.iter().map(|b| IoSlice::new(b)).collect();
        let rights = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
        nix::sys::socket::sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, flags, None)
    });
    let sent = sent.map_err(|e| io_err(&std::io::Error::from(e), timeout))?;
    Ok(Value::Int(sent as i64))
}

/// `recvmsg(bufsize[, ancbufsize[, flags]])`: `(data, ancdata, msg_flags, address)`; the
/// descriptors received come as `(SOL_SOCKET, SCM_RIGHTS, packed ints)`, new descriptors of
/// this process (a program makes them objects with `socket(fileno=n)`, `open(n)`...).
pub fn sock_recvmsg(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SocketData>(&args, "socket")?;
    let [bufsize, ancbufsize, flags] = Sig::pos(
        "recvmsg",
        crate::builtins::args::Style::Positional,
        &["bufsize", "ancbufsize", "flags"],
        1,
    )
    .method()
    .bind::<3>(&args)?;
    let size = int_of(bufsize.unwrap_or(&Value::Int(0)))?;
    if size < 0 {
        return Err(err!(ValueError, "negative buffer size in recvmsg()"));
    }
    let anc = match ancbufsize {
        Some(v) => int_of(v)?,
        None => 0,
    };
    if anc < 0 {
        return Err(err!(
            ValueError,
            "negative ancillary buffer size in recvmsg()"
        ));
    }
    let flags = flags_arg(flags)?;
    let sock = message_fd(d)?;
    let timeout = *d.timeout.lock();
    wait_ready(interp, sock.as_raw_fd(), libc::POLLIN, timeout)?;
    let mut buf = vec![0u8; (size as usize).min(1 << 20)];
    let mut control: Vec<u8> = Vec::with_capacity((anc as usize).min(1 << 16));
    let got = interp.allow_threads(|| {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let control = (anc > 0).then_some(&mut control);
        nix::sys::socket::recvmsg::<()>(sock.as_raw_fd(), &mut iov, control, flags).map(|m| {
            let mut fds = Vec::new();
            for c in m.cmsgs() {
                if let ControlMessageOwned::ScmRights(got) = c {
                    fds.push(got);
                }
            }
            (m.bytes, m.flags.bits(), fds)
        })
    });
    let (n, msg_flags, fd_groups) = got.map_err(|e| io_err(&std::io::Error::from(e), timeout))?;
    buf.truncate(n);
    let ancillary: Vec<Value> = fd_groups
        .into_iter()
        .map(|fds| {
            let packed: Vec<u8> = fds.iter().flat_map(|f| f.to_ne_bytes()).collect();
            Value::tuple(vec![
                Value::Int(super::SOL_SOCKET),
                Value::Int(SCM_RIGHTS),
                Value::bytes(packed),
            ])
        })
        .collect();
    Ok(Value::tuple(vec![
        Value::bytes(buf),
        Value::list(ancillary),
        Value::Int(i64::from(msg_flags)),
        Value::None,
    ]))
}

/// A descriptor of this process by number, as a socket object's own: one the program was
/// handed (`os` functions, `recvmsg`, an inherited one) is taken over; any other open
/// descriptor (another socket's `fileno()`) is duplicated. `EBADF` if it is not open.
pub fn adopt_fd(n: i64) -> PyResult<OwnedFd> {
    if let Ok(fd) = crate::stdlib::os::take_fd(n) {
        return Ok(fd);
    }
    dup_fd(n)
}

/// A new descriptor for the same open socket as descriptor `n` (close-on-exec).
pub fn dup_fd(n: i64) -> PyResult<OwnedFd> {
    crate::stdlib::os::dup_any_fd(n)
}

/// `CMSG_LEN(length)`: the size of a control message carrying `length` bytes.
pub fn cmsg_len(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    cmsg_size(&args, "CMSG_LEN", false)
}

/// `CMSG_SPACE(length)`: as `CMSG_LEN`, padded as a following message needs.
pub fn cmsg_space(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    cmsg_size(&args, "CMSG_SPACE", true)
}

fn cmsg_size(args: &Args<'_>, name: &str, space: bool) -> PyResult<Value> {
    let [length] = Sig::pos(
        name,
        crate::builtins::args::Style::Positional,
        &["length"],
        1,
    )
    .bind::<1>(args)?;
    let n = int_of(length.unwrap_or(&Value::Int(0)))?;
    // Linux x86-64: a 16-byte header, data aligned to 8 bytes.
    const HEADER: i64 = 16;
    if !(0..=i64::from(i32::MAX) - HEADER - 8).contains(&n) {
        return Err(err!(OverflowError, "{name}() argument out of range"));
    }
    let size = if space {
        HEADER + (n + 7) / 8 * 8
    } else {
        HEADER + n
    };
    Ok(Value::Int(size))
}
