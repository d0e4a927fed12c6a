//! `forge init local:DIR --from PATH`: makes a local forge from a repository on disk, so any
//! role can run against it with `--forge local:DIR` and no GitHub at all.

use super::Failure;
use super::args::ForgeCommand;
use super::forge::ForgeChoice;
use crate::forge::local::LocalForge;

pub fn run(cmd: &ForgeCommand, json: bool) -> Result<u8, Failure> {
    match cmd {
        ForgeCommand::Init { target, from } => {
            let ForgeChoice::Local(dir) = target else {
                return Err(Failure::usage(anyhow::anyhow!(
                    "`forge init` makes a local forge: pass local:DIR (GitHub repositories are made on GitHub)"
                )));
            };
            let (forge, imported) = LocalForge::init_from(dir, from).map_err(Failure::usage)?;
            if json {
                let out = serde_json::json!({
                    "forge": dir,
                    "git_dir": forge.git_dir(),
                    "default_branch": imported.branch,
                    "head": imported.head.to_string(),
                    "commits": imported.commits,
                    "imported": imported.how,
                    "skipped": imported.skipped,
                });
                println!("{out}");
                return Ok(0);
            }
            println!(
                "Created the local forge {} from {}: {} commit(s) on {} ({}), head {}.",
                dir.display(),
                from.display(),
                imported.commits,
                imported.branch,
                imported.how,
                imported.head
            );
            if !imported.skipped.is_empty() {
                println!(
                    "Not imported (symlinks or special files): {}",
                    imported.skipped.join(", ")
                );
            }
            println!(
                "Run a role against it: codex-orchestrator --forge local:{} taskmaster\n\
                 Inspect it:            git --git-dir {} log --oneline",
                dir.display(),
                forge.git_dir().display()
            );
            Ok(0)
        }
    }
}
