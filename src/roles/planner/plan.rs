//! The planner's decisions, pure: which proposed tasks become task files and which are skipped,
//! and why. Checks: a title, acceptance criteria, an estimate of at most one day, dependencies
//! that exist (an id in the repository, or a title in the same plan), no cycles, no duplicates of
//! existing tasks (same title ignoring case and spacing, or acceptance criteria at least
//! [`ACCEPTANCE_SIMILARITY`] alike). Ids are minted by the caller; files are parsed back and
//! validated with the tasks engine before they count as added.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::reply::Sourced;
use super::template;
use crate::tasks::estimate::HOURS_PER_DAY;
use crate::tasks::{Priority, Task, TaskId, TaskMeta, estimate_hours, task_file_name};

/// Acceptance criteria this alike (normalized Levenshtein, after lowercasing and joining) make a
/// proposal a duplicate of an existing task.
pub const ACCEPTANCE_SIMILARITY: f64 = 0.9;
/// Longest acceptance text compared (the comparison is quadratic).
const MAX_COMPARED: usize = 2000;
/// Most files listed on one task.
const MAX_FILES: usize = 20;

/// A task file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub id: TaskId,
    pub title: String,
    pub path: String,
    pub contents: String,
    /// The PRD part it came from.
    pub source: String,
    /// Whether `tasks/_template.md` shaped the file.
    pub from_template: bool,
}

/// A proposal that was not turned into a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub added: Vec<NewTask>,
    pub skipped: Vec<Skipped>,
}

/// What the plan is checked against.
pub struct PlanContext<'a> {
    pub existing: &'a [Task],
    pub states: &'a [String],
    pub tasks_dir: &'a str,
    /// The text of `tasks/_template.md`, when the repository has one.
    pub template: Option<&'a str>,
    /// The PRD's path, for the body of each task.
    pub prd_path: &'a str,
}

