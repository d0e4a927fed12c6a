//! Claims, for the one-job flow: the developer creates its branch pointing at an empty "claim"
//! commit that names the run and the time. Creating the ref is the lock (GitHub creates a ref
//! once), and the claim commit lets a later run tell a live competitor (stop) from a dead one
//! (take over). The two-job flow writes no claim (its work job cannot write); both flows judge
//! the claims they find the same way. Claims and their release are change sets like any write.

/// The trailer that marks a claim commit.
const TRAILER: &str = "Codex-Claim:";

/// The message of a claim commit.
pub fn message(task: &str, run: &str, at: u64) -> String {
    format!(
        "{task}: claimed by the developer\n\nThe developer works on {task} on this branch; a second run leaves it alone.\n\n{TRAILER} run={run} at={at}\n"
    )
}

/// The message of the empty commit that gives a claim up (a run that failed): the next run
/// may take the task at once.
pub fn release_message(task: &str, run: &str, at: u64, why: &str) -> String {
    let why: String = why.lines().next().unwrap_or("").chars().take(200).collect();
    format!(
        "{task}: claim released\n\nThe developer run stopped without a pull request: {why}\n\n{TRAILER} run={run} at={at} released\n"
    )
}

/// Reads a claim commit's message back: (run, unix time); `None` for other commits and for
/// released claims.
pub fn parse(message: &str) -> Option<(String, u64)> {
    let line = message
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(TRAILER))?;
    let mut run = None;
    let mut at = None;
    for part in line.trim_start()[TRAILER.len()..].split_whitespace() {
        if part == "released" {
            return None;
        }
        if let Some(v) = part.strip_prefix("run=") {
            run = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("at=") {
            at = v.parse().ok();
        }
    }
    Some((run?, at?))
}

/// What claiming found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The branch exists and may be worked on: our own claim (a re-run), an expired claim,
    /// earlier work of a run that died, or an open pull request to update.
    Resumed { why: String },
    /// Another run claimed it recently and has not opened its pull request yet.
    Busy { why: String },
}

/// The decision on an existing branch without a pull request, from its head's claim (if any).
pub fn judge(claimed: Option<(String, u64)>, run: &str, now: u64, ttl_minutes: u64) -> Claim {
    match claimed {
        Some((other, _)) if other == run => Claim::Resumed {
            why: "this run claimed it before (a re-run)".into(),
        },
        Some((other, at)) => {
            let age = now.saturating_sub(at);
            if age < ttl_minutes.saturating_mul(60) {
                Claim::Busy {
                    why: format!(
                        "run {other} claimed it {} ago and is presumably still working on it; it is taken over \
                         after developer.claim_ttl_minutes ({ttl_minutes} min), or at once with `--takeover` \
                         (the dispatch input `takeover: true`)",
                        human(age)
                    ),
                }
            } else {
                Claim::Resumed {
                    why: format!(
                        "the claim of run {other} is {} old (older than developer.claim_ttl_minutes), so it is taken over",
                        human(age)
                    ),
                }
            }
        }
        None => Claim::Resumed {
            why: "the branch holds earlier work and no pull request yet (a run that stopped before opening it)"
                .into(),
        },
    }
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_messages_round_trip() {
        let m = message("T-0003", "gh-42", 1_700_000_000);
        assert_eq!(parse(&m), Some(("gh-42".into(), 1_700_000_000)));
        assert_eq!(parse("T-0003: add login\n\nbody"), None);
        assert_eq!(parse("Codex-Claim: run=x"), None);
        assert_eq!(
            parse(&release_message("T-0003", "gh-42", 5, "tests fail")),
            None
        );
    }

    #[test]
    fn judging_a_claim() {
        let now = 10_000;
        assert!(matches!(
            judge(Some(("gh-1".into(), now - 5)), "gh-1", now, 120),
            Claim::Resumed { .. }
        ));
        assert!(matches!(
            judge(Some(("gh-2".into(), now - 60)), "gh-1", now, 120),
            Claim::Busy { .. }
        ));
        assert!(matches!(
            judge(Some(("gh-2".into(), now - 121 * 60)), "gh-1", now, 120),
            Claim::Resumed { .. }
        ));
        assert!(matches!(
            judge(None, "gh-1", now, 120),
            Claim::Resumed { .. }
        ));
    }
}
