//! `/codex <role> [T-XXXX] [boost]` commands in PR comments: how a maintainer asks for a role
//! by hand. Only the first line counts; the author must be trusted (checked by the router).

use crate::vocab::Role;

/// A parsed comment command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub role: Role,
    pub task: Option<String>,
    pub boost: bool,
}

/// What the first line of a comment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The comment is not addressed to us.
    NotACommand,
    /// `/codex` followed by something we do not understand.
    Invalid(String),
    Command(Command),
}

/// Parses a comment body. The command must open the comment: `/codex review`.
pub fn parse(body: &str) -> Parsed {
    let first = body.trim_start().lines().next().unwrap_or("");
    let mut words = first.split_whitespace();
    if words.next() != Some("/codex") {
        return Parsed::NotACommand;
    }
    let Some(role_word) = words.next() else {
        return Parsed::Invalid(
            "`/codex` needs a role: review, develop, integrate, plan or taskmaster".into(),
        );
    };
    let role = match role_word.parse::<Role>() {
        Ok(role) => role,
        Err(e) => return Parsed::Invalid(e.to_string()),
    };
    let mut command = Command {
        role,
        task: None,
        boost: false,
    };
    for word in words {
        if word.eq_ignore_ascii_case("boost") || word == "--boost" {
            command.boost = true;
        } else if is_task_id(word) {
            command.task = Some(word.to_ascii_uppercase());
        } else {
            return Parsed::Invalid(format!(
                "`/codex {role_word}` does not take {word:?}: only a task id (T-0003) and `boost`"
            ));
        }
    }
    Parsed::Command(command)
}

/// `T-` followed by digits.
pub fn is_task_id(s: &str) -> bool {
    let mut parts = s.splitn(2, '-');
    matches!(parts.next(), Some("T" | "t"))
        && parts
            .next()
            .is_some_and(|n| !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse("  /codex develop T-0003 boost\nplease"),
            Parsed::Command(Command {
                role: Role::Developer,
                task: Some("T-0003".into()),
                boost: true
            })
        );
        assert_eq!(
            parse("/codex review"),
            Parsed::Command(Command {
                role: Role::Reviewer,
                task: None,
                boost: false
            })
        );
        assert_eq!(parse("LGTM /codex review"), Parsed::NotACommand);
        assert_eq!(parse("/codexreview"), Parsed::NotACommand);
        assert!(matches!(parse("/codex"), Parsed::Invalid(_)));
        assert!(matches!(parse("/codex deploy"), Parsed::Invalid(_)));
        assert!(matches!(
            parse("/codex review; rm -rf /"),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn task_ids() {
        assert!(is_task_id("T-0001"));
        assert!(is_task_id("t-12"));
        assert!(!is_task_id("T-"));
        assert!(!is_task_id("T-12a"));
        assert!(!is_task_id("X-0001"));
    }
}
