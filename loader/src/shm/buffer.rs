//! The three handles a pool gives out, one per phase of a buffer:
//!
//! - [`SharedBuffer`]: the fill phase. Writable through `&mut [u8]`; its fd or handle leaves
//!   only through `unsafe` calls.
//! - [`SealedBuffer`]: the read-only phase, after [`SharedBuffer::seal`]. `&[u8]` and (where the
//!   OS enforces the seal) the fd or handle can be shared freely.
//! - [`DeviceLease`]: the buffer lent to a device that writes it. The fd or handle leaves
//!   freely; the bytes are reached only by volatile copies, never by a Rust borrow, until an
//!   `unsafe` [`DeviceLease::reclaim`] states that the device has stopped.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::id::{BufferId, RetainedId};
use super::memory::SealKind;
use super::provider::Provider;
use super::table::{Core, Phase, SealFailed, Start};
use crate::error::{Error, Result};

/// Owns one record of the pool's table; dropping it frees the buffer.
struct Owner<'pool> {
    core: &'pool Core,
    id: BufferId,
}

impl Drop for Owner<'_> {
    fn drop(&mut self) {
        tracing::trace!(id = %self.id, "shm buffer freed");
        self.core.free(self.id);
    }
}

impl Owner<'_> {
    /// Hands the record to the pool: nothing is freed when this owner goes.
    fn give_up(self) {
        std::mem::forget(self);
    }

    /// The fd of the record (memfd, dma-buf), valid while this owner lives.
    #[cfg(unix)]
    fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsRawFd;
        let raw = self
            .core
            .with_record(self.id, |r| r.memory.fd().map(|fd| fd.as_raw_fd()))
            .flatten()?;
        // SAFETY: the fd is owned by this owner's record in the pool, which is removed (and
        // the fd closed) only when this owner drops, or by `Pool::release`, which takes the
        // pool `&mut` and so cannot run while this owner borrows it; the returned borrow
        // cannot outlive `&self`.
        Some(unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) })
    }

    /// The section handle of the record, valid while this owner lives.
    #[cfg(windows)]
    fn handle(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        use std::os::windows::io::AsRawHandle;
        let raw = self
            .core
            .with_record(self.id, |r| r.memory.handle().map(|h| h.as_raw_handle()))
            .flatten()?;
        // SAFETY: as for `fd`: the handle is owned by this owner's record, closed only when
        // this owner drops (or by `Pool::release(&mut)`, excluded by the borrow); the handle
        // of a record changes only in `seal`, which consumes the owner.
        Some(unsafe { std::os::windows::io::BorrowedHandle::borrow_raw(raw) })
    }
}

/// One buffer of a [`Pool`](super::Pool) in its fill phase, zeroed at allocation.
///
/// Unique like a `Box<[u8]>`: writable through `DerefMut`, readable through
/// `Deref<Target = [u8]>`, `Send + Sync`. Its OS resources belong to the pool; this handle
/// borrows the pool, so it cannot outlive it. Dropping it removes the buffer from the pool and
/// then unmaps and closes it.
///
/// What it does *not* do safely is hand out its fd or handle: while the buffer is writable, a
/// write through a duplicate fd would change bytes under this handle's `&[u8]`. [`seal`] it
/// (then the fd is shared safely), [`lease`] it to the device that writes it, or take the fd
/// with the `unsafe` [`fd_unchecked`](Self::fd_unchecked).
///
/// ```
/// use loadguard::shm::{Pool, PoolOptions, Provider};
///
/// let pool = Pool::with_options(PoolOptions::new().providers([Provider::Memfd, Provider::Heap]));
/// let mut buf = pool.alloc(8)?;
/// buf.copy_from_slice(b"weights!"); // fill
/// let sealed = buf.seal()?;         // read-only from here on, for everyone
/// assert_eq!(&sealed[..], b"weights!");
/// # Ok::<(), loadguard::Error>(())
/// ```
///
/// [`seal`]: Self::seal
/// [`lease`]: Self::lease
pub struct SharedBuffer<'pool> {
    owner: Owner<'pool>,
    start: Start,
    len: usize,
    provider: Provider,
}

impl<'pool> SharedBuffer<'pool> {
    pub(crate) fn new(
        core: &'pool Core,
        id: BufferId,
        start: Start,
        len: usize,
        provider: Provider,
    ) -> Self {
        Self {
            owner: Owner { core, id },
            start,
            len,
            provider,
        }
    }

