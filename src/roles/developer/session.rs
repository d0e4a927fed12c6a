//! The developer's conversation with the model: ask for SEARCH/REPLACE edits, apply them
//! (all or nothing), judge the resulting change with `policy::change`, write it into the work
//! tree, run the tests and feed failures back, within the round limit. Every round is recorded;
//! a refused or failed session returns no change at all, so the caller has nothing to publish.
//! The change returned is the model's accepted edits, never what the tests wrote.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::context::Selection;
use super::edits::{self, ApplyOptions};
use crate::host::testrun::{Unrunnable, unrunnable};
use crate::host::{Scratch, TestRun, TestRunner};
use crate::llm::budget::truncate_to_tokens;
use crate::llm::{
    LlmError, LlmSettings, Message, PromptLibrary, Route, estimate_tokens, untrusted_block,
};
use crate::policy::Guard;
use crate::policy::change::{self as safety, BaseTree, Limits, Refusal};
use crate::tasks::Task;
use crate::vocab::{FileKind, classify};

/// Room reserved for the model's answer (edits are verbose).
pub const ANSWER_TOKENS: u32 = 4096;
/// Unusable answers (unparseable, SEARCH not found, cut off) tolerated per session.
pub const MAX_CORRECTIONS: u32 = 3;

/// The model side of a session.
pub struct Model<'a> {
    pub llm: &'a dyn crate::llm::Llm,
    pub route: &'a Route,
    pub settings: &'a LlmSettings,
    pub library: &'a PromptLibrary,
    pub repo: &'a str,
    /// Room for each answer (`num_predict`): [`ANSWER_TOKENS`], less on small contexts.
    pub answer_tokens: u32,
}

/// What the session works on and under which rules.
pub struct Job<'a> {
    pub task: &'a Task,
    pub selection: &'a Selection,
    /// `None`: the repository has no test command, tests are not run.
    pub test_command: Option<String>,
    pub test_timeout: Duration,
    /// Test-and-fix rounds after the first edit.
    pub max_rounds: u32,
    pub require_tests: bool,
    pub guard: &'a Guard,
    pub base: &'a BaseTree,
    pub limits: &'a Limits,
    pub secrets: &'a [String],
    /// A file's text in the base tree (`None`: absent or not text).
    pub original: &'a dyn Fn(&str) -> Option<String>,
    /// Runs the repository's tests on the scratch work tree.
    pub tests: &'a dyn TestRunner,
}

/// One model answer and what became of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Round {
    /// The answer's number in the session: 1, 2, 3… (every model answer is a round).
    pub round: u32,
    /// Why it was asked: `first edit`, `correction 1: …`, `fix 1 after failing tests`, …
    pub purpose: String,
    pub outcome: String,
    pub tests_passed: Option<bool>,
}

/// A session that produced a change.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every changed file's new content (relative to the base tree).
    pub changes: BTreeMap<String, Vec<u8>>,
    pub rounds: Vec<Round>,
    /// The last test run (`None` when there is no test command).
    pub tests: Option<TestRun>,
    /// Test-and-fix rounds used (0 when the first edit passed).
    pub fix_rounds: u32,
}

/// Why a session produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the model's change was refused (after one correction): {}", list(.refusals))]
    Refused {
        refusals: Vec<Refusal>,
        rounds: Vec<Round>,
    },
    #[error("the tests still fail after {fix_rounds} fix round(s) (developer.max_rounds); last run: `{}` exited {}", .last.command, exit(.last))]
    TestsFail {
        fix_rounds: u32,
        last: TestRun,
        rounds: Vec<Round>,
        /// The change as it stood (for the summary; never committed).
        changes: BTreeMap<String, Vec<u8>>,
    },
    #[error("the model's answers could not be used after {MAX_CORRECTIONS} corrections: {last}")]
    Unusable { last: String, rounds: Vec<Round> },
    #[error("checks.require_tests: the change adds or changes no test, even after being asked")]
    NoTests { rounds: Vec<Round> },
    /// The first test run showed the tests cannot run on this machine; no fix was asked for.
    #[error("the tests cannot run here: {}; `{}` exited {}. {} (No fix round was asked of the model: the change is not at fault.)", .broken.reason, .last.command, exit(.last), .broken.fix)]
    TestEnvironment {
        broken: Unrunnable,
        last: TestRun,
        rounds: Vec<Round>,
    },
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("cannot write the edits into the checkout: {0}")]
    Workspace(std::io::Error),
}

