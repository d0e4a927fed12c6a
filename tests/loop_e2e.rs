//! The loop the way GitHub runs it. The shipped example workflows (`examples/workflows/`, copied
//! to `.github/workflows/llm-team-*.yml` on the fake GitHub) run job by job: each job gets a
//! fresh `GITHUB_TOKEN` with exactly its declared `permissions:`, `LLM_TEAM_TOKEN` where it names
//! the secret, a checkout of the commit it would check out, artifacts between the developer's
//! work and publish jobs, and the action's own `scripts/run.sh` with the `INPUT_*` its `with:`
//! gives. Every write becomes the event GitHub would deliver: a dispatch runs the named
//! workflow, a pull request opened with a token other than `GITHUB_TOKEN` fires `pull_request`,
//! one opened with `GITHUB_TOKEN` fires nothing, the maintainer's merge fires `pull_request`
//! closed. From the sample repository and a scripted model, the deterministic CI task T-0001
//! and the planned model task T-0002 reach `done` with only the maintainer's merges; then the
//! same loop with one injected failure per write kind (5xx not applied, 5xx applied, 403) and a
//! re-run of the failed job ends in the same pull requests, comments and reviews.

use crate::support;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::fake_github::{FakeGitHub, FaultKind, TokenInfo};
use support::fake_ollama::{ChatReply, FakeOllama};
use support::sample_loop::{self, MODEL, farewell_reply, mask_ids, plan_reply, sample_files};
use support::workflows::{Workflow, condition, interpolate};

const ACTIONS_BOT: &str = "github-actions[bot]";
const TEAM_BOT: &str = "codex-team[bot]";

/// The example workflows and the names the README installs them under.
const INSTALLED: &[(&str, &str)] = &[
    (
        "llm-team-taskmaster.yml",
        include_str!("../examples/workflows/taskmaster.yml"),
    ),
    (
        "llm-team-developer.yml",
        include_str!("../examples/workflows/developer.yml"),
    ),
    (
        "llm-team-reviewer.yml",
        include_str!("../examples/workflows/reviewer.yml"),
    ),
    (
        "llm-team-integrator.yml",
        include_str!("../examples/workflows/integrator.yml"),
    ),
    (
        "llm-team-planner.yml",
        include_str!("../examples/workflows/planner.yml"),
    ),
];

/// One workflow run waiting for a runner.
#[derive(Clone, Debug)]
struct RunRequest {
    workflow: String,
    event: String,
    payload: Value,
}

/// A job that failed, to be re-run ("Re-run failed jobs": same run, same event, its artifacts).
#[derive(Clone, Debug)]
struct Failed {
    request: RunRequest,
    run_id: u64,
    job: usize,
}

pub(crate) struct World {
    pub(crate) github: FakeGitHub,
    ollama: FakeOllama,
    _rt: tokio::runtime::Runtime,
    workflows: Vec<Workflow>,
    root: tempfile::TempDir,
    team_token: String,
    queue: VecDeque<RunRequest>,
    failed: Vec<Failed>,
    next_run: u64,
    /// One line per job, for failure messages.
    journal: Vec<String>,
    /// The fake's request log by job: (`workflow:job`, first entry, end).
    spans: Vec<(String, usize, usize)>,
}

fn tag() -> String {
    let mut n = [0u8; 6];
    getrandom::fill(&mut n).unwrap();
    n.iter().map(|b| format!("{b:02x}")).collect()
}

impl World {
    fn new() -> World {
        World::with_workflows(INSTALLED)
    }

    /// A world whose repository holds these workflow files (name, text).
    fn with_workflows(installed: &[(&str, &str)]) -> World {
        let github = FakeGitHub::start();
        let team_token = format!("ghp_team{}team0000000000000000", tag());
        github.with(|s| {
            s.strict_tokens = true;
            s.tokens.insert(
                team_token.clone(),
                TokenInfo {
                    login: TEAM_BOT.into(),
                    write: true,
                    installation: true,
                },
            );
            let workflows: Vec<(String, String)> = installed
                .iter()
                .map(|(f, t)| (format!(".github/workflows/{f}"), t.to_string()))
                .collect();
            sample_loop::seed_sample(s, &workflows);
        });
        let (rt, ollama) = FakeOllama::serve(support::fake_ollama::default_models());
        World {
            github,
            ollama,
            _rt: rt,
            workflows: installed
                .iter()
                .map(|(f, t)| Workflow::parse(f, t))
                .collect(),
            root: tempfile::tempdir().unwrap(),
            team_token,
            queue: VecDeque::new(),
            failed: Vec::new(),
            next_run: 0,
            journal: Vec::new(),
            spans: Vec::new(),
        }
    }

