//! The state trie: an Ethereum Merkle-Patricia trie over 32-byte keys, updated incrementally.
//!
//! Nodes are encoded exactly as Ethereum encodes them (hex-prefix paths, 17-item branches, children
//! under 32 bytes inlined in their parent), so a root is the root `alloy_trie::HashBuilder` computes
//! over the same leaves and a proof is a list of RLP nodes `alloy_trie::proof::verify_proof`
//! accepts. Nodes of 32 bytes or more (and the root, whatever its size) live in a node store keyed by
//! their keccak256 hash; this module never touches storage: it reads nodes through a closure.
//!
//! An update folds a batch of changed keys into the trie: it loads only the nodes on the changed
//! keys' paths, so its cost is the number of changed keys times the trie's depth (≈ log16 of the
//! number of entries), never the state's size. It reports the nodes it created and the stored nodes
//! it replaced (stale: kept while recent blocks may read them, then pruned).

use alloy_primitives::map::B256Set;
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::nodes::{BranchNode, ExtensionNode, LeafNode, LeafNodeRef, RlpNode, TrieNode};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieMask};
pub use lazai_abi::state::leaf_value;

/// Every key is 32 bytes, so every leaf sits at 64 nibbles.
const KEY_NIBBLES: usize = 64;

/// Nodes whose path from the root is at most this many nibbles are the trie's upper levels: at
/// most 1 + 16 + … + 16^4 ≈ 70k nodes whatever the state's size, and on the path of every
/// change, so a node store should keep them in memory (see [`TrieUpdate::upper`]).
pub const UPPER_DEPTH: usize = 4;

/// A node the store should hold but does not, or holds in a form that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrieError {
    #[error("state trie node {0} is missing from the node store")]
    MissingNode(B256),
    #[error("state trie node {hash} is corrupt: {reason}")]
    Corrupt { hash: B256, reason: String },
}

/// What an update produced: the new root, the nodes to store and the stored nodes it replaced.
#[derive(Debug, Default, Clone)]
pub struct TrieUpdate {
    pub root: B256,
    /// New nodes by hash (RLP-encoded), the root's node included.
    pub created: Vec<(B256, Bytes)>,
    /// Hashes of stored nodes the new trie no longer holds.
    pub stale: Vec<B256>,
    /// The created nodes at most [`UPPER_DEPTH`] nibbles below the root (a subset of
    /// `created`): the next blocks' changes pass through them again.
    pub upper: Vec<B256>,
    /// Stored leaves recognised from the old values the caller passed ([`update_known`])
    /// instead of being loaded.
    pub recognised: usize,
}

/// A node while an update works on it: untouched subtrees stay references.
enum Work {
    Empty,
    Ref(RlpNode),
    Leaf(Nibbles, Vec<u8>),
    Ext(Nibbles, Box<Work>),
    Branch(Box<[Work; 16]>),
}

fn no_children() -> Box<[Work; 16]> {
    Box::new(std::array::from_fn(|_| Work::Empty))
}

fn wrap(prefix: Nibbles, node: Work) -> Work {
    if prefix.is_empty() {
        node
    } else {
        Work::Ext(prefix, Box::new(node))
    }
}

fn decode_leaf_value(hash: B256, raw: &[u8]) -> Result<Bytes, TrieError> {
    let mut slice = raw;
    let bytes =
        alloy_rlp::Header::decode_bytes(&mut slice, false).map_err(|e| TrieError::Corrupt {
            hash,
            reason: format!("leaf value: {e}"),
        })?;
    Ok(Bytes::copy_from_slice(bytes))
}

struct Updater<'a, F> {
    load: &'a F,
    loaded: Vec<B256>,
    created: Vec<(B256, Bytes)>,
    upper: Vec<B256>,
    known: usize,
    buf: Vec<u8>,
}

