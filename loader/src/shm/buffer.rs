//! [`SharedBuffer`]: the unique right to use one buffer of a [`Pool`].

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::pool::Start;
use super::{BufferId, Pool, Provider};

/// One mapped buffer of a [`Pool`], zeroed at allocation.
///
/// Unique like a `Box<[u8]>`: writable through `DerefMut` (fill it), readable through
/// `Deref<Target = [u8]>`, `Send + Sync`. Its OS resources belong to the pool; this handle
/// borrows the pool, so it cannot outlive it. Dropping it removes the buffer from the pool's
/// registry and then unmaps and closes it.
pub struct SharedBuffer<'pool> {
    pub(crate) pool: &'pool Pool,
    pub(crate) id: BufferId,
    pub(crate) start: Start,
    pub(crate) len: usize,
    pub(crate) provider: Provider,
    #[cfg(unix)]
    pub(crate) fd: Option<std::os::fd::RawFd>,
    #[cfg(windows)]
    pub(crate) handle: Option<std::os::windows::io::RawHandle>,
}

// SAFETY: a `SharedBuffer` is a unique handle to memory owned by its pool's record (like
// `&mut [u8]` plus an fd number); that memory has no thread affinity, and freeing it from
// another thread goes through the pool's lock.
unsafe impl Send for SharedBuffer<'_> {}
// SAFETY: `&SharedBuffer` only gives out `&[u8]`, a borrowed fd/handle and plain data.
unsafe impl Sync for SharedBuffer<'_> {}

impl<'pool> SharedBuffer<'pool> {
    /// The buffer's id, as [`Pool::find`] reports it.
    #[must_use]
    pub fn id(&self) -> BufferId {
        self.id
    }

    /// Which provider served the allocation.
    #[must_use]
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The pool the buffer belongs to.
    #[must_use]
    pub fn pool(&self) -> &'pool Pool {
        self.pool
    }

    /// The fd naming the memory (memfd or dma-buf), `None` for the heap provider. Valid while
    /// the buffer lives; use [`Pool::dup_fd`] or `try_clone_to_owned` for a longer-lived one.
    #[cfg(unix)]
    #[must_use]
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        // SAFETY: the fd is owned by this buffer's record in the pool, which is removed (and
        // the fd closed) only when this handle is dropped or consumed; the returned borrow
        // cannot outlive `&self`.
        self.fd
            .map(|raw| unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) })
    }

    /// The section handle naming the memory, `None` for the heap provider. Valid while the
    /// buffer lives; duplicate it for a longer-lived one.
    #[cfg(windows)]
    #[must_use]
    pub fn handle(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        // SAFETY: the handle is owned by this buffer's record in the pool, which is removed
        // (and the handle closed) only when this buffer is dropped or consumed; the returned
        // borrow cannot outlive `&self`.
        self.handle
            .map(|raw| unsafe { std::os::windows::io::BorrowedHandle::borrow_raw(raw) })
    }

    /// Hands the buffer back to the pool: it stays allocated, findable and readable through
    /// [`Pool::retained`] until [`Pool::release`] or the pool's drop. For buffers whose fd was
    /// given to a driver for as long as the pool lives.
    pub fn into_pool(self) -> BufferId {
        let id = self.id;
        self.pool.retain(id, self.start);
        // The record now belongs to the pool alone; this handle owns nothing to release.
        std::mem::forget(self);
        id
    }
}

impl Deref for SharedBuffer<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `start` points to `len` initialised bytes (zeroed at allocation) owned by the
        // pool's record for this buffer, which lives until this handle is dropped; the handle is
        // unique, so only its own borrows access the memory through Rust.
        unsafe { std::slice::from_raw_parts(self.start.0.as_ptr(), self.len) }
    }
}

impl DerefMut for SharedBuffer<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; `&mut self` makes this the only live Rust reference.
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

impl Drop for SharedBuffer<'_> {
    fn drop(&mut self) {
        self.pool.free(self.id, self.start);
    }
}

impl fmt::Debug for SharedBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBuffer")
            .field("id", &self.id)
            .field("len", &self.len)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}
