//! Checks a set of tasks for the mistakes that would mislead the loop: duplicate ids, ids that do
//! not match file names, unknown statuses or priorities, missing, self or cyclic dependencies and
//! empty acceptance lists. Each finding names the file, the line and the fix.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::auto_policy::AutoPolicy;
use super::diagnostic::Diagnostic;
use super::estimate::estimate_hours;
use super::id::TaskId;
use super::priority::Priority;
use super::task::Task;

/// The task types the template lists.
pub const TASK_TYPES: [&str; 4] = ["feature", "bugfix", "doc", "chore"];

/// Whether `file_name` fits `id`: `T-0001.md` or `T-0001-anything.md`.
pub fn file_name_matches(id: TaskId, file_name: &str) -> bool {
    let id = id.to_string();
    match file_name.strip_prefix(id.as_str()) {
        Some(rest) => rest == ".md" || (rest.starts_with('-') && rest.ends_with(".md")),
        None => false,
    }
}

/// Every problem in `tasks` (including the per-field problems found while reading), sorted by
/// file and line. `states` are the allowed statuses (`.llm-team.yml` `tasks.states`).
pub fn validate(tasks: &[Task], states: &[String]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut by_id: BTreeMap<TaskId, Vec<&Task>> = BTreeMap::new();
    for t in tasks {
        by_id.entry(t.id()).or_default().push(t);
    }

    for t in tasks {
        out.extend(t.field_diagnostics().iter().cloned());
        let m = t.meta();
        let path = t.path();
        let id = m.id;

        if !file_name_matches(id, t.file_name()) {
            out.push(Diagnostic::error(
                path,
                t.line_of("id"),
                format!(
                    "id {id} does not match the file name `{}`; name the file `{id}-<short-title>.md` or fix the id",
                    t.file_name()
                ),
            ));
        }
        if let Some(others) = by_id.get(&id).filter(|v| v.len() > 1) {
            let other_paths: Vec<&str> = others
                .iter()
                .map(|o| o.path())
                .filter(|p| *p != path)
                .collect();
            out.push(Diagnostic::error(
                path,
                t.line_of("id"),
                format!(
                    "duplicate id {id}, also used by {}; give one of them a new id (see docs/tasks.md)",
                    other_paths.join(", ")
                ),
            ));
        }
        if m.title.trim().is_empty() {
            out.push(Diagnostic::error(
                path,
                t.line_of("title").or(t.line_of("id")),
                "missing `title`; add a one-line title",
            ));
        }
        if m.status.is_empty() {
            out.push(Diagnostic::error(
                path,
                t.line_of("status"),
                "missing `status`; add `status: queued`",
            ));
        } else if !states.contains(&m.status) {
            out.push(Diagnostic::error(
                path,
                t.line_of("status"),
                format!(
                    "unknown status `{}`; use one of: {}",
                    m.status,
                    states.join(", ")
                ),
            ));
        }
        match &m.priority {
            Priority::Other(p) if p.is_empty() => out.push(Diagnostic::error(
                path,
                t.line_of("priority"),
                "missing `priority`; add one of P0, P1, P2, P3",
            )),
            Priority::Other(p) => out.push(Diagnostic::error(
                path,
                t.line_of("priority"),
                format!("unknown priority `{p}`; use one of P0, P1, P2, P3"),
            )),
            _ => {}
        }
        if let Some(ty) = &m.task_type
            && !TASK_TYPES.contains(&ty.as_str())
        {
            out.push(Diagnostic::warning(
                path,
                t.line_of("type"),
                format!("unknown type `{ty}`; use one of: {}", TASK_TYPES.join(", ")),
            ));
        }
        if let AutoPolicy::Unknown(v) = AutoPolicy::parse(m.auto_policy.as_deref()) {
            out.push(Diagnostic::warning(
                path,
                t.line_of("auto_policy"),
                format!(
                    "unknown auto_policy `{v}`, treated as review_required; use review_required or auto_merge"
                ),
            ));
        }
        if let Some(e) = &m.estimate
            && estimate_hours(e).is_none()
        {
            out.push(Diagnostic::warning(
                path,
                t.line_of("estimate"),
                format!(
                    "estimate `{e}` is not understood; write it like 90m, 2h, 1d, 1.5d or 3 days"
                ),
            ));
        }
        if m.acceptance.iter().all(|a| a.trim().is_empty()) {
            out.push(Diagnostic::error(
                path,
                t.line_of("acceptance"),
                "acceptance list is empty; add at least one criterion a reviewer can check",
            ));
        }
        let mut seen = BTreeSet::new();
        for dep in &m.depends_on {
            let line = t.line_of("depends_on");
            if !seen.insert(dep.as_str()) {
                out.push(Diagnostic::warning(
                    path,
                    line,
                    format!("`depends_on` lists {dep} twice"),
                ));
                continue;
            }
            match TaskId::parse(dep) {
                None => out.push(Diagnostic::error(
                    path,
                    line,
                    format!("`depends_on` entry `{dep}` is not a task id; use the form T-0001"),
                )),
                Some(d) if d == id => out.push(Diagnostic::error(
                    path,
                    line,
                    format!("{id} depends on itself; remove {dep} from `depends_on`"),
                )),
                Some(d) if !by_id.contains_key(&d) => out.push(Diagnostic::error(
                    path,
                    line,
                    format!("{id} depends on {d}, which does not exist (no task file has that id); fix or remove it"),
                )),
                Some(_) => {}
            }
        }
    }

    for cycle in find_cycles(tasks) {
        let first = cycle[0];
        let task = by_id[&first][0];
        let path_text: Vec<String> = cycle.iter().map(|i| i.to_string()).collect();
        out.push(Diagnostic::error(
            task.path(),
            task.line_of("depends_on"),
            format!(
                "dependency cycle: {}; remove one of these dependencies",
                path_text.join(" → ")
            ),
        ));
    }

    out.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    out
}

