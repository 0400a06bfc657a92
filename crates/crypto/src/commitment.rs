//! The keyed plaintext commitment: `blake3::keyed_hash(K, plaintext)`, `K` derived from the data
//! key with HKDF-SHA256 (`info` = `lazai plaintext commitment v1`).
//!
//! A plain hash of the plaintext would let anyone test guesses of low-entropy data (a yes/no
//! answer, a small number) against the public commitment; keying it with a secret only the owner
//! and the unsealing worker hold closes that.
//!
//! The stream pipeline hashes each chunk on whichever thread encrypts it: chunk sizes are powers
//! of two of at least 1 KiB, so every chunk is a whole BLAKE3 subtree, and the chunks' chaining
//! values merge (BLAKE3's own tree rule, via its `hazmat` API) into exactly the hash a single
//! `keyed_hash` call over the whole file would give. [`commit_plaintext`] is the one-thread
//! reference the tests hold the pipeline to.

use std::io::Read;

use blake3::hazmat::{
    ChainingValue, HasherExt, Mode, merge_subtrees_non_root, merge_subtrees_root,
};

use crate::{
    digest::PlaintextCommitment, digest::SubtreeStack, error::Result, keys::CommitmentKey,
    keys::DataKey,
};

/// One chunk's contribution to the commitment.
pub(crate) enum ChunkDigest {
    /// Chaining value of a chunk that is one subtree of several.
    Subtree(ChainingValue),
    /// The whole commitment, when the file is a single chunk.
    Whole([u8; 32]),
}

/// Hashes chunk `index` (`plaintext`, at offset `index * chunk_size` of the file). `sole` says the
/// file has no other chunk.
pub(crate) fn chunk_digest(
    key: &CommitmentKey,
    index: u64,
    chunk_size: u32,
    sole: bool,
    plaintext: &[u8],
) -> ChunkDigest {
    let mut hasher = blake3::Hasher::new_keyed(&key.0);
    if sole {
        hasher.update(plaintext);
        return ChunkDigest::Whole(*hasher.finalize().as_bytes());
    }
    // Chunk sizes are powers of two >= 1 KiB and only the last chunk is short (and never empty
    // when not sole), so every chunk is a valid BLAKE3 subtree at its offset.
    hasher.set_input_offset(index * u64::from(chunk_size));
    hasher.update(plaintext);
    ChunkDigest::Subtree(hasher.finalize_non_root())
}

/// Merges chunk digests, pushed in order, into the commitment.
pub(crate) struct CommitmentBuilder {
    key: CommitmentKey,
    stack: SubtreeStack<ChainingValue>,
    whole: Option<[u8; 32]>,
}

impl CommitmentBuilder {
    pub(crate) fn new(key: CommitmentKey) -> Self {
        Self {
            key,
            stack: SubtreeStack::new(),
            whole: None,
        }
    }

    pub(crate) fn push(&mut self, digest: ChunkDigest) {
        let key = self.key.0;
        match digest {
            ChunkDigest::Subtree(cv) => self.stack.push(cv, |l, r| {
                merge_subtrees_non_root(l, r, Mode::KeyedHash(&key))
            }),
            ChunkDigest::Whole(hash) => self.whole = Some(hash),
        }
    }

    pub(crate) fn finish(self) -> PlaintextCommitment {
        let key = self.key.0;
        let merged = self.stack.finish(
            |l, r| merge_subtrees_non_root(l, r, Mode::KeyedHash(&key)),
            |l, r| *merge_subtrees_root(l, r, Mode::KeyedHash(&key)).as_bytes(),
        );
        // With no chunk pushed the plaintext is empty; `keyed_hash` of nothing is its commitment.
        let bytes = self
            .whole
            .or(merged)
            .unwrap_or_else(|| *blake3::keyed_hash(&key, &[]).as_bytes());
        PlaintextCommitment::from_bytes(bytes)
    }
}

/// The plaintext commitment of everything `reader` yields, on one thread.
///
/// Equals the [`Summary::plaintext_commitment`](crate::encrypt::Summary) that [`encrypt`](crate::encrypt)
/// and [`decrypt`](crate::decrypt) report for that plaintext under `data_key`. Who can call it:
/// whoever holds the data key (the owner, and the worker that unsealed it).
pub fn commit_plaintext(data_key: &DataKey, reader: impl Read) -> Result<PlaintextCommitment> {
    let keys = data_key.derive();
    let mut hasher = blake3::Hasher::new_keyed(&keys.commitment_key.0);
    hasher.update_reader(reader)?;
    Ok(PlaintextCommitment::from_bytes(
        *hasher.finalize().as_bytes(),
    ))
}

/// [`commit_plaintext`] of an in-memory plaintext.
pub fn commit_plaintext_bytes(data_key: &DataKey, plaintext: &[u8]) -> PlaintextCommitment {
    let keys = data_key.derive();
    PlaintextCommitment::from_bytes(
        *blake3::keyed_hash(&keys.commitment_key.0, plaintext).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(key: &CommitmentKey, data: &[u8], chunk_size: u32) -> PlaintextCommitment {
        let mut builder = CommitmentBuilder::new(key.clone());
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(chunk_size as usize).collect()
        };
        let sole = chunks.len() == 1;
        for (i, chunk) in chunks.iter().enumerate() {
            builder.push(chunk_digest(key, i as u64, chunk_size, sole, chunk));
        }
        builder.finish()
    }

    #[test]
    fn chunked_equals_keyed_hash() {
        let key = CommitmentKey([5; 32]);
        let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for chunk_size in [1024u32, 2048, 8192] {
            for len in [
                0,
                1,
                1023,
                1024,
                1025,
                2048,
                3000,
                5 * 1024,
                17 * 1024 + 3,
                40_000,
            ] {
                let expected = blake3::keyed_hash(&key.0, &data[..len]);
                assert_eq!(
                    chunked(&key, &data[..len], chunk_size).as_bytes(),
                    expected.as_bytes(),
                    "len {len}, chunk {chunk_size}"
                );
            }
        }
    }
}
