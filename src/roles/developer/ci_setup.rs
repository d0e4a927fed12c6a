//! The deterministic CI-setup task (the seed's first task, no model needed): a minimal CI
//! workflow and a smoke test fitted to the detected language, plus a README note on running the
//! same checks locally.

use crate::tasks::Task;
use crate::vocab::Language;

/// The workflow file the task adds.
pub const WORKFLOW_PATH: &str = ".github/workflows/ci.yml";

const CHECKOUT: &str = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0";

/// Whether `task` is the CI-setup task the deterministic path handles.
pub fn is_ci_setup(task: &Task) -> bool {
    let title = task.meta().title.to_lowercase();
    task.id().to_string() == "T-0001"
        && (title.contains(" ci") || title.contains("continuous integration"))
        || title.starts_with("initialize basic ci")
}

/// The test command CI runs for `language` (the configured `checks.test_command` wins).
pub fn test_command(language: Language, configured: Option<&str>) -> String {
    if let Some(c) = configured.filter(|c| !c.trim().is_empty()) {
        return c.to_string();
    }
    match language {
        Language::Python => "python3 -m pytest -q",
        Language::Rust => "cargo test --locked",
        Language::Node => "npm test",
        Language::Go => "go test ./...",
        Language::Generic => "echo 'no tests yet: add your test command to checks.test_command'",
    }
    .to_string()
}

/// (path, contents) of every file the task writes, given the current README.
pub fn files(
    language: Language,
    default_branch: &str,
    configured_test: Option<&str>,
    readme: Option<&str>,
) -> Vec<(String, String)> {
    let test = test_command(language, configured_test);
    let setup = match language {
        Language::Python => {
            "python3 -m pip install --upgrade pip pytest\n          if [ -f requirements.txt ]; then python3 -m pip install -r requirements.txt; fi"
        }
        Language::Rust => "rustc --version && cargo --version",
        Language::Node => "if [ -f package-lock.json ]; then npm ci; else npm install; fi",
        Language::Go => "go version",
        Language::Generic => "true",
    };
    let workflow = format!(
        "# CI: builds the project and runs its tests on every push to {default_branch} and on every pull request.\n\
         # Added by codex-orchestrator (task T-0001); extend it as the project grows.\n\
         name: CI\n\
         on:\n  push:\n    branches: [{default_branch}]\n  pull_request:\n\
         permissions:\n  contents: read\n\
         jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n\
         \x20     - uses: {CHECKOUT}\n        with:\n          persist-credentials: false\n\
         \x20     - name: Set up\n        run: |\n          {setup}\n\
         \x20     - name: Test\n        run: {test}\n"
    );
    let mut out = vec![(WORKFLOW_PATH.to_string(), workflow)];
    match language {
        Language::Python => out.push((
            "tests/test_smoke.py".into(),
            "\"\"\"Smoke test: every Python file of the project compiles.\"\"\"\n\nimport pathlib\nimport py_compile\n\n\ndef test_python_files_compile():\n    root = pathlib.Path(__file__).resolve().parents[1]\n    skip = {\".venv\", \"venv\", \"site-packages\", \".git\", \"node_modules\"}\n    files = [p for p in root.rglob(\"*.py\") if not skip & set(p.parts)]\n    assert files, \"no Python files found\"\n    for path in files:\n        py_compile.compile(str(path), doraise=True)\n".into(),
        )),
        Language::Rust => out.push((
            "tests/smoke.rs".into(),
            "//! Smoke test: the crate's test harness builds and runs.\n\n#[test]\nfn smoke() {\n    assert_eq!(env!(\"CARGO_PKG_NAME\").is_empty(), false);\n}\n".into(),
        )),
        Language::Node => out.push((
            "test/smoke.test.js".into(),
            "// Smoke test: package.json parses and names the package.\nconst test = require('node:test');\nconst assert = require('node:assert');\nconst fs = require('node:fs');\n\ntest('package.json is valid', () => {\n  const pkg = JSON.parse(fs.readFileSync(`${__dirname}/../package.json`, 'utf8'));\n  assert.ok(pkg.name);\n});\n".into(),
        )),
        Language::Go | Language::Generic => {}
    }
    let section = format!(
        "## Running the checks locally\n\nCI runs the same command on every pull request:\n\n```sh\n{test}\n```\n"
    );
    let readme = readme.unwrap_or("");
    if !readme.contains("## Running the checks locally") {
        let sep = if readme.is_empty() || readme.ends_with("\n\n") {
            ""
        } else if readme.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        out.push(("README.md".into(), format!("{readme}{sep}{section}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_files_and_readme_note() {
        let files = files(Language::Python, "main", None, Some("# app\n"));
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, [WORKFLOW_PATH, "tests/test_smoke.py", "README.md"]);
        assert!(
            files[0].1.contains("branches: [main]") && files[0].1.contains("python3 -m pytest -q")
        );
        assert!(files[0].1.contains("permissions:\n  contents: read"));
        assert!(!files[0].1.contains("${{"), "no expressions in run steps");
        assert_eq!(
            files[2].1,
            "# app\n\n## Running the checks locally\n\nCI runs the same command on every pull request:\n\n```sh\npython3 -m pytest -q\n```\n"
        );
        let again = super::files(Language::Python, "main", None, Some(&files[2].1));
        assert_eq!(again.len(), 2, "the README note is added once");
        assert!(
            super::files(Language::Rust, "trunk", Some("make test"), None)[0]
                .1
                .contains("run: make test")
        );
    }
}
