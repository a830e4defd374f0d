//! Memory mapped into the process with mmap(2) (`mmap.mmap`, and through it
//! `multiprocessing.shared_memory`): the one place the VM reads and writes memory that is not a
//! Rust allocation, so its `unsafe` lives here, behind a safe type.
//!
//! A [`Mapping`] owns one mapping (from a file descriptor, or anonymous) and unmaps it when
//! dropped. Its bytes are handed out as a slice of `AtomicU8` ([`Mapping::cells`]), never as
//! `&[u8]`/`&mut [u8]`: a shared mapping is written by other processes (and by other threads
//! of a free-threaded VM) at any moment, which plain references forbid, while atomic cells
//! permit it. A relaxed atomic byte load or store is a plain `mov`, as CPython's `memcpy` on the
//! same memory.

use std::io;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU8;

use rustix::mm::{MapFlags, MremapFlags, MsyncFlags, ProtFlags};

/// One region of memory mapped with mmap(2), unmapped on drop.
pub struct Mapping {
    ptr: NonNull<AtomicU8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value (nothing else unmaps it), and every
// access goes through `AtomicU8` cells, which may be shared and written from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as above: `&Mapping` only gives `&[AtomicU8]`.
unsafe impl Sync for Mapping {}

/// How a mapping may be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// PROT_READ.
    Read,
    /// PROT_READ | PROT_WRITE, MAP_SHARED: writes reach the file and other processes.
    Shared,
    /// PROT_READ | PROT_WRITE, MAP_PRIVATE: writes stay in this process (copy on write).
    Private,
}

impl Mapping {
    /// Map `len` (> 0) bytes of the file `fd` from `offset` (a multiple of the page size), or
    /// `len` bytes of zeroed anonymous memory when `fd` is `None` (shared with the children
    /// this process forks, unless `access` is `Private`).
    pub fn map(
        fd: Option<BorrowedFd<'_>>,
        len: usize,
        offset: u64,
        access: Access,
    ) -> io::Result<Mapping> {
        let prot = match access {
            Access::Read => ProtFlags::READ,
            Access::Shared | Access::Private => ProtFlags::READ | ProtFlags::WRITE,
        };
        let flags = match access {
            Access::Private => MapFlags::PRIVATE,
            Access::Read | Access::Shared => MapFlags::SHARED,
        };
        if len == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: a null hint lets the kernel choose fresh addresses, so no existing memory is
        // replaced; the result is owned by the returned `Mapping` alone.
        let ptr = unsafe {
            match fd {
                Some(fd) => rustix::mm::mmap(std::ptr::null_mut(), len, prot, flags, fd, offset),
                None => rustix::mm::mmap_anonymous(std::ptr::null_mut(), len, prot, flags),
            }
        }?;
        let ptr = NonNull::new(ptr.cast::<AtomicU8>())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        Ok(Mapping { ptr, len })
    }

    /// The mapped bytes.
    pub fn cells(&self) -> &[AtomicU8] {
        // SAFETY: `ptr` points at `len` mapped, readable bytes for as long as `self` lives
        // (unmapped only in `drop` or replaced in `resize`, both needing `&mut self`), and
        // `AtomicU8` has the size and alignment of a byte. A read-only mapping is never
        // stored to: the callers check `Access::Read` before writing (a store would fault,
        // not corrupt memory).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Change the mapping's length to `new_len` (> 0), moving it if the kernel needs to
    /// (mremap(2)); the bytes kept are the same memory (still shared with whoever shares it).
    pub fn resize(&mut self, new_len: usize) -> io::Result<()> {
        if new_len == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: the old region is exactly this mapping, and `&mut self` means no cell slice
        // of it is borrowed; after the call only the returned region is used.
        let ptr = unsafe {
            rustix::mm::mremap(
                self.ptr.as_ptr().cast(),
                self.len,
                new_len,
                MremapFlags::MAYMOVE,
            )
        }?;
        self.ptr = NonNull::new(ptr.cast::<AtomicU8>())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        self.len = new_len;
        Ok(())
    }

    /// Write the changed pages of `[start, start + len)` back to the file (msync(2),
    /// synchronously). `start` must be a multiple of the page size.
    pub fn flush(&self, start: usize, len: usize) -> io::Result<()> {
        if start.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: the range lies inside this mapping (checked above); msync only writes the
        // pages back, it does not change the memory.
        unsafe { rustix::mm::msync(self.ptr.as_ptr().add(start).cast(), len, MsyncFlags::SYNC) }
            .map_err(io::Error::from)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the region is this mapping, and nothing borrows it any more (`&mut self`).
        // An error (none is expected for a region mmap returned) leaves it mapped: a leak.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