    fn repository(&self) -> Value {
        sample_loop::repository()
    }

    /// Queues every workflow `event` starts.
    fn fire(&mut self, event: &str, mut payload: Value, changed: &[String]) {
        payload["repository"] = self.repository();
        for w in &self.workflows {
            if w.runs_on(event, &payload, changed) {
                self.queue.push_back(RunRequest {
                    workflow: w.file.clone(),
                    event: event.into(),
                    payload: payload.clone(),
                });
            }
        }
    }

    fn pull_payload(&self, action: &str, number: u64, sender: &str) -> Value {
        sample_loop::pull_event(&self.github, action, number, sender)
    }

    /// Runs queued workflows until none is left.
    fn drain(&mut self) {
        let mut guard = 0;
        while let Some(req) = self.queue.pop_front() {
            guard += 1;
            assert!(guard < 60, "runaway loop:\n{}", self.journal.join("\n"));
            self.next_run += 1;
            let id = self.next_run;
            self.run_workflow(&req, id, 0, 1);
        }
    }

    /// Runs the jobs of one workflow run from job `from` on (a re-run starts at the failed job).
    fn run_workflow(&mut self, req: &RunRequest, run_id: u64, from: usize, attempt: u32) {
        let w = self
            .workflows
            .iter()
            .find(|w| w.file == req.workflow)
            .unwrap()
            .clone();
        let inputs = if req.event == "workflow_dispatch" {
            req.payload["inputs"].clone()
        } else {
            json!({})
        };
        let run_dir = self.root.path().join(format!("run-{run_id}"));
        std::fs::create_dir_all(run_dir.join("artifacts")).unwrap();
        // Jobs that succeeded in this attempt (a re-run starts after the ones that did before).
        let mut succeeded: Vec<String> = w.jobs[..from].iter().map(|j| j.id.clone()).collect();
        for (index, job) in w.jobs.iter().enumerate().skip(from) {
            if !job.needs.iter().all(|n| succeeded.contains(n)) {
                self.journal.push(format!(
                    "{} run {run_id} {}: skipped (a needed job did not succeed)",
                    w.file, job.id
                ));
                continue;
            }
            let job_dir = run_dir.join(format!("{}-{attempt}", job.id));
            let _ = std::fs::remove_dir_all(&job_dir);
            std::fs::create_dir_all(job_dir.join("tmp")).unwrap();
            let token = format!("ghs_job{}{run_id}x{index}x{attempt}job000000", tag());
            let ctx = json!({
                "github": {"event_name": req.event, "event": req.payload, "repository": "octo/app",
                           "token": token, "run_id": run_id.to_string()},
                "inputs": inputs,
                "vars": {"LLM_TEAM_MODE": "pr", "OLLAMA_BASE_URL": self.ollama.base_url,
                         "LLM_DEVELOPER_MODEL": MODEL, "LLM_PLANNER_MODEL": MODEL,
                         "CODEX_ORCHESTRATOR_BINARY": support::BIN},
                "secrets": {"LLM_TEAM_TOKEN": self.team_token},
                "runner": {"temp": job_dir.join("tmp").display().to_string()},
            });
            if let Some(c) = &job.condition
                && !condition(c, &ctx)
            {
                self.journal
                    .push(format!("{} run {run_id} {}: skipped (if)", w.file, job.id));
                continue;
            }
            // What `GET …/runs?status=in_progress` lists: this run and the queued ones (which
            // have no id yet: they take the next ones).
            let mut active: std::collections::HashMap<String, Vec<(u64, String)>> =
                Default::default();
            active
                .entry(req.workflow.clone())
                .or_default()
                .push((run_id, req.event.clone()));
            for (k, q) in self.queue.iter().enumerate() {
                active
                    .entry(q.workflow.clone())
                    .or_default()
                    .push((self.next_run + 1 + k as u64, q.event.clone()));
            }
            self.github.with(|s| {
                s.active_runs = active;
                s.tokens.insert(
                    token.clone(),
                    TokenInfo {
                        login: ACTIONS_BOT.into(),
                        write: true,
                        installation: true,
                    },
                );
                s.scopes.insert(token.clone(), job.permissions.clone());
            });
            let before = self.snapshot_counts();
            let ok = self.run_job(req, &w, index, &ctx, &job_dir, run_id, attempt);
            // GitHub revokes the job's token when the job ends.
            self.github.with(|s| {
                s.tokens.remove(&token);
                s.scopes.remove(&token);
            });
            let end = self.github.with(|s| s.log.len());
            self.spans
                .push((format!("{}:{}", w.file, job.id), before.0, end));
            self.deliver(before);
            if ok {
                succeeded.push(job.id.clone());
            } else {
                self.failed.push(Failed {
                    request: req.clone(),
                    run_id,
                    job: index,
                });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_job(
        &mut self,
        req: &RunRequest,
        w: &Workflow,
        index: usize,
        ctx: &Value,
        job_dir: &Path,
        run_id: u64,
        attempt: u32,
    ) -> bool {
        let job = &w.jobs[index];
        let workspace = job_dir.join("repo");
        std::fs::create_dir_all(&workspace).unwrap();
        let artifacts = job_dir.parent().unwrap().join("artifacts");
        let event_path = job_dir.join("event.json");
        std::fs::write(&event_path, req.payload.to_string()).unwrap();
        for step in &job.steps {
            let with: BTreeMap<String, String> = step
                .with
                .iter()
                .map(|(k, v)| (k.clone(), interpolate(v, ctx)))
                .collect();
            let uses = step.uses.clone().unwrap_or_default();
            if uses.starts_with("actions/checkout@") {
                let git_ref = with.get("ref").cloned().filter(|r| !r.is_empty());
                self.checkout(req, git_ref, &workspace);
            } else if uses.starts_with("actions/upload-artifact@") {
                let from = PathBuf::from(&with["path"]);
                if !from.is_file() {
                    self.journal.push(format!(
                        "{} run {run_id} {}: no artifact at {}",
                        w.file,
                        job.id,
                        from.display()
                    ));
                    return false;
                }
                let to = artifacts.join(&with["name"]);
                std::fs::create_dir_all(&to).unwrap();
                std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
            } else if uses.starts_with("actions/download-artifact@") {
                let from = artifacts.join(&with["name"]);
                let to = PathBuf::from(&with["path"]);
                std::fs::create_dir_all(&to).unwrap();
                for e in std::fs::read_dir(&from).expect("the artifact was uploaded") {
                    let e = e.unwrap();
                    std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            } else if uses.starts_with("codex-orchestrator/codex-orchestrator@") {
                let role = with.get("role").cloned().unwrap_or_default();
                self.ollama.clear_script();
                if role == "planner" {
                    self.ollama.script([ChatReply::text(&plan_reply())]);
                } else if role == "developer" && !with.contains_key("publish") {
                    self.ollama.script([ChatReply::text(&farewell_reply())]);
                }
                let r = self.action(req, w, index, ctx, &with, job_dir, run_id, attempt);
                let summary = std::fs::read_to_string(job_dir.join("summary")).unwrap_or_default();
                self.journal.push(format!(
                    "{} run {run_id}.{attempt} {} ({}): exit {}{}",
                    w.file,
                    job.id,
                    req.event,
                    r.code,
                    if r.code == 0 && std::env::var_os("LOOP_E2E_VERBOSE").is_none() {
                        String::new()
                    } else {
                        format!("\n{}\n{summary}", r.stderr)
                    }
                ));
                if r.code != 0 {
                    return false;
                }
            } else {
                panic!("{}: a step this runner cannot run: {uses:?}", w.file);
            }
        }
        true
    }

    /// The step of the composite action: `scripts/run.sh` with the action's `INPUT_*`.
    #[allow(clippy::too_many_arguments)]
    fn action(
        &self,
        req: &RunRequest,
        w: &Workflow,
        index: usize,
        ctx: &Value,
        with: &BTreeMap<String, String>,
        job_dir: &Path,
        run_id: u64,
        attempt: u32,
    ) -> support::Run {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let action: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(manifest.join("action.yml")).unwrap())
                .unwrap();
        let mut c = std::process::Command::new("bash");
        c.arg(manifest.join("scripts/run.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(job_dir.join("repo"));
        for (name, spec) in action["inputs"].as_object().unwrap() {
            let default = spec["default"].as_str().unwrap_or("");
            let value = with
                .get(name)
                .cloned()
                .unwrap_or_else(|| interpolate(default, ctx));
            c.env(
                format!("INPUT_{}", name.to_uppercase().replace('-', "_")),
                value,
            );
        }
        let git_ref = match req.event.as_str() {
            "pull_request" => format!(
                "refs/pull/{}/merge",
                req.payload["number"].as_u64().unwrap_or(0)
            ),
            _ => req.payload["ref"]
                .as_str()
                .unwrap_or("refs/heads/main")
                .to_string(),
        };
        c.env("CO_BINARY", support::BIN)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", manifest)
            .env("GITHUB_EVENT_NAME", &req.event)
            .env("GITHUB_EVENT_PATH", job_dir.join("event.json"))
            .env("GITHUB_WORKSPACE", job_dir.join("repo"))
            .env("GITHUB_OUTPUT", job_dir.join("output"))
            .env("GITHUB_STEP_SUMMARY", job_dir.join("summary"))
            .env("GITHUB_REPOSITORY", "octo/app")
            .env("GITHUB_API_URL", &self.github.url)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", run_id.to_string())
            .env("GITHUB_RUN_ATTEMPT", attempt.to_string())
            .env("GITHUB_WORKFLOW", &w.file)
            .env("GITHUB_JOB", &w.jobs[index].id)
            .env("GITHUB_REF", git_ref)
            .env("RUNNER_TEMP", job_dir.join("tmp"));
        support::run(&mut c)
    }

    /// The commit the checkout step would check out, in a fresh git repository with the fake's
    /// history.
    fn checkout(&self, req: &RunRequest, git_ref: Option<String>, dir: &Path) {
        let at = git_ref.unwrap_or_else(|| match req.event.as_str() {
            // The merge of the PR into its base: the head's tree is what this loop's PRs hold.
            "pull_request" => req.payload["pull_request"]["head"]["ref"]
                .as_str()
                .unwrap()
                .to_string(),
            _ => req.payload["ref"]
                .as_str()
                .unwrap_or("refs/heads/main")
                .trim_start_matches("refs/heads/")
                .to_string(),
        });
        // The fake's ids are git's: every object it holds goes into the checkout (the history
        // `fetch-depth: 0` brings, the pull request's base among it), then the commit is checked out.
        let (objects, sha) = self.github.with(|s| {
            let sha = s.refs.get(&at).cloned().or_else(|| {
                req.payload["pull_request"]["head"]["sha"]
                    .as_str()
                    .map(String::from)
            });
            (
                s.git_objects(),
                sha.unwrap_or_else(|| panic!("no ref {at} to check out")),
            )
        });
        support::git(dir, &["init", "-q", "-b", "checkout"]);
        sample_loop::import_objects(dir, &objects, &mut std::collections::HashSet::new());
        support::git(dir, &["update-ref", "refs/heads/checkout", &sha]);
        support::git(dir, &["checkout", "-q", "-f", "checkout"]);
    }

    /// What changed on the fake that events come from.
    fn snapshot_counts(&self) -> (usize, usize, Vec<(u64, bool)>) {
        self.github.with(|s| {
            (
                s.log.len(),
                s.dispatches.len(),
                s.pulls.iter().map(|p| (p.number, p.open)).collect(),
            )
        })
    }

    /// Turns what the job wrote into the events GitHub would deliver.
    fn deliver(&mut self, before: (usize, usize, Vec<(u64, bool)>)) {
        let (log_from, dispatch_from, pulls_before) = before;
        let (log, dispatches, pulls) = self.github.with(|s| {
            (
                s.log[log_from..].to_vec(),
                s.dispatches[dispatch_from..].to_vec(),
                s.pulls.clone(),
            )
        });
        // Opened pull requests: only a token other than GITHUB_TOKEN starts workflows.
        for p in &pulls {
            if !pulls_before.iter().any(|(n, _)| *n == p.number) && p.author != ACTIONS_BOT {
                let payload = self.pull_payload("opened", p.number, &p.author);
                self.fire("pull_request", payload, &[]);
            }
        }
        // Pushes to the head of a pull request that was open before the job.
        for l in &log {
            if l.method == "PATCH" && l.status == 200 && l.by != ACTIONS_BOT {
                let branch = l.path.split("/git/refs/heads/").nth(1).unwrap_or("");
                if let Some(p) = pulls.iter().find(|p| {
                    p.open && p.head == branch && pulls_before.iter().any(|(n, _)| *n == p.number)
                }) {
                    let payload = self.pull_payload("synchronize", p.number, &l.by);
                    self.fire("pull_request", payload, &[]);
                }
            }
        }
        // Merges through the API (the integrator's auto-merge).
        for p in &pulls {
            let was_open = pulls_before.iter().any(|(n, open)| *n == p.number && *open);
            if was_open && !p.open {
                let by = log
                    .iter()
                    .find(|l| {
                        l.method == "PUT" && l.path.ends_with(&format!("/pulls/{}/merge", p.number))
                    })
                    .map(|l| l.by.clone())
                    .unwrap_or_default();
                if by != ACTIONS_BOT {
                    let payload = self.pull_payload("closed", p.number, &by);
                    self.fire("pull_request", payload, &[]);
                }
            }
        }
        for d in dispatches {
            let file = d["workflow"].as_str().unwrap().to_string();
            let Some(w) = self.workflows.iter().find(|w| w.file == file) else {
                panic!("a dispatch of {file}, which is not installed");
            };
            let inputs = w.dispatch_inputs(&d["inputs"]);
            let git_ref = d["ref"].as_str().unwrap_or("main");
            self.queue.push_back(RunRequest {
                workflow: file.clone(),
                event: "workflow_dispatch".into(),
                payload: json!({"inputs": inputs, "ref": format!("refs/heads/{git_ref}"),
                                "workflow": format!(".github/workflows/{file}"),
                                "repository": self.repository(), "sender": {"login": ACTIONS_BOT}}),
            });
        }
    }

    /// The maintainer merges pull request `number` (with the "Merge" button): GitHub delivers
    /// `pull_request` closed.
    fn maintainer_merges(&mut self, number: u64) {
        self.github
            .with(|s| s.merge_pull(number, None))
            .unwrap_or_else(|e| panic!("#{number} cannot be merged: {e:?}"));
        let payload = self.pull_payload("closed", number, "maintainer");
        self.fire("pull_request", payload, &[]);
    }

    fn open_pulls(&self) -> Vec<u64> {
        self.github.with(|s| {
            s.pulls
                .iter()
                .filter(|p| p.open)
                .map(|p| p.number)
                .collect()
        })
    }

    /// Re-runs every failed job once (and the jobs after it in its run).
    fn rerun_failed(&mut self) {
        for f in std::mem::take(&mut self.failed) {
            self.journal.push(format!(
                "re-run of {} run {} job {}",
                f.request.workflow, f.run_id, f.job
            ));
            self.run_workflow(&f.request, f.run_id, f.job, 2);
        }
    }

    /// The whole loop: the repository is pushed, the schedule ticks, the maintainer merges
    /// whatever is open (oldest first) and nothing else, failed jobs are re-run once.
    fn run_loop(&mut self) {
        let changed: Vec<String> = sample_files().into_iter().map(|(p, _)| p).collect();
        let after = self.github.with(|s| s.refs["main"].clone());
        self.fire("schedule", json!({"schedule": "23 * * * *"}), &[]);
        self.drain();
        self.fire(
            "push",
            json!({"ref": "refs/heads/main", "before": "0".repeat(40), "after": after, "deleted": false,
                   "commits": [{"id": after, "message": "Initial commit", "added": changed, "modified": [], "removed": []}],
                   "head_commit": {"id": after, "message": "Initial commit", "added": changed, "modified": [], "removed": []}}),
            &changed,
        );
        self.drain();
        let mut quiet_ticks = 0;
        for _ in 0..40 {
            if !self.failed.is_empty() {
                self.rerun_failed();
                self.drain();
                continue;
            }
            if let Some(n) = self.open_pulls().first().copied() {
                self.maintainer_merges(n);
                self.drain();
                continue;
            }
            if self.done() {
                return;
            }
            // Nothing open, nothing running: the next hourly tick.
            let writes = self.github.writes().len();
            self.fire("schedule", json!({"schedule": "23 * * * *"}), &[]);
            self.drain();
            if self.github.writes().len() == writes {
                quiet_ticks += 1;
                if quiet_ticks > 1 {
                    return;
                }
            }
        }
    }

    fn task_status(&self, id: &str) -> Option<String> {
        self.github.with(|s| {
            let main = s.refs["main"].clone();
            let files = s.files_at(&main);
            let path = files
                .keys()
                .find(|p| p.starts_with(&format!("tasks/{id}-")))?
                .clone();
            let text = s.file("main", &path)?;
            text.lines()
                .find_map(|l| l.strip_prefix("status: ").map(|v| v.trim().to_string()))
        })
    }

    fn done(&self) -> bool {
        let tasks = self.outcome()["tasks"].clone();
        let tasks = tasks.as_array().unwrap();
        tasks.len() == 2 && tasks.iter().all(|t| t[1] == "done")
    }

    /// The end state compared across variants: pull requests, comments and reviews by whom.
    fn outcome(&self) -> Value {
        self.github.with(|s| {
            let head = |n: u64| {
                s.pulls
                    .iter()
                    .find(|p| p.number == n)
                    .map(|p| p.head.clone())
                    .unwrap_or_else(|| format!("#{n}"))
            };
            let mut pulls: Vec<Value> = s
                .pulls
                .iter()
                .map(|p| json!([p.head, p.title, p.author, p.merged, p.open]))
                .collect();
            pulls.sort_by_key(|v| v.to_string());
            let mut comments: Vec<Value> = s
                .comments
                .iter()
                .map(|(_, issue, body, author)| {
                    let marker = body
                        .split("-->")
                        .next()
                        .filter(|m| m.trim_start().starts_with("<!--"))
                        .map(|m| {
                            // Shas in markers differ between runs of the fake.
                            m.split_whitespace()
                                .filter(|w| {
                                    !(w.len() >= 12 && w.chars().all(|c| c.is_ascii_hexdigit()))
                                })
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    json!([head(*issue), author, marker])
                })
                .collect();
            comments.sort_by_key(|v| v.to_string());
            let mut reviews: Vec<Value> = s
                .reviews
                .iter()
                .map(|r| {
                    json!([
                        head(r["pr"].as_u64().unwrap_or(0)),
                        r["user"]["login"],
                        r["state"]
                    ])
                })
                .collect();
            reviews.sort_by_key(|v| v.to_string());
            // Ids depend on who minted first (a failed seed lets the planner take T-0001):
            // tasks are compared by title, pull requests with their ids masked.
            let tasks = sample_loop::tasks(s);
            let masked =
                mask_ids(&json!({"pulls": pulls, "comments": comments, "reviews": reviews}));
            let mut out: Value = serde_json::from_str(&masked).unwrap();
            for k in ["pulls", "comments", "reviews"] {
                out[k]
                    .as_array_mut()
                    .unwrap()
                    .sort_by_key(|v| v.to_string());
            }
            out["tasks"] = json!(tasks);
            out
        })
    }
}

pub(crate) fn python() -> bool {
    crate::developer_model::python()
}

pub(crate) fn clean_loop() -> World {
    let mut w = World::new();
    w.run_loop();
    assert!(
        w.done(),
        "T-0001 and T-0002 are not both done: {:?} / {:?}\n{}",
        w.task_status("T-0001"),
        w.task_status("T-0002"),
        w.journal.join("\n")
    );
    w
}

#[test]
fn the_loop_takes_the_ci_task_and_a_planned_model_task_to_done_with_only_the_maintainers_merges() {
    if !python() {
        return;
    }
    let w = clean_loop();
    let outcome = w.outcome();
    let heads: Vec<String> = w
        .github
        .with(|s| s.pulls.iter().map(|p| p.head.clone()).collect());
    // The seed, the plan, one PR per task and one integration PR per task: each once, merged.
    assert_eq!(heads.len(), 6, "{outcome:#}\n{}", w.journal.join("\n"));
    assert_eq!(
        (w.task_status("T-0001"), w.task_status("T-0002")),
        (Some("done".into()), Some("done".into()))
    );
    for prefix in [
        "taskmaster/seed-T-0001",
        "plan/",
        "feature/T-0001-",
        "feature/T-0002-",
        "integrate/T-0001",
        "integrate/T-0002",
    ] {
        assert_eq!(
            heads.iter().filter(|h| h.starts_with(prefix)).count(),
            1,
            "{prefix}: {outcome:#}"
        );
    }
    assert!(
        outcome["pulls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p[3] == true),
        "all merged: {outcome:#}"
    );
    // Who opened what: the seed with GITHUB_TOKEN (so a person merges it and nothing ran on
    // it), everything else with LLM_TEAM_TOKEN (so the reviewer ran on it).
    for p in outcome["pulls"].as_array().unwrap() {
        let expected = if p[0].as_str().unwrap().starts_with("taskmaster/") {
            ACTIONS_BOT
        } else {
            TEAM_BOT
        };
        assert_eq!(p[2], expected, "{p}");
    }
    assert!(
        w.journal
            .iter()
            .all(|l| !l.contains("exit 1") && !l.contains("exit 2")),
        "a clean loop has no failed job:\n{}",
        w.journal.join("\n")
    );
    // The developer ran for each task through a dispatch, the model only for T-0002.
    let dev_runs = w
        .journal
        .iter()
        .filter(|l| l.starts_with("llm-team-developer.yml") && l.contains(" work "))
        .count();
    assert_eq!(dev_runs, 2, "{}", w.journal.join("\n"));
    // The reviewer commented on every PR opened with LLM_TEAM_TOKEN (its comment carries its
    // marker), once; the seed, opened with GITHUB_TOKEN, started no workflow.
    w.github.with(|s| {
        for p in &s.pulls {
            let ours = s
                .comments
                .iter()
                .filter(|c| c.1 == p.number && c.3 == ACTIONS_BOT)
                .filter(|c| c.2.contains("<!-- codex-orchestrator:reviewer -->"))
                .count();
            let expected = usize::from(!p.head.starts_with("taskmaster/"));
            assert_eq!(
                ours, expected,
                "reviewer comments on {}: {outcome:#}",
                p.head
            );
        }
    });
    std::fs::write(
        std::env::temp_dir().join("loop-e2e-clean.json"),
        serde_json::to_string_pretty(&json!({"outcome": outcome, "journal": w.journal})).unwrap(),
    )
    .ok();
}

/// The write kinds of the loop, as fault patterns (a trailing `$` anchors at the path's end).
const WRITE_KINDS: &[(&str, &str)] = &[
    ("POST", "/git/blobs$"),
    ("POST", "/git/trees$"),
    ("POST", "/git/commits$"),
    ("POST", "/git/refs$"),
    ("PATCH", "/git/refs/heads/"),
    ("POST", "/octo/app/pulls$"),
    ("PATCH", "/octo/app/pulls/"),
    ("POST", "/comments$"),
    ("PATCH", "/issues/comments/"),
    ("POST", "/reviews$"),
    ("POST", "/labels$"),
    ("POST", "/dispatches$"),
    ("PUT", "/merge$"),
];

fn matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('$') {
        Some(end) => path.ends_with(end),
        None => path.contains(pattern),
    }
}

/// For each write kind the clean loop makes, the occurrence to fail: the first one in one of the
/// jobs that make it, taking the jobs in turn from kind to kind so every role's writes fail.
fn targets(clean: &World) -> Targets {
    let log = clean.github.log();
    let job_of = |i: usize| {
        clean
            .spans
            .iter()
            .find(|(_, from, to)| (*from..*to).contains(&i))
            .map(|(j, _, _)| j.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (k, (method, pattern)) in WRITE_KINDS.iter().enumerate() {
        let hits: Vec<(usize, &support::fake_github::Logged)> = log
            .iter()
            .enumerate()
            .filter(|(_, l)| l.method == *method && matches(pattern, &l.path))
            .collect();
        let mut jobs: Vec<String> = Vec::new();
        for (i, l) in &hits {
            if l.status < 400 && !jobs.contains(&job_of(*i)) {
                jobs.push(job_of(*i));
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let job = &jobs[k % jobs.len()];
        let (nth, (_, l)) = hits
            .iter()
            .enumerate()
            .find(|(_, (i, l))| l.status < 400 && &job_of(*i) == job)
            .unwrap();
        out.push((
            *method,
            *pattern,
            nth,
            format!("{} {} in {job}", l.method, l.path),
        ));
    }
    out
}

/// One loop with `kind` injected at the `nth` request matching `method` and `pattern`; the
/// failed job is re-run. It must end where the clean loop ended.
fn variant(
    method: &'static str,
    pattern: &str,
    nth: usize,
    kind: FaultKind,
    what: &str,
    expected: &Value,
) {
    let mut w = World::new();
    w.github.fault_nth(method, pattern, kind.clone(), nth);
    w.run_loop();
    let hit = w.github.with(|s| s.faults.iter().all(|f| f.times == 0));
    assert!(
        hit,
        "{kind:?} at {what}: the fault never struck\n{}",
        w.journal.join("\n")
    );
    let reruns = w
        .journal
        .iter()
        .filter(|l| l.starts_with("re-run of"))
        .count();
    let runs = w.journal.iter().filter(|l| l.contains(" exit ")).count();
    eprintln!("{kind:?} at {what}: {reruns} failed job(s) re-run, {runs} job(s) in all");
    let got = w.outcome();
    assert!(
        w.done() && &got == expected,
        "{kind:?} at {what} (then a re-run of the failed job): the loop ended elsewhere.\nexpected {expected:#}\ngot {got:#}\n{}",
        w.journal.join("\n")
    );
}

type Targets = Vec<(&'static str, &'static str, usize, String)>;

/// The clean loop's end state and fault targets, computed once for the three matrices.
fn clean_targets() -> &'static (Value, Targets) {
    static CLEAN: std::sync::OnceLock<(Value, Targets)> = std::sync::OnceLock::new();
    CLEAN.get_or_init(|| {
        let clean = clean_loop();
        (clean.outcome(), targets(&clean))
    })
}

/// One fault kind over every write kind.
fn matrix(kind: FaultKind) {
    if !python() {
        return;
    }
    let (expected, targets) = clean_targets();
    let targets = targets.clone();
    // Commits (blobs, trees, commits, refs), pull requests, comments and dispatches.
    assert!(targets.len() >= 7, "the loop's kinds of write: {targets:?}");
    eprintln!("{kind:?} at: {targets:#?}");
    for (method, pattern, nth, what) in targets {
        variant(method, pattern, nth, kind.clone(), &what, expected);
    }
}

#[test]
fn every_write_failing_once_with_a_5xx_that_was_not_applied_ends_in_the_same_state() {
    matrix(FaultKind::Status(502));
}

#[test]
fn every_write_failing_once_with_a_5xx_after_it_was_applied_ends_in_the_same_state() {
    matrix(FaultKind::StatusAfterApply(502));
}

#[test]
fn every_write_refused_once_with_a_403_ends_in_the_same_state() {
    matrix(FaultKind::Forbidden(
        "Resource not accessible by integration",
    ));
}

/// The one-file form (`llm-team.yml`, every role a job of one workflow, the hand-offs a dispatch
/// of the same file with `role` and `task`) runs the same loop to the same end.
#[test]
fn the_one_file_workflow_runs_the_same_loop_to_the_same_end() {
    if !python() {
        return;
    }
    let mut w = World::with_workflows(&[(
        "llm-team.yml",
        include_str!("../examples/workflows/llm-team.yml"),
    )]);
    w.run_loop();
    let (expected, _) = clean_targets();
    let got = w.outcome();
    assert!(
        w.done() && &got == expected,
        "llm-team.yml: expected {expected:#}\ngot {got:#}\n{}",
        w.journal.join("\n")
    );
    assert!(
        w.journal
            .iter()
            .all(|l| !l.contains("exit 1") && !l.contains("exit 2")),
        "{}",
        w.journal.join("\n")
    );
}

/// The per-job token is held to the job's `permissions:`: the taskmaster with only
/// `pull-requests: read` cannot open the seed's pull request, and says which permission to add.
#[test]
fn a_job_token_can_do_only_what_its_permissions_allow() {
    let trimmed = include_str!("../examples/workflows/taskmaster.yml").replace(
        "pull-requests: write # the seed task's pull request",
        "pull-requests: read",
    );
    assert!(!trimmed.contains("pull-requests: write"));
    let mut w = World::with_workflows(&[("llm-team-taskmaster.yml", &trimmed)]);
    w.fire("schedule", json!({"schedule": "23 * * * *"}), &[]);
    w.drain();
    assert_eq!(w.failed.len(), 1, "{}", w.journal.join("\n"));
    let journal = w.journal.join("\n");
    assert!(
        journal.contains(
            "GitHub refused POST /repos/octo/app/pulls: Resource not accessible by integration"
        ) && journal.contains("pull-requests: write"),
        "{journal}"
    );
    assert!(
        w.github
            .with(|s| s.pulls.is_empty() && s.refs.contains_key("taskmaster/seed-T-0001"))
    );
    // The branch was pushed before the refusal. With the shipped permissions back, the next
    // tick opens the pull request for it (the seed is not "already proposed" by its branch).
    let shipped = include_str!("../examples/workflows/taskmaster.yml");
    w.workflows = vec![Workflow::parse("llm-team-taskmaster.yml", shipped)];
    w.failed.clear();
    w.fire("schedule", json!({"schedule": "23 * * * *"}), &[]);
    w.drain();
    assert!(w.failed.is_empty(), "{}", w.journal.join("\n"));
    w.github.with(|s| {
        assert_eq!(s.pulls.len(), 1);
        assert_eq!(s.pulls[0].head, "taskmaster/seed-T-0001");
        let head = &s.refs["taskmaster/seed-T-0001"];
        assert_eq!(
            s.commits[head].parents,
            vec![s.refs["main"].clone()],
            "one commit"
        );
    });
}
