//! Bad input never panics and always yields a clear diagnostic: random bytes, every truncation of
//! real task files, unclosed front matter, BOM/CRLF, lists instead of maps, alias bombs and huge
//! files.

use codex_orchestrator::tasks::{Task, TaskParseError, default_states, load_from_memory};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tasks/roundtrip");
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet: &[u8] = b"---\n\r: -[]{}'\"#&*!|>T0123456789abcid\t\xff\xef\xbb\xbf";
    for round in 0..3000u32 {
        let len = (rng.next() % 200) as usize;
        let mut bytes: Vec<u8> = if round.is_multiple_of(2) {
            b"---\n".to_vec()
        } else {
            Vec::new()
        };
        for _ in 0..len {
            let r = rng.next();
            bytes.push(if r.is_multiple_of(3) {
                (r >> 8) as u8
            } else {
                alphabet[(r >> 8) as usize % alphabet.len()]
            });
        }
        if round.is_multiple_of(4) {
            bytes.extend_from_slice(b"\n---\n");
        }
        match Task::parse("tasks/T-0001.md", &bytes) {
            Ok(t) => assert_eq!(t.to_bytes(), &bytes[..]),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn every_truncation_of_real_files_is_handled() {
    for file in corpus() {
        for cut in 0..file.len() {
            let part = &file[..cut];
            let set = load_from_memory(
                vec![("tasks/T-0001-x.md", part.to_vec())],
                &default_states(),
            );
            assert_eq!(set.files.len(), 1);
            // Either it loaded (and round-trips) or it was reported.
            match set.tasks.first() {
                Some(t) => assert_eq!(t.to_bytes(), part),
                None => assert!(set.has_errors(), "cut {cut}: skipped without an error"),
            }
        }
    }
}

#[test]
fn structural_problems_have_specific_errors() {
    let cases: Vec<(&[u8], &str)> = vec![
        (b"", "no front matter"),
        (b"# Just markdown\n", "no front matter"),
        (b"---\nid: T-0001\ntitle: never closed\n", "never closed"),
        (b"---\n- a\n- b\n---\n", "found a list"),
        (b"---\njust a string\n---\n", "found a string"),
        (b"---\n---\n", "found nothing"),
        (b"---\ntitle: no id\n---\n", "has no `id`"),
        (b"---\nid: 7\n---\n", "is not a task id"),
        (
            b"\xef\xbb\xbf---\r\nid: T-0001\r\n- x\r\n---\r\n",
            "malformed YAML",
        ),
        (b"---\nid: T-0001\ntitle: \xff\n---\n", "not valid UTF-8"),
    ];
    for (bytes, needle) in cases {
        let err = Task::parse("tasks/T-0001.md", bytes).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{:?}: {err}",
            String::from_utf8_lossy(bytes)
        );
        let d = err.to_diagnostic("tasks/T-0001.md");
        assert!(d.is_error() && d.message.ends_with("(file skipped)"));
    }
    let err = Task::parse("t", b"---\nid: T-0001\ntitle: \xff\n---\n").unwrap_err();
    assert_eq!(err.line(), Some(3));
    let err = Task::parse("t", b"---\nid: T-0001\n").unwrap_err();
    assert_eq!(err.line(), Some(1));
}

#[test]
fn bom_and_crlf_are_accepted() {
    let t = Task::parse(
        "tasks/T-0001.md",
        b"\xef\xbb\xbf---\r\nid: T-0001\r\nstatus: queued\r\n---\r\n",
    )
    .unwrap();
    assert_eq!(t.status(), "queued");
}

#[test]
fn alias_bomb_is_refused_by_the_budget() {
    let mut yaml = String::from("---\nid: T-0001\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        yaml.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    yaml.push_str("---\n");
    let start = std::time::Instant::now();
    let err = Task::parse("tasks/T-0001.md", yaml.as_bytes()).unwrap_err();
    assert!(matches!(err, TaskParseError::Yaml { .. }), "{err}");
    assert!(err.to_string().contains("budget breached"), "{err}");
    assert!(
        err.to_string()
            .contains("too large or too deeply nested for a task"),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn deep_nesting_is_refused() {
    let yaml = format!(
        "---\nid: T-0001\nx: {}{}\n---\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let err = Task::parse("tasks/T-0001.md", yaml.as_bytes()).unwrap_err();
    assert!(matches!(err, TaskParseError::Yaml { .. }), "{err}");
    assert!(err.to_string().contains("too deeply nested"), "{err}");
}

#[test]
fn huge_files_are_refused_with_sizes() {
    let mut big = b"---\nid: T-0001\n---\n".to_vec();
    big.resize(2 * 1024 * 1024, b'a');
    let err = Task::parse("tasks/T-0001.md", &big).unwrap_err();
    assert!(
        matches!(err, TaskParseError::TooLarge { bytes: 2097152, .. }),
        "{err}"
    );
    let huge_yaml = format!("---\nid: T-0001\nx: \"{}\"\n---\n", "a".repeat(300 * 1024));
    let err = Task::parse("tasks/T-0001.md", huge_yaml.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("move long text into the Markdown body"),
        "{err}"
    );
}

#[test]
fn huge_file_on_disk_is_reported_and_others_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("T-0001-a.md"),
        "---\nid: T-0001\ntitle: a\npriority: P1\nstatus: queued\nacceptance: [x]\n---\n",
    )
    .unwrap();
    let mut big = b"---\nid: T-0002\n---\n".to_vec();
    big.resize(3 * 1024 * 1024, b'a');
    std::fs::write(dir.path().join("T-0002-b.md"), &big).unwrap();
    let set = codex_orchestrator::tasks::load_repo_tasks(dir.path(), ".", &default_states());
    assert_eq!(set.tasks.len(), 1);
    assert_eq!(set.files.len(), 2);
    assert_eq!(set.diagnostics.len(), 1, "{:?}", set.diagnostics);
    assert!(
        set.diagnostics[0].message.contains("3145728 bytes"),
        "{}",
        set.diagnostics[0]
    );
}