    /// The buffer's id, as [`Pool::find`](super::Pool::find) reports it.
    #[must_use]
    pub fn id(&self) -> BufferId {
        self.owner.id
    }

    /// Which provider served the allocation.
    #[must_use]
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Makes the buffer read-only for good and returns it as a [`SealedBuffer`], whose bytes
    /// and fd can be shared.
    ///
    /// memfd: the writable mapping is unmapped, `F_SEAL_WRITE | F_SEAL_SEAL` added (with the
    /// `F_SEAL_SHRINK | F_SEAL_GROW` of allocation, no fd in any process can write or resize
    /// it any more) and the memory mapped again read-only, at a new address. dma-buf: the
    /// writable view is replaced by a read-only one. Windows section: a `FILE_MAP_READ` handle
    /// is duplicated, the memory mapped read-only through it, and the read-write view and the
    /// full-access handle closed. Heap: nothing to do but the type change.
    ///
    /// # Errors
    ///
    /// The failing OS call: `fcntl(F_ADD_SEALS)` with `EBUSY` when a writable mapping of the
    /// memfd exists outside the pool (made from an fd given out through
    /// [`fd_unchecked`](Self::fd_unchecked) or a lease), `mmap`, `DuplicateHandle`,
    /// `MapViewOfFile`. The buffer is released; [`try_seal`](Self::try_seal) gives it back
    /// instead when nothing was sealed.
    #[track_caller]
    pub fn seal(self) -> Result<SealedBuffer<'pool>> {
        let _site = crate::callsite::enter();
        self.try_seal().map_err(SealError::into_error)
    }

    /// [`seal`](Self::seal), giving the buffer back on failure when it is still intact.
    ///
    /// # Errors
    ///
    /// A [`SealError`] with the failing OS call (as for [`seal`](Self::seal));
    /// [`SealError::into_buffer`] is the buffer, still writable with its contents, when
    /// nothing was sealed, and `None` when the failure came after the seal (the buffer was
    /// released).
    #[track_caller]
    pub fn try_seal(self) -> Result<SealedBuffer<'pool>, SealError<'pool>> {
        let _site = crate::callsite::enter();
        let Self {
            owner,
            start: _,
            len,
            provider,
        } = self;
        match owner.core.seal(owner.id) {
            Ok((start, kind)) => {
                tracing::trace!(id = %owner.id, ?kind, "shm buffer sealed");
                Ok(SealedBuffer {
                    owner,
                    start,
                    len,
                    provider,
                    kind,
                })
            }
            Err(SealFailed { error, writable }) => {
                let buffer = match writable {
                    Some(start) => Some(Self {
                        owner,
                        start,
                        len,
                        provider,
                    }),
                    None => {
                        // The core has already released the record.
                        owner.give_up();
                        None
                    }
                };
                Err(SealError(Box::new(Failed { error, buffer })))
            }
        }
    }

    /// Lends the buffer to a device (or process) that writes it: the [`DeviceLease`] hands out
    /// the fd or handle, and reaches the bytes only through volatile copies.
    #[must_use]
    pub fn lease(self) -> DeviceLease<'pool> {
        let Self {
            owner,
            start,
            len,
            provider,
        } = self;
        owner
            .core
            .set_phase(owner.id, Phase::Writable, Phase::Leased);
        DeviceLease {
            owner,
            start,
            len,
            provider,
        }
    }

    /// The fd naming the memory (memfd or dma-buf), `None` for the heap provider. Valid while
    /// the buffer lives.
    ///
    /// # Safety
    ///
    /// Until this buffer is sealed or dropped, nothing may write the memory through this fd,
    /// a duplicate of it or a mapping made from it (no `write(2)`, no writable `mmap`, no
    /// device DMA) while any reference to the buffer's bytes obtained from this handle is
    /// alive, and nothing may access it that way while a `&mut [u8]` of it is alive. In
    /// practice: use the fd only to read (or hand it to a reader) while you do not write, or
    /// use [`lease`](Self::lease) instead. [`seal`](Self::seal) fails with `EBUSY` (and gives
    /// the buffer back) while a writable mapping made from it exists.
    ///
    /// # What does not compile
    ///
    /// Taking the fd without `unsafe`:
    ///
    /// ```compile_fail,E0133
    /// let pool = loadguard::shm::Pool::new();
    /// let buf = pool.alloc(4096).unwrap();
    /// let _fd = buf.fd_unchecked();
    /// ```
    ///
    /// Taking it from the pool instead, to write the bytes behind the buffer's `&[u8]` (the
    /// pool's fds are for retained, sealed buffers):
    ///
    /// ```compile_fail,E0308
    /// use std::os::unix::fs::FileExt;
    /// let pool = loadguard::shm::Pool::new();
    /// let buf = pool.alloc(4096).unwrap();
    /// let bytes: &[u8] = &buf;
    /// let fd = pool.dup_fd(buf.id()).unwrap().unwrap();
    /// std::fs::File::from(fd).write_all_at(b"changed", 0).unwrap();
    /// assert_eq!(&bytes[..7], b"changed");
    /// ```
    ///
    /// Naming the memfd to reopen it through the registry, and reading that mapping while the
    /// buffer writes:
    ///
    /// ```compile_fail,E0599
    /// use std::os::fd::AsRawFd;
    /// let registry = loadguard::Registry::new();
    /// let pool = loadguard::shm::Pool::new();
    /// let mut buf = pool.alloc(4096).unwrap();
    /// let path = format!("/proc/self/fd/{}", buf.fd().unwrap().as_raw_fd());
    /// let session = registry.open(&path, &loadguard::LoadOptions::new()).unwrap();
    /// let seen: &[u8] = session.bytes();
    /// buf[0] = 1;
    /// assert_eq!(seen[0], 1);
    /// ```
    #[cfg(unix)]
    #[must_use]
    pub unsafe fn fd_unchecked(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.owner.fd()
    }

    /// The section handle naming the memory (full access), `None` for the heap provider.
    /// Valid while the buffer lives.
    ///
    /// # Safety
    ///
    /// As for [`fd_unchecked`](Self::fd_unchecked) on Unix: until this buffer is sealed or
    /// dropped, no view mapped from this handle (or a duplicate of it), in any process, may
    /// write the memory while a reference to the buffer's bytes obtained from this handle is
    /// alive, or access it while a `&mut [u8]` of it is alive. Sealing closes this handle; a
    /// duplicate made from it keeps its access.
    #[cfg(windows)]
    #[must_use]
    pub unsafe fn handle_unchecked(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        self.owner.handle()
    }
}

