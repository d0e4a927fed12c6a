//! The eval cases and their directory format (docs/eval.md): one folder per case with a
//! `case.yml` (the role, the task, the expected answer) and the repository's files under `repo/`,
//! plus `head/` (a Reviewer case's pull request) or `hidden/` (a Developer case's hidden tests).
//! The same loader reads a team's own folder (`--cases DIR`) and the built-in set.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::vocab::Role;

/// Largest file a case may hold (cases are small repositories, not data sets).
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most files one cases folder may hold.
const MAX_FILES: usize = 5000;

/// A file of a case: path relative to its part (`repo/`, `head/`, `hidden/`) and bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// One case, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// The folder's name.
    pub name: String,
    pub role: Role,
    pub spec: Spec,
    /// The repository (a Reviewer case: the base branch).
    pub repo: Files,
    /// A Reviewer case: the files the pull request changes or adds.
    pub head: Files,
    /// A Developer case: the hidden tests, copied in only after the role finished.
    pub hidden: Files,
}

/// `case.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub role: String,
    /// The task's title (Developer and Reviewer cases).
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub acceptance: Vec<String>,
    /// The task's body.
    #[serde(default)]
    pub body: String,
    /// Paths the task names (`files:` of the task).
    #[serde(default)]
    pub files: Vec<String>,
    /// Developer: the command that runs the hidden tests in the finished repository.
    #[serde(default)]
    pub hidden_tests: Option<String>,
    /// Reviewer: the pull request's title and body (default: the task's title, `Task: T-0001`).
    #[serde(default)]
    pub pr_title: Option<String>,
    #[serde(default)]
    pub pr_body: Option<String>,
    #[serde(default)]
    pub expect: Expect,
}

/// What a right answer is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Reviewer: the verdict, or a list of verdicts that are all right.
    #[serde(default)]
    pub verdict: Option<OneOrMany>,
    /// Reviewer: each criterion's status in order (`met`, `not_met`, `unclear`, or `any`).
    #[serde(default)]
    pub criteria: Vec<String>,
    /// Reviewer: the change is clean (any finding on it is a false alarm).
    #[serde(default)]
    pub clean: bool,
    /// Planner: how many tasks the proposals must hold.
    #[serde(default)]
    pub min_tasks: Option<usize>,
    #[serde(default)]
    pub max_tasks: Option<usize>,
    /// Planner: the largest estimate one proposed task may have.
    #[serde(default)]
    pub max_estimate_hours: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

const VERDICTS: [&str; 3] = ["approve", "request_changes", "comment"];
const STATUSES: [&str; 4] = ["met", "not_met", "unclear", "any"];

/// Cases from `(path, bytes)` pairs, paths relative to the cases folder (`NAME/case.yml`,
/// `NAME/repo/...`). `origin` names the folder in messages.
pub fn from_files(files: Files, origin: &str) -> anyhow::Result<Vec<Case>> {
    let mut by_case: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (path, bytes) in files {
        let Some((name, rest)) = path.split_once('/') else {
            continue; // a README beside the cases
        };
        by_case
            .entry(name.to_string())
            .or_default()
            .insert(rest.to_string(), bytes);
    }
    let mut cases = Vec::new();
    for (name, files) in by_case {
        let Some(spec) = files.get("case.yml") else {
            continue;
        };
        let case = parse_case(&name, spec, &files)
            .with_context(|| format!("case {name} in {origin} ({name}/case.yml)"))?;
        cases.push(case);
    }
    if cases.is_empty() {
        bail!("{origin} holds no case: each case is a folder with a case.yml (see docs/eval.md)");
    }
    Ok(cases)
}

fn part(files: &BTreeMap<String, Vec<u8>>, dir: &str) -> Files {
    files
        .iter()
        .filter_map(|(p, b)| {
            p.strip_prefix(&format!("{dir}/"))
                .map(|rest| (rest.to_string(), b.clone()))
        })
        .collect()
}

fn parse_case(name: &str, spec: &[u8], files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Case> {
    let text = std::str::from_utf8(spec).context("case.yml is not UTF-8 text")?;
    let value = crate::tasks::yaml_text::parse_value(text).map_err(|e| {
        anyhow::anyhow!(
            "case.yml does not parse{}: {}",
            e.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            e.message
        )
    })?;
    let spec: Spec = serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("case.yml: {e} (the keys are listed in docs/eval.md)"))?;
    let role = match spec.role.trim() {
        "developer" => Role::Developer,
        "reviewer" => Role::Reviewer,
        "planner" => Role::Planner,
        other => {
            bail!("role: {other:?} is not one eval measures; use developer, reviewer or planner")
        }
    };
    let case = Case {
        name: name.to_string(),
        role,
        repo: part(files, "repo"),
        head: part(files, "head"),
        hidden: part(files, "hidden"),
        spec,
    };
    check(&case)?;
    Ok(case)
}

