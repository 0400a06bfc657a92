//! Reading a blob from a stream: the header, then sealed chunks one by one, then the end.
//!
//! Pure framing; nothing here holds a key. Every way the bytes can be cut short or run on is a
//! distinct error, and no input makes it panic or allocate more than one chunk.

use std::io::{ErrorKind, Read};

use crate::{
    error::Error,
    error::Result,
    format::{FRAME_LEN, Frame, HEADER_LEN, Header, MAX_CHUNKS, TAG_LEN},
};

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Splits a blob stream into its header and sealed chunks.
pub(crate) struct RecordReader<R> {
    inner: R,
}

impl<R: Read> RecordReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self { inner }
    }

    /// Reads and decodes the header; returns its exact bytes too (the chunks' AAD).
    pub(crate) fn read_header(&mut self) -> Result<([u8; HEADER_LEN], Header)> {
        let mut bytes = [0u8; HEADER_LEN];
        let got = read_full(&mut self.inner, &mut bytes)?;
        let header = Header::decode(&bytes[..got])?;
        Ok((bytes, header))
    }

    /// Reads sealed chunk `index` (framing ‖ ciphertext ‖ tag) into the front of `buf`, which
    /// must hold `chunk_size + CHUNK_OVERHEAD` bytes, and returns its framing.
    ///
    /// Errors: [`Error::Truncated`] if the stream ends before the chunk starts,
    /// [`Error::TruncatedChunk`] if it ends inside it, [`Error::MalformedChunk`] for impossible
    /// framing, [`Error::TooManyChunks`] past the counter's range.
    pub(crate) fn next_record(
        &mut self,
        header: &Header,
        index: u64,
        buf: &mut [u8],
    ) -> Result<Frame> {
        if index >= MAX_CHUNKS {
            return Err(Error::TooManyChunks);
        }
        let mut frame_bytes = [0u8; FRAME_LEN];
        match read_full(&mut self.inner, &mut frame_bytes)? {
            0 => return Err(Error::Truncated { chunks: index }),
            FRAME_LEN => {}
            _ => return Err(Error::TruncatedChunk { chunk: index }),
        }
        let frame = Frame::decode(&frame_bytes, index, header.chunk_size)?;
        let total = FRAME_LEN + frame.len as usize + TAG_LEN;
        let Some(record) = buf.get_mut(..total) else {
            return Err(Error::MalformedChunk {
                chunk: index,
                reason: "longer than the chunk size",
            });
        };
        record[..FRAME_LEN].copy_from_slice(&frame_bytes);
        if read_full(&mut self.inner, &mut record[FRAME_LEN..])? != total - FRAME_LEN {
            return Err(Error::TruncatedChunk { chunk: index });
        }
        Ok(frame)
    }

    /// After the final chunk `last_index`: [`Error::TrailingData`] if anything follows.
    pub(crate) fn expect_end(&mut self, last_index: u64) -> Result<()> {
        let mut probe = [0u8; 1];
        if read_full(&mut self.inner, &mut probe)? != 0 {
            return Err(Error::TrailingData {
                after_chunk: last_index,
            });
        }
        Ok(())
    }
}