impl<'a, F> Updater<'a, F>
where
    F: Fn(&B256) -> Option<Bytes>,
{
    fn new(load: &'a F) -> Self {
        Self {
            load,
            loaded: Vec::new(),
            created: Vec::new(),
            upper: Vec::new(),
            known: 0,
            buf: Vec::with_capacity(600),
        }
    }

    /// Writes (or deletes) `key` in `node`, which sits `depth` nibbles below the root; `old` is
    /// the key's value in the trie if the caller knows it (see [`update_known`]).
    fn apply(&mut self, node: Work, depth: usize, change: &Change<'_>) -> Result<Work, TrieError> {
        let path = Nibbles::unpack(change.key).slice(depth..);
        // Encoded once per change, not at every node of its path.
        let old = change.old.filter(|v| !v.is_empty()).map(leaf_value);
        let old = old.as_deref();
        match change.value {
            Some(v) if !v.is_empty() => self.insert(node, path, leaf_value(v), old),
            _ => self.delete(node, path, old),
        }
    }

    /// The node `node` refers to, `path` being the changed key's nibbles below it: the key's own
    /// leaf, recognised without a load when its reference is the hash of the leaf holding `old`
    /// (the key's value as the caller knows it, RLP-encoded as a leaf holds it); otherwise the
    /// stored node.
    fn open(
        &mut self,
        node: &RlpNode,
        path: &Nibbles,
        old: Option<&[u8]>,
    ) -> Result<Work, TrieError> {
        if let Some(old) = old
            && let Some(hash) = leaf_of(node, path, old, &mut self.buf)
        {
            self.loaded.push(hash);
            self.known += 1;
            return Ok(Work::Leaf(*path, old.to_vec()));
        }
        self.expand(node, path.len())
    }

    /// The update once the root node is encoded: its hash (a root under 32 bytes is still named
    /// and stored by its hash), the created nodes, and the loaded ones not created again.
    fn finish(mut self, rlp: Option<RlpNode>) -> TrieUpdate {
        let root = match rlp {
            None => EMPTY_ROOT_HASH,
            Some(rlp) => match rlp.as_hash() {
                Some(hash) => hash,
                None => {
                    let hash = keccak256(&rlp[..]);
                    self.created.push((hash, Bytes::copy_from_slice(&rlp[..])));
                    self.upper.push(hash);
                    hash
                }
            },
        };
        // A node loaded and encoded again unchanged (a key rewritten with its value) is neither
        // new nor stale: the store keeps it as it is. Listing it as created would let a later
        // fold of the same block, which retires it, drop it as a node that never reached the
        // store.
        let created_set: B256Set = self.created.iter().map(|(h, _)| *h).collect();
        let mut seen = B256Set::default();
        let mut unchanged = false;
        let stale = self
            .loaded
            .into_iter()
            .filter(|h| {
                let kept = created_set.contains(h);
                unchanged |= kept;
                seen.insert(*h) && !kept
            })
            .collect();
        if unchanged {
            self.created.retain(|(h, _)| !seen.contains(h));
            self.upper.retain(|h| !seen.contains(h));
        }
        TrieUpdate {
            root,
            created: self.created,
            stale,
            upper: self.upper,
            recognised: self.known,
        }
    }

    /// Decodes a referenced node; `remaining` is the number of key nibbles below it.
    fn expand(&mut self, node: &RlpNode, remaining: usize) -> Result<Work, TrieError> {
        match node.as_hash() {
            Some(hash) => {
                let raw = (self.load)(&hash).ok_or(TrieError::MissingNode(hash))?;
                self.loaded.push(hash);
                decode(hash, &raw, remaining)
            }
            None => decode(B256::ZERO, node, remaining),
        }
    }

    fn insert(
        &mut self,
        node: Work,
        path: Nibbles,
        value: Vec<u8>,
        old: Option<&[u8]>,
    ) -> Result<Work, TrieError> {
        Ok(match node {
            Work::Empty => Work::Leaf(path, value),
            Work::Ref(r) => {
                let node = self.open(&r, &path, old)?;
                self.insert(node, path, value, old)?
            }
            Work::Leaf(lp, lv) => {
                if lp == path {
                    return Ok(Work::Leaf(path, value));
                }
                let c = lp.common_prefix_length(&path);
                let mut children = no_children();
                children[lp.get_unchecked(c) as usize] = Work::Leaf(lp.slice(c + 1..), lv);
                children[path.get_unchecked(c) as usize] = Work::Leaf(path.slice(c + 1..), value);
                wrap(path.slice(..c), Work::Branch(children))
            }
            Work::Ext(ep, child) => {
                let c = ep.common_prefix_length(&path);
                if c == ep.len() {
                    let child = self.insert(*child, path.slice(c..), value, old)?;
                    return Ok(Work::Ext(ep, Box::new(child)));
                }
                let mut children = no_children();
                let rest = ep.slice(c + 1..);
                children[ep.get_unchecked(c) as usize] = wrap(rest, *child);
                children[path.get_unchecked(c) as usize] = Work::Leaf(path.slice(c + 1..), value);
                wrap(path.slice(..c), Work::Branch(children))
            }
            Work::Branch(mut children) => {
                let i = path.get_unchecked(0) as usize;
                let below = std::mem::replace(&mut children[i], Work::Empty);
                children[i] = self.insert(below, path.slice(1..), value, old)?;
                Work::Branch(children)
            }
        })
    }

    fn delete(&mut self, node: Work, path: Nibbles, old: Option<&[u8]>) -> Result<Work, TrieError> {
        Ok(match node {
            Work::Empty => Work::Empty,
            Work::Ref(r) => {
                let node = self.open(&r, &path, old)?;
                self.delete(node, path, old)?
            }
            Work::Leaf(lp, lv) => {
                if lp == path {
                    Work::Empty
                } else {
                    Work::Leaf(lp, lv)
                }
            }
            Work::Ext(ep, child) => {
                if !path.starts_with(&ep) {
                    return Ok(Work::Ext(ep, child));
                }
                let below = path.len() - ep.len();
                let child = self.delete(*child, path.slice(ep.len()..), old)?;
                self.join(ep, child, below)?
            }
            Work::Branch(mut children) => {
                let i = path.get_unchecked(0) as usize;
                let below = std::mem::replace(&mut children[i], Work::Empty);
                children[i] = self.delete(below, path.slice(1..), old)?;
                let live: Vec<usize> = (0..16)
                    .filter(|j| !matches!(children[*j], Work::Empty))
                    .collect();
                match live.as_slice() {
                    [] => Work::Empty,
                    [only] => {
                        let child = std::mem::replace(&mut children[*only], Work::Empty);
                        let prefix = Nibbles::from_nibbles_unchecked([*only as u8]);
                        self.join(prefix, child, path.len() - 1)?
                    }
                    _ => Work::Branch(children),
                }
            }
        })
    }

    /// `prefix` followed by `child` (whose keys have `remaining` nibbles), in canonical form.
    fn join(&mut self, prefix: Nibbles, child: Work, remaining: usize) -> Result<Work, TrieError> {
        Ok(match child {
            Work::Empty => Work::Empty,
            Work::Ref(r) => {
                let node = self.expand(&r, remaining)?;
                self.join(prefix, node, remaining)?
            }
            Work::Leaf(p, v) => Work::Leaf(prefix.join(&p), v),
            Work::Ext(p, c) => Work::Ext(prefix.join(&p), c),
            branch @ Work::Branch(_) => Work::Ext(prefix, Box::new(branch)),
        })
    }

    /// Encodes a node `depth` nibbles below the root, bottom-up; nodes of 32 bytes or more are
    /// recorded as created.
    fn encode(&mut self, node: Work, depth: usize) -> Option<RlpNode> {
        let rlp = match node {
            Work::Empty => return None,
            Work::Ref(r) => return Some(r),
            Work::Leaf(path, value) => {
                self.buf.clear();
                LeafNode::new(path, value).as_ref().rlp(&mut self.buf)
            }
            Work::Ext(path, child) => {
                let child = self.encode(*child, depth + path.len())?;
                self.buf.clear();
                ExtensionNode::new(path, child).as_ref().rlp(&mut self.buf)
            }
            Work::Branch(children) => {
                let mut stack = Vec::with_capacity(16);
                let mut mask = TrieMask::default();
                for (i, child) in children.into_iter().enumerate() {
                    if let Some(rlp) = self.encode(child, depth + 1) {
                        stack.push(rlp);
                        mask.set_bit(i as u8);
                    }
                }
                self.buf.clear();
                BranchNode::new(stack, mask).as_ref().rlp(&mut self.buf)
            }
        };
        if let Some(hash) = rlp.as_hash() {
            self.created.push((hash, Bytes::copy_from_slice(&self.buf)));
            if depth <= UPPER_DEPTH {
                self.upper.push(hash);
            }
        }
        Some(rlp)
    }
}

