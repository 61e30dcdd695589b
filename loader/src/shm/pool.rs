//! [`Pool`]: allocates shared buffers from an ordered list of providers, through a seam, and
//! owns them all.

use std::fmt;

use super::buffer::SharedBuffer;
use super::error::ShmError;
use super::id::{BufferId, Found, RetainedId};
use super::provider::{Provider, Request};
use super::seam::{RealShm, ShmOs};
use super::table::{Core, Phase, Record};
use crate::error::{Error, Result};
use crate::size::Alignment;
use crate::sync::{AtomicU64, Ordering};

/// How a [`Pool`] allocates.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    providers: Vec<Provider>,
    fallback: bool,
    name: String,
    heap_alignment: Alignment,
}

impl PoolOptions {
    /// The platform's providers ([`Provider::platform_default`]), fallback allowed, name
    /// `loadguard`, heap buffers aligned to 4096 bytes (a page, what DMA engines want).
    #[must_use]
    pub fn new() -> Self {
        Self {
            providers: Provider::platform_default(),
            fallback: true,
            name: "loadguard".to_owned(),
            heap_alignment: Alignment::new(4096).unwrap_or_default(),
        }
    }

    /// The providers to try, in order.
    #[must_use]
    pub fn providers(mut self, providers: impl IntoIterator<Item = Provider>) -> Self {
        self.providers = providers.into_iter().collect();
        self
    }

    /// Whether a failed allocation moves on to the next provider (default) or fails with the
    /// first provider's error.
    #[must_use]
    pub fn fallback(mut self, allow: bool) -> Self {
        self.fallback = allow;
        self
    }

    /// The name memfds get (shown in `/proc/<pid>/fd` as `memfd:<name>`) and the label in
    /// errors.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The alignment of heap-provider buffers.
    #[must_use]
    pub fn heap_alignment(mut self, align: Alignment) -> Self {
        self.heap_alignment = align;
        self
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// A pool of shared buffers. See the [module docs](super) for the ownership model and the two
/// phases of a buffer.
///
/// `Send + Sync`: threads allocate, find and free concurrently through `&Pool`. The buffers'
/// table sits behind a read-mostly lock: [`find`](Self::find) and the other lookups take it
/// shared, so concurrent lookups never wait for each other; allocation and free take it
/// exclusively for a table update, never across an OS call.
///
/// ```
/// use loadguard::shm::{Pool, PoolOptions, Provider};
///
/// let pool = Pool::with_options(PoolOptions::new().providers([Provider::Memfd, Provider::Heap]));
/// let mut buf = pool.alloc(4096)?;           // fill phase: `&mut [u8]`
/// buf[..5].copy_from_slice(b"hello");
/// // Which buffer holds these 4 bytes, and where? (O(log n), exact or None.)
/// let found = pool.find(buf.as_ptr().wrapping_add(1), 4).expect("inside buf");
/// assert_eq!((found.id, found.offset), (buf.id(), 1));
///
/// let sealed = buf.seal()?;                  // read-only phase: `&[u8]` and the fd
/// assert_eq!(&sealed[..5], b"hello");
/// #[cfg(target_os = "linux")]
/// {
///     // A kernel-sealed memfd: its fd goes to the driver, which can only read it.
///     let fd = sealed.fd().expect("memfd serves on Linux").try_clone_to_owned()?;
///     let write = std::os::unix::fs::FileExt::write_at(&std::fs::File::from(fd), b"x", 0);
///     assert_eq!(write.unwrap_err().raw_os_error(), Some(1)); // EPERM
/// }
/// let id = sealed.into_pool();              // the pool keeps it until release or drop
/// assert_eq!(pool.retained(id).map(|b| &b[..5]), Some(&b"hello"[..]));
/// drop(pool);                               // releases every buffer it still owns
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pool {
    options: PoolOptions,
    core: Core,
    next_id: AtomicU64,
}

impl Pool {
    /// A pool with [`PoolOptions::new`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_options(PoolOptions::new())
    }

    /// A pool allocating as `options` say, from the real OS ([`RealShm`]).
    #[must_use]
    pub fn with_options(options: PoolOptions) -> Self {
        Self::with_shm(RealShm, options)
    }

    /// A pool allocating through the seam `shm` — [`RealShm`] wrapped, for instance, in the
    /// testing harness's ledger or fault plan.
    #[must_use]
    pub fn with_shm(shm: impl ShmOs, options: PoolOptions) -> Self {
        Self {
            core: Core::new(Box::new(shm), &options.name),
            options,
            next_id: AtomicU64::new(1),
        }
    }

    /// The options the pool was made with.
    #[must_use]
    pub fn options(&self) -> &PoolOptions {
        &self.options
    }

    /// The pool's name ([`PoolOptions::name`]).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.options.name
    }

