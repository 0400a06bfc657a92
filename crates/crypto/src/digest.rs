//! The 32-byte digests this crate hands out, and the lazily merged subtree stack that both
//! trees (the ciphertext Merkle tree and the BLAKE3 tree of the plaintext commitment) are built
//! with.

use std::fmt;

use crate::util;

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps 32 bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// `0x`-prefixed lowercase hex.
            pub fn to_hex(&self) -> String {
                util::encode_hex(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

digest_type!(
    /// Merkle root over a blob's ciphertext (header and sealed chunks): the integrity root the
    /// chain stores for a file, and the AAD that binds a sealed data key to that file.
    Root
);

digest_type!(
    /// `blake3::keyed_hash(K, plaintext)` where `K` is derived from the data key: a commitment to
    /// the plaintext that only holders of the data key can recompute (so low-entropy plaintext
    /// cannot be guessed from it).
    PlaintextCommitment
);

/// Subtrees of a left-balanced binary tree, merged lazily as leaves arrive.
///
/// The tree this builds over `n` leaves splits each node into a left subtree holding the largest
/// power of two of leaves below `n` and a right subtree holding the rest; equivalently, pairing
/// neighbours level by level and promoting an odd last node unchanged. Merges happen only once a
/// later leaf proves a subtree is not the root's right edge, so the final merge can be told apart
/// (BLAKE3 flags its root node). Memory: one entry per level.
pub(crate) struct SubtreeStack<T> {
    stack: Vec<T>,
    leaves: u64,
}

impl<T> SubtreeStack<T> {
    pub(crate) fn new() -> Self {
        Self {
            stack: Vec::with_capacity(64),
            leaves: 0,
        }
    }

    /// Appends the next leaf.
    pub(crate) fn push(&mut self, leaf: T, merge: impl Fn(&T, &T) -> T) {
        // After `leaves` leaves, the complete subtrees are one per set bit of `leaves`.
        while self.stack.len() > self.leaves.count_ones() as usize {
            self.merge_top(&merge);
        }
        self.stack.push(leaf);
        self.leaves += 1;
    }

    /// Number of leaves pushed.
    pub(crate) fn leaves(&self) -> u64 {
        self.leaves
    }

    /// Folds the right edge; `merge_root` makes the top node. `None` if there is one leaf or none
    /// (the caller knows what the root of a lone leaf is).
    pub(crate) fn finish<R>(
        mut self,
        merge: impl Fn(&T, &T) -> T,
        merge_root: impl Fn(&T, &T) -> R,
    ) -> Option<R> {
        while self.stack.len() > 2 {
            self.merge_top(&merge);
        }
        match self.stack.as_slice() {
            [left, right] => Some(merge_root(left, right)),
            _ => None,
        }
    }

    /// The lone leaf, when exactly one was pushed.
    pub(crate) fn single(&self) -> Option<&T> {
        match self.stack.as_slice() {
            [only] if self.leaves == 1 => Some(only),
            _ => None,
        }
    }

    fn merge_top(&mut self, merge: &impl Fn(&T, &T) -> T) {
        if let (Some(right), Some(left)) = (self.stack.pop(), self.stack.pop()) {
            self.stack.push(merge(&left, &right));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concat(a: &String, b: &String) -> String {
        format!("({a}{b})")
    }

    /// Level by level, odd node promoted.
    fn reference(leaves: &[String]) -> String {
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => concat(a, b),
                    [a] => a.clone(),
                    _ => unreachable!(),
                })
                .collect();
        }
        level.remove(0)
    }

    #[test]
    fn lazy_stack_matches_level_by_level() {
        for n in 1..70 {
            let leaves: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let mut stack = SubtreeStack::new();
            for leaf in &leaves {
                stack.push(leaf.clone(), concat);
            }
            let root = match stack.single() {
                Some(only) => only.clone(),
                None => stack.finish(concat, concat).unwrap_or_default(),
            };
            assert_eq!(root, reference(&leaves), "n = {n}");
        }
    }

    #[test]
    fn digest_hex_round_trip() {
        let root = Root::from_bytes([0xab; 32]);
        assert_eq!(root.to_string().len(), 66);
        assert_eq!(root.to_string().parse::<Root>().ok(), Some(root));
        assert!("0x1234".parse::<Root>().is_err());
        assert!("zz".parse::<PlaintextCommitment>().is_err());
    }
}