/// `node`'s hash if it is the leaf that holds `value` (RLP-encoded) with `path` the key's nibbles
/// left below its parent. Only tried below the upper levels (which are cached, and where leaves
/// are rare in a large trie), so the hash it costs is spent where a load would be a disk read.
fn leaf_of(node: &RlpNode, path: &Nibbles, value: &[u8], buf: &mut Vec<u8>) -> Option<B256> {
    let hash = node.as_hash()?;
    if path.len() >= KEY_NIBBLES - UPPER_DEPTH {
        return None;
    }
    buf.clear();
    (LeafNodeRef::new(path, value).rlp(buf) == *node).then_some(hash)
}

fn corrupt(hash: B256, reason: impl Into<String>) -> TrieError {
    TrieError::Corrupt {
        hash,
        reason: reason.into(),
    }
}

/// Decodes a node found `KEY_NIBBLES - remaining` nibbles deep, checking that its shape fits there
/// (so a corrupt store cannot make an update loop or index out of range).
fn decode(hash: B256, raw: &[u8], remaining: usize) -> Result<Work, TrieError> {
    let node = TrieNode::decode(&mut &raw[..]).map_err(|e| corrupt(hash, e.to_string()))?;
    Ok(match node {
        TrieNode::EmptyRoot => Work::Empty,
        TrieNode::Leaf(leaf) => {
            if leaf.key.len() != remaining {
                return Err(corrupt(hash, "leaf path has the wrong length"));
            }
            Work::Leaf(leaf.key, leaf.value)
        }
        TrieNode::Extension(ext) => {
            if ext.key.is_empty() || ext.key.len() >= remaining {
                return Err(corrupt(hash, "extension path has the wrong length"));
            }
            Work::Ext(ext.key, Box::new(Work::Ref(ext.child)))
        }
        TrieNode::Branch(branch) => {
            if remaining == 0 || branch.stack.len() < 2 {
                return Err(corrupt(
                    hash,
                    "branch out of place or with fewer than two children",
                ));
            }
            let mut children = no_children();
            let mut stack = branch.stack.into_iter();
            for (i, child) in children.iter_mut().enumerate() {
                if branch.state_mask.is_bit_set(i as u8) {
                    *child = Work::Ref(stack.next().ok_or_else(|| corrupt(hash, "branch mask"))?);
                }
            }
            Work::Branch(children)
        }
    })
}

