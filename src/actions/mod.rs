//! Runner I/O: step outputs, the job summary, log groups, masks and annotations, written the way
//! the GitHub Actions runner reads them. Workflow commands go to stderr (the runner reads both
//! streams) so stdout stays clean for `--json`. Outside Actions the same calls print plain text, so every
//! command works the same on a laptop.

pub(crate) mod escape;

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
        let text = if markdown.len() < room {
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
        if self.in_actions {
            eprintln!("{}", annotation(level, place, message));
            return;
        }
        let at = match (&place.file, place.line) {
            (Some(f), Some(l)) => format!("{f}:{l}: "),
            (Some(f), None) => format!("{f}: "),
            _ => String::new(),
        };
        eprintln!("{}: {at}{message}", level.command());
    }

    /// Echoes untrusted text (PR titles, model replies) to the log with workflow commands
    /// switched off, so a line like `::add-mask::` or `::set-env` inside it does nothing.
    pub fn echo_untrusted(&self, label: &str, text: &str) {
        if self.in_actions {
            eprintln!("{}", untrusted_block(label, text, &escape::random_token()));
        } else {
            eprintln!("{label}:\n{text}");
        }
    }
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// The workflow command for an annotation, escaped as the Actions toolkit does.
pub fn annotation(level: Level, place: &Place, message: &str) -> String {
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
    format!(
        "::{}{sep}{}::{}",
        level.command(),
        props.join(","),
        escape::data(message)
    )
}

/// Untrusted text between `::stop-commands::TOKEN` and `::TOKEN::`: the runner executes no
/// workflow command inside, and the text cannot end the block without knowing `token`.
pub fn untrusted_block(label: &str, text: &str, token: &str) -> String {
    format!("{label}:\n::stop-commands::{token}\n{text}\n::{token}::")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn runner_in(dir: &std::path::Path) -> Runner {
        Runner {
            in_actions: true,
            output_file: Some(dir.join("out")),
            summary_file: Some(dir.join("summary")),
        }
    }

    #[test]
    fn outputs_survive_eof_and_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let runner = runner_in(dir.path());
        let tricky = "line one\nEOF\nname<<EOF\n\nghadelimiter_\r\nlast";
        runner.set_output("verdict", tricky).unwrap();
        runner.set_output("role", "reviewer").unwrap();
        let text = std::fs::read_to_string(dir.path().join("out")).unwrap();
        let verdict_block = format!("{tricky}\n");
        let (_, rest) = text.split_once("verdict<<").unwrap();
        let (delim, rest) = rest.split_once('\n').unwrap();
        assert!(delim.starts_with("ghadelimiter_") && delim.len() > 40);
        assert!(rest.starts_with(&verdict_block));
        assert!(rest[verdict_block.len()..].starts_with(&format!("{delim}\nrole<<")));
        assert!(runner.set_output("bad\nname", "x").is_err());
    }

    #[test]
    fn summary_stays_under_one_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let runner = runner_in(dir.path());
        runner.append_summary("# start").unwrap();
        let big = "é".repeat(400_000); // 800,000 bytes, two-byte chars
        runner.append_summary(&big).unwrap();
        runner.append_summary(&big).unwrap();
        runner.append_summary(&big).unwrap();
        let text = std::fs::read_to_string(dir.path().join("summary")).unwrap();
        assert!(text.len() as u64 <= SUMMARY_LIMIT, "{} bytes", text.len());
        assert!(text.starts_with("# start\n"));
        assert!(text.contains("summary cut"));
    }

    #[test]
    fn annotations_are_escaped() {
        let place = Place {
            file: Some("tasks/a,b:c.md".into()),
            line: Some(7),
            title: None,
        };
        assert_eq!(
            annotation(Level::Error, &place, "bad: 100%\nnext"),
            "::error file=tasks/a%2Cb%3Ac.md,line=7::bad: 100%25%0Anext"
        );
        assert_eq!(
            annotation(Level::Notice, &Place::default(), "hi"),
            "::notice::hi"
        );
    }

    #[test]
    fn untrusted_text_is_fenced_by_the_token() {
        let block = untrusted_block("PR title", "::add-mask::x\n::set-output name=a::b", "t0k");
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines[1], "::stop-commands::t0k");
        assert_eq!(lines.last(), Some(&"::t0k::"));
        assert_eq!(lines.iter().filter(|l| **l == "::t0k::").count(), 1);
    }
}
