//! Problems found in task files as plain values (file, line, severity, message), so the CLI can
//! print them for people, as JSON, or as GitHub Actions annotations on the offending line (the
//! annotations themselves are the command line's business: `cli::tasks_cmd`).

use std::fmt;

/// How bad a problem is: errors make `tasks validate` exit 1, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// `error` or `warning`, which is also the GitHub Actions command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem in one task file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file, as labelled by the loader (e.g. `tasks/T-0001-ci-setup.md`).
    pub path: String,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    pub severity: Severity,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Diagnostic {
    pub fn error(path: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.into(),
            line,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    pub fn warning(
        path: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.into(),
            line,
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{}: {}: {}",
                self.path,
                line,
                self.severity.as_str(),
                self.message
            ),
            None => write!(
                f,
                "{}: {}: {}",
                self.path,
                self.severity.as_str(),
                self.message
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines() {
        let w = Diagnostic::warning("x.md", None, "m");
        assert_eq!(w.to_string(), "x.md: warning: m");
        let e = Diagnostic::error("x.md", Some(3), "m");
        assert_eq!(e.to_string(), "x.md:3: error: m");
    }
}
