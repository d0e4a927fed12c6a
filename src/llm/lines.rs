//! Splits a streamed body into lines, whatever the chunk boundaries (a line, or even a UTF-8
//! character, may be split across chunks): the NDJSON of Ollama's `/api/chat` and the SSE
//! `data:` lines of `/v1/chat/completions` both arrive this way. A line is bounded, so a server
//! that never sends a newline cannot make the buffer grow without limit.

/// Longest line accepted (one JSON chunk of a stream is a few hundred bytes; a server that
/// batches a whole answer into one line still fits).
pub(crate) const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already known to hold no newline (a long line is scanned once).
    scanned: usize,
    max: usize,
}

/// A line grew past the limit without ending.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LineTooLong(pub usize);

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::with_max(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    pub(crate) fn with_max(max: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            scanned: 0,
            max,
        }
    }

    /// Feeds a chunk; returns the complete, non-empty lines it finished (without `\r\n`).
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, LineTooLong> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(rel) = self.buf[from..].iter().position(|b| *b == b'\n') {
            let rel = from + rel - start;
            let line = &self.buf[start..start + rel];
            if line.len() > self.max {
                return Err(LineTooLong(self.max));
            }
            let s = String::from_utf8_lossy(line);
            let s = s.trim_end_matches('\r');
            if !s.trim().is_empty() {
                out.push(s.to_string());
            }
            start += rel + 1;
            from = start;
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > self.max {
            return Err(LineTooLong(self.max));
        }
        Ok(out)
    }

    /// The last line when the stream ends without a newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        self.scanned = 0;
        let s = String::from_utf8_lossy(&rest).trim().to_string();
        (!s.is_empty()).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_chunks() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"{\"a\":").unwrap().is_empty());
        assert_eq!(
            s.push(b"1}\n{\"b\"\r\n\n").unwrap(),
            vec!["{\"a\":1}", "{\"b\""]
        );
        let e = "é".as_bytes();
        assert!(s.push(&e[..1]).unwrap().is_empty());
        assert!(s.push(&e[1..]).unwrap().is_empty());
        assert_eq!(s.finish().as_deref(), Some("é"));
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut s = LineSplitter::with_max(8);
        assert_eq!(s.push(b"12345").unwrap(), Vec::<String>::new());
        assert_eq!(s.push(b"6789"), Err(LineTooLong(8)));
        let mut s = LineSplitter::with_max(8);
        assert_eq!(s.push(b"0123456789\nok\n"), Err(LineTooLong(8)));
        let mut s = LineSplitter::with_max(8);
        assert_eq!(s.push(b"01234567\nok\n").unwrap(), vec!["01234567", "ok"]);
    }
}
