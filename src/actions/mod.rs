//! Runner I/O: step outputs, the job summary, log groups, masks and annotations, written the way
//! the GitHub Actions runner reads them. Workflow commands go to stderr (the runner reads both
//! streams) so stdout stays clean for `--json`. Outside Actions the same calls print plain text, so every
//! command works the same on a laptop.

pub mod escape;

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

/// GitHub refuses step summaries above 1 MiB.
pub const SUMMARY_LIMIT: u64 = 1024 * 1024;

/// Severity of an annotation (`::error`, `::warning`, `::notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

/// Where an annotation points.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub title: Option<String>,
}

/// The runner's files and command channel, read once from the environment.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    /// `GITHUB_ACTIONS=true`: print workflow commands instead of plain text.
    pub in_actions: bool,
    pub output_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
}

impl Runner {
    pub fn from_env() -> Self {
        let path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Runner {
            in_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            output_file: path("GITHUB_OUTPUT"),
            summary_file: path("GITHUB_STEP_SUMMARY"),
        }
    }

    /// Sets a step output with a random heredoc delimiter, so values with newlines or the word
    /// `EOF` survive intact. Without `GITHUB_OUTPUT` the pair goes to stderr.
    pub fn set_output(&self, name: &str, value: &str) -> io::Result<()> {
        if name.is_empty() || name.contains(['\n', '\r', '<']) {
            return Err(io::Error::other(format!(
                "invalid step output name {name:?}"
            )));
        }
        let Some(file) = &self.output_file else {
            eprintln!("output {name}={value}");
            return Ok(());
        };
        let delimiter = format!("ghadelimiter_{}", escape::random_token());
        if value.contains(&delimiter) {
            return Err(io::Error::other("step output value contains its delimiter"));
        }
        let mut f = OpenOptions::new().append(true).create(true).open(file)?;
        write!(f, "{name}<<{delimiter}\n{value}\n{delimiter}\n")
    }

    /// Appends Markdown to the job summary, keeping the file under GitHub's 1 MiB limit.
    /// Without `GITHUB_STEP_SUMMARY` the Markdown goes to stderr.
    pub fn append_summary(&self, markdown: &str) -> io::Result<()> {
        let Some(file) = &self.summary_file else {
            eprintln!("{markdown}");
            return Ok(());
        };
        let used = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let note = "\n\n_(summary cut: GitHub keeps at most 1 MiB per step)_\n";
        let room = SUMMARY_LIMIT.saturating_sub(used) as usize;
        let text = if markdown.len() + 1 <= room {
            format!("{markdown}\n")
        } else if room > note.len() {
            let mut cut = room - note.len();
            while !markdown.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}{note}", &markdown[..cut])
        } else {
            return Ok(());
        };
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)?
            .write_all(text.as_bytes())
    }

    /// Opens a collapsible log group; it closes when the guard drops.
    pub fn group(&self, title: &str) -> Group {
        if self.in_actions {
            eprintln!("::group::{}", escape::data(title));
        } else {
            eprintln!("== {title}");
        }
        Group {
            in_actions: self.in_actions,
        }
    }

    /// Masks a secret in all later log lines (each line separately, as the runner matches lines).
    pub fn mask(&self, secret: &str) {
        if !self.in_actions {
            return;
        }
        for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
            eprintln!("::add-mask::{}", escape::data(line));
        }
    }

    /// Prints an annotation (`::error file=…,line=…::message`).
    pub fn annotate(&self, level: Level, place: &Place, message: &str) {
        let cmd = match level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        };
        if !self.in_actions {
            let at = match (&place.file, place.line) {
                (Some(f), Some(l)) => format!("{f}:{l}: "),
                (Some(f), None) => format!("{f}: "),
                _ => String::new(),
            };
            eprintln!("{cmd}: {at}{message}");
            return;
        }
        let mut props = Vec::new();
        if let Some(f) = &place.file {
            props.push(format!("file={}", escape::property(f)));
        }
        if let Some(l) = place.line {
            props.push(format!("line={l}"));
        }
        if let Some(t) = &place.title {
            props.push(format!("title={}", escape::property(t)));
        }
        let sep = if props.is_empty() { "" } else { " " };
        eprintln!("::{cmd}{sep}{}::{}", props.join(","), escape::data(message));
    }

    /// Echoes untrusted text (PR titles, model replies) to the log with workflow commands
    /// switched off, so a line like `::add-mask::` or `::set-env` inside it does nothing.
    pub fn echo_untrusted(&self, label: &str, text: &str) {
        if !self.in_actions {
            eprintln!("{label}:\n{text}");
            return;
        }
        let token = escape::random_token();
        eprintln!("{label}:");
        eprintln!("::stop-commands::{token}");
        eprintln!("{text}");
        eprintln!("::{token}::");
    }
}

/// Closes a log group on drop.
pub struct Group {
    in_actions: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.in_actions {
            eprintln!("::endgroup::");
        }
    }
}
