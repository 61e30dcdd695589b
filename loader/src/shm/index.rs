//! [`RangeIndex`]: which registered address range contains a query range, in O(log n).
//!
//! The backend this module replaces kept its buffers in a list and scanned it to find the buffer
//! owning a pointer. Here the ranges live in an ordered map keyed by start address; the only
//! candidate for a query at `addr` is the range with the greatest start `<= addr`
//! (`BTreeMap::range(..=addr).next_back()`), and the query is answered only when it lies
//! *entirely* inside that range. Ranges never overlap (insertion refuses overlaps), so the
//! candidate is the only possible answer: a query that straddles two ranges or sticks out of one
//! is `None`, never a wrong buffer.
//!
//! Addresses are plain `usize` values (`ptr.addr()`), never turned back into pointers, and all
//! arithmetic on them is checked. Pure logic: runs under Miri and loom unchanged.

use std::collections::BTreeMap;

/// Where a query range was found: the value of the range that contains it and the offset of
/// the query's start inside that range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit<'a, V> {
    /// The containing range's value.
    pub(crate) value: &'a V,
    /// `addr - start` of the containing range.
    pub(crate) offset: usize,
    /// Length of the containing range.
    pub(crate) len: usize,
}

/// Why an insertion was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// The range is empty; empty ranges have no address to own.
    Empty,
    /// `start + len` overflows the address space.
    Overflow,
    /// The range overlaps a registered one.
    Overlap,
}

struct Entry<V> {
    len: usize,
    value: V,
}

/// Non-overlapping, non-empty address ranges `[start, start + len)` with a value each.
pub(crate) struct RangeIndex<V> {
    map: BTreeMap<usize, Entry<V>>,
}

impl<V> Default for RangeIndex<V> {
    fn default() -> Self {
        Self {
            map: BTreeMap::new(),
        }
    }
}

impl<V> RangeIndex<V> {
    /// Number of registered ranges.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Registers `[start, start + len)`. Refuses empty, overflowing and overlapping ranges, so
    /// lookups stay unambiguous.
    pub(crate) fn insert(&mut self, start: usize, len: usize, value: V) -> Result<(), InsertError> {
        if len == 0 {
            return Err(InsertError::Empty);
        }
        let end = start.checked_add(len).ok_or(InsertError::Overflow)?;
        // The range before `start` (or at it) must end at or before `start`.
        if let Some((&s, e)) = self.map.range(..=start).next_back() {
            // `s + e.len` was checked when that range was inserted.
            if s == start || s.saturating_add(e.len) > start {
                return Err(InsertError::Overlap);
            }
        }
        // The first range after `start` must begin at or after `end`.
        if let Some((&s, _)) = self.map.range(start..).next() {
            if s < end {
                return Err(InsertError::Overlap);
            }
        }
        self.map.insert(start, Entry { len, value });
        Ok(())
    }

    /// Removes the range starting at `start` and returns its value.
    pub(crate) fn remove(&mut self, start: usize) -> Option<V> {
        self.map.remove(&start).map(|e| e.value)
    }

    /// The value of the range starting at `start`, if any.
    pub(crate) fn get(&self, start: usize) -> Option<&V> {
        self.map.get(&start).map(|e| &e.value)
    }

    /// The value of the range starting at `start`, mutably.
    pub(crate) fn get_mut(&mut self, start: usize) -> Option<&mut V> {
        self.map.get_mut(&start).map(|e| &mut e.value)
    }