impl Deref for SharedBuffer<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `start` points to `len` initialised bytes (zeroed at allocation) of the
        // writable view owned by this buffer's record, which lives until this handle is dropped
        // or consumed. The handle is unique, so only its own borrows reach the memory through
        // Rust; the fd leaves only through `unsafe` calls whose contracts forbid writes while
        // this borrow lives.
        unsafe { std::slice::from_raw_parts(self.start.0.as_ptr(), self.len) }
    }
}

impl DerefMut for SharedBuffer<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; `&mut self` makes this the only live Rust reference, and the
        // view is writable (the record is in its fill phase while this handle exists).
        unsafe { std::slice::from_raw_parts_mut(self.start.0.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for SharedBuffer<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl AsMut<[u8]> for SharedBuffer<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl fmt::Debug for SharedBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBuffer")
            .field("id", &self.owner.id)
            .field("len", &self.len)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Why [`SharedBuffer::try_seal`] failed, and the buffer back when it is still intact.
pub struct SealError<'pool>(Box<Failed<'pool>>);

struct Failed<'pool> {
    error: Error,
    buffer: Option<SharedBuffer<'pool>>,
}

impl<'pool> SealError<'pool> {
    /// The error.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.0.error
    }

    /// The buffer, still writable with its contents, if nothing was sealed (`None` when the
    /// failure came after the seal and the buffer was released).
    #[must_use]
    pub fn into_buffer(self) -> Option<SharedBuffer<'pool>> {
        self.0.buffer
    }

    /// The error alone (the buffer, if any, is dropped).
    #[must_use]
    pub fn into_error(self) -> Error {
        self.0.error
    }
}

impl fmt::Display for SealError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.error, f)
    }
}

impl fmt::Debug for SealError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealError")
            .field("error", &self.0.error)
            .field("buffer", &self.0.buffer)
            .finish()
    }
}

/// Displays the error itself, so its cause is its own `source()`, never shown twice.
impl std::error::Error for SealError<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.error)
    }
}

impl From<SealError<'_>> for Error {
    fn from(err: SealError<'_>) -> Self {
        err.into_error()
    }
}

