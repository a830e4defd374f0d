//! The C library's `confstr(3)`: configuration strings only an `unsafe` call can read (this
//! module is where the crate's `unsafe` lives). Used for `sys.thread_info.version`.

/// `confstr(_CS_GNU_LIBPTHREAD_VERSION)`: the threads library's name and version, such as
/// `"NPTL 2.36"` (CPython's `sys.thread_info.version` on glibc). `None` when the C library does
/// not say (not glibc, or an empty answer).
pub fn pthread_version() -> Option<String> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        read(libc::_CS_GNU_LIBPTHREAD_VERSION)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// The string `confstr` gives for `name`, or `None` for an unknown name or an empty value.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn read(name: libc::c_int) -> Option<String> {
    let mut buf = vec![0u8; 256];
    // SAFETY: `buf` is writable for `buf.len()` bytes; confstr writes at most that many,
    // NUL-terminated, and returns the length the whole value needs (0: no value).
    let needed = unsafe { libc::confstr(name, buf.as_mut_ptr().cast(), buf.len()) };
    if needed == 0 {
        return None;
    }
    if needed > buf.len() {
        buf.resize(needed, 0);
        // SAFETY: as above, with the buffer now as long as the value needs.
        let again = unsafe { libc::confstr(name, buf.as_mut_ptr().cast(), buf.len()) };
        if again == 0 || again > buf.len() {
            return None;
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    String::from_utf8(buf).ok().filter(|s| !s.is_empty())
}
