//! The crate's one thinking stripper: models that think aloud put it before the answer in
//! `<think>…</think>`, or (when the chat template ate the opening tag) end it with a lone
//! `</think>`. Every reply, whatever reads it next (JSON, edit blocks, prose), goes through here.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// Splits a reply into the answer (trimmed) and the thinking, if any.
///
/// * Everything before a `</think>` that no `<think>` opened is thinking.
/// * `<think>` blocks at the start of the reply are thinking; an unclosed one takes the rest.
/// * A `<think>` later in the text is left alone: it is the answer's (a string in code under
///   review, an edit to this very function), not the model's thinking.
pub fn strip_think(text: &str) -> (String, Option<String>) {
    let mut thinking = Vec::new();
    let mut rest = text;
    if let Some(close) = rest.find(CLOSE)
        && rest.find(OPEN).is_none_or(|open| open > close)
    {
        thinking.push(rest[..close].trim());
        rest = &rest[close + CLOSE.len()..];
    }
    loop {
        let trimmed = rest.trim_start();
        let Some(after_open) = trimmed.strip_prefix(OPEN) else {
            break;
        };
        match after_open.find(CLOSE) {
            Some(end) => {
                thinking.push(after_open[..end].trim());
                rest = &after_open[end + CLOSE.len()..];
            }
            None => {
                thinking.push(after_open.trim());
                rest = "";
            }
        }
    }
    let thinking: Vec<&str> = thinking.into_iter().filter(|t| !t.is_empty()).collect();
    let joined = (!thinking.is_empty()).then(|| thinking.join("\n"));
    (rest.trim().to_string(), joined)
}

#[cfg(test)]
mod tests {
    use super::strip_think;

    fn answer(s: &str) -> String {
        strip_think(s).0
    }

    #[test]
    fn thinking_before_the_answer_is_removed() {
        assert_eq!(
            strip_think("<think>x\ny</think>\nrest"),
            ("rest".to_string(), Some("x\ny".to_string()))
        );
        assert_eq!(answer("  <think>a</think> <think>b</think>done"), "done");
        assert_eq!(answer("thinking\n</think>\nrest"), "rest");
        assert_eq!(answer("leaked reasoning</think>Final."), "Final.");
        assert_eq!(answer("a\n<<<<<<< SEARCH\ndraft</think>\nrest"), "rest");
        assert_eq!(
            strip_think("<think>never closed"),
            (String::new(), Some("never closed".into()))
        );
        assert_eq!(strip_think("plain"), ("plain".to_string(), None));
        assert_eq!(strip_think("<think></think>x"), ("x".to_string(), None));
    }

    #[test]
    fn a_think_tag_inside_the_answer_is_the_answer() {
        assert_eq!(answer("let s = \"<think>\";"), "let s = \"<think>\";");
        assert_eq!(
            answer("src/a.rs\n<<<<<<< SEARCH\nfind(\"<think>\")\n=======\nx\n>>>>>>> REPLACE"),
            "src/a.rs\n<<<<<<< SEARCH\nfind(\"<think>\")\n=======\nx\n>>>>>>> REPLACE"
        );
    }
}
