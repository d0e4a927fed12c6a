//! Which task a pull request is for: its branch (`feature/T-0004-…`), a `Task: T-0004` line in
//! the body, or a task id in the title or body, in that order.

/// The first `T-<digits>` in `text` that stands alone (not inside a longer word), canonicalised
/// to four digits at least (`t-7` → `T-0007`).
fn find_id(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, w) in text.char_indices() {
        if !(w == 'T' || w == 't') || bytes.get(i + 1) != Some(&b'-') {
            continue;
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue;
        }
        let digits: String = text[i + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let after = text[i + 2 + digits.len()..].chars().next();
        if digits.is_empty()
            || digits.len() > 6
            || after.is_some_and(|c| c.is_ascii_alphanumeric() && c != '-')
        {
            continue;
        }
        let n: u32 = digits.parse().ok()?;
        return Some(format!("T-{n:04}"));
    }
    None
}

/// The linked task id, if the pull request names one.
pub fn linked_task(branch: &str, title: &str, body: &str) -> Option<String> {
    let from_branch = branch.rsplit('/').next().and_then(|last| {
        last.starts_with(['T', 't'])
            .then(|| find_id(last))
            .flatten()
    });
    let task_line = body.lines().find_map(|l| {
        let l = l.trim().trim_start_matches(['*', '-', '>', ' ']);
        l.strip_prefix("Task:")
            .or_else(|| l.strip_prefix("task:"))
            .and_then(find_id)
    });
    from_branch
        .or(task_line)
        .or_else(|| find_id(title))
        .or_else(|| find_id(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_task_in_order() {
        assert_eq!(
            linked_task("feature/T-0004-add-login", "x", "").as_deref(),
            Some("T-0004")
        );
        assert_eq!(
            linked_task("fix-bug", "Fix", "blah\n**Task:** T-12\n").as_deref(),
            Some("T-0012")
        );
        assert_eq!(
            linked_task("fix-bug", "T-0003 Add", "Task: T-0009").as_deref(),
            Some("T-0009")
        );
        assert_eq!(
            linked_task("fix-bug", "[T-0003] Add", "").as_deref(),
            Some("T-0003")
        );
        assert_eq!(linked_task("main", "ST-0003 and T-12x", "no id"), None);
        assert_eq!(
            linked_task("feature/x", "", "see T-0042."),
            Some("T-0042".into())
        );
    }
}
