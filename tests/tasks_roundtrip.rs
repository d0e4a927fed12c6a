//! Round-trip guarantees over the fixture corpus: unchanged tasks give back the same bytes and a
//! status change touches exactly one line (or adds one), and changing it back restores the file.

use std::path::PathBuf;

use codex_orchestrator::tasks::{Priority, Task, TaskId, default_states, load_dir};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tasks/roundtrip");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (format!("tasks/{name}"), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 13, "corpus went missing: {}", files.len());
    files
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|&c| c == b'\n').collect()
}

#[test]
fn corpus_is_byte_exact_and_has_the_variety_we_claim() {
    let files = corpus();
    let crlf = files
        .iter()
        .filter(|(_, b)| b.windows(2).any(|w| w == b"\r\n"))
        .count();
    let bom = files
        .iter()
        .filter(|(_, b)| b.starts_with(&[0xEF, 0xBB, 0xBF]))
        .count();
    let no_nl = files.iter().filter(|(_, b)| !b.ends_with(b"\n")).count();
    assert!(
        crlf >= 1 && bom >= 1 && no_nl >= 2,
        "crlf {crlf} bom {bom} no_nl {no_nl}"
    );
}

#[test]
fn unchanged_tasks_serialise_to_the_same_bytes() {
    for (path, bytes) in corpus() {
        let task = Task::parse(path.clone(), &bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(task.to_bytes(), &bytes[..], "{path}");
        assert!(
            task.field_diagnostics().is_empty(),
            "{path}: {:?}",
            task.field_diagnostics()
        );
    }
}

#[test]
fn whole_corpus_loads_and_validates_clean() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tasks/roundtrip");
    let set = load_dir(&dir, &default_states());
    assert_eq!(set.tasks.len(), 13);
    let errors: Vec<String> = set
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    // T-0011 has no owner/estimate (optional) but everything required is there.
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn typed_view_reads_every_style() {
    let files = corpus();
    let get = |name: &str| {
        let (p, b) = files.iter().find(|(p, _)| p.ends_with(name)).unwrap();
        Task::parse(p.clone(), b).unwrap()
    };
    let t = get("T-0003-single-quotes.md");
    assert_eq!(t.meta().title, "It's single-quoted: with a colon");
    assert_eq!(t.meta().depends_on, vec!["T-0001", "T-0002"]);
    assert_eq!(t.meta().priority, Priority::P2);
    let t = get("T-0004-crlf.md");
    assert_eq!(t.meta().title, "Windows line endings");
    assert_eq!(t.meta().acceptance, vec!["CRLF is kept on every line"]);
    assert_eq!(t.body(), "\r\nBody line one.\r\nBody line two.\r\n");
    let t = get("T-0005-unicode.md");
    assert_eq!(t.meta().title, "Ünïcødé 日本語のタイトル 🚀 — ça marche");
    assert_eq!(t.meta().acceptance[1], "Escapes é and \t survive");
    let t = get("T-0006-bom.md");
    assert_eq!(t.id(), TaskId(6));
    let t = get("T-0007-unknown-keys.md");
    let extra: Vec<&str> = t.meta().extra.keys().map(String::as_str).collect();
    assert_eq!(extra, vec!["labels", "links", "ratio", "x-custom-flag"]);
    assert_eq!(t.meta().extra["links"]["nested"][1]["b"], 1);
    assert_eq!(t.meta().files, vec!["src/lib.rs", "docs/tasks.md"]);
    assert_eq!(t.meta().out_of_scope, vec!["Rewriting the parser"]);
    let t = get("T-0008-block-scalars.md");
    assert_eq!(t.meta().title, "A folded title over two lines");
    assert_eq!(t.meta().acceptance[0], "A literal block\nwith two lines\n");
    let t = get("T-0009-flow-style.md");
    assert_eq!(t.meta().depends_on, vec!["T-0007", "T-0008"]);
    assert_eq!(t.meta().estimate.as_deref(), Some("1w"));
    let t = get("T-0011-quoted-keys.md");
    assert_eq!(t.meta().title, "Quoted keys and \"escapes\"");
    assert_eq!(t.status(), "queued");
    let t = get("T-0013-tabs-and-dots.md");
    assert_eq!(t.body(), "Body after dots.\n");
}

#[test]
fn set_status_changes_exactly_one_line_and_back_restores_bytes() {
    let mut edited = 0;
    for (path, bytes) in corpus() {
        let mut task = Task::parse(path.clone(), &bytes).unwrap();
        let original = task.status().to_string();
        match task.set_status("in_review") {
            Ok(()) => {}
            Err(e) => {
                // Only the flow-style front matter has no status line to edit; it stays unchanged.
                assert!(path.ends_with("T-0009-flow-style.md"), "{path}: {e}");
                assert_eq!(task.to_bytes(), &bytes[..]);
                continue;
            }
        }
        edited += 1;
        assert_eq!(task.status(), "in_review", "{path}");
        let before = lines(&bytes);
        let after = lines(task.to_bytes());
        assert_eq!(before.len(), after.len(), "{path}: line count changed");
        let changed: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        if original == "in_review" {
            assert!(changed.is_empty(), "{path}");
        } else {
            assert_eq!(changed.len(), 1, "{path}: {changed:?}");
            let line = String::from_utf8_lossy(after[changed[0]]);
            assert!(line.contains("in_review"), "{path}: {line}");
        }
        // Everything else about the task is unchanged.
        let reparsed = Task::parse(path.clone(), task.to_bytes()).unwrap();
        let mut meta = reparsed.meta().clone();
        meta.status = original.clone();
        assert_eq!(
            &meta,
            Task::parse(path.clone(), &bytes).unwrap().meta(),
            "{path}"
        );
        task.set_status(&original).unwrap();
        assert_eq!(
            task.to_bytes(),
            &bytes[..],
            "{path}: setting the status back differs"
        );
    }
    assert_eq!(edited, 12);
}

#[test]
fn set_status_keeps_quoting_comments_and_crlf() {
    let files = corpus();
    let get = |name: &str| {
        let (p, b) = files.iter().find(|(p, _)| p.ends_with(name)).unwrap();
        Task::parse(p.clone(), b).unwrap()
    };
    let mut t = get("T-0002-comments.md");
    t.set_status("done").unwrap();
    assert!(t.text().contains("\nstatus: done    # keep this comment\n"));
    let mut t = get("T-0003-single-quotes.md");
    t.set_status("done").unwrap();
    assert!(t.text().contains("\nstatus: 'done'\n"));
    let mut t = get("T-0011-quoted-keys.md");
    t.set_status("blocked").unwrap();
    assert!(
        t.text()
            .contains("\n'status': \"blocked\"  # double-quoted value\n")
    );
    let mut t = get("T-0004-crlf.md");
    t.set_status("done").unwrap();
    assert!(t.text().contains("\r\nstatus: done\r\n"));
    assert!(!t.text().replace("\r\n", "").contains('\n'));
    let mut t = get("T-0013-tabs-and-dots.md");
    t.set_status("done").unwrap();
    assert!(
        t.text()
            .contains("\nstatus:   done\t# tab before comment\n")
    );
}

#[test]
fn set_status_adds_a_missing_status_line() {
    let text = "---\r\nid: T-0042\r\ntitle: t\r\n---\r\nbody\r\n";
    let mut t = Task::parse("tasks/T-0042.md", text.as_bytes()).unwrap();
    assert_eq!(t.status(), "");
    t.set_status("queued").unwrap();
    assert_eq!(
        t.text(),
        "---\r\nid: T-0042\r\ntitle: t\r\nstatus: queued\r\n---\r\nbody\r\n"
    );
}

#[test]
fn set_status_quotes_values_yaml_would_misread() {
    let mut t = Task::parse("tasks/T-0001.md", b"---\nid: T-0001\nstatus: queued\n---\n").unwrap();
    for weird in ["yes", "null", "a: b", "#x", "12", "it's"] {
        t.set_status(weird).unwrap();
        assert_eq!(t.status(), weird);
    }
}

#[test]
fn other_scalar_fields_edit_in_place_too() {
    use codex_orchestrator::tasks::Field;
    let files = corpus();
    let (p, b) = files
        .iter()
        .find(|(p, _)| p.ends_with("T-0002-comments.md"))
        .unwrap();
    let mut t = Task::parse(p.clone(), b).unwrap();
    t.set_field(Field::Owner, "developer-bot").unwrap();
    t.set_field(Field::Priority, "P0").unwrap();
    let before = lines(b);
    let after = lines(t.to_bytes());
    let changed: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(t.meta().owner.as_deref(), Some("developer-bot"));
    assert_eq!(t.meta().priority, Priority::P0);
    // A multi-line (folded) title cannot be edited in place: refused, nothing changed.
    let (p, b) = files
        .iter()
        .find(|(p, _)| p.ends_with("T-0008-block-scalars.md"))
        .unwrap();
    let mut t = Task::parse(p.clone(), b).unwrap();
    let err = t.set_field(Field::Title, "New").unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot edit `title` on line 3 in place"),
        "{err}"
    );
    assert_eq!(t.to_bytes(), &b[..]);
    // A missing optional field is added as a new line before the closing `---`.
    let (p, b) = files
        .iter()
        .find(|(p, _)| p.ends_with("T-0011-quoted-keys.md"))
        .unwrap();
    let mut t = Task::parse(p.clone(), b).unwrap();
    t.set_field(Field::Owner, "zoë").unwrap();
    assert!(t.text().ends_with("owner: zoë\n---\n"), "{}", t.text());
}
