//! Everything Linux: the interposers and the machinery under them. Data flows one way:
//! `hooks` → `state` (init, plan, counters) and `ledger` (the tables) → `report` (the writer).

mod backtrace;
mod guard;
#[cfg(not(test))]
mod hooks;
mod ledger;
mod real;
mod report;
mod state;
mod sys;
