//! [`RangeIndex`]: which registered address range contains a query range, in O(log n) at
//! worst and a handful of loads in the common case.
//!
//! The backend this module replaces kept its buffers in a list and scanned it to find the buffer
//! owning a pointer. Here the ranges live in two sorted, parallel vectors — the start addresses
//! alone and each range's end and value — and the only candidate for a query at `addr` is the
//! range with the greatest start `<= addr`. The query is answered only when it lies *entirely*
//! inside that range. Ranges never overlap (insertion refuses overlaps), so the candidate is the
//! only possible answer: a query that straddles two ranges or sticks out of one is `None`, never
//! a wrong buffer.
//!
//! The candidate is found through a radix hint: the span from the lowest start to the highest is
//! cut into about n/2 equal power-of-two buckets, and `first[b]` records where bucket `b`'s starts
//! begin in the sorted vector, so a lookup binary-searches only the starts of its own bucket
//! (`partition_point`, branch-free). Buffers of one provider sit close together in the address
//! space, so a bucket holds one or two of them and a lookup costs a few loads (measured: 7.6 ns
//! against 18.5 ns for a binary search of all 10,000 starts, in `loader/benches/shm.rs`'s
//! corpus); a lopsided layout (one far outlier) puts most starts in one bucket, which is then
//! the plain binary search, O(log n).
//!
//! Lookups read contiguous memory and allocate nothing. An insertion or removal shifts the tail
//! of the vectors (a `memmove` of 24 bytes per live range) and rebuilds the hint (one pass over
//! the starts), O(n); so does the copy made when a reader still holds the previous version (the
//! pool publishes the index as immutable snapshots). The pool pays that under its write lock,
//! next to the system calls of the allocation itself.
//!
//! Addresses are plain `usize` values (`ptr.addr()`), never turned back into pointers, and all
//! arithmetic on them is checked. Pure logic: runs under Miri and loom unchanged.

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

#[derive(Clone)]
struct Slot<V> {
    /// One past the last byte (checked at insertion).
    end: usize,
    value: V,
}

/// Non-overlapping, non-empty address ranges `[start, start + len)` with a value each.
#[derive(Clone)]
pub(crate) struct RangeIndex<V> {
    /// Sorted ascending; `slots[i]` belongs to `starts[i]`.
    starts: Vec<usize>,
    slots: Vec<Slot<V>>,
    hint: Hint,
}

/// Bucket `b` covers starts in `[base + (b << shift), base + ((b + 1) << shift))`; its starts
/// are `starts[first[b]..first[b + 1]]`. The last bucket also takes any start beyond.
#[derive(Clone, Default)]
struct Hint {
    base: usize,
    shift: u32,
    /// One entry per bucket plus `starts.len()` at the end; empty when there are no ranges.
    first: Vec<usize>,
}

impl Hint {
    /// The hint for `starts` (sorted): about `starts.len() / 2` buckets, a power of two.
    fn build(starts: &[usize]) -> Self {
        let (Some(&base), Some(&last)) = (starts.first(), starts.last()) else {
            return Self::default();
        };
        let span = last - base;
        let buckets = (starts.len() / 2).max(1).next_power_of_two();
        // The smallest shift that fits the span into `buckets` buckets. A shift of
        // `usize::BITS` (one bucket for a span of more than half the address space, as on
        // 32-bit targets where buffers sit at both ends) puts every start in bucket 0.
        let shift = (0..usize::BITS)
            .find(|&shift| span.checked_shr(shift).unwrap_or(0) < buckets)
            .unwrap_or(usize::BITS);
        let used = span.checked_shr(shift).unwrap_or(0) + 1;
        let mut first = Vec::with_capacity(used + 1);
        let mut i = 0;
        for b in 0..used {
            // `b << shift <= span`, so this neither overflows nor passes `last`; with
            // `shift == usize::BITS` only `b == 0` exists, and `checked_shl` gives `None`.
            let lo = base + b.checked_shl(shift).unwrap_or(0);
            while starts[i] < lo {
                i += 1;
            }
            first.push(i);
        }
        first.push(starts.len());
        Self { base, shift, first }
    }

    /// The range of indices into the starts where those `<= addr` end: every start before it
    /// is `<= addr`, every one after it `> addr`. `None` when `addr` is below every start.
    fn bucket(&self, addr: usize) -> Option<std::ops::Range<usize>> {
        let offset = addr.checked_sub(self.base)?;
        let buckets = self.first.len().checked_sub(1)?;
        let b = offset.checked_shr(self.shift).unwrap_or(0).min(buckets - 1);
        Some(self.first[b]..self.first[b + 1])
    }
}

impl<V> Default for RangeIndex<V> {
    fn default() -> Self {
        Self {
            starts: Vec::new(),
            slots: Vec::new(),
            hint: Hint::default(),
        }
    }
}

impl<V> RangeIndex<V> {
    /// Number of registered ranges.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The index of the range with the greatest start `<= addr`.
    fn candidate(&self, addr: usize) -> Option<usize> {
        let bucket = self.hint.bucket(addr)?;
        let lo = bucket.start;
        let below = self.starts[bucket].partition_point(|&s| s <= addr);
        (lo + below).checked_sub(1)
    }

