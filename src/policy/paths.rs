//! Path safety for tree changes: a path must stay inside the repository (no `..`, absolute paths,
//! backslashes, NUL, `.git/`, unicode look-alikes of `/` and `.`), and must not match a protected
//! glob, compared case-insensitively (macOS and Windows checkouts fold case).

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::PolicyError;

/// Characters that render like `/`, `\` or `.` and could disguise a path.
const LOOKALIKES: [char; 10] = [
    '\u{2215}', // division slash
    '\u{2044}', // fraction slash
    '\u{FF0F}', // fullwidth solidus
    '\u{29F8}', // big solidus
    '\u{FF3C}', // fullwidth reverse solidus
    '\u{2024}', // one dot leader
    '\u{FF0E}', // fullwidth full stop
    '\u{3002}', // ideographic full stop
    '\u{FE52}', // small full stop
    '\u{200B}', // zero-width space
];

/// Checks that `path` is a plain repository-relative path and returns it normalised
/// (`./` segments dropped). Refuses anything that could escape or hide.
pub fn normalise(path: &str) -> Result<String, PolicyError> {
    let refuse = |why: &str| {
        Err(PolicyError::UnsafePath {
            path: path.to_string(),
            why: why.to_string(),
        })
    };
    if path.is_empty() {
        return refuse("empty path");
    }
    if path.contains('\0') || path.chars().any(char::is_control) {
        return refuse("control character in path");
    }
    if path.contains('\\') {
        return refuse("backslash in path");
    }
    if path.starts_with('/') || path.starts_with('~') || path.as_bytes().get(1) == Some(&b':') {
        return refuse("absolute path");
    }
    if path.chars().any(|c| LOOKALIKES.contains(&c)) {
        return refuse("unicode look-alike of a path separator or dot");
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" => return refuse("empty path component"),
            "." => continue,
            ".." => return refuse("`..` leaves the repository"),
            p if p.eq_ignore_ascii_case(".git") => return refuse("inside .git"),
            p if p.trim_end_matches(['.', ' ']).is_empty() => {
                return refuse("path component of dots or spaces");
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return refuse("no file name");
    }
    Ok(parts.join("/"))
}

/// Protected path globs, matched case-insensitively. `dir/` protects everything under `dir`.
#[derive(Debug, Clone)]
pub struct Protected {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Protected {
    pub fn new(patterns: &[String]) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim_start_matches("./");
            let lower = p.to_lowercase();
            let base = lower.trim_end_matches('/');
            builder.add(Glob::new(base)?);
            builder.add(Glob::new(&format!("{base}/**"))?);
        }
        Ok(Protected {
            patterns: patterns.to_vec(),
            set: builder.build()?,
        })
    }

    /// The first protected pattern `path` (normalised) falls under.
    pub fn matching(&self, path: &str) -> Option<&str> {
        let lower = path.to_lowercase();
        let hits = self.set.matches(&lower);
        hits.first().map(|i| self.patterns[i / 2].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_disguises() {
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "a\\b",
            "C:/x",
            ".git/config",
            "sub/.GIT/hooks/pre-commit",
            "a\0b",
            "src\u{2215}..\u{2215}x",
            "",
            "...",
            "a//b",
        ] {
            assert!(normalise(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(normalise("./src/app.py").unwrap(), "src/app.py");
        assert_eq!(normalise("src/./a.py").unwrap(), "src/a.py");
        assert_eq!(normalise("docs/über.md").unwrap(), "docs/über.md");
    }

    #[test]
    fn protected_globs_fold_case() {
        let p = Protected::new(&[".github/".into(), "infra/".into(), "*.pem".into()]).unwrap();
        assert_eq!(p.matching(".github/workflows/ci.yml"), Some(".github/"));
        assert_eq!(p.matching(".GitHub/Workflows/x.yml"), Some(".github/"));
        assert_eq!(p.matching("infra"), Some("infra/"));
        assert_eq!(p.matching("keys/server.PEM"), Some("*.pem"));
        assert_eq!(p.matching("src/github.rs"), None);
        assert_eq!(p.matching("infrastructure.md"), None);
    }
}
