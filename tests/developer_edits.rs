//! The Developer's edit protocol: parsing SEARCH/REPLACE replies and applying them.

use std::collections::BTreeMap;

use codex_orchestrator::roles::developer::edits::{
    Applied, ApplyError, ApplyOptions, EditBlock, FORMAT_HELP, Matched, ParseError, apply,
    apply_all, feedback, format_help, parse_blocks, parse_feedback,
};

fn opts() -> ApplyOptions {
    ApplyOptions::default()
}

fn changed(result: Result<Applied, ApplyError>) -> (String, Matched) {
    match result {
        Ok(Applied::Changed { text, how }) => (text, how),
        other => panic!("expected a change, got {other:?}"),
    }
}

// ---------------------------------------------------------------- parsing

#[test]
fn parses_a_plain_block() {
    let reply = "src/lib.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn b() {}\n>>>>>>> REPLACE\n";
    let blocks = parse_blocks(reply).unwrap();
    assert_eq!(
        blocks,
        vec![EditBlock::new("src/lib.rs", "fn a() {}\n", "fn b() {}\n")]
    );
}

#[test]
fn parses_prose_fences_and_think_around_blocks() {
    let reply = "<think>\nI should edit src/wrong.rs\n<<<<<<< SEARCH\nnope\n=======\nno\n>>>>>>> REPLACE\n</think>\n\
Sure! Here are the changes.\n\n\
`src/main.rs`\n```rust\n<<<<<<< SEARCH\nfn main() {}\n=======\nfn main() {\n    run();\n}\n>>>>>>> REPLACE\n```\n\n\
And the helper:\n\n\
```python\n### tools/x.py\n<<<<<<< SEARCH:\nx = 1\n========\nx = 2\n>>>>>>>> REPLACE\n```\n\
File: \"docs/a.md\"\n\n```\n<<<<<< SEARCH\n=======\n# New\n>>>>>> REPLACE\n```\nDone.\n";
    let blocks = parse_blocks(reply).unwrap();
    assert_eq!(blocks.len(), 3, "{blocks:#?}");
    assert_eq!(blocks[0].path, "src/main.rs");
    assert_eq!(blocks[0].search, "fn main() {}\n");
    assert_eq!(blocks[0].replace, "fn main() {\n    run();\n}\n");
    assert_eq!(blocks[1].path, "tools/x.py");
    assert_eq!(blocks[1].replace, "x = 2\n");
    assert_eq!(blocks[2].path, "docs/a.md");
    assert_eq!(blocks[2].search, "");
    assert_eq!(blocks[2].replace, "# New\n");
    assert!(blocks.iter().all(|b| !b.whole_file));
}

#[test]
fn crlf_replies_and_consecutive_blocks_reuse_the_path() {
    let reply = "a.txt\r\n<<<<<<< SEARCH\r\none\r\n=======\r\n1\r\n>>>>>>> REPLACE\r\n\
<<<<<<< SEARCH\r\ntwo\r\n=======\r\n2\r\n>>>>>>> REPLACE\r\n";
    let blocks = parse_blocks(reply).unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[1], EditBlock::new("a.txt", "two\n", "2\n"));
}

#[test]
fn whole_file_answer_is_flagged() {
    let reply = "Here is the new file.\n\nsrc/new.rs\n```rust\npub fn x() {}\n```\n";
    let blocks = parse_blocks(reply).unwrap();
    assert_eq!(
        blocks,
        vec![EditBlock::whole_file("src/new.rs", "pub fn x() {}\n")]
    );
    // Also with the path in the fence's info string.
    let blocks = parse_blocks("```toml Cargo.toml\n[package]\n```\n").unwrap();
    assert_eq!(
        blocks,
        vec![EditBlock::whole_file("Cargo.toml", "[package]\n")]
    );
}

