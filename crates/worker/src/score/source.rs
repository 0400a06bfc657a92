//! The input stream, with the byte position of the parser and the size limits.
//!
//! Every limit is a byte position in the stream: the file may not go past `max_bytes`, a row
//! that starts at `s` may not go past `s + max_row_bytes`. The parsers are only ever given the
//! bytes up to the nearer of the two, so where and how a limit is hit depends on the bytes alone
//! and never on how the reader happens to split them into reads.

use std::io::{ErrorKind, Read};

use super::verdict::Limits;

/// Bytes read from the inner reader at a time (the buffer only grows past this to look at a
/// long first line).
const CHUNK: usize = 64 * 1024;
/// The UTF-8 byte order mark, skipped at the very start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Which limit a row ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// `max_bytes`.
    File,
    /// `max_row_bytes`.
    Row,
}

/// Why the stream stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The inner reader failed.
    Io(ErrorKind),
    /// A limit was hit.
    Limit(Limit),
}

/// A buffered reader that knows the position of the next unconsumed byte and the limits.
pub(crate) struct Source<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    pos: u64,
    max_bytes: u64,
    max_row_bytes: u64,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R, limits: &Limits) -> Source<R> {
        Source {
            inner,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            pos: 0,
            max_bytes: limits.max_bytes,
            max_row_bytes: u64::try_from(limits.max_row_bytes).unwrap_or(u64::MAX),
        }
    }

    /// Position of the next unconsumed byte in the stream.
    pub(super) fn pos(&self) -> u64 {
        self.pos
    }

    /// The buffered bytes, reading more if none are buffered; empty only at the end of input.
    pub(super) fn fill(&mut self) -> Result<&[u8], Stop> {
        if self.start == self.end && !self.eof {
            self.start = 0;
            self.end = 0;
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// At least `n` buffered bytes, unless the input ends first.
    pub(super) fn peek(&mut self, n: usize) -> Result<&[u8], Stop> {
        while self.end - self.start < n && !self.eof {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let len = self.buf.len().saturating_mul(2).max(n);
                self.buf.resize(len, 0);
            }
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Marks `n` buffered bytes as parsed.
    pub(super) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.pos += n as u64;
    }

    /// How many more bytes a row that started at `row_start` may take from the current
    /// position, and which limit that budget comes from (the file's, when both coincide).
    pub(super) fn budget(&self, row_start: u64) -> (usize, Limit) {
        let row_end = row_start.saturating_add(self.max_row_bytes);
        let (end, limit) = if self.max_bytes <= row_end {
            (self.max_bytes, Limit::File)
        } else {
            (row_end, Limit::Row)
        };
        let left = end.saturating_sub(self.pos);
        (usize::try_from(left).unwrap_or(usize::MAX), limit)
    }

    /// Skips a byte order mark and the blank (whitespace-only) lines at the start of the input,
    /// and returns the first byte that is not whitespace, left unconsumed with the whitespace
    /// before it on its line; `None` if the input holds nothing else.
    pub(crate) fn skip_blank_lines(&mut self) -> Result<Option<u8>, Stop> {
        if self.peek(BOM.len())?.starts_with(BOM) {
            if self.max_bytes < BOM.len() as u64 {
                return Err(Stop::Limit(Limit::File));
            }
            self.consume(BOM.len());
        }
        loop {
            let (cap, limit) = self.budget(self.pos);
            let mut want = cap.saturating_add(1).min(4096);
            loop {
                let window = self.peek(want)?;
                let scan = &window[..window.len().min(cap)];
                match scan
                    .iter()
                    .position(|&b| b == b'\n' || !b.is_ascii_whitespace())
                {
                    Some(i) if scan[i] == b'\n' => {
                        self.consume(i + 1);
                        break;
                    }
                    Some(i) => return Ok(Some(scan[i])),
                    None if window.len() > cap => return Err(Stop::Limit(limit)),
                    None if window.len() < want => return Ok(None),
                    None => want = want.saturating_mul(2).min(cap.saturating_add(1)),
                }
            }
        }
    }

    /// The current line without its newline, as far as the limits allow, for sniffing a CSV
    /// delimiter; nothing is consumed.
    pub(super) fn current_line(&mut self) -> Result<&[u8], Stop> {
        let (cap, _) = self.budget(self.pos);
        let mut want = cap.min(4096);
        loop {
            let window = self.peek(want)?;
            let len = window.len();
            let scan_len = len.min(cap);
            if let Some(i) = window[..scan_len].iter().position(|&b| b == b'\n') {
                return Ok(&self.buf[self.start..self.start + i]);
            }
            if len < want || scan_len >= cap {
                return Ok(&self.buf[self.start..self.start + scan_len]);
            }
            want = want.saturating_mul(2).min(cap);
        }
    }

    /// Reads one line into `line` (cleared first), without its `\n`. Returns `false` at the end
    /// of input (then `line` is empty).
    pub(crate) fn read_line(&mut self, line: &mut Vec<u8>) -> Result<bool, Stop> {
        line.clear();
        let line_start = self.pos;
        loop {
            let (cap, limit) = self.budget(line_start);
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(self.pos > line_start);
            }
            if cap == 0 {
                return Err(Stop::Limit(limit));
            }
            let window = &buf[..buf.len().min(cap)];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&window[..i]);
                    self.consume(i + 1);
                    return Ok(true);
                }
                None => {
                    line.extend_from_slice(window);
                    let n = window.len();
                    self.consume(n);
                }
            }
        }
    }

    fn read_more(&mut self) -> Result<(), Stop> {
        loop {
            let space = &mut self.buf[self.end..];
            match self.inner.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    // A reader that claims more than it was given is not trusted with the count.
                    self.end += n.min(space.len());
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Stop::Io(e.kind())),
            }
        }
    }
}
