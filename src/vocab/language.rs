//! The main language of a repository, as the Taskmaster's seed, the CI-setup task and the
//! Developer's default test command see it; detected from paths only (no disk here).

/// The main language of a repository, for the seed task's title and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Language {
    Python,
    Rust,
    Node,
    Go,
    Generic,
}

impl Language {
    /// The name used in the seed title: `Initialize basic CI for <name>`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
            Language::Node => "Node.js",
            Language::Go => "Go",
            Language::Generic => "the project",
        }
    }

    /// What the CI workflow must run, as an acceptance criterion a reviewer can check.
    pub fn test_criterion(self) -> &'static str {
        match self {
            Language::Python => {
                "The workflow installs the project's dependencies and runs `pytest`; the job fails when a test fails"
            }
            Language::Rust => {
                "The workflow runs `cargo build` and `cargo test`; the job fails when a test fails"
            }
            Language::Node => {
                "The workflow runs `npm ci` and `npm test`; the job fails when a test fails"
            }
            Language::Go => {
                "The workflow runs `go build ./...` and `go test ./...`; the job fails when a test fails"
            }
            Language::Generic => {
                "The workflow runs the project's build and tests (or a documented placeholder check until tests exist); the job fails when a check fails"
            }
        }
    }
}

/// Directories never searched for source files.
pub const SKIP_DIRS: [&str; 6] = ["node_modules", "target", "vendor", "venv", "dist", "build"];

/// Detects the language from a list of repository-relative paths (e.g. a git tree listing):
/// Python (`pyproject.toml`, `requirements.txt`, `setup.py`), Rust (`Cargo.toml`), Node
/// (`package.json`), Go (`go.mod`), checked at the root in that order; then any `*.py` file;
/// else generic.
pub fn detect_language_from_paths<S: AsRef<str>>(paths: impl IntoIterator<Item = S>) -> Language {
    let paths: Vec<String> = paths
        .into_iter()
        .map(|p| p.as_ref().replace('\\', "/"))
        .collect();
    let root_has = |name: &str| paths.iter().any(|p| p.trim_start_matches("./") == name);
    if ["pyproject.toml", "requirements.txt", "setup.py"]
        .iter()
        .any(|n| root_has(n))
    {
        Language::Python
    } else if root_has("Cargo.toml") {
        Language::Rust
    } else if root_has("package.json") {
        Language::Node
    } else if root_has("go.mod") {
        Language::Go
    } else if paths.iter().any(|p| {
        p.ends_with(".py")
            && !p
                .split('/')
                .any(|seg| seg.starts_with('.') && seg.len() > 1 || SKIP_DIRS.contains(&seg))
    }) {
        Language::Python
    } else {
        Language::Generic
    }
}