    /// Registers `[start, start + len)`. Refuses empty, overflowing and overlapping ranges, so
    /// lookups stay unambiguous.
    pub(crate) fn insert(&mut self, start: usize, len: usize, value: V) -> Result<(), InsertError> {
        if len == 0 {
            return Err(InsertError::Empty);
        }
        let end = start.checked_add(len).ok_or(InsertError::Overflow)?;
        // Where `start` goes: after every range that starts at or before it.
        let at = self.starts.partition_point(|&s| s <= start);
        // The range before (a start equal to ours included) must end at or before `start`.
        if at > 0 && self.slots[at - 1].end > start {
            return Err(InsertError::Overlap);
        }
        // The first range after must begin at or after `end`.
        if self.starts.get(at).is_some_and(|&next| next < end) {
            return Err(InsertError::Overlap);
        }
        self.starts.insert(at, start);
        self.slots.insert(at, Slot { end, value });
        self.hint = Hint::build(&self.starts);
        Ok(())
    }

    /// Removes the range starting at `start` and returns its value.
    pub(crate) fn remove(&mut self, start: usize) -> Option<V> {
        let at = self.starts.binary_search(&start).ok()?;
        self.starts.remove(at);
        self.hint = Hint::build(&self.starts);
        Some(self.slots.remove(at).value)
    }

    /// The value of the range starting at `start`, if any.
    #[cfg(test)]
    pub(crate) fn get(&self, start: usize) -> Option<&V> {
        let at = self.starts.binary_search(&start).ok()?;
        Some(&self.slots[at].value)
    }

    /// The range that contains all of `[addr, addr + len)`.
    ///
    /// A query of length 0 asks for the range that owns the byte at `addr` (a pointer one past
    /// the end of a range is not inside it: it may be the start of the next one). A query that
    /// overflows, straddles two ranges or lies partly outside its candidate is `None`.
    pub(crate) fn find(&self, addr: usize, len: usize) -> Option<Hit<'_, V>> {
        let end = addr.checked_add(len.max(1))?;
        let at = self.candidate(addr)?;
        let (start, slot) = (self.starts[at], &self.slots[at]);
        (end <= slot.end).then(|| Hit {
            value: &slot.value,
            offset: addr - start,
            len: slot.end - start,
        })
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
    fn shm_index_handles_a_span_of_the_whole_address_space() {
        // Two ranges at opposite ends: one bucket, shift == usize::BITS (failed on i686 with
        // "attempt to shift left with overflow" when buffers were mapped far apart).
        let idx = index(&[(0x1000, 16), (usize::MAX - 16, 16)]);
        assert_eq!(found(&idx, 0x1008, 8), Some((0, 8)));
        assert_eq!(found(&idx, usize::MAX - 16, 16), Some((1, 0)));
        assert_eq!(found(&idx, usize::MAX / 2, 1), None);
        let idx = index(&[(0, 1), (usize::MAX / 2 + 1, 1), (usize::MAX - 1, 1)]);
        assert_eq!(found(&idx, usize::MAX - 1, 1), Some((2, 0)));
        assert_eq!(found(&idx, usize::MAX / 2 + 1, 1), Some((1, 0)));
        assert_eq!(found(&idx, 0, 1), Some((0, 0)));
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
    fn shm_index_remove() {
        let mut idx = index(&[(100, 50), (200, 10)]);
        assert_eq!(idx.remove(100), Some(0));
        assert_eq!(idx.remove(100), None);
        assert_eq!(idx.remove(201), None);
        assert_eq!(found(&idx, 120, 1), None);
        assert_eq!(idx.get(200), Some(&1));
        assert_eq!(found(&idx, 205, 5), Some((1, 5)));
        assert_eq!(idx.remove(200), Some(1));
        assert_eq!(idx.len(), 0);
        assert_eq!(found(&idx, 205, 1), None);
    }

    /// Ranges far apart (one outlier near the top of the address space) and dense clusters:
    /// the hint's buckets are lopsided, the answers the same.
    #[test]
    fn shm_index_lopsided_layouts_answer_alike() {
        let mut ranges: Vec<(usize, usize)> = (0..64).map(|i| (0x1000 + i * 96, 64)).collect();
        ranges.push((usize::MAX - 10, 10));
        ranges.push((usize::MAX / 2, 4096));
        let idx = index(&ranges);
        for (i, &(s, l)) in ranges.iter().enumerate() {
            assert_eq!(found(&idx, s, l), Some((i, 0)), "{s:#x}+{l}");
            assert_eq!(found(&idx, s + l - 1, 1), Some((i, l - 1)));
            assert_eq!(found(&idx, s + l, 1), None, "gap after {s:#x}");
        }
        assert_eq!(found(&idx, 0xfff, 1), None);
        assert_eq!(found(&idx, usize::MAX, 0), None);
        assert_eq!(found(&idx, usize::MAX / 2 - 1, 2), None);
        // One range only, and none.
        let one = index(&[(usize::MAX - 1, 1)]);
        assert_eq!(found(&one, usize::MAX - 1, 0), Some((0, 0)));
        assert_eq!(found(&one, 0, 1), None);
        assert_eq!(found(&index(&[]), 0, 1), None);
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
        for round in 0..rounds {
            // Each range's value is its start, so a hit names the range it found. Half the
            // rounds add a far outlier, so the hint's buckets are lopsided.
            let mut idx = RangeIndex::default();
            let mut model: Vec<(usize, usize)> = Vec::new();
            if round % 2 == 1 {
                let far = usize::MAX / 4;
                idx.insert(far, 8, far).unwrap();
                model.push((far, 8));
            }
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
            check_against_scan(&idx, &model, &mut next);
            // Remove about half, then ask again.
            for _ in 0..model.len() / 2 {
                let (s, _) = model.swap_remove(next(model.len()));
                assert_eq!(idx.remove(s), Some(s));
            }
            check_against_scan(&idx, &model, &mut next);
        }
    }

    fn check_against_scan(
        idx: &RangeIndex<usize>,
        model: &[(usize, usize)],
        next: &mut dyn FnMut(usize) -> usize,
    ) {
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
