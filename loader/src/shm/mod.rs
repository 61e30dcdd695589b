//! Fd-backed shared buffers for zero-copy hand-off to accelerator drivers.
//!
//! NPU and DSP drivers take a buffer as a file descriptor (dma-buf, memfd) or a section handle
//! instead of copying it. A [`Pool`] allocates such buffers from an ordered list of
//! [`Provider`]s — **memfd** (Linux), **dma-heap** (`/dev/dma_heap/<name>`), a pagefile-backed
//! **section** (Windows) and the **heap** (no fd; the portable fallback and what Miri runs) —
//! falling back to the next one when the caller allows it, and records which one served.
//!
//! # Two phases: fill, then seal
//!
//! A buffer that another party can write is not a `&[u8]`: a write through a duplicate of its
//! fd would change bytes under the borrow. So a buffer goes through two phases, each with its
//! own handle type, and no safe call gives out both a Rust view of the bytes and a way to write
//! them outside Rust:
//!
//! 1. [`Pool::alloc`] gives a [`SharedBuffer`]: zeroed, writable through `&mut [u8]`, and its
//!    fd or handle is reachable only through `unsafe` calls
//!    ([`SharedBuffer::fd_unchecked`], [`Pool::dup_fd_unchecked`]) whose `# Safety` sections
//!    state the contract.
//! 2. [`SharedBuffer::seal`] turns it into a [`SealedBuffer`]: read-only for good, `&[u8]` for
//!    any number of threads, and the fd or handle to share where the OS enforces the seal —
//!    memfd: `F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL` after the writable
//!    mapping is gone, so `write(2)` and `mmap(PROT_WRITE)` through any fd fail with `EPERM`;
//!    Windows section: only a `FILE_MAP_READ` handle and a read-only view remain.
//!
//! A device that *writes* into a buffer gets it through a [`DeviceLease`]
//! ([`SharedBuffer::lease`]): the lease hands out the fd or handle and reaches the bytes only
//! with volatile copies; the `unsafe` [`DeviceLease::reclaim`] turns it back into a
//! `SharedBuffer` once the device has stopped writing.
//!
//! What stays `unsafe`, exactly:
//!
//! - **dma-bufs** have no kernel seal. Sealing one only swaps this process's writable view for
//!   a read-only one ([`SealKind::LocalViews`]); its fd still maps writable, so
//!   [`SealedBuffer::fd`] is `None` for it and the fd comes only from
//!   [`SealedBuffer::fd_unchecked`] / [`Pool::dup_fd_unchecked`], whose contract is that
//!   nothing writes through it while the buffer lives.
//! - Any fd of a buffer in its fill phase, and a lease's reclaim, as above.
//! - Outside the model, as for every Rust program: like `/proc/self/mem`, a path such as
//!   `/proc/self/fd/<n>` reopens this process's own fds; writing through one reopened for
//!   writing is beyond what Rust's borrow rules (or loadguard) can see. A *sealed* memfd
//!   refuses those writes too.
//!
//! The registry maps a memfd it is asked to open only when it is sealed this way
//! (`F_SEAL_WRITE | F_SEAL_SHRINK`); any other memfd is copied.
//!
//! # Ownership
//!
//! There is no singleton and no global switch: a pool is an ordinary value, and the backend
//! that wants fd-backed buffers creates one and asks it explicitly.
//!
//! - The [`Pool`] owns every buffer's OS resources (mapping, fd or handle) in its table, with
//!   a sorted index of start addresses behind a read-mostly lock, so [`Pool::find`] answers
//!   "which buffer holds `[ptr, ptr + len)`" in O(log n) without lookups waiting for each
//!   other.
//! - Each handle ([`SharedBuffer`], [`SealedBuffer`], [`DeviceLease`]) is the unique right to
//!   one buffer, borrowed from the pool, so no buffer outlives its pool: the compiler rejects
//!   it. Dropping a handle removes the buffer from the table and then unmaps and closes it.
//! - A sealed buffer can instead be handed back with [`SealedBuffer::into_pool`]: the pool
//!   keeps it (findable, readable through [`Pool::retained`], its fd from [`Pool::dup_fd`])
//!   until [`Pool::release`] or the pool's drop.
//! - Dropping the pool releases every buffer it still holds — retained ones and even those
//!   whose handle was leaked with `mem::forget` — so nothing outlives it.
//! - Every OS call goes through the seam [`ShmOs`] ([`RealShm`] by default), so the testing
//!   harness wraps it with a resource ledger and fault plans.
//!
//! ```
//! use loadguard::shm::{Pool, PoolOptions, Provider};
//!
//! let pool = Pool::with_options(PoolOptions::new().providers([Provider::Memfd, Provider::Heap]));
//! let mut buf = pool.alloc(4096)?;
//! buf[..5].copy_from_slice(b"hello");
//! let sealed = buf.seal()?;
//! #[cfg(target_os = "linux")]
//! assert!(sealed.fd().is_some()); // a sealed memfd: hand `sealed.fd()` to the driver
//! drop(sealed); // unregistered, unmapped, closed
//! assert!(pool.is_empty());
//! # Ok::<(), loadguard::Error>(())
//! ```
//!
//! Loading a file segment straight into a pool buffer is the data layer's job:
//! [`data::load_into_pool`](crate::data::load_into_pool).
//!
//! # What does not compile
//!
//! A buffer cannot outlive its pool:
//!
//! ```compile_fail,E0597
//! let buf = {
//!     let pool = loadguard::shm::Pool::new();
//!     pool.alloc(16).unwrap()
//! };
//! ```
//!
//! A buffer in its fill phase has no safe fd to write the bytes behind its `&[u8]` with
//! (more of these, for Unix, in [`SharedBuffer::fd_unchecked`]):
//!
//! ```compile_fail,E0599
//! use std::io::Write;
//! let pool = loadguard::shm::Pool::new();
//! let buf = pool.alloc(4096).unwrap();
//! let bytes: &[u8] = &buf;
//! let mut file = std::fs::File::from(buf.fd().unwrap().try_clone_to_owned().unwrap());
//! file.write_all(b"changed").unwrap();
//! assert_eq!(&bytes[..7], b"changed");
//! ```
//!
//! A lease has no `&[u8]` (only volatile copies) while the device holds the fd:
//!
//! ```compile_fail,E0608
//! let pool = loadguard::shm::Pool::new();
//! let lease = pool.alloc(4096).unwrap().lease();
//! let first = lease[0];
//! ```
//!
//! and no view of the fill phase survives the seal:
//!
//! ```compile_fail,E0505
//! let pool = loadguard::shm::Pool::new();
//! let buf = pool.alloc(4096).unwrap();
//! let old: &[u8] = &buf;
//! let sealed = buf.seal().unwrap();
//! assert_eq!(old[0], sealed[0]);
//! ```

mod buffer;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod dma_heap;
mod error;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod fd_map;
mod heap;
mod id;
mod index;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod memfd;
mod memory;
mod pool;
mod provider;
mod seam;
mod table;
#[cfg(windows)]
mod windows;

pub use buffer::{DeviceLease, SealError, SealedBuffer, SharedBuffer};
pub use error::ShmError;
pub use id::{BufferId, Found, RetainedId};
pub use memory::{Memory, SealKind};
pub use pool::{Pool, PoolOptions};
pub use provider::{Provider, Request};
pub use seam::{RealShm, ShmOs};