#[test]
fn a_fenced_file_labelled_by_a_comment_is_a_whole_file_answer() {
    // Seen from Qwen2.5-Coder 1.5B: each file whole, its path as a comment on the first line.
    let reply = "```python\n# src/app.py\ndef greet():\n    pass\n```\n\n```python\n# tests/test_app.py\nfrom src.app import greet\n```\n";
    assert_eq!(
        parse_blocks(reply).unwrap(),
        vec![
            EditBlock::whole_file("src/app.py", "def greet():\n    pass\n"),
            EditBlock::whole_file("tests/test_app.py", "from src.app import greet\n"),
        ]
    );
    let js = "```js\n// lib/a.js\nexport const a = 1;\n```\n";
    assert_eq!(parse_blocks(js).unwrap()[0].path, "lib/a.js");
    // A comment that names no file keeps the fence a snippet.
    for snippet in [
        "```python\n# Setup\nx = 1\n```\n",
        "```rust\n// TODO\nfn x() {}\n```\n",
        "```\n# a.py\nx = 1\n```\n",
    ] {
        assert_eq!(
            parse_blocks(snippet).unwrap_err(),
            ParseError::NoBlocks,
            "{snippet}"
        );
    }
}

#[test]
fn a_snippet_without_path_is_not_an_edit() {
    let err = parse_blocks("Try this:\n```rust\nfn x() {}\n```\n").unwrap_err();
    assert_eq!(err, ParseError::NoBlocks);
    assert!(parse_feedback(&err).contains("<<<<<<< SEARCH"));
}

#[test]
fn a_quoted_file_next_to_blocks_for_it_is_not_a_whole_file_answer() {
    let reply = "src/a.rs\n```rust\nfn a() {}\nfn b() {}\n```\nChange it:\n\n\
src/a.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn a() { 1 }\n>>>>>>> REPLACE\n";
    let blocks = parse_blocks(reply).unwrap();
    assert_eq!(blocks.len(), 1);
    assert!(!blocks[0].whole_file);
}

#[test]
fn malformed_blocks_name_the_block_and_what_is_missing() {
    let ok = "a.rs\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
    let no_divider = format!("{ok}b.rs\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n");
    match parse_blocks(&no_divider).unwrap_err() {
        ParseError::Malformed {
            block,
            path,
            missing,
        } => {
            assert_eq!(block, 2);
            assert_eq!(path.as_deref(), Some("b.rs"));
            assert!(missing.contains("======="), "{missing}");
        }
        other => panic!("{other:?}"),
    }
    let cut = "a.rs\n<<<<<<< SEARCH\nx\n=======\ny\n";
    let err = parse_blocks(cut).unwrap_err();
    assert!(err.to_string().contains("block 1 (a.rs)"), "{err}");
    assert!(err.to_string().contains(">>>>>>> REPLACE"), "{err}");
    let no_start = "a.rs\nx\n=======\ny\n>>>>>>> REPLACE\n";
    assert!(
        parse_blocks(no_start)
            .unwrap_err()
            .to_string()
            .contains("<<<<<<< SEARCH")
    );
    let no_path = "Sure:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
    assert_eq!(
        parse_blocks(no_path).unwrap_err(),
        ParseError::MissingPath { block: 1 }
    );
    let cut_whole = "src/x.rs\n```rust\nfn x() {\n";
    assert!(matches!(
        parse_blocks(cut_whole).unwrap_err(),
        ParseError::Malformed { block: 1, .. }
    ));
}

#[test]
fn zero_blocks_is_a_typed_error() {
    assert_eq!(parse_blocks("").unwrap_err(), ParseError::NoBlocks);
    assert_eq!(
        parse_blocks("I think the code is fine.").unwrap_err(),
        ParseError::NoBlocks
    );
}

// ---------------------------------------------------------------- what small models copy

#[test]
fn the_format_help_has_no_path_a_model_can_paste() {
    // Copied verbatim (small models do), the help is no edit of any file: its path line is a
    // placeholder that is not a path.
    assert!(!FORMAT_HELP.contains("path/to/"), "{FORMAT_HELP}");
    assert_eq!(
        parse_blocks(FORMAT_HELP).unwrap_err(),
        ParseError::MissingPath { block: 1 }
    );
    // With the task's real file, the example's path line is that file.
    let help = format_help(Some("src/app.py"));
    assert!(help.contains("\nsrc/app.py\n<<<<<<< SEARCH\n"), "{help}");
    assert_eq!(parse_blocks(&help).unwrap()[0].path, "src/app.py");
    // Something that is not a clean path never goes on the path line.
    assert_eq!(format_help(Some("a b\n<<<<<<< SEARCH")), FORMAT_HELP);
}

