//! Names derived from a task: its file name and its developer branch, both built from the id and
//! a slug of the title, so people and roles can find a task's file and branch from either.

use super::id::TaskId;

/// Longest slug kept (cut at a word boundary).
pub const MAX_SLUG_LEN: usize = 50;

/// `Initialize basic CI for Python` → `initialize-basic-ci-for-python`: ASCII letters and digits
/// lowercased, every other run of characters one `-`, at most [`MAX_SLUG_LEN`] bytes.
pub fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    if s.len() > MAX_SLUG_LEN {
        let cut = s[..=MAX_SLUG_LEN].rfind('-').unwrap_or(MAX_SLUG_LEN);
        s.truncate(cut);
    }
    s.trim_end_matches('-').to_string()
}

/// `T-0007-add-login-page.md` (or `T-0007.md` when the title has no ASCII letters or digits).
pub fn task_file_name(id: TaskId, title: &str) -> String {
    match slug(title) {
        s if s.is_empty() => format!("{id}.md"),
        s => format!("{id}-{s}.md"),
    }
}

/// The developer's branch for a task: `feature/T-0001-initialize-basic-ci-for-python`.
pub fn developer_branch(id: TaskId, title: &str) -> String {
    branch_with_prefix("feature/", id, title)
}

/// The developer's branch for a task under `workflow.branch_prefix`.
pub fn branch_with_prefix(prefix: &str, id: TaskId, title: &str) -> String {
    match slug(title) {
        s if s.is_empty() => format!("{prefix}{id}"),
        s => format!("{prefix}{id}-{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            developer_branch(TaskId(1), "Initialize basic CI for Python"),
            "feature/T-0001-initialize-basic-ci-for-python"
        );
        assert_eq!(
            task_file_name(TaskId(7), "  Add: login page (v2)! "),
            "T-0007-add-login-page-v2.md"
        );
        assert_eq!(task_file_name(TaskId(7), "日本語"), "T-0007.md");
        let long = slug(&"word ".repeat(30));
        assert!(long.len() <= MAX_SLUG_LEN && !long.ends_with('-'), "{long}");
        assert_eq!(
            slug("a-very-long-title-that-goes-on-and-on-and-on-and-on-forever"),
            "a-very-long-title-that-goes-on-and-on-and-on-and"
        );
    }
}