fn root_ref(root: B256) -> Work {
    if root == EMPTY_ROOT_HASH {
        Work::Empty
    } else {
        Work::Ref(RlpNode::word_rlp(&root))
    }
}

/// One changed key for [`update_known`].
#[derive(Clone, Copy, Debug)]
pub struct Change<'c> {
    pub key: &'c B256,
    /// The new value; `None` (or empty) deletes the key.
    pub value: Option<&'c [u8]>,
    /// The key's value in the trie being updated, if the caller knows it (`None`: unknown or
    /// absent). Lets the update recognise the key's stored leaf by its hash instead of loading
    /// it; a wrong value only costs that hash.
    pub old: Option<&'c [u8]>,
}

/// A root child folded on its own thread: its new reference and the work that made it.
type Folded<'a, F> = Result<(Option<RlpNode>, Updater<'a, F>), TrieError>;

/// Below this many changed keys an update runs on one thread.
const PARALLEL_CHANGES: usize = 256;

/// Folds `changes` (sorted or not; `None` deletes; an empty value also deletes) into the trie
/// rooted at `root`, reading stored nodes through `load`.
///
/// Large batches under a root branch are folded one root child per thread: the children's
/// subtries are disjoint, so each thread loads and hashes its own paths.
pub fn update<'c, F>(
    root: B256,
    changes: impl IntoIterator<Item = (&'c B256, Option<&'c [u8]>)>,
    load: &F,
) -> Result<TrieUpdate, TrieError>
where
    F: Fn(&B256) -> Option<Bytes> + Sync,
{
    update_known(
        root,
        changes.into_iter().map(|(key, value)| Change {
            key,
            value,
            old: None,
        }),
        load,
    )
}

/// [`update`] with each key's old value where the caller knows it: a rewritten or deleted key
/// whose leaf is recognised by the hash of its old value is not loaded, which at a large state
/// saves one stored-node read per such key (its leaf is the node least likely to be cached).
pub fn update_known<'c, F>(
    root: B256,
    changes: impl IntoIterator<Item = Change<'c>>,
    load: &F,
) -> Result<TrieUpdate, TrieError>
where
    F: Fn(&B256) -> Option<Bytes> + Sync,
{
    let changes: Vec<Change<'c>> = changes.into_iter().collect();
    if changes.len() >= PARALLEL_CHANGES
        && let Some(update) = update_by_child(root, &changes, load)?
    {
        return Ok(update);
    }
    let mut up = Updater::new(load);
    let mut node = root_ref(root);
    for change in &changes {
        node = up.apply(node, 0, change)?;
    }
    let rlp = up.encode(node, 0);
    Ok(up.finish(rlp))
}

/// [`update`] with the root's children folded in parallel; `None` when the root is not a branch
/// or stops being one (the caller then folds sequentially).
fn update_by_child<F>(
    root: B256,
    changes: &[Change<'_>],
    load: &F,
) -> Result<Option<TrieUpdate>, TrieError>
where
    F: Fn(&B256) -> Option<Bytes> + Sync,
{
    use rayon::prelude::*;
    let Work::Ref(root_rlp) = root_ref(root) else {
        return Ok(None);
    };
    let mut top = Updater::new(load);
    let Work::Branch(children) = top.expand(&root_rlp, KEY_NIBBLES)? else {
        return Ok(None);
    };
    let mut groups: Vec<Vec<Change<'_>>> = vec![Vec::new(); 16];
    for change in changes {
        groups[(change.key[0] >> 4) as usize].push(*change);
    }
    let folded: Vec<Folded<'_, F>> = children
        .into_iter()
        .zip(groups)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(child, group)| {
            let mut up = Updater::new(load);
            let mut node = child;
            for change in &group {
                node = up.apply(node, 1, change)?;
            }
            Ok((up.encode(node, 1), up))
        })
        .collect();
    let mut stack = Vec::with_capacity(16);
    let mut mask = TrieMask::default();
    for (i, result) in folded.into_iter().enumerate() {
        let (rlp, up) = result?;
        top.loaded.extend(up.loaded);
        top.created.extend(up.created);
        top.upper.extend(up.upper);
        top.known += up.known;
        if let Some(rlp) = rlp {
            stack.push(rlp);
            mask.set_bit(i as u8);
        }
    }
    if stack.len() < 2 {
        return Ok(None);
    }
    top.buf.clear();
    let rlp = BranchNode::new(stack, mask).as_ref().rlp(&mut top.buf);
    if let Some(hash) = rlp.as_hash() {
        top.created.push((hash, Bytes::copy_from_slice(&top.buf)));
        top.upper.push(hash);
    }
    Ok(Some(top.finish(Some(rlp))))
}

