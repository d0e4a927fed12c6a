//! The PRD cut for the model: split at Markdown headings (each section keeps the path of the
//! headings above it), then packed into parts that fit the model's prompt room. A section too
//! large for one part is cut at blank lines, then lines; nothing is dropped silently.

use crate::llm::budget::estimate_tokens;

/// One section of the PRD: the heading path (`Accounts > Login`) and its text, heading included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub text: String,
}

/// What one model call sees: consecutive sections (or pieces of one) within the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headings: Vec<String>,
    pub text: String,
}

impl Part {
    /// The headings for people: `Accounts > Login; Billing`.
    pub fn label(&self) -> String {
        if self.headings.is_empty() {
            "(before the first heading)".to_string()
        } else {
            self.headings.join("; ")
        }
    }
}

/// An ATX heading (`## Title`, up to three spaces of indent): its level and title.
fn heading(line: &str) -> Option<(usize, String)> {
    let l = line.trim_end_matches(['\n', '\r']);
    let indent = l.len() - l.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &l[indent..];
    let level = rest.bytes().take_while(|b| *b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let after = &rest[level..];
    if !after.is_empty() && !after.starts_with([' ', '\t']) {
        return None;
    }
    Some((level, after.trim().trim_end_matches('#').trim().to_string()))
}

/// Splits at every heading outside fenced code blocks. Sections holding nothing but their
/// heading are left out (their title still shows in the path of the sections below them).
pub fn split(prd: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut trail: Vec<(usize, String)> = Vec::new();
    let mut current = Section {
        heading: String::new(),
        text: String::new(),
    };
    let mut fence: Option<&'static str> = None;
    let keep = |s: Section, out: &mut Vec<Section>| {
        let body_starts = if s.heading.is_empty() { 0 } else { 1 };
        if s.text
            .lines()
            .skip(body_starts)
            .any(|l| !l.trim().is_empty())
        {
            out.push(s);
        }
    };
    for line in prd.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            current.text.push_str(line);
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = Some(if t.starts_with("```") { "```" } else { "~~~" });
            current.text.push_str(line);
            continue;
        }
        match heading(line) {
            Some((level, title)) => {
                keep(std::mem::take(&mut current), &mut sections);
                trail.retain(|(l, _)| *l < level);
                trail.push((level, title));
                current = Section {
                    heading: trail
                        .iter()
                        .map(|(_, t)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(" > "),
                    text: line.to_string(),
                };
            }
            None => current.text.push_str(line),
        }
    }
    keep(current, &mut sections);
    sections
}

/// Cuts `text` into pieces of at most `room` estimated tokens: whole lines, preferring to end a
/// piece at a blank line once it is half full; a line longer than the room is cut by characters.
fn cut(text: &str, room: u32) -> Vec<String> {
    let room = room.max(1);
    let mut pieces = Vec::new();
    let mut cur = String::new();
    let push = |cur: &mut String, pieces: &mut Vec<String>| {
        if !cur.trim().is_empty() {
            pieces.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    for line in text.split_inclusive('\n') {
        if estimate_tokens(line) > room {
            push(&mut cur, &mut pieces);
            // `room` characters never estimate above `room` tokens.
            let chars: Vec<char> = line.chars().collect();
            for chunk in chars.chunks(room as usize) {
                pieces.push(chunk.iter().collect());
            }
            continue;
        }
        if estimate_tokens(&cur) + estimate_tokens(line) > room {
            push(&mut cur, &mut pieces);
        }
        cur.push_str(line);
        if line.trim().is_empty() && estimate_tokens(&cur) * 2 > room {
            push(&mut cur, &mut pieces);
        }
    }
    push(&mut cur, &mut pieces);
    pieces
}

/// Packs consecutive sections into parts of at most `room` estimated tokens each.
pub fn fit(sections: &[Section], room: u32) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut cur = Part {
        headings: Vec::new(),
        text: String::new(),
    };
    for s in sections {
        let pieces = if estimate_tokens(&s.text) <= room {
            vec![(s.heading.clone(), s.text.clone())]
        } else {
            let cut = cut(&s.text, room);
            let n = cut.len();
            cut.into_iter()
                .enumerate()
                .map(|(i, t)| (format!("{} (piece {} of {n})", s.heading, i + 1), t))
                .collect()
        };
        for (heading, text) in pieces {
            if !cur.text.is_empty() && estimate_tokens(&cur.text) + estimate_tokens(&text) > room {
                parts.push(std::mem::replace(
                    &mut cur,
                    Part {
                        headings: Vec::new(),
                        text: String::new(),
                    },
                ));
            }
            if !heading.is_empty() {
                cur.headings.push(heading);
            }
            cur.text.push_str(&text);
        }
    }
    if !cur.text.trim().is_empty() {
        parts.push(cur);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRD: &str = "Intro line.\n# Shop\n## Cart\nAdd items.\n```\n# not a heading\n```\n## Checkout\nPay.\n# Empty\n# Admin\nUsers.\n";

    #[test]
    fn splits_at_headings_outside_fences() {
        let s = split(PRD);
        let heads: Vec<&str> = s.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(heads, ["", "Shop > Cart", "Shop > Checkout", "Admin"]);
        assert!(s[1].text.contains("# not a heading"));
        assert_eq!(
            s.iter().map(|s| s.text.as_str()).collect::<String>().len(),
            PRD.len() - "# Shop\n# Empty\n".len()
        );
    }

    #[test]
    fn fits_parts_to_the_room_without_losing_text() {
        let s = split(PRD);
        let one = fit(&s, 10_000);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].label(), "Shop > Cart; Shop > Checkout; Admin");
        let small = fit(&s, 8);
        assert!(small.len() > 2);
        for p in &small {
            assert!(estimate_tokens(&p.text) <= 8, "{p:?}");
        }
        let joined: String = small.iter().map(|p| p.text.as_str()).collect();
        for word in ["Intro", "Add items.", "Pay.", "Users."] {
            assert!(joined.contains(word), "{word}");
        }
        let long = format!("# Big\n{}\n", "x".repeat(100));
        let parts = fit(&split(&long), 10);
        assert!(parts.iter().all(|p| estimate_tokens(&p.text) <= 10));
        assert_eq!(
            parts
                .iter()
                .map(|p| p.text.matches('x').count())
                .sum::<usize>(),
            100
        );
    }
}