/// Title comparison key: lowercase, runs of whitespace as one space.
pub fn title_key(title: &str) -> String {
    title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn acceptance_key(items: &[String]) -> String {
    let joined = items
        .iter()
        .map(|a| title_key(a))
        .collect::<Vec<_>>()
        .join("\n");
    joined.chars().take(MAX_COMPARED).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dep {
    Existing(TaskId),
    New(usize),
}

struct Candidate {
    source: String,
    title: String,
    task_type: String,
    priority: Priority,
    acceptance: Vec<String>,
    files: Vec<String>,
    estimate: String,
    raw_deps: Vec<String>,
    deps: Vec<Dep>,
    skip: Option<String>,
}

/// Decides the plan. `mint(n)` returns `n` fresh ids (see `tasks::mint_ids`).
pub fn plan(
    proposed: &[Sourced],
    ctx: &PlanContext,
    mint: impl FnOnce(usize) -> Vec<TaskId>,
) -> Plan {
    let mut out = Plan::default();
    let by_title: HashMap<String, TaskId> = ctx
        .existing
        .iter()
        .map(|t| (title_key(&t.meta().title), t.id()))
        .collect();
    let existing_ids: HashSet<TaskId> = ctx.existing.iter().map(|t| t.id()).collect();
    let existing_acceptance: Vec<(TaskId, String)> = ctx
        .existing
        .iter()
        .filter(|t| !t.meta().acceptance.is_empty())
        .map(|t| (t.id(), acceptance_key(&t.meta().acceptance)))
        .collect();
    // Proposed titles that stand for an existing task (duplicates), or were skipped outright.
    let mut stands_for: HashMap<String, TaskId> = HashMap::new();
    let mut dropped: HashMap<String, String> = HashMap::new();
    let mut cands: Vec<Candidate> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();

    for s in proposed {
        let p = &s.task;
        let title = p.title.split_whitespace().collect::<Vec<_>>().join(" ");
        let skip = |reason: String, out: &mut Plan| {
            out.skipped.push(Skipped {
                title: if title.is_empty() {
                    "(no title)".into()
                } else {
                    title.clone()
                },
                reason,
            })
        };
        if title.is_empty() {
            skip("the model gave no title".into(), &mut out);
            continue;
        }
        let key = title_key(&title);
        if let Some(id) = by_title.get(&key) {
            stands_for.insert(key, *id);
            skip(
                format!("duplicate of existing task {id} (same title)"),
                &mut out,
            );
            continue;
        }
        let acceptance: Vec<String> = p
            .acceptance
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if !acceptance.is_empty() {
            let mine = acceptance_key(&acceptance);
            let twin = existing_acceptance
                .iter()
                .map(|(id, theirs)| (*id, strsim::normalized_levenshtein(&mine, theirs)))
                .filter(|(_, score)| *score >= ACCEPTANCE_SIMILARITY)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((id, score)) = twin {
                stands_for.insert(key, id);
                skip(
                    format!(
                        "duplicate of existing task {id} (acceptance criteria {:.0}% alike)",
                        score * 100.0
                    ),
                    &mut out,
                );
                continue;
            }
        }
        if index.contains_key(&key) {
            skip(
                "the same title was proposed twice; the first one is kept".into(),
                &mut out,
            );
            continue;
        }
        let reason = if acceptance.is_empty() {
            Some(
                "no acceptance criteria: a task needs at least one checkable criterion".to_string(),
            )
        } else {
            match estimate_hours(&p.estimate) {
                None => Some(format!(
                    "estimate `{}` is not a duration; write it like 2h, 4h or 1d",
                    p.estimate.trim()
                )),
                Some(h) if h > HOURS_PER_DAY => Some(format!(
                    "too large: estimate `{}` is more than one day; split it into tasks of a day or less \
                     (one per acceptance criterion, say) in the PRD or in the next plan",
                    p.estimate.trim()
                )),
                Some(_) => None,
            }
        };
        if let Some(reason) = reason {
            dropped.insert(key, title.clone());
            skip(reason, &mut out);
            continue;
        }
        index.insert(key, cands.len());
        cands.push(Candidate {
            source: s.source.clone(),
            title,
            task_type: p.task_type.clone(),
            priority: Priority::parse(&p.priority),
            acceptance,
            files: p
                .files
                .iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .take(MAX_FILES)
                .collect(),
            estimate: p.estimate.trim().to_string(),
            raw_deps: p.depends_on.clone(),
            deps: Vec::new(),
            skip: None,
        });
    }

    // Dependencies: an existing id, a title in this plan, or the title of an existing task.
    for c in &mut cands {
        let mut deps = Vec::new();
        for raw in c.raw_deps.clone() {
            let d = raw.trim();
            if d.is_empty() {
                continue;
            }
            let key = title_key(d);
            let dep = if let Some(id) = TaskId::parse(d).filter(|id| existing_ids.contains(id)) {
                Dep::Existing(id)
            } else if let Some(&j) = index.get(&key) {
                Dep::New(j)
            } else if let Some(&id) = stands_for.get(&key).or(by_title.get(&key)) {
                Dep::Existing(id)
            } else if dropped.contains_key(&key) {
                c.skip = Some(format!("depends on `{d}`, which was skipped"));
                break;
            } else {
                c.skip = Some(format!(
                    "depends on `{d}`, which is neither an existing task id nor the title of a task in this plan"
                ));
                break;
            };
            if !deps.contains(&dep) {
                deps.push(dep);
            }
        }
        c.deps = deps;
    }

    for cycle in cycles(&cands) {
        let mut path: Vec<&str> = cycle.iter().map(|&i| cands[i].title.as_str()).collect();
        path.push(path[0]);
        let text = path.join(" → ");
        for &i in &cycle {
            cands[i]
                .skip
                .get_or_insert_with(|| format!("dependency cycle: {text}"));
        }
    }
    propagate(&mut cands);

    // Mint, render, and check the files with the tasks engine; drop what does not validate.
    let alive: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].skip.is_none())
        .collect();
    let ids = mint(alive.len());
    let id_of: HashMap<usize, TaskId> = alive.iter().copied().zip(ids).collect();
    loop {
        let mut files: BTreeMap<usize, NewTask> = BTreeMap::new();
        for (&i, &id) in &id_of {
            if cands[i].skip.is_none() {
                files.insert(i, render(&cands[i], id, &id_of, ctx));
            }
        }
        let mut all: Vec<(String, Vec<u8>)> = ctx
            .existing
            .iter()
            .map(|t| (t.path().to_string(), t.to_bytes().to_vec()))
            .collect();
        all.extend(
            files
                .values()
                .map(|f| (f.path.clone(), f.contents.clone().into_bytes())),
        );
        let set = crate::tasks::load_from_memory(all, ctx.states);
        let mut bad = false;
        for d in set.diagnostics.iter().filter(|d| d.is_error()) {
            if let Some((&i, _)) = files.iter().find(|(_, f)| f.path == d.path) {
                cands[i].skip.get_or_insert_with(|| {
                    format!("the task file would not validate: {}", d.message)
                });
                bad = true;
            }
        }
        if bad {
            propagate(&mut cands);
            continue;
        }
        out.added = files.into_values().collect();
        break;
    }
    for c in &cands {
        if let Some(reason) = &c.skip {
            out.skipped.push(Skipped {
                title: c.title.clone(),
                reason: reason.clone(),
            });
        }
    }
    out
}

