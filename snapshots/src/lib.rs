//! Snapshot suites live in `tests/`, one file per thing a user reads; the accepted snapshots sit
//! in `tests/snapshots/`. CI runs them with `CI=true`, so a changed or missing snapshot fails.
