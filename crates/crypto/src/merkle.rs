//! The ciphertext Merkle tree: the integrity root the chain stores for a file.
//!
//! Leaves are the encoded header (leaf 0) and then each sealed chunk exactly as it appears in the
//! blob (framing ‖ ciphertext ‖ tag; leaf `i + 1` for chunk `i`):
//!
//! ```text
//! leaf(i, bytes)  = BLAKE3(0x00 ‖ u64_be(i) ‖ bytes)
//! node(l, r)      = BLAKE3(0x01 ‖ l ‖ r)
//! ```
//!
//! Levels pair neighbours left to right; an odd last node is promoted to the next level
//! unchanged. The root of a single leaf is that leaf's hash. The domain bytes keep leaves and
//! nodes apart, and the index in each leaf pins its position.
//!
//! Anyone can recompute the root from the blob alone ([`compute_root`], [`verify_root`]); no
//! key is needed, so storage nodes and the chain can check what they hold.

use std::io::Read;

use crate::{
    digest::Root,
    digest::SubtreeStack,
    error::Error,
    error::Result,
    format::{CHUNK_OVERHEAD, FRAME_LEN, HEADER_LEN, Header},
    records::RecordReader,
};

/// Domain byte of leaves.
const LEAF: u8 = 0x00;
/// Domain byte of inner nodes.
const NODE: u8 = 0x01;

/// Hash of leaf `index` with content `bytes`.
pub(crate) fn leaf_hash(index: u64, bytes: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[LEAF]);
    hasher.update(&index.to_be_bytes());
    hasher.update(bytes);
    *hasher.finalize().as_bytes()
}

/// Hash of an inner node.
pub(crate) fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[NODE]);
    hasher.update(left);
    hasher.update(right);
    *hasher.finalize().as_bytes()
}

/// Builds the root from leaf hashes pushed in order, in O(log n) memory.
pub(crate) struct MerkleBuilder {
    stack: SubtreeStack<[u8; 32]>,
}

impl MerkleBuilder {
    /// Starts a tree whose leaf 0 is the encoded header.
    pub(crate) fn with_header(header: &[u8; HEADER_LEN]) -> Self {
        let mut stack = SubtreeStack::new();
        stack.push(leaf_hash(0, header), node_hash);
        Self { stack }
    }

    /// Appends the next leaf hash (computed with [`leaf_hash`] and its index).
    pub(crate) fn push(&mut self, leaf: [u8; 32]) {
        self.stack.push(leaf, node_hash);
    }

    /// Number of leaves so far (the next leaf's index).
    pub(crate) fn leaves(&self) -> u64 {
        self.stack.leaves()
    }

    /// The root.
    pub(crate) fn finish(self) -> Root {
        let single = self.stack.single().copied();
        let root = self.stack.finish(node_hash, node_hash);
        Root::from_bytes(root.or(single).unwrap_or_default())
    }
}

/// What the structure of a blob says, without decrypting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    /// The Merkle root over the ciphertext.
    pub root: Root,
    /// The header's chunk size.
    pub chunk_size: u32,
    /// Number of sealed chunks.
    pub chunk_count: u64,
    /// Size of the blob in bytes.
    pub ciphertext_size: u64,
    /// Size of the plaintext in bytes (from the chunk framing).
    pub plaintext_size: u64,
}

/// Reads a whole blob (any [`Read`]: a file, a socket, `&[u8]`) and computes its Merkle root.
///
/// Checks the structure (header, framing, a final chunk, nothing after it) but cannot check
/// authenticity; that needs the data key ([`decrypt`](crate::decrypt)). Memory stays at one
/// chunk whatever the blob's size.
pub fn compute_root(reader: impl Read) -> Result<BlobInfo> {
    let mut records = RecordReader::new(reader);
    let (header_bytes, header) = records.read_header()?;
    let mut tree = MerkleBuilder::with_header(&header_bytes);
    let mut buf = vec![0u8; header.chunk_size as usize + CHUNK_OVERHEAD];
    let mut plaintext_size = 0u64;
    let mut ciphertext_size = HEADER_LEN as u64;
    loop {
        let index = tree.leaves() - 1;
        let frame = records.next_record(&header, index, &mut buf)?;
        let record = &buf[..FRAME_LEN + frame.len as usize + crate::format::TAG_LEN];
        tree.push(leaf_hash(index + 1, record));
        plaintext_size += u64::from(frame.len);
        ciphertext_size += record.len() as u64;
        if frame.last {
            records.expect_end(index)?;
            let chunk_count = index + 1;
            return Ok(BlobInfo {
                root: tree.finish(),
                chunk_size: header.chunk_size,
                chunk_count,
                ciphertext_size,
                plaintext_size,
            });
        }
    }
}

/// [`compute_root`], then [`Error::RootMismatch`] unless the root is `expected`.
pub fn verify_root(reader: impl Read, expected: &Root) -> Result<BlobInfo> {
    let info = compute_root(reader)?;
    if info.root != *expected {
        return Err(Error::RootMismatch {
            expected: *expected,
            actual: info.root,
        });
    }
    Ok(info)
}

/// The header of a blob, read from its first [`HEADER_LEN`] bytes.
pub fn read_header(reader: impl Read) -> Result<Header> {
    Ok(RecordReader::new(reader).read_header()?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented definition, level by level.
    fn reference_root(leaves: &[Vec<u8>]) -> [u8; 32] {
        let mut level: Vec<[u8; 32]> = leaves
            .iter()
            .enumerate()
            .map(|(i, bytes)| leaf_hash(i as u64, bytes))
            .collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node_hash(l, r),
                    [only] => *only,
                    _ => unreachable!(),
                })
                .collect();
        }
        level[0]
    }

    #[test]
    fn builder_matches_reference() {
        for n in 0..40usize {
            let header = [n as u8; HEADER_LEN];
            let mut leaves = vec![header.to_vec()];
            let mut tree = MerkleBuilder::with_header(&header);
            for i in 0..n {
                let bytes = vec![i as u8; i];
                tree.push(leaf_hash(i as u64 + 1, &bytes));
                leaves.push(bytes);
            }
            assert_eq!(
                *tree.finish().as_bytes(),
                reference_root(&leaves),
                "n = {n}"
            );
        }
    }

    #[test]
    fn leaf_and_node_domains_differ() {
        let l = [1u8; 32];
        let mut as_leaf = vec![];
        as_leaf.extend_from_slice(&l);
        as_leaf.extend_from_slice(&l);
        assert_ne!(node_hash(&l, &l), leaf_hash(0, &as_leaf));
    }
}
