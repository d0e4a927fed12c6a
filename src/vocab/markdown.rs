//! Untrusted text made inert for Markdown, in one place: the job summaries, the eval report, the
//! model-call table, the change-set rendering and the planner's PR body all escape through here.

/// Text safe inside a Markdown table cell of a job summary: no pipes, no HTML, one line.
pub fn table_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push('\''),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Model-written or user-written text made inert for one line of Markdown: no HTML, no table
/// breaks, no code spans, no mentions.
pub fn inert(text: &str) -> String {
    inert_chars(text.chars(), text.len())
}

/// [`inert`] for at most `max` characters of `text`, with `…` where it was cut.
pub fn inert_clipped(text: &str, max: usize) -> String {
    let mut out = inert_chars(text.chars().take(max), max);
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

fn inert_chars(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity.min(4096));
    for c in chars {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '`' => out.push('\''),
            '@' => out.push_str("@\u{200b}"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
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