fn list(r: &[Refusal]) -> String {
    r.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn exit(t: &TestRun) -> String {
    match (t.timed_out, t.code) {
        (true, _) => "no status (timed out)".into(),
        (_, Some(c)) => c.to_string(),
        _ => "no status (killed by a signal)".into(),
    }
}

impl SessionError {
    pub fn rounds(&self) -> &[Round] {
        match self {
            SessionError::Refused { rounds, .. }
            | SessionError::TestsFail { rounds, .. }
            | SessionError::Unusable { rounds, .. }
            | SessionError::TestEnvironment { rounds, .. }
            | SessionError::NoTests { rounds } => rounds,
            _ => &[],
        }
    }
}

fn prompt(model: &Model, job: &Job) -> Result<Vec<Message>, LlmError> {
    let system = model.library.render(
        crate::llm::prompts::SYSTEM_TEMPLATE,
        &json!({"role": "developer", "repo": model.repo, "extra_rules": "You change code by answering with SEARCH/REPLACE blocks only. Never write secrets, never touch files outside the repository."}),
    )?;
    let meta = job.task.meta();
    let acceptance: String = meta.acceptance.iter().map(|a| format!("- {a}\n")).collect();
    let body = job.task.body().trim();
    let mut task_text = format!("Title: {}\n", meta.title);
    if !acceptance.is_empty() {
        task_text.push_str(&format!(
            "\nAcceptance criteria (all must hold when you are done):\n{acceptance}"
        ));
    }
    if !body.is_empty() {
        task_text.push_str(&format!("\nDescription:\n{body}\n"));
    }
    let files: Vec<serde_json::Value> = job
        .selection
        .files
        .iter()
        .map(|f| json!({"path": f.path, "content": f.content}))
        .collect();
    let shown: Vec<(&str, &str)> = job
        .selection
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.content.as_str()))
        .collect();
    let user = model.library.render(
        "developer.md.j2",
        &json!({
            "task": {"id": job.task.id().to_string(), "title": meta.title, "body": body, "acceptance": acceptance},
            "task_text": task_text,
            "files": files,
            "files_text": show_files(&shown),
            "map": job.selection.map,
            "test_command": job.test_command.clone().unwrap_or_default(),
            "require_tests": job.require_tests,
            "format_help": help(job),
        }),
    )?;
    Ok(vec![Message::system(system), Message::user(user)])
}

/// The format instructions with a real path of this task on the example's path line: the
/// first file the task names that is shown, else the first file shown.
fn help(job: &Job) -> String {
    let shown = &job.selection.files;
    let named = job.task.meta().files.iter().find_map(|n| {
        let n = n.trim().trim_start_matches("./");
        shown.iter().find(|f| f.path == n).map(|f| f.path.as_str())
    });
    let code = shown
        .iter()
        .find(|f| classify(&f.path) == FileKind::Source)
        .map(|f| f.path.as_str());
    edits::format_help(named.or(code).or(shown.first().map(|f| f.path.as_str())))
}

/// Files as the model sees them: each after a `File: <path>` line (the shape of an edit's path
/// line), in a code fence longer than any backtick run inside. The caller frames the whole as
/// untrusted data once, so no frame line sits between a path and the lines to copy.
pub fn show_files(files: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (path, content)) in files.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let run = content
            .lines()
            .map(|l| l.trim_start().chars().take_while(|&c| c == '`').count())
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(run.max(2) + 1);
        let nl = if content.is_empty() || content.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        out.push_str(&format!(
            "File: {path}\n{fence}{}\n{content}{nl}{fence}\n",
            fence_language(path)
        ));
    }
    if files.is_empty() {
        out.push_str("(no file is shown; see the repository map)\n");
    }
    out
}

/// The usual code-fence language of a file, from its extension (empty when unknown).
fn fence_language(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "py" => "python",
        "rs" => "rust",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" | "tsx" => "typescript",
        "go" => "go",
        "java" => "java",
        "kt" => "kotlin",
        "rb" => "ruby",
        "sh" | "bash" => "sh",
        "c" | "h" => "c",
        "cc" | "cpp" | "hpp" => "cpp",
        "md" => "markdown",
        "toml" => "toml",
        "yml" | "yaml" => "yaml",
        "json" => "json",
        _ => "",
    }
}

/// The fixed prompt's size in tokens for a selection (used to fit the context).
pub fn prompt_tokens(model: &Model, job: &Job) -> Result<u32, LlmError> {
    Ok(crate::llm::estimate_message_tokens(&prompt(model, job)?))
}