/// A buffer of a [`Pool`](super::Pool) after [`SharedBuffer::seal`]: read-only for good.
///
/// `Deref<Target = [u8]>` and `Send + Sync`, so any number of threads read it. Where the OS
/// enforces the seal, `fd()` (Unix) or `handle()` (Windows) hands the
/// memory to a driver or another process, who can map it read-only and nothing more. Dropping
/// it removes the buffer from the pool, then unmaps and closes it; [`into_pool`](Self::into_pool)
/// leaves it to the pool instead.
pub struct SealedBuffer<'pool> {
    owner: Owner<'pool>,
    start: Start,
    len: usize,
    provider: Provider,
    kind: SealKind,
}

impl<'pool> SealedBuffer<'pool> {
    /// The buffer's id, as [`Pool::find`](super::Pool::find) reports it.
    #[must_use]
    pub fn id(&self) -> BufferId {
        self.owner.id
    }

    /// Which provider served the allocation.
    #[must_use]
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// How the seal is enforced, and so whether the fd or handle can be shared safely.
    #[must_use]
    pub fn seal_kind(&self) -> SealKind {
        self.kind
    }

    /// The fd of a memfd sealed by the kernel ([`SealKind::Kernel`]): share it, duplicate it
    /// (`try_clone_to_owned`), send it to another process — every write through it or any
    /// mapping of it fails with `EPERM`. `None` for the heap (no fd) and for dma-bufs, whose fd
    /// the kernel does not seal (see [`fd_unchecked`](Self::fd_unchecked)).
    #[cfg(unix)]
    #[must_use]
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match self.kind {
            SealKind::Kernel => self.owner.fd(),
            _ => None,
        }
    }

    /// The fd of any fd-backed buffer, dma-bufs included.
    ///
    /// # Safety
    ///
    /// For a buffer whose [`seal_kind`](Self::seal_kind) is not [`SealKind::Kernel`] (a
    /// dma-buf: no kernel seal exists for them), the fd still maps writable: nothing may write
    /// the memory through it, a duplicate or a mapping made from it (no writable `mmap`, no
    /// device DMA into it) while this buffer, or any pool borrow of it once retained, lives.
    /// For a kernel-sealed memfd there is nothing to uphold.
    #[cfg(unix)]
    #[must_use]
    pub unsafe fn fd_unchecked(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.owner.fd()
    }

    /// The section's read-only handle ([`SealKind::ReadOnlyHandle`]): it has `FILE_MAP_READ`
    /// access only, so duplicates made with the same access (`try_clone_to_owned`) map
    /// read-only. `None` for the heap provider.
    #[cfg(windows)]
    #[must_use]
    pub fn handle(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        match self.kind {
            SealKind::ReadOnlyHandle => self.owner.handle(),
            _ => None,
        }
    }

    /// Hands the buffer back to the pool: it stays allocated, findable and readable through
    /// [`Pool::retained`](super::Pool::retained) until [`Pool::release`](super::Pool::release)
    /// or the pool's drop — for buffers whose fd a driver keeps for as long as the pool lives.
    #[must_use = "the id is the only way to reach a retained buffer"]
    pub fn into_pool(self) -> RetainedId {
        let id = self.owner.id;
        self.owner
            .core
            .set_phase(id, Phase::Sealed, Phase::Retained);
        self.owner.give_up();
        RetainedId(id)
    }
}