    /// The providers the pool tries, in order.
    #[must_use]
    pub fn providers(&self) -> &[Provider] {
        &self.options.providers
    }

    /// Allocates `len` zeroed bytes from the first provider that succeeds (or only the first
    /// one, without fallback). [`SharedBuffer::provider`] says which served; each failure
    /// that led to a fallback is logged with `tracing` at `warn`.
    ///
    /// # Errors
    ///
    /// [`ShmError::ZeroLength`] for `len == 0` and [`ShmError::NoProviders`] for an empty
    /// provider list (no fallback from those), otherwise the error of the last provider tried.
    #[track_caller]
    pub fn alloc(&self, len: usize) -> Result<SharedBuffer<'_>> {
        let _site = crate::callsite::enter();
        self.check_len(len)?;
        let providers = self.providers();
        let tried = if self.options.fallback {
            providers
        } else {
            providers.get(..1).unwrap_or_default()
        };
        let Some((last, before)) = tried.split_last() else {
            return Err(ShmError::NoProviders {
                pool: self.options.name.clone(),
            }
            .into());
        };
        for provider in before {
            match self.alloc_from(provider, len) {
                Ok(buf) => return Ok(buf),
                Err(error) => tracing::warn!(
                    %provider,
                    len,
                    %error,
                    "shm allocation failed, falling back to the next provider"
                ),
            }
        }
        self.alloc_from(last, len)
    }

    /// Allocates `len` zeroed bytes from `provider` only (which need not be in the pool's list).
    ///
    /// # Errors
    ///
    /// [`ShmError::ZeroLength`] for `len == 0`; otherwise the provider's failure: an OS error
    /// naming the call (`memfd_create`, `ftruncate`, `mmap`, `open`, `CreateFileMappingW`, …),
    /// the buffer's label, the size and the errno, or [`ShmError::Unsupported`] for a provider
    /// this target does not have.
    #[track_caller]
    pub fn alloc_from(&self, provider: &Provider, len: usize) -> Result<SharedBuffer<'_>> {
        let _site = crate::callsite::enter();
        self.check_len(len)?;
        let id = BufferId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let request = Request {
            id,
            name: &self.options.name,
            len,
            heap_alignment: self.options.heap_alignment,
        };
        let memory = self.core.shm().alloc(provider, &request)?;
        if memory.len() != len || memory.provider() != provider {
            return Err(ShmError::Seam {
                what: "alloc returned memory of another size or provider",
            }
            .into());
        }
        let start = self.core.insert_writable(id, memory)?;
        tracing::trace!(%id, %provider, len, "shm buffer allocated");
        Ok(SharedBuffer::new(
            &self.core,
            id,
            start,
            len,
            provider.clone(),
        ))
    }

    /// Which buffer contains all of `[ptr, ptr + len)`, and at what offset, in O(log n).
    ///
    /// A range that straddles two buffers, lies partly outside one, or overflows the address
    /// space is `None`; so is a buffer while [`SharedBuffer::seal`] runs (it moves). `len == 0`
    /// asks for the buffer owning the byte at `ptr` (one past a buffer's end is not in it).
    /// Only the address is used (`ptr.addr()`); `ptr` is never dereferenced, so any pointer,
    /// dangling included, may be asked about.
    #[must_use]
    pub fn find(&self, ptr: *const u8, len: usize) -> Option<Found> {
        self.core.find(ptr.addr(), len)
    }

    /// Number of buffers the pool owns (handed out, leased, retained or leaked), not counting
    /// one whose [`seal`](SharedBuffer::seal) is running.
    #[must_use]
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether the pool owns no buffer.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a sealed buffer handed back with
    /// [`SealedBuffer::into_pool`](super::SealedBuffer::into_pool); `None` for an id this pool
    /// does not retain (already released, or another pool's).
    #[must_use]
    pub fn retained(&self, id: RetainedId) -> Option<&[u8]> {
        let id = id.id();
        let (start, len) = self
            .core
            .with_record(id, |r| {
                (r.phase == Phase::Retained).then_some((r.start, r.len))
            })
            .flatten()?;
        // SAFETY: a retained record's read-only view stays mapped until `release` or `drop`,
        // both of which take `&mut self`, so not while this `&self` borrow lives; it is sealed
        // (nothing writes it, as `SealedBuffer`'s `Deref` argues) and no handle refers to it any
        // more; `start` points to `len` initialised bytes.
        Some(unsafe { std::slice::from_raw_parts(start.0.as_ptr(), len) })
    }

    /// Frees the buffer `id` that the pool holds (retained — pass [`RetainedId::id`] — or
    /// leaked with `mem::forget`). Returns whether there was one. `&mut self` proves no handle
    /// or [`retained`](Self::retained) slice still borrows the pool.
    pub fn release(&mut self, id: BufferId) -> bool {
        self.core.release(id)
    }

    /// A new fd (`F_DUPFD_CLOEXEC`) for the retained buffer `id`, to hand to a driver or
    /// another process: a kernel-sealed memfd, whose every holder can only read it.
    /// `Ok(None)` for an id this pool does not retain, or a buffer without an fd (heap).
    /// (A buffer with a handle gives its fd itself: [`SealedBuffer::fd`](super::SealedBuffer::fd),
    /// [`DeviceLease::fd`](super::DeviceLease::fd).)
    ///
    /// # Errors
    ///
    /// [`ShmError::FdStillWritable`] for a sealed dma-buf (see
    /// [`dup_fd_unchecked`](Self::dup_fd_unchecked)), or the failing `fcntl(F_DUPFD_CLOEXEC)`.
    #[cfg(unix)]
    #[track_caller]
    pub fn dup_fd(&self, id: RetainedId) -> Result<Option<std::os::fd::OwnedFd>> {
        let _site = crate::callsite::enter();
        let id = id.id();
        self.with_fd(id, |record| {
            match (record.phase, record.memory.seal_kind()) {
                (Phase::Retained, Some(super::SealKind::Kernel)) => Ok(true),
                (Phase::Retained, _) => Err(ShmError::FdStillWritable {
                    id: id.get(),
                    provider: record.memory.provider().to_string(),
                }),
                // Another pool's id that names a buffer of this one.
                (Phase::Writable | Phase::Leased | Phase::Sealed, _) => Ok(false),
            }
        })
    }

    /// A new fd for buffer `id` in any phase.
    ///
    /// # Safety
    ///
    /// For a buffer in its fill phase, the contract of [`SharedBuffer::fd_unchecked`]; for a
    /// leased one, that of [`DeviceLease::reclaim`](super::DeviceLease::reclaim); for a sealed
    /// dma-buf, that of [`SealedBuffer::fd_unchecked`](super::SealedBuffer::fd_unchecked) —
    /// for as long as the returned fd (or anything made from it) exists, not only while the
    /// buffer's handle does.
    ///
    /// # Errors
    ///
    /// The failing `fcntl(F_DUPFD_CLOEXEC)`.
    #[cfg(unix)]
    #[track_caller]
    pub unsafe fn dup_fd_unchecked(&self, id: BufferId) -> Result<Option<std::os::fd::OwnedFd>> {
        let _site = crate::callsite::enter();
        self.with_fd(id, |_| Ok(true))
    }

    /// Duplicates the fd of record `id` if `allowed` says so (`Ok(false)`: as if there were
    /// none), under the shared lock (so the record, and its fd, cannot be freed during the dup).
    #[cfg(unix)]
    #[track_caller]
    fn with_fd(
        &self,
        id: BufferId,
        allowed: impl FnOnce(&Record) -> Result<bool, ShmError>,
    ) -> Result<Option<std::os::fd::OwnedFd>> {
        let dup = self.core.with_record(id, |record| {
            let Some(fd) = record.memory.fd() else {
                return Ok(None);
            };
            if !allowed(record)? {
                return Ok(None);
            }
            rustix::io::fcntl_dupfd_cloexec(fd, 0)
                .map(Some)
                .map_err(|e| {
                    Error::from_io("fcntl(F_DUPFD_CLOEXEC)", &self.core.label, &e.into())
                        .with_arg("id", id)
                })
        });
        dup.unwrap_or(Ok(None))
    }

    /// A new handle (`DuplicateHandle` with the same access) for the retained section `id`:
    /// its `FILE_MAP_READ` handle, which maps read-only. `Ok(None)` for an id this pool does
    /// not retain, or a buffer without a handle (heap).
    ///
    /// # Errors
    ///
    /// The failing `DuplicateHandle`.
    #[cfg(windows)]
    #[track_caller]
    pub fn dup_handle(&self, id: RetainedId) -> Result<Option<std::os::windows::io::OwnedHandle>> {
        let _site = crate::callsite::enter();
        let id = id.id();
        // Another pool's id may name a buffer of this one in another phase: as if none.
        self.with_handle(id, |record| record.phase == Phase::Retained)
    }

    /// A new handle for buffer `id`'s section in any phase.
    ///
    /// # Safety
    ///
    /// For a buffer in its fill phase, the contract of [`SharedBuffer::handle_unchecked`];
    /// for a leased one, that of [`DeviceLease::reclaim`](super::DeviceLease::reclaim) — for
    /// as long as the returned handle (or anything made from it) exists.
    ///
    /// # Errors
    ///
    /// The failing `DuplicateHandle`.
    #[cfg(windows)]
    #[track_caller]
    pub unsafe fn dup_handle_unchecked(
        &self,
        id: BufferId,
    ) -> Result<Option<std::os::windows::io::OwnedHandle>> {
        let _site = crate::callsite::enter();
        self.with_handle(id, |_| true)
    }

    #[cfg(windows)]
    #[track_caller]
    fn with_handle(
        &self,
        id: BufferId,
        allowed: impl FnOnce(&Record) -> bool,
    ) -> Result<Option<std::os::windows::io::OwnedHandle>> {
        let dup = self.core.with_record(id, |record| {
            let Some(handle) = record.memory.handle() else {
                return Ok(None);
            };
            if !allowed(record) {
                return Ok(None);
            }
            // Under the shared lock, so the record (and its handle) cannot be freed meanwhile.
            handle.try_clone_to_owned().map(Some).map_err(|e| {
                Error::from_io("DuplicateHandle", &self.core.label, &e).with_arg("id", id)
            })
        });
        dup.unwrap_or(Ok(None))
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len == 0 {
            return Err(ShmError::ZeroLength {
                pool: self.options.name.clone(),
            }
            .into());
        }
        Ok(())
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

/// Releases every buffer the pool still owns: retained ones and any whose handle was leaked.
/// (Live handles cannot exist here: they borrow the pool.) `&mut self` needs no lock.
impl Drop for Pool {
    fn drop(&mut self) {
        let released = self.core.release_all();
        if released > 0 {
            tracing::debug!(released, "shm pool dropped, buffers it still held released");
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("providers", &self.options.providers)
            .field("fallback", &self.options.fallback)
            .field("buffers", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap_pool() -> Pool {
        Pool::with_options(PoolOptions::new().providers([Provider::Heap]))
    }

    #[test]
    fn shm_pool_heap_alloc_find_free() {
        let pool = heap_pool();
        let mut a = pool.alloc(100).unwrap();
        let b = pool.alloc(50).unwrap();
        assert_eq!(a.provider(), &Provider::Heap);
        assert!(a.iter().all(|&x| x == 0));
        a[10] = 7;
        assert_eq!(a[10], 7);
        let f = pool.find(a.as_ptr().wrapping_add(10), 90).unwrap();
        assert_eq!((f.id, f.offset, f.buffer_len), (a.id(), 10, 100));
        assert_eq!(pool.find(a.as_ptr().wrapping_add(10), 91), None);
        assert_eq!(pool.find(b.as_ptr(), 50).map(|f| f.id), Some(b.id()));
        assert_eq!(pool.len(), 2);
        let ptr = a.as_ptr();
        drop(a);
        assert_eq!(pool.find(ptr, 1), None);
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn shm_pool_retained_buffers_live_until_release_or_drop() {
        let mut pool = heap_pool();
        let mut a = pool.alloc(8).unwrap();
        a.copy_from_slice(b"retained");
        let ptr = a.as_ptr();
        let sealed = a.seal().unwrap();
        assert_eq!(sealed.seal_kind(), super::super::SealKind::Private);
        let id = sealed.into_pool();
        assert_eq!(pool.retained(id), Some(&b"retained"[..]));
        assert_eq!(
            pool.find(ptr, 8).map(|f| f.id),
            Some(id.id()),
            "heap: same address"
        );
        let b = pool.alloc(4).unwrap();
        // Not retained (a forged id, as another pool's retained id could be): no bytes.
        assert_eq!(pool.retained(RetainedId(b.id())), None);
        let leaked = b.id();
        std::mem::forget(b);
        assert_eq!(pool.len(), 2);
        assert!(pool.release(id.id()));
        assert!(!pool.release(id.id()));
        assert_eq!(pool.len(), 1);
        assert!(pool.release(leaked));
        let c = pool.alloc(4).unwrap().seal().unwrap().into_pool();
        assert_eq!(pool.len(), 1);
        assert!(pool.retained(c).is_some());
        drop(pool); // releases `c`; Miri's leak check proves it.
    }

    #[test]
    fn shm_pool_rejects_empty_and_reports_the_last_error() {
        let pool = heap_pool();
        assert!(matches!(
            pool.alloc(0),
            Err(Error::Shm(ShmError::ZeroLength { pool })) if pool == "loadguard"
        ));
        let none = Pool::with_options(PoolOptions::new().providers([]).name("empty"));
        assert!(matches!(
            none.alloc(1),
            Err(Error::Shm(ShmError::NoProviders { pool })) if pool == "empty"
        ));
        let strict = Pool::with_options(PoolOptions::new().providers([]).fallback(false));
        assert!(matches!(
            strict.alloc(1),
            Err(Error::Shm(ShmError::NoProviders { .. }))
        ));
    }
}
