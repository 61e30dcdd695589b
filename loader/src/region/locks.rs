//! [`PageCounts`]: how many live locks hold each page, so a page is unlocked only when the last
//! lock that needs it goes.
//!
//! `mlock` does not count: one `munlock` undoes every lock of a page. Sessions and segments of
//! one file lock overlapping ranges independently, so the region records, per page, how many
//! live [`LockGuard`](super::LockGuard)s cover it, and asks the OS to lock a page when its
//! count leaves 0 and to unlock it when the count returns to 0. The record is a list of runs of
//! equal count (a `BTreeMap` keyed by each run's first page), so it holds at most two entries
//! per live guard — it cannot grow while the set of live guards does not.

use std::collections::BTreeMap;
use std::ops::Range;

/// Lock counts of pages, as runs: `runs[k] = c` means pages from `k` up to the next key have
/// count `c`; pages past the last key have count 0 (the last run is always a 0 terminator).
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub(crate) struct PageCounts {
    runs: BTreeMap<usize, u32>,
}

impl PageCounts {
    fn count_at(&self, page: usize) -> u32 {
        self.runs.range(..=page).next_back().map_or(0, |(_, &c)| c)
    }

    /// Makes `page` the first page of a run (same counts, one more boundary).
    fn split(&mut self, page: usize) {
        if !self.runs.contains_key(&page) {
            let count = self.count_at(page);
            self.runs.insert(page, count);
        }
    }

    /// Adds one lock over `pages`; returns the runs whose count went from 0 to 1 (to lock).
    pub(crate) fn add(&mut self, pages: Range<usize>) -> Vec<Range<usize>> {
        self.update(pages, |c| {
            let was_zero = c == 0;
            (c.saturating_add(1), was_zero)
        })
    }

    /// Removes one lock over `pages`; returns the runs whose count went from 1 to 0 (to unlock).
    /// Removing a lock that was never added is a caller bug: counts stay at 0 (and debug builds
    /// panic).
    pub(crate) fn remove(&mut self, pages: Range<usize>) -> Vec<Range<usize>> {
        self.update(pages, |c| {
            debug_assert!(c > 0, "unlocking pages that are not locked");
            (c.saturating_sub(1), c == 1)
        })
    }

    /// Applies `f` (new count, whether to report) to every run inside `pages`.
    fn update(&mut self, pages: Range<usize>, f: impl Fn(u32) -> (u32, bool)) -> Vec<Range<usize>> {
        if pages.is_empty() {
            return Vec::new();
        }
        self.split(pages.start);
        self.split(pages.end);
        let keys: Vec<usize> = self
            .runs
            .range(pages.start..=pages.end)
            .map(|(&k, _)| k)
            .collect();
        let mut changed: Vec<Range<usize>> = Vec::new();
        for pair in keys.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let Some(count) = self.runs.get_mut(&start) else {
                continue; // cannot happen: `start` was collected from the map just above
            };
            let (new, report) = f(*count);
            *count = new;
            if report {
                match changed.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => changed.push(start..end),
                }
            }
        }
        self.coalesce(pages);
        changed
    }

    /// Removes boundaries in `[pages.start, pages.end]` between runs of equal count, and a
    /// leading 0 run, so the map stays minimal.
    fn coalesce(&mut self, pages: Range<usize>) {
        let keys: Vec<usize> = self
            .runs
            .range(pages.start..=pages.end)
            .map(|(&k, _)| k)
            .collect();
        for k in keys {
            let here = self.runs[&k];
            let before = self.runs.range(..k).next_back().map(|(_, &c)| c);
            if before == Some(here) || (before.is_none() && here == 0) {
                self.runs.remove(&k);
            }
        }
    }

    /// Whether no page is locked.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Number of runs recorded (for tests of the bound).
    #[cfg(test)]
    fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_locks_lock_once_and_unlock_only_unneeded_pages() {
        let mut p = PageCounts::default();
        assert_eq!(p.add(0..4), vec![0..4]);
        assert_eq!(p.add(2..6), vec![4..6], "pages 2..4 are locked already");
        assert_eq!(
            p.remove(0..4),
            vec![0..2],
            "pages 2..4 are still needed by 2..6"
        );
        assert_eq!(p.remove(2..6), vec![2..6]);
        assert!(p.is_empty());
    }

    #[test]
    fn nested_and_repeated_locks_are_counted() {
        let mut p = PageCounts::default();
        assert_eq!(p.add(0..10), vec![0..10]);
        assert_eq!(p.add(0..10), vec![]);
        assert_eq!(p.add(3..4), vec![]);
        assert_eq!(p.remove(0..10), vec![]);
        assert_eq!(p.remove(3..4), vec![]);
        assert_eq!(p.remove(0..10), vec![0..10]);
        assert!(p.is_empty());
        assert_eq!(p.add(5..5), vec![]);
        assert!(p.is_empty());
    }

    #[test]
    fn the_record_is_bounded_by_live_locks_not_by_history() {
        let mut p = PageCounts::default();
        let rounds = if cfg!(miri) { 200 } else { 10_000 };
        for round in 0..rounds {
            let start = (round * 7) % 1000;
            assert_eq!(p.add(start..start + 3), vec![start..start + 3]);
            assert_eq!(p.remove(start..start + 3), vec![start..start + 3]);
        }
        assert!(p.is_empty());
        let _ = p.add(0..2);
        let _ = p.add(10..12);
        assert!(p.runs() <= 4, "{p:?}");
    }

    /// Every sequence of adds and removes agrees with a per-page counter.
    #[test]
    fn agrees_with_a_page_array() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % u64::try_from(n).unwrap()).unwrap()
        };
        let mut p = PageCounts::default();
        let mut model = [0u32; 40];
        let mut live: Vec<Range<usize>> = Vec::new();
        // Miri interprets every map operation: fewer steps there, the same checks.
        let steps = if cfg!(miri) { 150 } else { 2_000 };
        for _ in 0..steps {
            if live.is_empty() || next(3) > 0 {
                let a = next(40);
                let b = a + next(40 - a + 1);
                let changed = p.add(a..b);
                let expect: Vec<usize> = (a..b).filter(|&i| model[i] == 0).collect();
                let got: Vec<usize> = changed.into_iter().flatten().collect();
                assert_eq!(got, expect);
                (a..b).for_each(|i| model[i] += 1);
                live.push(a..b);
            } else {
                let r = live.swap_remove(next(live.len()));
                let changed = p.remove(r.clone());
                let expect: Vec<usize> = r.clone().filter(|&i| model[i] == 1).collect();
                let got: Vec<usize> = changed.into_iter().flatten().collect();
                assert_eq!(got, expect);
                r.for_each(|i| model[i] -= 1);
            }
            assert!(p.runs() <= 2 * live.len() + 1);
        }
    }
}