#[test]
fn marker_lines_in_search_or_replace_are_refused_with_the_reason() {
    let open = "<<<UNTRUSTED-0123456789ab file src/app.py>>>";
    let close = "<<<END-UNTRUSTED-0123456789ab>>>";
    let search = format!(
        "src/app.py\n<<<<<<< SEARCH\n{open}\ndef greet(name):\n=======\ndef greet(name):\n>>>>>>> REPLACE\n"
    );
    let err = parse_blocks(&search).unwrap_err();
    match &err {
        ParseError::UntrustedMarker {
            block, path, part, ..
        } => {
            assert_eq!((*block, path.as_str(), *part), (1, "src/app.py", "SEARCH"));
        }
        other => panic!("{other:?}"),
    }
    let text = parse_feedback(&err);
    assert!(text.contains("not in the file"), "{text}");
    assert!(text.contains("Nothing was applied"), "{text}");
    // In REPLACE they would be written into the file: refused too (block 2 here).
    let replace = format!(
        "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n\
         a.py\n<<<<<<< SEARCH\ny = 1\n=======\ny = 2\n{close}\n>>>>>>> REPLACE\n"
    );
    assert!(matches!(
        parse_blocks(&replace).unwrap_err(),
        ParseError::UntrustedMarker {
            block: 2,
            part: "REPLACE",
            ..
        }
    ));
    // A line that only mentions the marker (code of this very project) is fine.
    let code = "src/p.rs\n<<<<<<< SEARCH\nlet open = \"<<<UNTRUSTED-\";\n=======\nlet open = \"<<<UNTRUSTED-\"; // x\n>>>>>>> REPLACE\n";
    assert!(parse_blocks(code).is_ok());
}

#[test]
fn fence_language_tags_around_and_inside_blocks_are_tolerated() {
    // ```bash around each block (the path inside the fence, or before it).
    let around = "```bash\nsrc/app.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n\n\
tests/test_app.py\n```python\n<<<<<<< SEARCH\ny = 1\n=======\ny = 2\n>>>>>>> REPLACE\n```\n";
    let blocks = parse_blocks(around).unwrap();
    assert_eq!(
        blocks,
        vec![
            EditBlock::new("src/app.py", "x = 1\n", "x = 2\n"),
            EditBlock::new("tests/test_app.py", "y = 1\n", "y = 2\n"),
        ]
    );
    // The path in the info string as `lang:path`.
    let info =
        "```python:src/app.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n";
    assert_eq!(parse_blocks(info).unwrap()[0].path, "src/app.py");
    // Fences inside SEARCH and REPLACE are not part of the file.
    let inside = "src/app.py\n<<<<<<< SEARCH\n```python\nx = 1\n```\n=======\n```python\nx = 2\n```\n>>>>>>> REPLACE\n";
    assert_eq!(
        parse_blocks(inside).unwrap(),
        vec![EditBlock::new("src/app.py", "x = 1\n", "x = 2\n")]
    );
    // A new code file's fenced content.
    let new = "src/n.py\n<<<<<<< SEARCH\n=======\n```python\nN = 1\n```\n>>>>>>> REPLACE\n";
    assert_eq!(parse_blocks(new).unwrap()[0].replace, "N = 1\n");
    // In a document only a fence on both sides is dropped (one side may be the edit itself).
    let doc = "README.md\n<<<<<<< SEARCH\nUsage:\n=======\n```sh\nrun\n```\n>>>>>>> REPLACE\n";
    assert_eq!(parse_blocks(doc).unwrap()[0].replace, "```sh\nrun\n```\n");
}

// ---------------------------------------------------------------- applying: tiers

#[test]
fn exact_match() {
    let file = "fn a() {\n    1\n}\n\nfn b() {}\n";
    let block = EditBlock::new("x.rs", "    1\n", "    2\n");
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(text, "fn a() {\n    2\n}\n\nfn b() {}\n");
    assert_eq!(how, Matched::Exact);
}

#[test]
fn trailing_whitespace_and_crlf_are_tolerated_and_crlf_is_preserved() {
    let file = "a = 1\r\nb = 2\r\nc = 3\r\n";
    let block = EditBlock::new("x.py", "a = 1\nb = 2\n", "a = 10\nb = 20\n");
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(text, "a = 10\r\nb = 20\r\nc = 3\r\n");
    assert_eq!(how, Matched::Exact, "CRLF alone is not a difference");
    let block = EditBlock::new("x.py", "a = 1\n", "a = 0\n");
    let file = "a = 1 \r\nb\r\n";
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(text, "a = 0\r\nb\r\n");
    assert_eq!(how, Matched::TrailingWhitespace);
}