impl Deref for SealedBuffer<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `start` points to `len` initialised bytes of the read-only view owned by this
        // buffer's record, which lives until this handle is dropped or consumed. Nothing writes
        // them: this process holds no writable view any more, and outside it the kernel
        // refuses writes (memfd), holders have only read access (section) or the fd left the
        // pool only through `unsafe` calls whose contracts forbid writes (dma-buf).
        unsafe { std::slice::from_raw_parts(self.start.0.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for SealedBuffer<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for SealedBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedBuffer")
            .field("id", &self.owner.id)
            .field("len", &self.len)
            .field("provider", &self.provider)
            .field("seal_kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A buffer of a [`Pool`](super::Pool) lent to a device (or process) that writes into it.
///
/// The fd or handle leaves freely (`fd()` on Unix, `handle()` on Windows), because no Rust reference to the bytes exists while
/// the lease does: they are read with [`copy_out`](Self::copy_out) and written with
/// [`copy_in`](Self::copy_in), volatile copies that promise nothing about bytes the device
/// changes meanwhile (synchronise with it as its API prescribes, e.g. `DMA_BUF_IOCTL_SYNC`).
/// When the device is done, the `unsafe` [`reclaim`](Self::reclaim) turns the lease back into a
/// [`SharedBuffer`]. Dropping the lease frees the buffer in this process (holders of its fd keep
/// their own reference to the memory).
///
/// ```
/// use loadguard::shm::{Pool, PoolOptions, Provider};
///
/// let pool = Pool::with_options(PoolOptions::new().providers([Provider::Memfd, Provider::Heap]));
/// let lease = pool.alloc(4096)?.lease();
/// #[cfg(target_os = "linux")]
/// if let Some(fd) = lease.fd() {
///     // Stands in for the device: it writes through its own handle on the memory.
///     std::os::unix::fs::FileExt::write_all_at(&std::fs::File::from(fd.try_clone_to_owned()?), b"done", 0)?;
/// }
/// let mut status = [0u8; 4];
/// lease.copy_out(0, &mut status)?;
/// // SAFETY: the only writer (the write above) has finished, and its fd is closed.
/// let buf = unsafe { lease.reclaim() };
/// # let _ = (buf, status);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DeviceLease<'pool> {
    owner: Owner<'pool>,
    start: Start,
    len: usize,
    provider: Provider,
}

impl<'pool> DeviceLease<'pool> {
    /// The buffer's id, as [`Pool::find`](super::Pool::find) reports it.
    #[must_use]
    pub fn id(&self) -> BufferId {
        self.owner.id
    }

    /// Which provider served the allocation.
    #[must_use]
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The buffer's length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty (never: a buffer has at least one byte).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fd to give the device (memfd or dma-buf); `None` for the heap provider.
    #[cfg(unix)]
    #[must_use]
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.owner.fd()
    }

    /// The section handle (full access) to give the device; `None` for the heap provider.
    #[cfg(windows)]
    #[must_use]
    pub fn handle(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        self.owner.handle()
    }

    /// Copies `dst.len()` bytes from `offset` of the buffer into `dst`, with volatile reads
    /// (bytes the device writes meanwhile may be seen old, new or mixed).
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] (naming the pool) when `[offset, offset + dst.len())` is not
    /// inside the buffer.
    pub fn copy_out(&self, offset: usize, dst: &mut [u8]) -> Result<()> {
        let at = self.range(offset, dst.len())?;
        for (i, byte) in dst.iter_mut().enumerate() {
            // SAFETY: `at + i` is inside the buffer (range checked above), whose view lives
            // until this lease is dropped or consumed; a volatile read of plain bytes is
            // defined whatever the device writes concurrently, and no Rust reference to the
            // memory exists while the lease does.
            *byte = unsafe { self.start.0.as_ptr().add(at + i).read_volatile() };
        }
        Ok(())
    }

    /// Copies `src` into the buffer at `offset`, with volatile writes.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] (naming the pool) when `[offset, offset + src.len())` is not
    /// inside the buffer.
    pub fn copy_in(&mut self, offset: usize, src: &[u8]) -> Result<()> {
        let at = self.range(offset, src.len())?;
        for (i, &byte) in src.iter().enumerate() {
            // SAFETY: as in `copy_out`; the view is writable (the record is leased, never
            // sealed, while this lease exists).
            unsafe { self.start.0.as_ptr().add(at + i).write_volatile(byte) };
        }
        Ok(())
    }

    /// Ends the lease: the buffer is a writable [`SharedBuffer`] again, with whatever the
    /// device wrote.
    ///
    /// # Safety
    ///
    /// Nothing but the returned buffer may write the memory from now on while it, or a
    /// buffer sealed from it, lives: the device has finished (its DMA completed and it was
    /// told to stop), and every fd, handle, duplicate or mapping given out while leased will
    /// not be used to write it again (reads through them must not race with writes through the
    /// returned buffer either). [`SharedBuffer::seal`] then makes the kernel enforce this for a
    /// memfd; it fails with `EBUSY` while a writable mapping made from the fd still exists.
    #[must_use]
    pub unsafe fn reclaim(self) -> SharedBuffer<'pool> {
        let Self {
            owner,
            start,
            len,
            provider,
        } = self;
        owner
            .core
            .set_phase(owner.id, Phase::Leased, Phase::Writable);
        SharedBuffer {
            owner,
            start,
            len,
            provider,
        }
    }

    /// The checked start of `[offset, offset + len)` inside the buffer.
    fn range(&self, offset: usize, len: usize) -> Result<usize> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(offset),
            _ => Err(Error::out_of_range(
                &self.owner.core.label,
                crate::size::to_u64(offset),
                crate::size::to_u64(len),
                crate::size::to_u64(self.len),
            )),
        }
    }
}

impl fmt::Debug for DeviceLease<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceLease")
            .field("id", &self.owner.id)
            .field("len", &self.len)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}
