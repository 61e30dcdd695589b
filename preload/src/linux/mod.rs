//! Everything Linux: the interposers and the machinery under them. Data flows one way:
//! `hooks` → `state` (init, plan, counters) and `ledger` (the tables) → `report` (the writer).
//!
//! The unit-test build leaves `hooks` out (exported `open`, `mmap`, … would interpose the test
//! harness itself), so much of the machinery is unused there.
#![cfg_attr(test, allow(dead_code))]

mod backtrace;
mod guard;
#[cfg(not(test))]
mod hooks;
mod ledger;
mod real;
mod report;
mod state;
mod sys;