#[test]
fn missing_final_newline_is_preserved() {
    let file = "one\ntwo";
    let block = EditBlock::new("x", "two\n", "2\n");
    assert_eq!(changed(apply(Some(file), &block, &opts())).0, "one\n2");
    let block = EditBlock::new("x", "one\n", "1\n");
    assert_eq!(changed(apply(Some(file), &block, &opts())).0, "1\ntwo");
}

#[test]
fn indentation_shifted_search_is_reindented() {
    let file = "\
class Greeter:
    def greet(self, name):
        if name:
            return f\"hi {name}\"
        return \"hi\"

    def other(self):
        pass
";
    // The model dropped the class-level indentation.
    let block = EditBlock::new(
        "greeter.py",
        "def greet(self, name):\n    if name:\n        return f\"hi {name}\"\n",
        "def greet(self, name):\n    if not name:\n        return \"hi\"\n    return f\"hi {name}\"\n",
    );
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(how, Matched::Indentation);
    assert_eq!(
        text,
        "\
class Greeter:
    def greet(self, name):
        if not name:
            return \"hi\"
        return f\"hi {name}\"
        return \"hi\"

    def other(self):
        pass
"
    );
    // The model added indentation.
    let block = EditBlock::new(
        "greeter.py",
        "        def other(self):\n            pass\n",
        "        def other(self):\n            return 1\n",
    );
    let (text, _) = changed(apply(Some(file), &block, &opts()));
    assert!(
        text.ends_with("    def other(self):\n        return 1\n"),
        "{text}"
    );
}

#[test]
fn tab_indented_crlf_file_is_reindented_and_stays_crlf() {
    let file = "func main() {\r\n\tif ok {\r\n\t\trun()\r\n\t}\r\n}\r\n";
    let block = EditBlock::new(
        "main.go",
        "if ok {\n\trun()\n}\n",
        "if ok {\n\trun()\n\tlog()\n}\n",
    );
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(how, Matched::Indentation);
    assert_eq!(
        text,
        "func main() {\r\n\tif ok {\r\n\t\trun()\r\n\t\tlog()\r\n\t}\r\n}\r\n"
    );
    // Spaces for tabs is not a uniform shift: refused rather than guessed.
    let block = EditBlock::new("main.go", "    if ok {\n        run()\n", "x\n");
    assert!(matches!(
        apply(Some(file), &block, &opts()),
        Err(ApplyError::NotFound { .. })
    ));
}

#[test]
fn non_uniform_indentation_is_not_matched() {
    let file = "if a:\n    b()\n    c()\n";
    let block = EditBlock::new("x.py", "if a:\n  b()\n    c()\n", "if a:\n    d()\n");
    assert!(matches!(
        apply(Some(file), &block, &opts()),
        Err(ApplyError::NotFound { .. })
    ));
}

#[test]
fn a_spurious_blank_line_is_tolerated() {
    let file = "fn a() {\n    x();\n}\nfn b() {\n    y();\n}\n";
    // A blank line the file does not have, at the edge and in the middle.
    let block = EditBlock::new(
        "x.rs",
        "\nfn b() {\n\n    y();\n}\n",
        "\nfn b() {\n    z();\n}\n",
    );
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(how, Matched::BlankLines);
    assert_eq!(text, "fn a() {\n    x();\n}\nfn b() {\n    z();\n}\n");
    // A blank line the model dropped.
    let file = "a\n\nb\nc\n";
    let block = EditBlock::new("x", "a\nb\n", "a\nB\n");
    let (text, how) = changed(apply(Some(file), &block, &opts()));
    assert_eq!(how, Matched::BlankLines);
    assert_eq!(text, "a\nB\nc\n");
}

// ---------------------------------------------------------------- applying: refusals

#[test]
fn ambiguous_search_is_rejected_with_line_numbers() {
    let file = "fn a() {\n    return 1;\n}\nfn b() {\n    return 1;\n}\n";
    let block = EditBlock::new("x.rs", "    return 1;\n", "    return 2;\n");
    match apply(Some(file), &block, &opts()) {
        Err(ApplyError::Ambiguous {
            count,
            lines,
            quoted,
        }) => {
            assert_eq!(count, 2);
            assert_eq!(lines, vec![2, 5]);
            assert!(quoted.contains("1 | fn a() {"), "{quoted}");
            assert!(quoted.contains("4 | fn b() {"), "{quoted}");
        }
        other => panic!("{other:?}"),
    }
    // Ambiguous after whitespace normalisation too.
    let block = EditBlock::new("x.rs", "return 1;\n", "return 2;\n");
    assert!(matches!(
        apply(Some(file), &block, &opts()),
        Err(ApplyError::Ambiguous { count: 2, .. })
    ));
}

