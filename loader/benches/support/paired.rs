//! Paired, interleaved measurement: after one untimed pair, two contenders run in A B B A …
//! order, round after round, and the report is the median of the per-round ratios — drift in
//! the machine's load hits both sides of a round alike instead of whichever side ran all its
//! rounds first. It prints; it asserts nothing about time.

use std::time::Duration;

/// Whether the benches run briefly (CI's bench stage sets `LOADGUARD_BENCH_QUICK=1`).
pub fn quick() -> bool {
    std::env::var_os("LOADGUARD_BENCH_QUICK").is_some()
}

/// Rounds to run: `full` normally, fewer when quick.
pub fn rounds(full: usize) -> usize {
    if quick() {
        full.div_ceil(4).max(3)
    } else {
        full
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Runs `a` and `b` (each returns the time of one measured sample) for `rounds` rounds in
/// A B, B A, … order and prints one line: both medians and the median of the per-round
/// ratios `a / b` (below 1: A is faster).
pub fn compare(
    what: &str,
    (a_name, mut a): (&str, impl FnMut() -> Duration),
    (b_name, mut b): (&str, impl FnMut() -> Duration),
    rounds: usize,
) -> f64 {
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    // One untimed pair first: whichever side runs first would otherwise also pay for the
    // caches, page tables and allocator state the bench starts without.
    let _ = (a(), b());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = a();
            (x, b())
        } else {
            let y = b();
            (a(), y)
        };
        ta.push(secs(x));
        tb.push(secs(y));
        ratios.push(secs(x) / secs(y));
    }
    let ratio = median(&mut ratios);
    let lo = ratios.first().copied().unwrap_or(f64::NAN);
    let hi = ratios.last().copied().unwrap_or(f64::NAN);
    println!(
        "{what:<44} {a_name} {:>10.3} µs  {b_name} {:>10.3} µs  ratio {ratio:.3} ({lo:.3}–{hi:.3}, {rounds} rounds)",
        median(&mut ta) * 1e6,
        median(&mut tb) * 1e6,
    );
    ratio
}
