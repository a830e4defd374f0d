//! C library calls `os` needs that neither nix nor rustix wraps safely (the crate's `unsafe`
//! lives under `heap/`): `confstr(3)` of any name, `getlogin(3)`, `setreuid(2)` and
//! `setregid(2)`. Each gives the C library's errno on failure. And `sched_getcpu(3)` for
//! `Thread.start()`, whose rustix wrapper crashes under valgrind.

/// `confstr(name)`: `Ok(Some(value))` (possibly empty), `Ok(None)` when the name has no
/// value, `Err(errno)` for an unknown name (EINVAL).
pub fn confstr(name: i32) -> Result<Option<String>, i32> {
    let mut buf = vec![0u8; 256];
    nix::errno::Errno::clear();
    // SAFETY: `buf` is writable for `buf.len()` bytes; confstr writes at most that many,
    // NUL-terminated, and returns the length the whole value needs (0: no value or an error,
    // told apart by errno, cleared just before).
    let needed = unsafe { libc::confstr(name, buf.as_mut_ptr().cast(), buf.len()) };
    if needed == 0 {
        return match nix::errno::Errno::last() as i32 {
            0 => Ok(None),
            code => Err(code),
        };
    }
    if needed > buf.len() {
        buf.resize(needed, 0);
        // SAFETY: as above, with the buffer now as long as the value needs.
        let again = unsafe { libc::confstr(name, buf.as_mut_ptr().cast(), buf.len()) };
        if again == 0 || again > buf.len() {
            return Ok(None);
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The login name of the user on the process's controlling terminal (`getlogin(3)`, as
/// CPython calls it), or the errno it failed with (0 if it gave none).
pub fn login_name() -> Result<String, i32> {
    nix::errno::Errno::clear();
    // SAFETY: getlogin returns NULL or a NUL-terminated string in a static buffer, valid until
    // the next call; it is copied out at once.
    let name = unsafe {
        let p = libc::getlogin();
        if p.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(p).to_bytes().to_vec())
        }
    };
    match name {
        Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        None => Err(nix::errno::Errno::last() as i32),
    }
}

/// `setreuid(real, effective)` (`u32::MAX`: leave unchanged).
pub fn setreuid(real: u32, effective: u32) -> Result<(), i32> {
    // SAFETY: setreuid only reads its two integer arguments.
    let rc = unsafe { libc::setreuid(real, effective) };
    errno_of(rc)
}

/// `setregid(real, effective)` (`u32::MAX`: leave unchanged).
pub fn setregid(real: u32, effective: u32) -> Result<(), i32> {
    // SAFETY: setregid only reads its two integer arguments.
    let rc = unsafe { libc::setregid(real, effective) };
    errno_of(rc)
}

/// The processor the calling thread runs on (`sched_getcpu(3)`), or `None` if the C library
/// cannot tell. Through the C library rather than rustix: rustix finds the vDSO's `getcpu` by
/// reading the vDSO image from the auxiliary vector, which crashes under valgrind (a SIGSEGV
/// in `rustix::backend::param::auxv::check_elf_base`, the fault that moved `clock_gettime` to
/// nix: vm/Cargo.toml), and `Thread.start()` asks with the GIL on: every program starting a
/// thread died under callgrind.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no argument and only returns an int (-1 on failure).
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

fn errno_of(rc: i32) -> Result<(), i32> {
    if rc == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::last() as i32)
    }
}