/// The nodes on `key`'s path from `root`, hashed nodes only (inline ones are inside their
/// parent): an Ethereum-style proof of the key's value or of its absence.
pub fn proof<F>(root: B256, key: &B256, load: &F) -> Result<Vec<Bytes>, TrieError>
where
    F: Fn(&B256) -> Option<Bytes>,
{
    let mut out = Vec::new();
    walk(root, key, None, load, |raw| out.push(raw.clone()))?;
    Ok(out)
}

/// The value stored under `key` in the trie rooted at `root`.
pub fn get<F>(root: B256, key: &B256, load: &F) -> Result<Option<Bytes>, TrieError>
where
    F: Fn(&B256) -> Option<Bytes>,
{
    walk(root, key, None, load, |_| ())
}

/// Loads the stored nodes on `key`'s path as [`get`] does, but not the key's leaf when it is
/// recognised by the hash of `old`, the key's value as the caller knows it: the nodes a later
/// [`update_known`] of the key with that old value will load.
pub fn load_path<F>(root: B256, key: &B256, old: Option<&[u8]>, load: &F) -> Result<(), TrieError>
where
    F: Fn(&B256) -> Option<Bytes>,
{
    let known = old.filter(|v| !v.is_empty()).map(leaf_value);
    walk(root, key, known.as_deref(), load, |_| ()).map(|_| ())
}

/// Follows `key`'s path from `root`, handing each stored node to `visit`. With `known` (the key's
/// RLP-encoded leaf value) it stops, without a load, at a reference to the key's leaf holding it.
fn walk<F>(
    root: B256,
    key: &B256,
    known: Option<&[u8]>,
    load: &F,
    mut visit: impl FnMut(&Bytes),
) -> Result<Option<Bytes>, TrieError>
where
    F: Fn(&B256) -> Option<Bytes>,
{
    if root == EMPTY_ROOT_HASH {
        return Ok(None);
    }
    let path = Nibbles::unpack(key);
    let mut depth = 0;
    let mut hash = root;
    let mut raw = load(&root).ok_or(TrieError::MissingNode(root))?;
    let mut buf = Vec::new();
    visit(&raw);
    loop {
        let node = TrieNode::decode(&mut &raw[..]).map_err(|e| corrupt(hash, e.to_string()))?;
        let next = match node {
            TrieNode::EmptyRoot => return Ok(None),
            TrieNode::Leaf(leaf) => {
                return if path.slice(depth..) == leaf.key {
                    decode_leaf_value(hash, &leaf.value).map(Some)
                } else {
                    Ok(None)
                };
            }
            TrieNode::Extension(ext) => {
                if ext.key.is_empty() || !path.slice(depth..).starts_with(&ext.key) {
                    return Ok(None);
                }
                depth += ext.key.len();
                ext.child
            }
            TrieNode::Branch(branch) => {
                if depth >= KEY_NIBBLES {
                    return Err(corrupt(hash, "branch below the deepest key nibble"));
                }
                let i = path.get_unchecked(depth);
                depth += 1;
                if !branch.state_mask.is_bit_set(i) {
                    return Ok(None);
                }
                let before = (0..i).filter(|j| branch.state_mask.is_bit_set(*j)).count();
                branch.stack[before].clone()
            }
        };
        if let Some(value) = known
            && leaf_of(&next, &path.slice(depth..), value, &mut buf).is_some()
        {
            return decode_leaf_value(hash, value).map(Some);
        }
        match next.as_hash() {
            Some(h) => {
                hash = h;
                raw = load(&h).ok_or(TrieError::MissingNode(h))?;
                visit(&raw);
            }
            None => raw = Bytes::copy_from_slice(&next[..]),
        }
    }
}