/// Runs the session. Edits are written into `ws` only after they passed the safety check; the
/// caller restores the work tree (dropping `ws`).
///
/// Every model answer is a round, numbered 1, 2, 3… in the order asked; its purpose says why it
/// was asked (the first edit, a correction, a fix after failing tests).
pub async fn run(
    model: &Model<'_>,
    job: &Job<'_>,
    ws: &mut dyn Scratch,
) -> Result<Outcome, SessionError> {
    let first = prompt(model, job)?;
    let help = help(job);
    let mut history: Vec<Message> = Vec::new();
    let mut state: BTreeMap<String, String> = BTreeMap::new();
    let mut rounds: Vec<Round> = Vec::new();
    let mut corrections = 0u32;
    let mut refused_once = false;
    let mut asked_for_tests = false;
    let mut fix_rounds = 0u32;
    let mut tests_run = 0u32;
    let opts = ApplyOptions::default();
    let mut purpose = "first edit".to_string();

    loop {
        let number = rounds.len() as u32 + 1;
        let round = |outcome: String, tests_passed: Option<bool>| Round {
            round: number,
            purpose: purpose.clone(),
            outcome,
            tests_passed,
        };
        let mut messages = first.clone();
        messages.extend(history.iter().cloned());
        let mut request = model
            .route
            .request(model.settings, messages)
            .ok_or(LlmError::NoModel)?;
        request.max_output_tokens = Some(model.answer_tokens);
        request.step = Some(format!("round {number} ({purpose})"));
        let reply = match model.llm.chat(&request).await {
            Ok(r) => r.text,
            Err(LlmError::OutputTruncated { .. }) => {
                corrections += 1;
                let note = format!(
                    "the answer was cut off at {} tokens; make fewer, smaller edits",
                    model.answer_tokens
                );
                rounds.push(round(note.clone(), None));
                if corrections > MAX_CORRECTIONS {
                    return Err(SessionError::Unusable { last: note, rounds });
                }
                purpose = format!("correction {corrections}: the answer was cut off");
                history = vec![Message::user(format!(
                    "Your answer was cut off. Answer again with fewer, smaller SEARCH/REPLACE blocks (only the lines that change, with a little context).\n\n{help}"
                ))];
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // Only the last exchange is kept: small contexts cannot hold the whole conversation,
        // and every feedback message carries the current text of the files it concerns.
        // A reply longer than an answer may be (a server ignoring `num_predict`) is not repeated whole.
        let kept = if estimate_tokens(&reply) > model.answer_tokens {
            format!(
                "{}\n[… the rest of this answer ({} bytes in all) is not repeated …]",
                truncate_to_tokens(&reply, model.answer_tokens / 2),
                reply.len()
            )
        } else {
            reply.clone()
        };
        history = vec![Message::assistant(kept)];

        let blocks = match edits::parse_blocks(&reply) {
            Ok(b) => b,
            Err(e) => {
                corrections += 1;
                rounds.push(round(format!("answer not usable: {e}"), None));
                if corrections > MAX_CORRECTIONS {
                    return Err(SessionError::Unusable {
                        last: e.to_string(),
                        rounds,
                    });
                }
                purpose = format!("correction {corrections}: the answer was not usable");
                history.push(Message::user(edits::parse_feedback_with(&e, &help)));
                continue;
            }
        };
        // Paths first: an edit aimed at a protected path, a symlink or outside the repository
        // is refused before anything is read or applied.
        let mut bad_paths: Vec<Refusal> = Vec::new();
        for b in &blocks {
            if let Some(r) = safety::check_path(job.guard, job.base, b.path.trim())
                && !bad_paths.contains(&r)
            {
                bad_paths.push(r);
            }
        }
        if !bad_paths.is_empty() {
            rounds.push(round(format!("refused: {}", list(&bad_paths)), None));
            if refused_once {
                return Err(SessionError::Refused {
                    refusals: bad_paths,
                    rounds,
                });
            }
            refused_once = true;
            purpose = "correction after a refusal".into();
            history.push(Message::user(safety::feedback(&bad_paths)));
            continue;
        }
        let current: BTreeMap<String, Option<String>> = blocks
            .iter()
            .map(|b| {
                let p = b.path.trim().to_string();
                let text = state.get(&p).cloned().or_else(|| (job.original)(&p));
                (p, text)
            })
            .collect();
        let applied = match edits::apply_all(&current, &blocks, &opts) {
            Ok(a) => a,
            Err(errors) => {
                corrections += 1;
                let fb = edits::feedback(&errors);
                rounds.push(round(
                    format!("{} edit block(s) did not apply", errors.len()),
                    None,
                ));
                if corrections > MAX_CORRECTIONS {
                    return Err(SessionError::Unusable {
                        last: fb.lines().take(3).collect::<Vec<_>>().join(" "),
                        rounds,
                    });
                }
                purpose = format!("correction {corrections}: edits did not apply");
                history.push(Message::user(fb));
                continue;
            }
        };
        let mut candidate = state.clone();
        candidate.extend(applied);
        let changes: BTreeMap<String, Option<Vec<u8>>> = candidate
            .iter()
            .filter(|(p, t)| (job.original)(p).as_deref() != Some(t.as_str()))
            .map(|(p, t)| (p.clone(), Some(t.clone().into_bytes())))
            .collect();
        let refusals = safety::check(
            job.guard,
            job.base,
            &changes,
            job.original,
            job.limits,
            job.secrets,
        );
        if !refusals.is_empty() {
            rounds.push(round(format!("refused: {}", list(&refusals)), None));
            if refused_once {
                return Err(SessionError::Refused { refusals, rounds });
            }
            refused_once = true;
            purpose = "correction after a refusal".into();
            history.push(Message::user(safety::feedback(&refusals)));
            continue;
        }
        if job.require_tests && !changes.keys().any(|p| classify(p) == FileKind::Test) {
            rounds.push(round(
                "no test added or changed (checks.require_tests)".into(),
                None,
            ));
            if asked_for_tests {
                return Err(SessionError::NoTests { rounds });
            }
            asked_for_tests = true;
            state = candidate;
            purpose = "adding a test (checks.require_tests)".into();
            history.push(Message::user(format!(
                "Your edits were kept, but this repository requires every change to add or change a test \
                 (checks.require_tests). Add a test for the new behaviour with more SEARCH/REPLACE blocks.\n\n{}{help}",
                current_files(&state, job)
            )));
            continue;
        }
        state = candidate;
        for (path, content) in &changes {
            ws.write(path, content.as_deref())
                .map_err(SessionError::Workspace)?;
        }
        let final_changes = || -> BTreeMap<String, Vec<u8>> {
            changes
                .iter()
                .filter_map(|(p, c)| c.clone().map(|c| (p.clone(), c)))
                .collect()
        };
        let Some(command) = &job.test_command else {
            rounds.push(round(
                format!("{} file(s) edited; no test command", changes.len()),
                None,
            ));
            return Ok(Outcome {
                changes: final_changes(),
                rounds,
                tests: None,
                fix_rounds,
            });
        };
        let test = job.tests.run(command, job.test_timeout, job.secrets);
        tests_run += 1;
        rounds.push(round(
            format!(
                "{} file(s) edited; `{command}` {} in {:.1} s",
                changes.len(),
                if test.passed { "passed" } else { "failed" },
                test.duration.as_secs_f64()
            ),
            Some(test.passed),
        ));
        if test.passed {
            return Ok(Outcome {
                changes: final_changes(),
                rounds,
                tests: Some(test),
                fix_rounds,
            });
        }
        // The first run tells whether the tests can run here at all; a test environment that
        // cannot (no interpreter, no test runner) is not the change's fault, and no model
        // round can repair it.
        if tests_run == 1
            && let Some(broken) = unrunnable(&test)
        {
            return Err(SessionError::TestEnvironment {
                broken,
                last: test,
                rounds,
            });
        }
        if fix_rounds >= job.max_rounds {
            return Err(SessionError::TestsFail {
                fix_rounds,
                last: test,
                rounds,
                changes: final_changes(),
            });
        }
        fix_rounds += 1;
        purpose = format!("fix {fix_rounds} after failing tests");
        history.push(Message::user(format!(
            "Your edits are applied, but the tests failed: `{command}` exited {}. The end of its output:\n{}\n\n{}\
             Fix the problem with SEARCH/REPLACE blocks against the files as they are now (shown above).\n\n{help}",
            exit(&test),
            untrusted_block("test output", &test.output),
            current_files(&state, job),
        )));
    }
}

/// The current text of the files the session changed, fenced, for feedback messages.
/// At most this many characters of changed files are repeated in one feedback message; beyond
/// it only the paths are named (small contexts cannot hold more).
const CURRENT_FILES_CHARS: usize = 24_000;

fn current_files(state: &BTreeMap<String, String>, job: &Job) -> String {
    let mut shown: Vec<(&str, &str)> = Vec::new();
    let mut size = 0usize;
    let mut not_repeated = Vec::new();
    for (path, text) in state {
        if (job.original)(path).as_deref() == Some(text.as_str()) {
            continue;
        }
        if size + text.len() > CURRENT_FILES_CHARS {
            not_repeated.push(path.as_str());
            continue;
        }
        size += text.len();
        shown.push((path, text));
    }
    let mut out = String::new();
    if !shown.is_empty() {
        out.push_str("The files you changed, as they are now, each after its `File:` line:\n");
        out.push_str(&untrusted_block(
            "files as they are now",
            &show_files(&shown),
        ));
        out.push_str("\n\n");
    }
    if !not_repeated.is_empty() {
        out.push_str(&format!(
            "(Too long to repeat here, with your edits applied: {}.)\n\n",
            not_repeated.join(", ")
        ));
    }
    out
}