#[test]
fn not_found_quotes_the_nearest_real_lines() {
    let file =
        "use std::io;\n\nfn main() {\n    let x = compute(1, 2);\n    println!(\"{x}\");\n}\n";
    let block = EditBlock::new(
        "src/main.rs",
        "    let x = compute(1, 3);\n    println!(\"{x}\");\n",
        "    let x = compute(1, 4);\n",
    );
    match apply(Some(file), &block, &opts()) {
        Err(ApplyError::NotFound { nearest }) => {
            assert!(nearest.contains("4-5"), "{nearest}");
            assert!(
                nearest.contains("4 |     let x = compute(1, 2);"),
                "{nearest}"
            );
            assert!(nearest.contains("5 |     println!"), "{nearest}");
            assert!(nearest.contains("3 | fn main() {"), "context: {nearest}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn placeholder_in_a_whole_file_answer_is_refused() {
    let block = EditBlock::whole_file("x.py", "import os\n# ... rest of the file unchanged\n");
    assert!(matches!(
        apply(Some("import os\nimport sys\n"), &block, &opts()),
        Err(ApplyError::Elided { .. })
    ));
}

#[test]
fn not_found_in_a_large_file_still_points_at_the_right_place() {
    let lines: Vec<String> = (0..3000)
        .map(|i| format!("    let value_{i} = compute({i}, {});", i * 7))
        .collect();
    let file: String = lines.iter().map(|l| format!("{l}\n")).collect();
    // Lines 1501-1510 with a typo in each.
    let search: String = lines[1500..1510]
        .iter()
        .map(|l| format!("{}\n", l.replace("compute", "compte")))
        .collect();
    let block = EditBlock::new("big.rs", search, "x\n");
    match apply(Some(&file), &block, &opts()) {
        Err(ApplyError::NotFound { nearest }) => {
            assert!(nearest.contains("1501-1510"), "{nearest}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_empty_search_on_a_missing_file_is_not_found() {
    let block = EditBlock::new("src/nope.rs", "fn x() {}\n", "fn y() {}\n");
    match apply(None, &block, &opts()) {
        Err(ApplyError::NotFound { nearest }) => {
            assert!(nearest.contains("does not exist"), "{nearest}")
        }
        other => panic!("{other:?}"),
    }
    let mut files = BTreeMap::new();
    files.insert("src/other.rs".to_string(), Some("x\n".to_string()));
    let errors = apply_all(&files, &[block], &opts()).unwrap_err();
    let text = feedback(&errors);
    assert!(text.contains("Block 1 (src/nope.rs)"), "{text}");
    assert!(text.contains("leave SEARCH empty"), "{text}");
}

#[test]
fn placeholder_comments_are_refused() {
    let file = "fn a() {\n    one();\n    two();\n}\n";
    let block = EditBlock::new(
        "x.rs",
        "fn a() {\n    one();\n    two();\n}\n",
        "fn a() {\n    // ... existing code ...\n    three();\n}\n",
    );
    assert!(matches!(
        apply(Some(file), &block, &opts()),
        Err(ApplyError::Elided { .. })
    ));
}

// ---------------------------------------------------------------- already applied, new files, whole files

#[test]
fn already_applied_edits_are_recognised() {
    let before = "fn a() {\n    1\n}\n";
    let block = EditBlock::new("x.rs", "    1\n", "    2\n");
    let (after, _) = changed(apply(Some(before), &block, &opts()));
    assert_eq!(
        apply(Some(&after), &block, &opts()),
        Ok(Applied::AlreadyApplied)
    );
    // An insertion whose REPLACE contains SEARCH is not inserted twice.
    let insert = EditBlock::new("x.rs", "fn a() {\n", "use x;\nfn a() {\n");
    let (once, _) = changed(apply(Some(before), &insert, &opts()));
    assert_eq!(once, "use x;\nfn a() {\n    1\n}\n");
    assert_eq!(
        apply(Some(&once), &insert, &opts()),
        Ok(Applied::AlreadyApplied)
    );
    // A created file is recognised too.
    let create = EditBlock::new("n.rs", "", "pub fn n() {}\n");
    let (created, how) = changed(apply(None, &create, &opts()));
    assert_eq!(
        (created.as_str(), how),
        ("pub fn n() {}\n", Matched::Created)
    );
    assert_eq!(
        apply(Some(&created), &create, &opts()),
        Ok(Applied::AlreadyApplied)
    );
}

#[test]
fn empty_search_on_an_existing_file_needs_append() {
    let block = EditBlock::new("x", "", "more\n");
    assert_eq!(
        apply(Some("text"), &block, &opts()),
        Err(ApplyError::FileExists)
    );
    let append = ApplyOptions {
        allow_append: true,
        ..ApplyOptions::default()
    };
    let (text, how) = changed(apply(Some("text"), &block, &append));
    assert_eq!((text.as_str(), how), ("text\nmore\n", Matched::Appended));
    let (text, _) = changed(apply(Some("a\r\nb\r\n"), &block, &append));
    assert_eq!(text, "a\r\nb\r\nmore\r\n");
    // An empty existing file is simply filled.
    let (text, how) = changed(apply(Some(""), &block, &opts()));
    assert_eq!((text.as_str(), how), ("more\n", Matched::Created));
}

#[test]
fn whole_file_small_vs_too_large() {
    let block = EditBlock::whole_file("x.txt", "new\ncontent\n");
    let (text, how) = changed(apply(Some("old\r\n"), &block, &opts()));
    assert_eq!(
        (text.as_str(), how),
        ("new\r\ncontent\r\n", Matched::WholeFile)
    );
    let (text, how) = changed(apply(None, &block, &opts()));
    assert_eq!((text.as_str(), how), ("new\ncontent\n", Matched::Created));
    let big: String = (0..201).map(|i| format!("line {i}\n")).collect();
    assert_eq!(
        apply(Some(&big), &block, &opts()),
        Err(ApplyError::WholeFileTooLarge {
            lines: 201,
            max: 200
        })
    );
    let small: String = (0..200).map(|i| format!("line {i}\n")).collect();
    assert!(apply(Some(&small), &block, &opts()).is_ok());
}

// ---------------------------------------------------------------- apply_all and feedback

#[test]
fn several_blocks_on_one_file_apply_in_sequence() {
    let reply = "src/a.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn a() { b() }\n>>>>>>> REPLACE\n\n\
src/a.rs\n<<<<<<< SEARCH\nfn a() { b() }\n=======\nfn a() { c() }\n>>>>>>> REPLACE\n\n\
src/new.rs\n<<<<<<< SEARCH\n=======\npub fn c() {}\n>>>>>>> REPLACE\n";
    let blocks = parse_blocks(reply).unwrap();
    let mut files = BTreeMap::new();
    files.insert(
        "src/a.rs".to_string(),
        Some("fn a() {}\nfn z() {}\n".to_string()),
    );
    files.insert("src/untouched.rs".to_string(), Some("x\n".to_string()));
    let out = apply_all(&files, &blocks, &opts()).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out["src/a.rs"], "fn a() { c() }\nfn z() {}\n");
    assert_eq!(out["src/new.rs"], "pub fn c() {}\n");
}

#[test]
fn apply_all_is_all_or_nothing_and_feedback_quotes_real_lines() {
    let blocks = vec![
        EditBlock::new("a.rs", "fn a() {}\n", "fn a() { 1 }\n"),
        EditBlock::new("a.rs", "fn missing() {}\n", "fn x() {}\n"),
        EditBlock::new("  ", "x\n", "y\n"),
        EditBlock::new("b.rs", "}\n", "};\n"),
    ];
    let mut files = BTreeMap::new();
    files.insert(
        "a.rs".to_string(),
        Some("fn a() {}\nfn mising() {}\n".to_string()),
    );
    files.insert(
        "b.rs".to_string(),
        Some("fn b() {\n}\nfn c() {\n}\n".to_string()),
    );
    let errors = apply_all(&files, &blocks, &opts()).unwrap_err();
    let indexes: Vec<usize> = errors.iter().map(|e| e.index).collect();
    assert_eq!(indexes, vec![1, 2, 3]);
    assert_eq!(errors[1].error, ApplyError::EmptyPath);
    let text = feedback(&errors);
    assert!(text.contains("none of the edits were made"), "{text}");
    assert!(text.contains("Block 2 (a.rs)"), "{text}");
    assert!(text.contains("2 | fn mising() {}"), "{text}");
    assert!(text.contains("Block 4 (b.rs)"), "{text}");
    assert!(text.contains("lines 2, 4"), "{text}");
}

#[test]
fn apply_all_reports_nothing_for_already_applied_answers() {
    let blocks = vec![EditBlock::new("a", "x\n", "y\n")];
    let mut files = BTreeMap::new();
    files.insert("a".to_string(), Some("y\n".to_string()));
    assert!(apply_all(&files, &blocks, &opts()).unwrap().is_empty());
}

// ---------------------------------------------------------------- robustness

/// A small deterministic generator (xorshift) so the fuzz test is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "<<<<<<< SEARCH",
    "<<<<<< SEARCH:",
    "=======",
    "========",
    ">>>>>>> REPLACE",
    ">>>>>>>> REPLACE",
    "```",
    "```rust",
    "~~~",
    "src/a.rs",
    "`b.py`",
    "### File: c.txt",
    "<think>",
    "</think>",
    "",
    " ",
    "\t",
    "fn a() {}",
    "    x = 1",
    "x = 1",
    "  }",
    "}",
    "// ... existing code ...",
    "é ünïcødé ✓",
    "\r",
    "Sure! Here you go:",
];

fn random_text(rng: &mut Rng, max_lines: usize) -> String {
    let n = rng.below(max_lines + 1);
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(rng.pick(PIECES));
        match rng.below(4) {
            0 => out.push_str("\r\n"),
            1 => {}
            _ => out.push('\n'),
        }
    }
    out
}

#[test]
fn garbage_never_panics_and_every_change_contains_the_replace_text() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut applied = 0;
    for _ in 0..4000 {
        let reply = random_text(&mut rng, 30);
        let _ = parse_blocks(&reply);
        let file = random_text(&mut rng, 12);
        let original = if rng.below(5) == 0 {
            None
        } else {
            Some(file.as_str())
        };
        let block = EditBlock {
            path: rng.pick(&["a", "", "b/c.rs"]).to_string(),
            search: random_text(&mut rng, 4),
            replace: random_text(&mut rng, 4),
            whole_file: rng.below(6) == 0,
        };
        let opts = ApplyOptions {
            allow_append: rng.below(2) == 0,
            whole_file_max_lines: rng.below(15),
        };
        match apply(original, &block, &opts) {
            Ok(Applied::Changed { text, .. }) => {
                applied += 1;
                let normalise = |s: &str| -> Vec<String> {
                    s.split('\n')
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty())
                        .collect()
                };
                let got = normalise(&text).join("\n");
                let want = normalise(&block.replace).join("\n");
                assert!(
                    got.contains(&want),
                    "result lacks REPLACE\nfile: {original:?}\nblock: {block:?}\nresult: {text:?}"
                );
            }
            Ok(Applied::AlreadyApplied) | Err(_) => {}
        }
        let mut files = BTreeMap::new();
        files.insert("a".to_string(), original.map(str::to_string));
        let _ = apply_all(&files, std::slice::from_ref(&block), &opts);
    }
    assert!(
        applied > 100,
        "the generator should produce some applicable edits: {applied}"
    );
}

#[test]
fn generated_unique_edits_apply_exactly() {
    // Files of distinct numbered lines: any contiguous run is unique, so every SEARCH must apply
    // and the result must be exactly the splice.
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let n = 1 + rng.below(20);
        let lines: Vec<String> = (0..n)
            .map(|i| format!("line {i} {}", rng.below(3)))
            .collect();
        let file: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let start = rng.below(n);
        let end = start + 1 + rng.below(n - start);
        let search: String = lines[start..end].iter().map(|l| format!("{l}\n")).collect();
        let replace: String = (0..rng.below(4)).map(|i| format!("new {i}\n")).collect();
        let block = EditBlock::new("f", search, replace.clone());
        let expected = format!(
            "{}{}{}",
            lines[..start]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            replace,
            lines[end..]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
        match apply(Some(&file), &block, &opts()) {
            Ok(Applied::Changed { text, how }) => {
                assert_eq!(text, expected);
                assert_eq!(how, Matched::Exact);
            }
            Ok(Applied::AlreadyApplied) => assert_eq!(file, expected),
            Err(e) => panic!("{e:?} for {block:?} on {file:?}"),
        }
    }
}