/// Builds the trie over `entries` from nothing (every node created): what a fresh store holds.
pub fn build<'c>(
    entries: impl IntoIterator<Item = (&'c B256, &'c [u8])>,
) -> Result<TrieUpdate, TrieError> {
    update(
        EMPTY_ROOT_HASH,
        entries.into_iter().map(|(k, v)| (k, Some(v))),
        &|_: &B256| None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::HashBuilder;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap, HashSet};

    fn reference_root(entries: &BTreeMap<B256, Vec<u8>>) -> B256 {
        let mut hb = HashBuilder::default();
        for (k, v) in entries {
            hb.add_leaf(Nibbles::unpack(k), &leaf_value(v));
        }
        hb.root()
    }

    fn key(i: u8, salt: u8) -> B256 {
        keccak256([i, salt])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random batches of inserts, overwrites and deletes folded in one after another give
        /// the root HashBuilder computes from scratch; every stored node stays loadable; proofs of
        /// present and absent keys verify with alloy-trie's verifier.
        #[test]
        fn incremental_roots_equal_a_recomputation(
            batches in prop::collection::vec(
                prop::collection::vec((0u8..60, prop::option::of(prop::collection::vec(any::<u8>(), 0..40))), 1..40),
                1..8,
            ),
        ) {
            let mut store: HashMap<B256, Bytes> = HashMap::new();
            let mut model: BTreeMap<B256, Vec<u8>> = BTreeMap::new();
            let mut root = EMPTY_ROOT_HASH;
            for batch in batches {
                let mut changes: BTreeMap<B256, Option<Vec<u8>>> = BTreeMap::new();
                for (i, v) in batch {
                    changes.insert(key(i, 7), v);
                }
                let load = |h: &B256| store.get(h).cloned();
                let up = update(root, changes.iter().map(|(k, v)| (k, v.as_deref())), &load).expect("test store");
                for (k, v) in &changes {
                    match v {
                        Some(v) if !v.is_empty() => { model.insert(*k, v.clone()); }
                        _ => { model.remove(k); }
                    }
                }
                prop_assert_eq!(up.root, reference_root(&model));
                for (h, raw) in up.created {
                    prop_assert_eq!(keccak256(&raw), h);
                    store.insert(h, raw);
                }
                root = up.root;
            }
            let load = |h: &B256| store.get(h).cloned();
            for i in 0u8..60 {
                let k = key(i, 7);
                let got = get(root, &k, &load).expect("test store");
                prop_assert_eq!(got.map(|b| b.to_vec()), model.get(&k).cloned());
                let p = proof(root, &k, &load).expect("test store");
                let expected = model.get(&k).map(|v| leaf_value(v));
                if root != EMPTY_ROOT_HASH && store.get(&root).is_some_and(|r| r.len() >= 32) {
                    prop_assert!(alloy_trie::proof::verify_proof(root, Nibbles::unpack(k), expected, &p).is_ok());
                }
            }
        }
    }

    /// A key 6 nibbles below one of two shared prefixes: its leaf sits below the upper levels
    /// even in a small trie, where [`update_known`] recognises leaves.
    fn deep_key(i: u16) -> B256 {
        let mut k = keccak256(i.to_be_bytes());
        k[..3].copy_from_slice(if i.is_multiple_of(2) {
            &[0xab, 0xcd, 0xef]
        } else {
            &[0xab, 0xcd, 0x01]
        });
        k
    }

    /// A node store that counts its loads.
    struct Counting<'a> {
        store: &'a HashMap<B256, Bytes>,
        loads: std::sync::atomic::AtomicUsize,
    }

    impl<'a> Counting<'a> {
        fn new(store: &'a HashMap<B256, Bytes>) -> Self {
            Self {
                store,
                loads: Default::default(),
            }
        }
        fn load(&self, hash: &B256) -> Option<Bytes> {
            self.loads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.store.get(hash).cloned()
        }
        fn loads(&self) -> usize {
            self.loads.load(std::sync::atomic::Ordering::Relaxed)
        }
    }

    type ChangeAndOld = (Option<Vec<u8>>, Option<Vec<u8>>);

    fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
        let mut v = v.to_vec();
        v.sort();
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Old values (right, wrong or missing) change nothing in an update but its loads: the
        /// same root, created, stale and upper nodes, and exactly one load fewer per leaf it
        /// recognised, never more than the right old values given.
        #[test]
        fn old_values_spare_leaf_loads_and_change_nothing_else(
            values in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 64..128),
            batch in prop::collection::vec((0u16..160, prop::option::of(prop::collection::vec(any::<u8>(), 0..40)), 0u8..3), 1..60),
        ) {
            let entries: BTreeMap<B256, Vec<u8>> =
                values.iter().enumerate().map(|(i, v)| (deep_key(i as u16), v.clone())).collect();
            let built = build(entries.iter().map(|(k, v)| (k, v.as_slice()))).expect("build");
            let store: HashMap<B256, Bytes> = built.created.into_iter().collect();
            // Per key: the new value and the old value the fold is told.
            let mut changes: BTreeMap<B256, ChangeAndOld> = BTreeMap::new();
            for (i, value, hint) in batch {
                let k = deep_key(i);
                let old = match hint {
                    0 => None,
                    1 => entries.get(&k).cloned(),
                    _ => Some(vec![0x5a; 3]),
                };
                changes.insert(k, (value, old));
            }
            let right = changes.iter().filter(|(k, (_, old))| old.is_some() && entries.get(*k) == old.as_ref()).count();
            let (a, b) = (Counting::new(&store), Counting::new(&store));
            let plain = update(built.root, changes.iter().map(|(k, (v, _))| (k, v.as_deref())), &|h: &B256| a.load(h)).expect("update");
            let known = update_known(
                built.root,
                changes.iter().map(|(key, (v, old))| Change { key, value: v.as_deref(), old: old.as_deref() }),
                &|h: &B256| b.load(h),
            ).expect("update");
            prop_assert_eq!(known.root, plain.root);
            prop_assert_eq!(sorted(&known.created), sorted(&plain.created));
            prop_assert_eq!(sorted(&known.stale), sorted(&plain.stale));
            prop_assert_eq!(sorted(&known.upper), sorted(&plain.upper));
            prop_assert_eq!(plain.recognised, 0);
            prop_assert!(known.recognised <= right);
            prop_assert_eq!(a.loads() - b.loads(), known.recognised);
        }
    }

    /// Rewriting keys whose old values are known loads none of their leaves, in a batch folded
    /// in parallel too, and a prefetch walk given the old value stops above the leaf.
    #[test]
    fn known_old_values_leave_the_rewritten_leaves_unloaded() {
        let entries: BTreeMap<B256, Vec<u8>> = (0..3000u16)
            .map(|i| (deep_key(i), vec![(i % 251) as u8; 40]))
            .collect();
        let built = build(entries.iter().map(|(k, v)| (k, v.as_slice()))).expect("build");
        let store: HashMap<B256, Bytes> = built.created.into_iter().collect();
        let new = [9u8; 40];
        let rewrites: Vec<(&B256, &Vec<u8>)> = entries.iter().step_by(3).collect();
        let (a, b) = (Counting::new(&store), Counting::new(&store));
        let plain = update(
            built.root,
            rewrites.iter().map(|(k, _)| (*k, Some(&new[..]))),
            &|h: &B256| a.load(h),
        )
        .expect("update");
        let known = update_known(
            built.root,
            rewrites.iter().map(|(key, old)| Change {
                key,
                value: Some(&new[..]),
                old: Some(&old[..]),
            }),
            &|h: &B256| b.load(h),
        )
        .expect("update");
        assert_eq!(known.root, plain.root);
        assert_eq!(known.recognised, rewrites.len());
        assert_eq!(a.loads() - b.loads(), rewrites.len());

        let (key, old) = rewrites[7];
        let (full, short, wrong) = (
            Counting::new(&store),
            Counting::new(&store),
            Counting::new(&store),
        );
        let value = get(built.root, key, &|h: &B256| full.load(h)).expect("get");
        assert_eq!(value.map(|v| v.to_vec()), Some(old.clone()));
        load_path(built.root, key, Some(old), &|h: &B256| short.load(h)).expect("walk");
        assert_eq!(
            short.loads() + 1,
            full.loads(),
            "the leaf is the one node not loaded"
        );
        load_path(built.root, key, Some(&[1, 2, 3]), &|h: &B256| wrong.load(h)).expect("walk");
        assert_eq!(wrong.loads(), full.loads());
    }

    /// Batches large enough to fold the root's children in parallel give the reference root,
    /// including a batch that deletes all but one entry (the root stops being a branch).
    #[test]
    fn large_batches_fold_in_parallel_to_the_reference_root() {
        let mut store: HashMap<B256, Bytes> = HashMap::new();
        let mut model: BTreeMap<B256, Vec<u8>> = BTreeMap::new();
        let entries: Vec<(B256, Vec<u8>)> = (0..3000u16)
            .map(|i| {
                (
                    keccak256(i.to_be_bytes()),
                    vec![(i % 251) as u8; 1 + (i % 40) as usize],
                )
            })
            .collect();
        let up = build(entries.iter().map(|(k, v)| (k, v.as_slice()))).expect("test store");
        model.extend(entries.iter().cloned());
        assert_eq!(up.root, reference_root(&model));
        store.extend(up.created);
        let mut root = up.root;
        let batches: [Vec<(B256, Option<Vec<u8>>)>; 2] = [
            (0..1500u16)
                .map(|i| {
                    let k = keccak256((i * 2).to_be_bytes());
                    (k, (i % 3 != 0).then(|| vec![7; 33]))
                })
                .chain((5000..5400u16).map(|i| (keccak256(i.to_be_bytes()), Some(vec![1; 5]))))
                .collect(),
            model
                .keys()
                .skip(1)
                .map(|k| (*k, None))
                .chain((5000..5400u16).map(|i| (keccak256(i.to_be_bytes()), None)))
                .collect(),
        ];
        for batch in batches {
            let load = |h: &B256| store.get(h).cloned();
            let up = update(root, batch.iter().map(|(k, v)| (k, v.as_deref())), &load)
                .expect("test store");
            for (k, v) in &batch {
                match v {
                    Some(v) => model.insert(*k, v.clone()),
                    None => model.remove(k),
                };
            }
            assert_eq!(up.root, reference_root(&model));
            store.extend(up.created);
            root = up.root;
        }
        assert_eq!(model.len(), 1);
    }

    #[test]
    fn stale_nodes_are_exactly_the_replaced_ones() {
        let mut store: HashMap<B256, Bytes> = HashMap::new();
        let entries: Vec<(B256, Vec<u8>)> = (0..200u8).map(|i| (key(i, 1), vec![i; 40])).collect();
        let up = build(entries.iter().map(|(k, v)| (k, v.as_slice()))).expect("test store");
        assert!(up.stale.is_empty());
        store.extend(up.created);
        let root = up.root;
        let changed = key(5, 1);
        let load = |h: &B256| store.get(h).cloned();
        let next = update(root, [(&changed, Some(&[9u8; 40][..]))], &load).expect("test store");
        assert!(!next.stale.is_empty());
        // The old path is stale, the new one created, and nothing else moved.
        assert_eq!(next.stale.len(), next.created.len());
        assert!(next.stale.contains(&root));
        // Writing the old value back restores the old root and revives the old nodes.
        let mut store2 = store.clone();
        store2.extend(next.created.clone());
        let load2 = |h: &B256| store2.get(h).cloned();
        let back =
            update(next.root, [(&changed, Some(&[5u8; 40][..]))], &load2).expect("test store");
        assert_eq!(back.root, root);
    }

    #[test]
    fn a_corrupt_or_missing_node_is_an_error_not_a_panic() {
        let entries: Vec<(B256, Vec<u8>)> = (0..50u8).map(|i| (key(i, 2), vec![i; 40])).collect();
        let up = build(entries.iter().map(|(k, v)| (k, v.as_slice()))).expect("test store");
        let empty = |_: &B256| None;
        assert_eq!(
            get(up.root, &key(1, 2), &empty),
            Err(TrieError::MissingNode(up.root))
        );
        let garbage = |_: &B256| Some(Bytes::from_static(&[0xc1, 0x80]));
        assert!(matches!(
            update(up.root, [(&key(1, 2), None)], &garbage),
            Err(TrieError::Corrupt { .. })
        ));
        assert!(get(up.root, &key(1, 2), &garbage).is_err());
    }

    /// The depth (nibbles from the root) of every hashed node on `key`'s path.
    fn path_depths(root: B256, key: &B256, store: &HashMap<B256, Bytes>) -> Vec<(B256, usize)> {
        let mut out = Vec::new();
        let mut depth = 0;
        let mut next = Some(root);
        while let Some(hash) = next.take() {
            out.push((hash, depth));
            let raw = store.get(&hash).expect("stored");
            let child = match TrieNode::decode(&mut &raw[..]).expect("node") {
                TrieNode::Branch(branch) => {
                    let i = Nibbles::unpack(key).get_unchecked(depth);
                    depth += 1;
                    if !branch.state_mask.is_bit_set(i) {
                        break;
                    }
                    let before = (0..i).filter(|j| branch.state_mask.is_bit_set(*j)).count();
                    branch.stack[before].clone()
                }
                TrieNode::Extension(ext) => {
                    depth += ext.key.len();
                    ext.child
                }
                _ => break,
            };
            next = child.as_hash();
        }
        out
    }

    /// `upper` lists exactly the created nodes at most `UPPER_DEPTH` nibbles below the root, in
    /// a build and in an update folded in parallel.
    #[test]
    fn upper_nodes_are_the_created_ones_near_the_root() {
        let entries: Vec<(B256, Vec<u8>)> = (0..20_000u32)
            .map(|i| (keccak256(i.to_be_bytes()), vec![3; 40]))
            .collect();
        let built = build(entries.iter().map(|(k, v)| (k, v.as_slice()))).expect("build");
        let mut store: HashMap<B256, Bytes> = built.created.iter().cloned().collect();
        let changes: Vec<(B256, Vec<u8>)> = (0..2_000u32)
            .map(|i| (keccak256((i * 7).to_be_bytes()), vec![4; 40]))
            .collect();
        let load = |h: &B256| store.get(h).cloned();
        let next = update(
            built.root,
            changes.iter().map(|(k, v)| (k, Some(v.as_slice()))),
            &load,
        )
        .expect("update");
        for (up, keys) in [(&built, &entries), (&next, &changes)] {
            store.extend(up.created.iter().cloned());
            let created: HashSet<B256> = up.created.iter().map(|(h, _)| *h).collect();
            let upper: HashSet<B256> = up.upper.iter().copied().collect();
            assert_eq!(upper.len(), up.upper.len(), "listed once each");
            assert!(upper.is_subset(&created));
            let (mut shallow, mut deep) = (0, 0);
            for (k, _) in keys.iter().step_by(97) {
                for (hash, depth) in path_depths(up.root, k, &store) {
                    if !created.contains(&hash) {
                        continue;
                    }
                    if depth <= UPPER_DEPTH {
                        shallow += 1;
                        assert!(upper.contains(&hash), "node at depth {depth}");
                    } else {
                        deep += 1;
                        assert!(!upper.contains(&hash), "node at depth {depth}");
                    }
                }
            }
            assert!(shallow > 0 && deep > 0, "both kinds seen: {shallow} {deep}");
        }
    }
}
