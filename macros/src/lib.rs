//! Proc macros for `loadguard`.
//!
//! This crate is filled by the macros issue (OS error context, `#[derive(ApiTable)]`).