    /// The range that contains all of `[addr, addr + len)`.
    ///
    /// A query of length 0 asks for the range that owns the byte at `addr` (a pointer one past
    /// the end of a range is not inside it: it may be the start of the next one). A query that
    /// overflows, straddles two ranges or lies partly outside its candidate is `None`.
    pub(crate) fn find(&self, addr: usize, len: usize) -> Option<Hit<'_, V>> {
        let end = addr.checked_add(len.max(1))?;
        let (&start, entry) = self.map.range(..=addr).next_back()?;
        let offset = addr.checked_sub(start)?;
        let range_end = start.checked_add(entry.len)?;
        (end <= range_end).then_some(Hit {
            value: &entry.value,
            offset,
            len: entry.len,
        })
    }

    /// Removes every range and returns the values, in address order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = V> {
        std::mem::take(&mut self.map).into_values().map(|e| e.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(ranges: &[(usize, usize)]) -> RangeIndex<usize> {
        let mut idx = RangeIndex::default();
        for (i, &(s, l)) in ranges.iter().enumerate() {
            idx.insert(s, l, i).unwrap();
        }
        idx
    }

    fn found(idx: &RangeIndex<usize>, addr: usize, len: usize) -> Option<(usize, usize)> {
        idx.find(addr, len).map(|h| (*h.value, h.offset))
    }

    #[test]
    fn shm_index_finds_the_containing_range_and_offset() {
        let idx = index(&[(100, 50), (150, 10), (1000, 1)]);
        assert_eq!(found(&idx, 100, 50), Some((0, 0)));
        assert_eq!(found(&idx, 120, 30), Some((0, 20)));
        assert_eq!(found(&idx, 149, 1), Some((0, 49)));
        assert_eq!(found(&idx, 150, 10), Some((1, 0)));
        assert_eq!(found(&idx, 1000, 1), Some((2, 0)));
        assert_eq!(found(&idx, 1000, 0), Some((2, 0)));
    }

    #[test]
    fn shm_index_rejects_straddling_partial_and_outside_queries() {
        let idx = index(&[(100, 50), (150, 10), (1000, 1)]);
        // Straddles two adjacent ranges.
        assert_eq!(found(&idx, 140, 20), None);
        // Starts inside, ends past the last byte.
        assert_eq!(found(&idx, 155, 6), None);
        assert_eq!(found(&idx, 1000, 2), None);
        // Before everything, in a gap, one past the end.
        assert_eq!(found(&idx, 0, 1), None);
        assert_eq!(found(&idx, 99, 2), None);
        assert_eq!(found(&idx, 160, 0), None);
        assert_eq!(found(&idx, 500, 1), None);
        assert_eq!(found(&idx, 1001, 0), None);
        // Overflowing queries.
        assert_eq!(found(&idx, usize::MAX, 1), None);
        assert_eq!(found(&idx, 120, usize::MAX), None);
    }

    #[test]
    fn shm_index_refuses_overlaps_empty_and_overflow() {
        let mut idx = index(&[(100, 50)]);
        assert_eq!(idx.insert(100, 1, 9), Err(InsertError::Overlap));
        assert_eq!(idx.insert(90, 11, 9), Err(InsertError::Overlap));
        assert_eq!(idx.insert(149, 5, 9), Err(InsertError::Overlap));
        assert_eq!(idx.insert(50, 200, 9), Err(InsertError::Overlap));
        assert_eq!(idx.insert(10, 0, 9), Err(InsertError::Empty));
        assert_eq!(idx.insert(usize::MAX, 2, 9), Err(InsertError::Overflow));
        // Touching ranges are fine.
        idx.insert(90, 10, 1).unwrap();
        idx.insert(150, 1, 2).unwrap();
        idx.insert(usize::MAX - 1, 1, 3).unwrap();
        assert_eq!(idx.len(), 4);
        assert_eq!(found(&idx, usize::MAX - 1, 1), Some((3, 0)));
    }

    #[test]
    fn shm_index_remove_and_drain() {
        let mut idx = index(&[(100, 50), (200, 10)]);
        assert_eq!(idx.remove(100), Some(0));
        assert_eq!(idx.remove(100), None);
        assert_eq!(found(&idx, 120, 1), None);
        assert_eq!(idx.get(200), Some(&1));
        assert_eq!(idx.drain().collect::<Vec<_>>(), [1]);
        assert_eq!(idx.len(), 0);
    }

    /// Every query against a small random layout agrees with a linear scan (the model).
    #[test]
    fn shm_index_agrees_with_a_linear_scan() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % crate::size::to_u64(bound)).unwrap()
        };
        let rounds = if cfg!(miri) { 3 } else { 50 };
        for _ in 0..rounds {
            // Each range's value is its start, so a hit names the range it found.
            let mut idx = RangeIndex::default();
            let mut model: Vec<(usize, usize)> = Vec::new();
            for _ in 0..20 {
                let (s, l) = (next(400), next(30));
                let overlaps = model.iter().any(|&(ms, ml)| s < ms + ml && ms < s + l);
                let res = idx.insert(s, l, s);
                assert_eq!(
                    res.is_ok(),
                    l > 0 && !overlaps,
                    "insert {s}+{l} into {model:?}"
                );
                if res.is_ok() {
                    model.push((s, l));
                }
            }
            for _ in 0..200 {
                let (a, l) = (next(450), next(40));
                let want = model
                    .iter()
                    .find(|&&(ms, ml)| ms <= a && a + l.max(1) <= ms + ml)
                    .map(|&(ms, _)| (ms, a - ms));
                let got = idx.find(a, l).map(|h| (*h.value, h.offset));
                assert_eq!(got, want, "find {a}+{l} in {model:?}");
            }
        }
    }
}
