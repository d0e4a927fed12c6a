//! Task ids (`T-0001`) and the rule that mints new ones so that two planners on two branches do
//! not silently pick the same id: mint above every id seen in files *and* in branch names.

use std::fmt;

/// A task id: `T-` and a number written with at least four digits, zero-padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u32);

impl TaskId {
    /// Parses the canonical form only (`T-0001`, not `T-1`, `t-0001` or `T-00001`), so that one
    /// task has exactly one spelling and filenames, branches and `depends_on` always agree.
    pub fn parse(s: &str) -> Option<TaskId> {
        let digits = s.strip_prefix("T-")?;
        if digits.len() < 4 || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = digits.parse().ok()?;
        let id = TaskId(n);
        (id.to_string() == s).then_some(id)
    }

    /// The number part.
    pub fn number(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T-{:04}", self.0)
    }
}

impl serde::Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Every task id written anywhere in `text` (e.g. a branch name `plan/T-0007-T-0009`).
/// Ids are found as `T-` followed by four or more digits not preceded by a letter or digit.
pub fn ids_in_text(text: &str) -> Vec<TaskId> {
    id_spans(text, IdForm::Strict)
        .into_iter()
        .map(|(_, _, id)| id)
        .collect()
}

/// How strictly [`id_spans`] reads an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdForm {
    /// `T-` and four to nine digits, not preceded by a letter or digit: the ids that count.
    Strict,
    /// `T-` or `t-` and one to nine digits, not preceded by a letter, digit or `_` and not
    /// followed by a letter: whatever looks like an id (`T-3`, `t-0003`), for reports only.
    Loose,
}

/// Each id in `text` with its byte span (from the `T` to the last digit), in order.
pub(super) fn id_spans(text: &str, form: IdForm) -> Vec<(usize, usize, TaskId)> {
    let loose = form == IdForm::Loose;
    let digits = if loose { 1..=9 } else { 4..=9 };
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 < bytes.len() {
        let boundary = i == 0 || {
            let b = bytes[i - 1];
            !(b.is_ascii_alphanumeric() || (loose && b == b'_'))
        };
        let t = bytes[i] == b'T' || (loose && bytes[i] == b't');
        if boundary && t && bytes[i + 1] == b'-' {
            let start = i + 2;
            let end = start
                + bytes[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            let tail_ok = !loose || bytes.get(end).is_none_or(|b| !b.is_ascii_alphabetic());
            if digits.contains(&(end - start))
                && tail_ok
                && let Ok(n) = text[start..end].parse::<u32>()
            {
                found.push((i, end, TaskId(n)));
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

/// Mints `count` new consecutive ids above every id in `known` (task files on the base branch and
/// on any other branch the caller read) and every id named in `ref_names` (open PR head branches,
/// remote branches). New callers use [`Reservations::mint_ids`](super::Reservations::mint_ids),
/// which also sees open pull requests, keeps a caller's own branch out and bounds untrusted
/// claims; see the module documentation of [`crate::tasks`] for the full rule.
pub fn mint_ids(
    count: usize,
    known: impl IntoIterator<Item = TaskId>,
    ref_names: &[&str],
) -> Vec<TaskId> {
    let max_known = known.into_iter().map(TaskId::number).max().unwrap_or(0);
    let max_ref = ref_names
        .iter()
        .flat_map(|r| ids_in_text(r))
        .map(TaskId::number)
        .max()
        .unwrap_or(0);
    let base = max_known.max(max_ref);
    (1..=count as u32).map(|k| TaskId(base + k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_canonical_only() {
        assert_eq!(TaskId::parse("T-0001"), Some(TaskId(1)));
        assert_eq!(TaskId::parse("T-12345"), Some(TaskId(12345)));
        for bad in [
            "T-1", "T-00001", "t-0001", "T-000a", "T-", "", "T-0001 ", "X-0001",
        ] {
            assert_eq!(TaskId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_in_branch_names() {
        assert_eq!(
            ids_in_text("plan/T-0007-T-0009"),
            vec![TaskId(7), TaskId(9)]
        );
        assert_eq!(ids_in_text("feature/T-0004-x"), vec![TaskId(4)]);
        assert_eq!(ids_in_text("feature/AT-0004 T-12"), vec![]);
    }

    #[test]
    fn mint_above_files_and_branches() {
        let ids = mint_ids(2, [TaskId(3), TaskId(5)], &["plan/T-0007-T-0009", "main"]);
        assert_eq!(ids, vec![TaskId(10), TaskId(11)]);
        assert_eq!(mint_ids(1, [], &[]), vec![TaskId(1)]);
    }
}
