//! What kind of file a path is (source, test, docs, lock/generated, …): the reviewer fills the
//! model's context by this order and `checks.require_tests` asks whether tests moved with source.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Source,
    Test,
    Config,
    Docs,
    Other,
    Generated,
}

const SOURCE_EXT: &[&str] = &[
    "py", "rs", "go", "js", "jsx", "ts", "tsx", "mjs", "cjs", "java", "kt", "kts", "scala", "rb",
    "php", "c", "h", "cc", "cpp", "hpp", "cs", "swift", "m", "sh", "bash", "ps1", "lua", "dart",
    "ex", "exs", "erl", "hs", "clj", "sql", "vue", "svelte", "zig", "nim", "pl", "r",
];
const DOC_EXT: &[&str] = &["md", "rst", "txt", "adoc", "org"];
const CONFIG_EXT: &[&str] = &[
    "toml",
    "yaml",
    "yml",
    "json",
    "ini",
    "cfg",
    "conf",
    "xml",
    "gradle",
    "properties",
];
const GENERATED_NAMES: &[&str] = &[
    "cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "pipfile.lock",
    "uv.lock",
    "go.sum",
    "composer.lock",
    "gemfile.lock",
    "flake.lock",
];

pub fn classify(path: &str) -> FileKind {
    let lower = path.to_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if GENERATED_NAMES.contains(&name)
        || name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".snap")
        || lower
            .split('/')
            .any(|c| c == "vendor" || c == "node_modules" || c == "dist" || c == "generated")
    {
        return FileKind::Generated;
    }
    let in_test_dir = lower.split('/').rev().skip(1).any(|c| {
        matches!(
            c,
            "test" | "tests" | "__tests__" | "spec" | "specs" | "testing"
        )
    });
    let test_name = name.starts_with("test_")
        || name.ends_with("_test.go")
        || name.ends_with("_test.py")
        || name.ends_with("_spec.rb")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("test.java")
        || name.ends_with("tests.cs")
        || name == "conftest.py";
    if SOURCE_EXT.contains(&ext) && (in_test_dir || test_name) {
        return FileKind::Test;
    }
    if SOURCE_EXT.contains(&ext) {
        return FileKind::Source;
    }
    if DOC_EXT.contains(&ext) || lower.starts_with("docs/") {
        return FileKind::Docs;
    }
    if CONFIG_EXT.contains(&ext)
        || name.starts_with('.')
        || name == "dockerfile"
        || name == "makefile"
    {
        return FileKind::Config;
    }
    FileKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_layouts() {
        for (p, k) in [
            ("src/app.py", FileKind::Source),
            ("tests/test_smoke.py", FileKind::Test),
            ("pkg/server_test.go", FileKind::Test),
            ("web/src/App.test.tsx", FileKind::Test),
            ("src/lib.rs", FileKind::Source),
            ("tests/cli.rs", FileKind::Test),
            ("README.md", FileKind::Docs),
            ("Cargo.lock", FileKind::Generated),
            ("package-lock.json", FileKind::Generated),
            (".github/workflows/ci.yml", FileKind::Config),
            ("logo.png", FileKind::Other),
        ] {
            assert_eq!(classify(p), k, "{p}");
        }
    }
}
