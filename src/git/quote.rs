//! Path quoting exactly as git prints paths in diff headers (`core.quotePath=true`, the
//! default), so our patches read like `git diff` and non-UTF-8 names survive as octal escapes.

/// Quote `prefix` + `path` the way git's `quote_c_style` does: returned unchanged when
/// nothing needs quoting, else wrapped in double quotes with C escapes and octal for
/// control bytes, DEL and every byte >= 0x80.
pub fn quote_path(prefix: &str, path: &[u8]) -> String {
    let needs = path.iter().any(|&b| needs_quote(b)) || prefix.bytes().any(needs_quote);
    if !needs {
        let mut s = String::with_capacity(prefix.len() + path.len());
        s.push_str(prefix);
        // No byte >= 0x80 and no control byte: plain ASCII.
        s.push_str(std::str::from_utf8(path).unwrap_or_default());
        return s;
    }
    let mut s = String::with_capacity(prefix.len() + path.len() * 2 + 2);
    s.push('"');
    for &b in prefix.as_bytes().iter().chain(path) {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            b'\r' => s.push_str("\\r"),
            b if needs_quote(b) => s.push_str(&format!("\\{b:03o}")),
            b => s.push(b as char),
        }
    }
    s.push('"');
    s
}

fn needs_quote(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f
}

#[cfg(test)]
mod tests {
    use super::quote_path;

    #[test]
    fn plain_paths_are_untouched() {
        assert_eq!(quote_path("a/", b"src/main.rs"), "a/src/main.rs");
        assert_eq!(quote_path("", b"with space"), "with space");
    }

    #[test]
    fn special_bytes_are_escaped_like_git() {
        assert_eq!(quote_path("a/", "café".as_bytes()), "\"a/caf\\303\\251\"");
        assert_eq!(quote_path("b/", b"x\xff"), "\"b/x\\377\"");
        assert_eq!(quote_path("", b"tab\there"), "\"tab\\there\"");
        assert_eq!(quote_path("", b"q\"\\"), "\"q\\\"\\\\\"");
    }
}
