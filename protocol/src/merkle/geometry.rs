//! Tree arithmetic shared by the append structure and proof generation: where RFC 6962 splits a
//! range, and how a range of leaves decomposes into stored complete subtrees.
//!
//! A *complete subtree* `(level, index)` is the perfect binary tree over the `2^level` leaves
//! `[index << level, (index + 1) << level)`. Once all its leaves exist its hash never changes, which
//! is why it is the unit of storage. Every node of the RFC 6962 tree of size `n` is either such a
//! complete subtree or an *ephemeral* node on the right edge, whose hash is a fold of complete
//! subtrees ([`Decomposition`]).

/// Largest power of two strictly below `n` (the RFC 6962 split point `k`). Requires `n >= 2`;
/// returns 0 for smaller `n` so callers never see a panic.
pub(crate) fn split(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Iterator over the complete subtrees `(level, index)` that exactly cover `[start, end)`, left to
/// right, each as large as alignment allows.
///
/// For the ranges the RFC 6962 recursion produces (`start` aligned to a power of two at least
/// `end - start`) the levels strictly decrease, so folding the hashes from the right
/// (`node_hash(left, acc)`) yields `MTH(D[start..end])`. For `[0, n)` the result is the log's
/// frontier: one node per set bit of `n`.
#[derive(Debug, Clone)]
pub(crate) struct Decomposition {
    pos: u64,
    end: u64,
}

impl Decomposition {
    pub(crate) fn new(start: u64, end: u64) -> Self {
        Self { pos: start, end }
    }
}

impl Iterator for Decomposition {
    type Item = (u8, u64);

    fn next(&mut self) -> Option<Self::Item> {
        let remaining = self.end.checked_sub(self.pos).filter(|&r| r > 0)?;
        let by_size = 63 - remaining.leading_zeros();
        let by_alignment = self.pos.trailing_zeros(); // 64 for position 0
        let level = by_size.min(by_alignment);
        let index = self.pos >> level;
        // `pos + 2^level <= end`, so this cannot overflow.
        self.pos += 1u64 << level;
        // level <= 63, fits in u8.
        Some((level as u8, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_the_largest_power_of_two_below_n() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1025, 1024),
            (u64::MAX, 1 << 63),
            (0, 0),
            (1, 0),
        ] {
            assert_eq!(split(n), k, "n = {n}");
        }
    }

    #[test]
    fn decomposition_of_a_prefix_is_one_node_per_set_bit() {
        assert_eq!(
            Decomposition::new(0, 13).collect::<Vec<_>>(),
            vec![(3, 0), (2, 2), (0, 12)]
        );
        assert_eq!(Decomposition::new(0, 0).count(), 0);
        assert_eq!(Decomposition::new(0, u64::MAX).count(), 64);
        assert_eq!(Decomposition::new(5, 3).count(), 0);
    }

    #[test]
    fn decomposition_of_a_right_edge_range() {
        // [4, 7): the ephemeral right child of the 7-leaf tree.
        assert_eq!(
            Decomposition::new(4, 7).collect::<Vec<_>>(),
            vec![(1, 2), (0, 6)]
        );
        assert_eq!(
            Decomposition::new(1 << 63, u64::MAX).count(),
            63,
            "huge sizes must not overflow"
        );
    }
}
