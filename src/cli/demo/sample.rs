//! The demo's target repository, `sample-python-app` (the seed's scaffold), embedded in the
//! binary from `examples/sample-python-app/` so the demo needs nothing on disk but its output.

use crate::forge::FileChange;

/// Every file of the sample repository, path and contents.
pub const FILES: &[(&str, &str)] = &[
    (
        ".llm-team.yml",
        include_str!("../../../examples/sample-python-app/.llm-team.yml"),
    ),
    (
        "CODEOWNERS",
        include_str!("../../../examples/sample-python-app/CODEOWNERS"),
    ),
    (
        "README.md",
        include_str!("../../../examples/sample-python-app/README.md"),
    ),
    (
        "docs/PRD.md",
        include_str!("../../../examples/sample-python-app/docs/PRD.md"),
    ),
    (
        "requirements.txt",
        include_str!("../../../examples/sample-python-app/requirements.txt"),
    ),
    (
        "src/__init__.py",
        include_str!("../../../examples/sample-python-app/src/__init__.py"),
    ),
    (
        "src/app.py",
        include_str!("../../../examples/sample-python-app/src/app.py"),
    ),
    (
        "tasks/_template.md",
        include_str!("../../../examples/sample-python-app/tasks/_template.md"),
    ),
    (
        "tests/test_app.py",
        include_str!("../../../examples/sample-python-app/tests/test_app.py"),
    ),
    (
        "tests/test_smoke.py",
        include_str!("../../../examples/sample-python-app/tests/test_smoke.py"),
    ),
];

pub const NAME: &str = "sample-python-app";
pub const BRANCH: &str = "main";

pub fn changes() -> Vec<FileChange> {
    FILES
        .iter()
        .map(|(p, c)| FileChange::write(*p, c.as_bytes()))
        .collect()
}
