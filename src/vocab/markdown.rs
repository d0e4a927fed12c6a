//! Untrusted text made inert for Markdown (and, with the same character loop, HTML), in one
//! place: the job summaries, the eval report, the model-call table, the change-set rendering and
//! the planner's PR body all escape through here.

/// Text safe inside a Markdown table cell of a job summary: no pipes, no HTML, one line.
pub fn table_cell(text: &str) -> String {
    replace_chars(text.chars(), |c| match c {
        '|' => Some("\\|"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '&' => Some("&amp;"),
        '`' => Some("'"),
        '\n' | '\r' => Some(" "),
        _ => None,
    })
}

/// Model-written or user-written text made inert for one line of Markdown: no HTML, no table
/// breaks, no code spans, no mentions.
pub fn inert(text: &str) -> String {
    replace_chars(text.chars(), inert_char)
}

/// [`inert`] for at most `max` characters of `text`, with `…` where it was cut.
pub fn inert_clipped(text: &str, max: usize) -> String {
    let mut out = replace_chars(text.chars().take(max), inert_char);
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

fn inert_char(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '|' => Some("\\|"),
        '`' => Some("'"),
        '@' => Some("@\u{200b}"),
        '\n' | '\r' => Some(" "),
        _ => None,
    }
}

/// `chars` with each one `with` names replaced by what it names: the loop every escaper here
/// (and the eval report's HTML one) shares.
pub(crate) fn replace_chars(
    chars: impl IntoIterator<Item = char>,
    with: impl Fn(char) -> Option<&'static str>,
) -> String {
    let mut out = String::new();
    for c in chars {
        match with(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(
            table_cell("a|b\n<img src=x>`c`"),
            "a\\|b &lt;img src=x&gt;'c'"
        );
    }

    #[test]
    fn inert_text_has_no_html_pipes_code_or_mentions() {
        assert_eq!(inert("a<b>|@c`\n"), "a&lt;b&gt;\\|@\u{200b}c' ");
        assert_eq!(inert_clipped("a<bcd", 2), "a&lt;…");
        assert_eq!(inert_clipped("ab", 2), "ab");
    }
}
