//! Out-parameters that a foreign call may leave unwritten.

use std::mem::MaybeUninit;

/// Calls `call` with a pointer to uninitialised storage for one `T` and returns that `T` only
/// when `succeeded` accepts the call's status; otherwise returns the status and never reads
/// the storage.
///
/// Drivers commonly fail *without* writing their out-parameter, so reading it first (or
/// zero-initialising it and pretending that is a result) hides the failure or reads garbage.
/// The storage is a `MaybeUninit<T>` and is read (`assume_init`) only on the success branch.
///
/// ```
/// use loadguard::dylib::with_out_param;
///
/// /// A driver call that writes `*handle` only when it returns 0.
/// unsafe extern "C" fn create(size: i32, handle: *mut u64) -> i32 {
///     if size < 0 {
///         return -22; // fails without writing the out-parameter
///     }
///     // SAFETY: the caller passes storage for one u64.
///     unsafe { handle.write(7) };
///     0
/// }
///
/// // SAFETY: `create` initialises the handle whenever it returns 0.
/// let ok = unsafe { with_out_param(|h| create(16, h), |&rc| rc == 0) };
/// assert_eq!(ok, Ok(7));
/// // SAFETY: as above; on failure the storage is never read.
/// let failed = unsafe { with_out_param(|h| create(-1, h), |&rc| rc == 0) };
/// assert_eq!(failed, Err(-22));
/// ```
///
/// # Errors
///
/// The call's status, when `succeeded` rejects it.
///
/// # Safety
///
/// Whenever `succeeded(&status)` returns `true`, `call` must have fully initialised the `T`
/// behind the pointer it was given.
pub unsafe fn with_out_param<T, S>(
    call: impl FnOnce(*mut T) -> S,
    succeeded: impl FnOnce(&S) -> bool,
) -> Result<T, S> {
    let mut out = MaybeUninit::<T>::uninit();
    let status = call(out.as_mut_ptr());
    if succeeded(&status) {
        // SAFETY: the call reported success, and the caller promised that a successful call
        // initialised the `T`.
        Ok(unsafe { out.assume_init() })
    } else {
        Err(status)
    }
}
