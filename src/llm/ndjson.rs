//! Splits a byte stream into lines, whatever the chunk boundaries (a JSON line, or even a
//! UTF-8 character, may be split across chunks).

#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Feeds a chunk; returns the complete, non-empty lines it finished (without `\r\n`).
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let s = String::from_utf8_lossy(&line);
            let s = s.trim_end_matches(['\n', '\r']);
            if !s.trim().is_empty() {
                out.push(s.to_string());
            }
        }
        out
    }

    /// The last line when the stream ends without a newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
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
        assert!(s.push(b"{\"a\":").is_empty());
        assert_eq!(s.push(b"1}\n{\"b\"\r\n\n"), vec!["{\"a\":1}", "{\"b\""]);
        let e = "é".as_bytes();
        assert!(s.push(&e[..1]).is_empty());
        assert!(s.push(&e[1..]).is_empty());
        assert_eq!(s.finish().as_deref(), Some("é"));
    }
}
