//! [`Pool`]: allocates shared buffers from an ordered list of providers and owns them all.

use std::collections::HashMap;
use std::fmt;
use std::ptr::NonNull;

use super::backing::{Backing, Request};
use super::index::{InsertError, RangeIndex};
use super::{BufferId, Found, Provider, SharedBuffer};
use crate::data::{DataLoader, SegmentInfo};
use crate::error::{Error, Result};
use crate::size::Alignment;
use crate::sync::{AtomicU64, Mutex, Ordering, get_mut, lock};

/// How a [`Pool`] allocates.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    providers: Vec<Provider>,
    fallback: bool,
    name: String,
    heap_alignment: Alignment,
    /// Counts every buffer as a `PoolBuffer` acquisition, for leak checks in tests.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    ledger: Option<crate::testing::Ledger>,
    /// Makes `memfd_create` fail as the plan says, for tests of fallback and error paths.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    faults: Option<crate::testing::FaultPlan>,
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
            #[cfg(any(test, loom, fuzzing, feature = "testing"))]
            ledger: None,
            #[cfg(any(test, loom, fuzzing, feature = "testing"))]
            faults: None,
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

    /// Records every buffer the pool allocates in `ledger` (kind
    /// [`PoolBuffer`](crate::testing::ResourceKind::PoolBuffer)) until the buffer is freed, so
    /// a test can end with `ledger.assert_balanced()`.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    #[must_use]
    pub fn ledger(mut self, ledger: crate::testing::Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Injects `plan`'s [`MemfdCreate`](crate::testing::FaultOp::MemfdCreate) faults into the
    /// memfd provider, before any OS resource is acquired.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    #[must_use]
    pub fn faults(mut self, plan: crate::testing::FaultPlan) -> Self {
        self.faults = Some(plan);
        self
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// A pool of shared buffers. See the [module docs](super) for the ownership model.
///
/// `Send + Sync`: threads allocate, find and free concurrently through `&Pool`. One lock guards
/// the registry; it is held only for map updates and lookups, never across an OS call.
pub struct Pool {
    options: PoolOptions,
    registry: Mutex<Registry>,
    next_id: AtomicU64,
}

/// Every buffer the pool owns, by start address (for `find`) and by id.
#[derive(Default)]
pub(crate) struct Registry {
    ranges: RangeIndex<Record>,
    starts: HashMap<BufferId, usize>,
}

/// One buffer: its OS resources and the pointer derived from them once.
pub(crate) struct Record {
    id: BufferId,
    len: usize,
    start: Start,
    /// Handed back with [`SharedBuffer::into_pool`]: no `SharedBuffer` refers to it any more.
    retained: bool,
    /// Owns the memory; also read for its fd / handle (`dup_fd`, `dup_handle`).
    backing: Backing,
    /// The ledger's record of this buffer; declared last so it is released after the memory.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    _receipt: Option<crate::testing::Receipt>,
}

/// The start of a buffer's memory, derived once from a unique borrow at allocation.
#[derive(Clone, Copy)]
pub(crate) struct Start(pub(crate) NonNull<u8>);

// SAFETY: `Start` is an address into memory owned by the `Backing` of the same record (heap,
// memfd/dma-buf mapping or section view — none has thread affinity). It is only dereferenced by
// the one `SharedBuffer` that owns the record (unique, like `&mut [u8]`) or, once retained, by
// shared `&[u8]` borrows of the pool, which the pool's `&mut` release and drop exclude.
unsafe impl Send for Start {}
// SAFETY: see `Send`: sharing a `Start` shares an address, never access.
unsafe impl Sync for Start {}

impl Pool {
    /// A pool with [`PoolOptions::new`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_options(PoolOptions::new())
    }

    /// A pool allocating as `options` say.
    #[must_use]
    pub fn with_options(options: PoolOptions) -> Self {
        Self {
            options,
            registry: Mutex::new(Registry::default()),
            next_id: AtomicU64::new(1),
        }
    }

    /// The options the pool was made with.
    #[must_use]
    pub fn options(&self) -> &PoolOptions {
        &self.options
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
    /// Errors: [`Error::InvalidOption`] for `len == 0` or an empty provider list (no fallback
    /// from those), otherwise the error of the last provider tried.
    #[track_caller]
    pub fn alloc(&self, len: usize) -> Result<SharedBuffer<'_>> {
        let _site = crate::callsite::enter();
        check_len(len)?;
        let tried = if self.options.fallback {
            self.providers()
        } else {
            self.first_provider()?
        };
        let Some((last, before)) = tried.split_last() else {
            return Err(Error::InvalidOption("shm pool has no providers".to_owned()));
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
    #[track_caller]
    pub fn alloc_from(&self, provider: &Provider, len: usize) -> Result<SharedBuffer<'_>> {
        let _site = crate::callsite::enter();
        check_len(len)?;
        let req = Request {
            name: &self.options.name,
            len,
            heap_alignment: self.options.heap_alignment,
        };
        #[cfg(any(test, loom, fuzzing, feature = "testing"))]
        self.inject_fault(provider, len)?;
        let mut backing = Backing::alloc(provider, &req)?;
        let start = backing.start();
        #[cfg(unix)]
        let fd = backing.fd().map(|fd| std::os::fd::AsRawFd::as_raw_fd(&fd));
        #[cfg(windows)]
        let handle = backing
            .handle()
            .map(|h| std::os::windows::io::AsRawHandle::as_raw_handle(&h));
        let id = BufferId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let record = Record {
            id,
            len,
            start: Start(start),
            retained: false,
            backing,
            #[cfg(any(test, loom, fuzzing, feature = "testing"))]
            _receipt: self.options.ledger.as_ref().map(|ledger| {
                ledger.acquire(
                    crate::testing::ResourceKind::PoolBuffer,
                    format_args!("{provider} buffer {id} of {len} bytes"),
                )
            }),
        };
        let addr = start.addr().get();
        {
            let mut reg = lock(&self.registry);
            // Cannot fail: the OS never hands out memory that overlaps a live buffer, and every
            // registered buffer is live (records leave the map before their memory is freed).
            if let Err(e) = reg.ranges.insert(addr, len, record) {
                return Err(self.register_error(e, addr, len));
            }
            reg.starts.insert(id, addr);
        }
        tracing::trace!(%id, %provider, len, "shm buffer allocated");
        Ok(SharedBuffer {
            pool: self,
            id,
            start: Start(start),
            len,
            provider: provider.clone(),
            #[cfg(unix)]
            fd,
            #[cfg(windows)]
            handle,
        })
    }

    /// Allocates a buffer of `len` bytes and fills it with `[offset, offset + len)` of
    /// `loader` through [`DataLoader::load_into`] — for a
    /// [`FileLoader`](crate::FileLoader), a `pread` straight into the fd-backed memory.
    ///
    /// The range is checked against the loader's size before anything is allocated.
    #[track_caller]
    pub fn load(
        &self,
        loader: &dyn DataLoader,
        offset: u64,
        len: u64,
        info: &SegmentInfo,
    ) -> Result<SharedBuffer<'_>> {
        let _site = crate::callsite::enter();
        let label = format!("shm:{}", self.options.name);
        let range = crate::error::range_in(label.as_ref(), offset, len, loader.size()?)?;
        let mut buf = self.alloc(range.len())?;
        loader.load_into(offset, &mut buf, info)?;
        tracing::debug!(
            id = %buf.id(),
            provider = %buf.provider(),
            offset,
            len,
            "segment loaded into shm buffer"
        );
        Ok(buf)
    }

    /// Fails like `memfd_create` when the test's fault plan says so.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    fn inject_fault(&self, provider: &Provider, len: usize) -> Result<()> {
        use crate::testing::FaultOp;
        let Some(plan) = &self.options.faults else {
            return Ok(());
        };
        if *provider != Provider::Memfd {
            return Ok(());
        }
        match plan
            .next(FaultOp::MemfdCreate)
            .and_then(crate::testing::faults::io_error)
        {
            Some(err) => {
                Err(
                    Error::from_io("memfd_create", format!("memfd:{}", self.options.name), &err)
                        .with_arg("len", len),
                )
            }
            None => Ok(()),
        }
    }

    /// Which buffer contains all of `[ptr, ptr + len)`, and at what offset, in O(log n).
    ///
    /// A range that straddles two buffers, lies partly outside one, or overflows the address
    /// space is `None`. `len == 0` asks for the buffer owning the byte at `ptr` (one past a
    /// buffer's end is not in it). Only the address is used (`ptr.addr()`); `ptr` is never
    /// dereferenced, so any pointer, dangling included, may be asked about.
    #[must_use]
    pub fn find(&self, ptr: *const u8, len: usize) -> Option<Found> {
        let reg = lock(&self.registry);
        reg.ranges.find(ptr.addr(), len).map(|hit| Found {
            id: hit.value.id,
            offset: hit.offset,
            buffer_len: hit.len,
        })
    }

    /// Number of buffers the pool owns (handed out, retained or leaked).
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.registry).ranges.len()
    }

    /// Whether the pool owns no buffer.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a buffer handed back with [`SharedBuffer::into_pool`]; `None` for an
    /// unknown id or one still held by a `SharedBuffer`.
    #[must_use]
    pub fn retained(&self, id: BufferId) -> Option<&[u8]> {
        let reg = lock(&self.registry);
        let record = reg.starts.get(&id).and_then(|&s| reg.ranges.get(s))?;
        if !record.retained {
            return None;
        }
        let (start, len) = (record.start.0, record.len);
        drop(reg);
        // SAFETY: a retained record's memory stays mapped until `release` or `drop`, both of
        // which take `&mut self`, so not while this `&self` borrow lives; no `SharedBuffer`
        // refers to it any more, so nothing writes through Rust while it is shared; `start`
        // points to `len` initialised bytes (zeroed at allocation, then filled).
        Some(unsafe { std::slice::from_raw_parts(start.as_ptr(), len) })
    }

    /// Frees the buffer `id` that the pool holds (retained, or leaked with `mem::forget`).
    /// Returns whether there was one. `&mut self` proves no `SharedBuffer` or
    /// [`retained`](Self::retained) slice still borrows the pool.
    pub fn release(&mut self, id: BufferId) -> bool {
        let reg = get_mut(&mut self.registry);
        let record = reg.starts.remove(&id).and_then(|s| reg.ranges.remove(s));
        let found = record.is_some();
        drop(record);
        found
    }

    /// A new fd for buffer `id` (`F_DUPFD_CLOEXEC`), to hand to a driver or another process
    /// that must outlive this pool's ownership of the buffer. `Ok(None)` for an unknown id or a
    /// buffer without an fd (heap).
    #[cfg(unix)]
    pub fn dup_fd(&self, id: BufferId) -> Result<Option<std::os::fd::OwnedFd>> {
        let reg = lock(&self.registry);
        let Some(record) = reg.starts.get(&id).and_then(|&s| reg.ranges.get(s)) else {
            return Ok(None);
        };
        let Some(fd) = record.backing.fd() else {
            return Ok(None);
        };
        // Under the lock, so the record (and its fd) cannot be freed during the dup.
        rustix::io::fcntl_dupfd_cloexec(fd, 0)
            .map(Some)
            .map_err(|e| {
                Error::from_io(
                    "fcntl(F_DUPFD_CLOEXEC)",
                    format!("shm:{}", self.options.name),
                    &e.into(),
                )
                .with_arg("id", id)
            })
    }

    /// A new handle for buffer `id`'s section (`DuplicateHandle`), to hand to a driver or
    /// another process. `Ok(None)` for an unknown id or a buffer without a handle (heap).
    #[cfg(windows)]
    pub fn dup_handle(&self, id: BufferId) -> Result<Option<std::os::windows::io::OwnedHandle>> {
        let reg = lock(&self.registry);
        let Some(record) = reg.starts.get(&id).and_then(|&s| reg.ranges.get(s)) else {
            return Ok(None);
        };
        let Some(handle) = record.backing.handle() else {
            return Ok(None);
        };
        // Under the lock, so the record (and its handle) cannot be freed during the duplication.
        handle.try_clone_to_owned().map(Some).map_err(|e| {
            Error::from_io("DuplicateHandle", format!("shm:{}", self.options.name), &e)
                .with_arg("id", id)
        })
    }

    /// Removes the record starting at `start` — called by the record's `SharedBuffer` on drop.
    /// The memory is released after the lock is let go.
    pub(crate) fn free(&self, id: BufferId, start: Start) {
        let addr = start.0.addr().get();
        let record = {
            let mut reg = lock(&self.registry);
            // Only ever this buffer's own record: an id check, not just the address.
            if reg.ranges.get(addr).is_some_and(|r| r.id == id) {
                reg.starts.remove(&id);
                reg.ranges.remove(addr)
            } else {
                None
            }
        };
        debug_assert!(record.is_some(), "shm record of {id} missing");
        tracing::trace!(%id, "shm buffer freed");
        drop(record);
    }

    /// Marks the record of `id` retained — called by [`SharedBuffer::into_pool`].
    pub(crate) fn retain(&self, id: BufferId, start: Start) {
        let mut reg = lock(&self.registry);
        if let Some(record) = reg.ranges.get_mut(start.0.addr().get()) {
            debug_assert_eq!(record.id, id);
            record.retained = true;
        }
    }

    fn first_provider(&self) -> Result<&[Provider]> {
        match self.options.providers.first() {
            Some(_) => Ok(&self.options.providers[..1]),
            None => Err(Error::InvalidOption("shm pool has no providers".to_owned())),
        }
    }

    fn register_error(&self, e: InsertError, addr: usize, len: usize) -> Error {
        let err = std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("address range {addr:#x}+{len} cannot be registered: {e:?}"),
        );
        Error::from_io("register", format!("shm:{}", self.options.name), &err).with_arg("len", len)
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

