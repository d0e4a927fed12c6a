//! Counts how many saved Developer replies of a real model parse into edit blocks and how many
//! apply, with this build's parser and applier (`benches/dev_replies/measure.sh` saves the
//! replies). Run: `cargo run --example dev_replies -- DIR` (DIR holds `reply-*.txt` and `repo/`,
//! the files the replies were asked about). Prints one line per reply and the totals.

use std::collections::BTreeMap;
use std::path::Path;

use codex_orchestrator::roles::developer::edits::{ApplyOptions, apply_all, parse_blocks};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: dev_replies DIR");
    let dir = Path::new(&dir);
    let mut replies: Vec<_> = std::fs::read_dir(dir)
        .expect("read DIR")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("reply-") && n.ends_with(".txt"))
        })
        .collect();
    replies.sort_by_key(|p| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.trim_start_matches("reply-").parse::<u32>().ok())
            .unwrap_or(0)
    });
    let (mut parsed, mut applied) = (0, 0);
    for path in &replies {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut notes = Vec::new();
        if text.contains("path/to/") {
            notes.push("copies path/to/");
        }
        if text.contains("<<<UNTRUSTED-") || text.contains("<<<END-UNTRUSTED-") {
            notes.push("has marker lines");
        }
        if text.contains("```bash") || text.contains("```sh") {
            notes.push("```bash/sh fence");
        }
        let outcome = match parse_blocks(&text) {
            Err(e) => format!("not parsed: {e}"),
            Ok(blocks) => {
                parsed += 1;
                let files: BTreeMap<String, Option<String>> = blocks
                    .iter()
                    .map(|b| {
                        let p = b.path.trim().to_string();
                        let t = std::fs::read_to_string(dir.join("repo").join(&p)).ok();
                        (p, t)
                    })
                    .collect();
                let paths: Vec<&str> = blocks.iter().map(|b| b.path.as_str()).collect();
                match apply_all(&files, &blocks, &ApplyOptions::default()) {
                    Ok(changed) => {
                        applied += 1;
                        format!(
                            "parsed {} block(s) {paths:?}; applied ({} file(s) changed)",
                            blocks.len(),
                            changed.len()
                        )
                    }
                    Err(errors) => format!(
                        "parsed {} block(s) {paths:?}; not applied: {}",
                        blocks.len(),
                        errors
                            .iter()
                            .map(|e| format!(
                                "block {} ({}): {}",
                                e.index + 1,
                                e.path,
                                first_line(&e.error.to_string())
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                }
            }
        };
        println!(
            "{}: {outcome}{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            if notes.is_empty() {
                String::new()
            } else {
                format!(" [{}]", notes.join(", "))
            }
        );
    }
    println!("n={} parsed={parsed} applied={applied}", replies.len());
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(160).collect()
}
