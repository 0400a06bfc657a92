//! [`RowHash`]: what identifies a row's content, for the uniqueness checks.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The byte that joins a row's cells before hashing.
pub const CELL_SEPARATOR: u8 = 0x1F;

/// Identifies a row's content: the first 16 bytes of the BLAKE3 hash of its declared cells in
/// declared-column order, each trimmed of ASCII whitespace, joined with [`CELL_SEPARATOR`].
///
/// A CSV row and a JSON Lines row with the same cell texts hash alike.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowHash(pub [u8; 16]);

impl RowHash {
    /// The hash of a row with these cells (each is trimmed first).
    pub fn of_cells<'a>(cells: impl IntoIterator<Item = &'a str>) -> RowHash {
        let mut buf = Vec::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                buf.push(CELL_SEPARATOR);
            }
            buf.extend_from_slice(cell.trim_ascii().as_bytes());
        }
        RowHash::of_joined(&buf)
    }

    pub(crate) fn of_joined(joined: &[u8]) -> RowHash {
        let mut out = [0u8; 16];
        out.copy_from_slice(&blake3::hash(joined).as_bytes()[..16]);
        RowHash(out)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl Hash for RowHash {
    // The bytes are already a uniform hash; 8 of them are plenty for a hash table.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl fmt::Display for RowHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RowHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowHash({self})")
    }
}

/// A hasher for [`RowHash`] keys, which hash themselves.
#[derive(Default)]
pub(super) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