/// Releases every buffer the pool still owns: retained ones and any whose `SharedBuffer` was
/// leaked. (Live `SharedBuffer`s cannot exist here: they borrow the pool.) `&mut self` needs no
/// lock.
impl Drop for Pool {
    fn drop(&mut self) {
        let reg = get_mut(&mut self.registry);
        reg.starts.clear();
        let mut released = 0usize;
        for record in reg.ranges.drain() {
            released += 1;
            drop(record);
        }
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

fn check_len(len: usize) -> Result<()> {
    if len == 0 {
        return Err(Error::InvalidOption(
            "a shm buffer needs at least 1 byte".to_owned(),
        ));
    }
    Ok(())
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
        let id = a.into_pool();
        assert_eq!(pool.retained(id), Some(&b"retained"[..]));
        assert_eq!(pool.find(ptr, 8).map(|f| f.id), Some(id));
        let b = pool.alloc(4).unwrap();
        assert_eq!(pool.retained(b.id()), None);
        let leaked = b.id();
        std::mem::forget(b);
        assert_eq!(pool.len(), 2);
        assert!(pool.release(id));
        assert!(!pool.release(id));
        assert_eq!(pool.len(), 1);
        assert!(pool.release(leaked));
        let c = pool.alloc(4).unwrap().into_pool();
        assert_eq!(pool.len(), 1);
        assert!(pool.retained(c).is_some());
        drop(pool); // releases `c`; Miri's leak check proves it.
    }

    #[test]
    fn shm_pool_rejects_empty_and_reports_the_last_error() {
        let pool = heap_pool();
        assert!(matches!(pool.alloc(0), Err(Error::InvalidOption(_))));
        let none = Pool::with_options(PoolOptions::new().providers([]));
        assert!(matches!(none.alloc(1), Err(Error::InvalidOption(_))));
        assert!(matches!(none.options().clone().fallback(false).providers, ref p if p.is_empty()));
    }
}