/// Skips every task that depends on a skipped one, until nothing changes.
fn propagate(cands: &mut [Candidate]) {
    loop {
        let mut changed = false;
        for i in 0..cands.len() {
            if cands[i].skip.is_some() {
                continue;
            }
            let dead = cands[i].deps.iter().find_map(|d| match d {
                Dep::New(j) if cands[*j].skip.is_some() => Some(cands[*j].title.clone()),
                _ => None,
            });
            if let Some(t) = dead {
                cands[i].skip = Some(format!("depends on `{t}`, which was skipped"));
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// The strongly connected groups of two or more tasks (and tasks depending on themselves),
/// each in dependency order, found with Tarjan's algorithm.
fn cycles(cands: &[Candidate]) -> Vec<Vec<usize>> {
    struct T<'a> {
        cands: &'a [Candidate],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for d in t.cands[v].deps.clone() {
            let Dep::New(w) = d else { continue };
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut group = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            let self_loop = t.cands[v].deps.contains(&Dep::New(v));
            if group.len() > 1 || self_loop {
                group.reverse();
                t.out.push(group);
            }
        }
    }
    let n = cands.len();
    let mut t = T {
        cands,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

fn render(c: &Candidate, id: TaskId, id_of: &HashMap<usize, TaskId>, ctx: &PlanContext) -> NewTask {
    let mut meta = TaskMeta::new(id, c.title.clone());
    meta.task_type = Some(c.task_type.clone());
    meta.priority = c.priority.clone();
    meta.depends_on = c
        .deps
        .iter()
        .filter_map(|d| match d {
            Dep::Existing(x) => Some(*x),
            Dep::New(j) => id_of.get(j).copied(),
        })
        .map(|x| x.to_string())
        .collect();
    meta.estimate = Some(c.estimate.clone());
    meta.acceptance = c.acceptance.clone();
    meta.files = c.files.clone();
    let dir = ctx.tasks_dir.trim_end_matches('/');
    let path = format!("{dir}/{}", task_file_name(id, &c.title));
    let body = format!(
        "\nPlanned from `{}`, section: {}.\n",
        ctx.prd_path,
        c.source.replace('`', "'")
    );
    let (contents, from_template) = template::render(ctx.template, &path, &meta, &body);
    NewTask {
        id,
        title: c.title.clone(),
        path,
        contents,
        source: c.source.clone(),
        from_template,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::planner::reply::Proposed;

    fn p(title: &str, deps: &[&str], estimate: &str) -> Sourced {
        Sourced {
            source: "Accounts".into(),
            task: Proposed {
                title: title.into(),
                task_type: "feature".into(),
                priority: "P2".into(),
                depends_on: deps.iter().map(|d| d.to_string()).collect(),
                acceptance: vec![format!("{title} works")],
                files: vec![],
                estimate: estimate.into(),
            },
        }
    }

    fn decide(proposed: &[Sourced]) -> Plan {
        let states = crate::tasks::default_states();
        let ctx = PlanContext {
            existing: &[],
            states: &states,
            tasks_dir: "tasks",
            template: None,
            prd_path: "docs/PRD.md",
        };
        plan(proposed, &ctx, |n| crate::tasks::mint_ids(n, [], &[]))
    }

    #[test]
    fn skips_what_depends_on_skipped_tasks_and_self_loops() {
        let out = decide(&[
            p("Base", &[], "2h"),
            p("Huge", &[], "2 weeks"),
            p("On huge", &["Huge"], "1h"),
            p("On on huge", &["on huge"], "1h"),
            p("Me", &["me"], "1h"),
            p("Base", &[], "1h"),
            p("Vague", &[], "soon"),
            p("Top", &["Base"], "1d"),
        ]);
        let added: Vec<(String, &str)> = out
            .added
            .iter()
            .map(|t| (t.id.to_string(), t.title.as_str()))
            .collect();
        assert_eq!(
            added,
            [
                ("T-0001".to_string(), "Base"),
                ("T-0002".to_string(), "Top")
            ]
        );
        let reasons: Vec<String> = out
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.title, s.reason))
            .collect();
        for expected in [
            "Huge: too large",
            "On huge: depends on `Huge`, which was skipped",
            "On on huge: depends on `On huge`, which was skipped",
            "Me: dependency cycle: Me → Me",
            "Base: the same title was proposed twice",
            "Vague: estimate `soon` is not a duration",
        ] {
            assert!(
                reasons.iter().any(|r| r.starts_with(expected)),
                "{expected:?} not in {reasons:#?}"
            );
        }
        assert!(out.added[1].contents.contains("depends_on: [T-0001]"));
    }
}