/// One cycle per strongly connected group of tasks (self-dependencies excluded; they are
/// reported on their own), as a path that starts and ends at the group's lowest id and is as
/// short as possible, e.g. `[T-0003, T-0005, T-0003]`.
pub fn find_cycles(tasks: &[Task]) -> Vec<Vec<TaskId>> {
    // Graph over distinct ids; edges point from a task to what it depends on.
    let mut edges: BTreeMap<TaskId, BTreeSet<TaskId>> = BTreeMap::new();
    for t in tasks {
        edges.entry(t.id()).or_default();
    }
    for t in tasks {
        for dep in t.meta().depends_on.iter().filter_map(|d| TaskId::parse(d)) {
            if dep != t.id() && edges.contains_key(&dep) {
                edges.get_mut(&t.id()).expect("inserted above").insert(dep);
            }
        }
    }
    let nodes: Vec<TaskId> = edges.keys().copied().collect();
    let index: HashMap<TaskId, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let adj: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| edges[n].iter().map(|d| index[d]).collect())
        .collect();

    let mut cycles = Vec::new();
    for comp in tarjan(&adj) {
        if comp.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = comp.iter().copied().collect();
        let start = *members.iter().next().expect("non-empty");
        // Shortest way round from `start` back to itself inside the component (BFS).
        let mut prev: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut closing = None;
        'bfs: while let Some(n) = queue.pop_front() {
            for &m in &adj[n] {
                if !members.contains(&m) {
                    continue;
                }
                if m == start {
                    closing = Some(n);
                    break 'bfs;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(m) {
                    e.insert(n);
                    queue.push_back(m);
                }
            }
        }
        let Some(mut n) = closing else { continue };
        let mut path = vec![nodes[start]];
        let mut back = vec![];
        while n != start {
            back.push(nodes[n]);
            n = prev[&n];
        }
        path.extend(back.into_iter().rev());
        path.push(nodes[start]);
        cycles.push(path);
    }
    cycles.sort();
    cycles
}

/// Tarjan's strongly connected components, iterative so long dependency chains cannot overflow
/// the stack.
fn tarjan(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comps = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child < adj[v].len() {
                let w = adj[v][*child];
                *child += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    comps.push(comp);
                }
            }
        }
    }
    comps
}
