//! Problems found in task files as plain values (file, line, severity, message), so the CLI can
//! print them for people, as JSON, or as GitHub Actions annotations on the offending line.

use std::fmt;

use crate::actions::{Level, Place, Runner, annotation};
use std::io::{self, Write};

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

    /// The GitHub Actions workflow command for this problem:
    /// `::error file=PATH,line=N::MESSAGE`.
    pub fn to_annotation(&self) -> String {
        let level = match self.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        let place = Place {
            file: Some(self.path.clone()),
            line: self.line,
            title: None,
        };
        annotation(level, &place, &self.message)
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

/// Whether we run inside GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn in_github_actions() -> bool {
    Runner::from_env().in_actions
}

/// Writes diagnostics one per line: as workflow commands when `annotations` is true (pass
/// [`in_github_actions`]), otherwise as `path:line: severity: message`.
pub fn emit(diagnostics: &[Diagnostic], annotations: bool, out: &mut dyn Write) -> io::Result<()> {
    for d in diagnostics {
        if annotations {
            writeln!(out, "{}", d.to_annotation())?;
        } else {
            writeln!(out, "{d}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_escaping() {
        let d = Diagnostic::error("tasks/a,b:c%.md", Some(3), "50% bad\r\nnext: line, ok");
        assert_eq!(
            d.to_annotation(),
            "::error file=tasks/a%2Cb%3Ac%25.md,line=3::50%25 bad%0D%0Anext: line, ok"
        );
        let w = Diagnostic::warning("x.md", None, "m");
        assert_eq!(w.to_annotation(), "::warning file=x.md::m");
        assert_eq!(w.to_string(), "x.md: warning: m");
    }
}
