//! New task files are rendered deterministically and read back to the same values, however
//! tricky the strings (property-style over generated strings).

use codex_orchestrator::tasks::{Priority, Task, TaskId, TaskMeta, render_task};

const TRICKY: &[&str] = &[
    "",
    " ",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "-",
    "?",
    ":",
    "0",
    "12",
    "1.5",
    "1e3",
    "0x1F",
    "0o17",
    ".inf",
    "-.inf",
    ".NaN",
    "1_000",
    "12:30",
    "2001-12-14",
    "a: b",
    "a:b",
    "a #b",
    "a#b",
    "#x",
    "-x",
    "- x",
    "? x",
    "*x",
    "&x",
    "!x",
    "%x",
    "@x",
    "`x",
    "|x",
    ">x",
    "'x",
    "\"x",
    "[x]",
    "{x: 1}",
    "x,y",
    "x, y",
    "T-0001",
    "2h",
    "3 days",
    "\\",
    "\\n",
    "\t",
    "\n",
    "\r\n",
    "a\nb",
    "trailing ",
    " leading",
    "ünï 日本 🚀",
    "\u{feff}bom",
    "\u{85}",
    "\u{2028}",
    "\u{7f}",
    "\u{0}",
    "'single' \"double\"",
    "<<",
    "=",
    "---",
    "...",
    "# heading",
    "*",
    "&",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn meta_with(s: &str, id: u32) -> TaskMeta {
    let mut m = TaskMeta::new(TaskId(id), s);
    m.task_type = Some(s.to_string());
    m.owner = Some(s.to_string());
    m.estimate = Some(s.to_string());
    m.status = s.to_string();
    m.priority = Priority::parse(s);
    m.acceptance = vec![s.to_string(), format!("{s}{s}")];
    m.files = vec![s.to_string()];
    m.out_of_scope = vec![s.to_string()];
    m.depends_on = vec![s.to_string(), "T-0001".into()];
    m.auto_policy = Some(s.to_string());
    m.extra.insert(
        format!("x-{s}"),
        serde_json::json!({ "k": s, "list": [s, 1, true, null] }),
    );
    m
}

fn check(s: &str, id: u32) {
    let meta = meta_with(s, id);
    let text = render_task(&meta, "Body\n");
    let t = Task::parse(format!("tasks/{}.md", meta.id), text.as_bytes())
        .unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
    assert_eq!(t.meta(), &meta, "{s:?} did not read back:\n{text}");
    assert!(
        t.field_diagnostics().is_empty(),
        "{s:?}: {:?}",
        t.field_diagnostics()
    );
    assert_eq!(t.body(), "Body\n");
    assert_eq!(render_task(&meta, "Body\n"), text, "not deterministic");
}

#[test]
fn tricky_strings_read_back() {
    for (i, s) in TRICKY.iter().enumerate() {
        check(s, 10 + i as u32);
    }
}

#[test]
fn generated_strings_read_back() {
    let pieces: Vec<&str> = TRICKY
        .iter()
        .copied()
        .chain(["a", "b", " ", ": ", " #", "'", "\"", "\\", "é"])
        .collect();
    let mut rng = Rng(42);
    for i in 0..400 {
        let n = 1 + rng.next() % 4;
        let s: String = (0..n)
            .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
            .collect();
        check(&s, 1000 + i);
    }
}

#[test]
fn seed_like_task_renders_as_the_template_does() {
    let mut m = TaskMeta::new(TaskId(1), "Initialize basic CI for Python");
    m.task_type = Some("chore".into());
    m.priority = Priority::P0;
    m.acceptance = vec!["pytest runs".into()];
    let text = render_task(&m, "");
    assert_eq!(
        text,
        "---\nid: T-0001\ntitle: Initialize basic CI for Python\ntype: chore\npriority: P0\ndepends_on: []\nstatus: queued\nowner: unassigned\nestimate: 2h\nacceptance:\n  - \"pytest runs\"\nauto_policy: review_required\n---\n"
    );
}