/// The mistakes a case author can make, each with what to do.
fn check(case: &Case) -> anyhow::Result<()> {
    let s = &case.spec;
    if case.repo.is_empty() {
        bail!("repo/ is empty or missing: put the repository's files there");
    }
    match case.role {
        Role::Developer => {
            if s.title.trim().is_empty() || s.acceptance.is_empty() {
                bail!("a developer case needs a `title` and `acceptance` criteria");
            }
            if s.hidden_tests
                .as_deref()
                .is_none_or(|c| c.trim().is_empty())
            {
                bail!(
                    "a developer case needs `hidden_tests`: the command that runs hidden/'s tests"
                );
            }
            if case.hidden.is_empty() {
                bail!("hidden/ is empty or missing: put the tests the model never sees there");
            }
        }
        Role::Reviewer => {
            if s.title.trim().is_empty() || s.acceptance.is_empty() {
                bail!("a reviewer case needs a `title` and `acceptance` criteria");
            }
            if case.head.is_empty() {
                bail!("head/ is empty or missing: put the files the pull request changes there");
            }
            let verdicts = s
                .expect
                .verdict
                .as_ref()
                .map(OneOrMany::list)
                .unwrap_or_default();
            if verdicts.is_empty() {
                bail!("expect.verdict is missing: approve, request_changes or comment (or a list)");
            }
            if let Some(v) = verdicts.iter().find(|v| !VERDICTS.contains(&v.as_str())) {
                bail!("expect.verdict {v:?} is not one of approve, request_changes, comment");
            }
            if let Some(c) = s
                .expect
                .criteria
                .iter()
                .find(|c| !STATUSES.contains(&c.as_str()))
            {
                bail!("expect.criteria {c:?} is not one of met, not_met, unclear, any");
            }
            if s.expect.criteria.len() > s.acceptance.len() {
                bail!(
                    "expect.criteria has {} statuses for {} acceptance criteria",
                    s.expect.criteria.len(),
                    s.acceptance.len()
                );
            }
        }
        _ => {
            if let (Some(lo), Some(hi)) = (s.expect.min_tasks, s.expect.max_tasks)
                && lo > hi
            {
                bail!("expect.min_tasks ({lo}) is above expect.max_tasks ({hi})");
            }
        }
    }
    for (path, _) in case.repo.iter().chain(&case.head).chain(&case.hidden) {
        if crate::forge::local::store::clean_path(path).is_err() {
            bail!("{path:?} is not a plain relative path");
        }
    }
    Ok(())
}

/// Reads a cases folder (`--cases DIR`).
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Case>> {
    if !dir.is_dir() {
        bail!(
            "--cases {}: not a directory; point it at a folder of cases (see docs/eval.md)",
            dir.display()
        );
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    from_files(files, &dir.display().to_string())
}

fn walk(root: &Path, dir: &Path, out: &mut Files) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if entry.file_name() == ".git" || kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            if entry.metadata()?.len() > MAX_FILE_BYTES {
                bail!(
                    "{} is larger than {} KiB; cases are small repositories",
                    path.display(),
                    MAX_FILE_BYTES / 1024
                );
            }
            if out.len() >= MAX_FILES {
                bail!("{} holds more than {MAX_FILES} files", root.display());
            }
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            out.push((rel, bytes));
        }
    }
    Ok(())
}

/// The built-in set, shipped in the binary.
pub fn builtin() -> Vec<Case> {
    let files = super::builtin::FILES
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
    from_files(files, "the built-in cases").expect("the built-in cases are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_set_loads_with_every_role() {
        let cases = builtin();
        let count = |r: Role| cases.iter().filter(|c| c.role == r).count();
        assert_eq!(count(Role::Developer), 3);
        assert_eq!(count(Role::Reviewer), 4);
        assert_eq!(count(Role::Planner), 1);
        let clean = cases.iter().filter(|c| c.spec.expect.clean).count();
        assert_eq!(clean, 2);
    }

    fn one(spec: &str, extra: &[(&str, &str)]) -> anyhow::Result<Vec<Case>> {
        let mut files: Files = vec![
            ("c/case.yml".into(), spec.as_bytes().to_vec()),
            ("c/repo/a.py".into(), b"x = 1\n".to_vec()),
        ];
        files.extend(
            extra
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec())),
        );
        from_files(files, "test")
    }

    #[test]
    fn a_broken_case_says_what_to_fix() {
        let err =
            |spec: &str, extra: &[(&str, &str)]| format!("{:#}", one(spec, extra).unwrap_err());
        assert!(err("role: integrator\n", &[]).contains("use developer, reviewer or planner"));
        assert!(err("role: planner\nexpekt: {}\n", &[]).contains("unknown field"));
        assert!(err("role: developer\ntitle: t\nacceptance: [a]\n", &[]).contains("hidden_tests"));
        let head = [("c/head/a.py", "x = 2\n")];
        assert!(
            err(
                "role: reviewer\ntitle: t\nacceptance: [a]\nexpect: {verdict: maybe}\n",
                &head
            )
            .contains("not one of approve")
        );
        assert!(
            err(
                "role: reviewer\ntitle: t\nacceptance: [a]\nexpect: {verdict: approve, criteria: [met, met]}\n",
                &head
            )
            .contains("2 statuses for 1 acceptance")
        );
        assert!(err("role: [\n", &[]).contains("does not parse"));
        let ok = one(
            "role: reviewer\ntitle: t\nacceptance: [a]\nexpect: {verdict: [approve, comment]}\n",
            &head,
        )
        .unwrap();
        assert_eq!(
            ok[0].spec.expect.verdict.as_ref().unwrap().list(),
            ["approve", "comment"]
        );
    }
}
