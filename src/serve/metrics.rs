//! `/metrics` in Prometheus' text format: jobs by role and outcome, model tokens and seconds
//! and deliveries from the store (so they survive restarts), queue depth, poll requests and
//! 304s, and the remaining rate-limit budget per credential name from this process.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::store::{JobState, Stats};

#[derive(Default)]
pub struct Metrics {
    poll_requests: AtomicU64,
    poll_not_modified: AtomicU64,
    signature_failures: AtomicU64,
    rate_remaining: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    pub fn poll_request(&self, not_modified: bool) {
        self.poll_requests.fetch_add(1, Ordering::Relaxed);
        if not_modified {
            self.poll_not_modified.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn signature_failure(&self) {
        self.signature_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_rate_remaining(&self, credential: &str, remaining: u64) {
        if let Ok(mut m) = self.rate_remaining.lock() {
            m.insert(credential.to_string(), remaining);
        }
    }

    /// The exposition text.
    pub fn render(&self, stats: &Stats) -> String {
        let mut out = String::new();
        let mut lines = Vec::new();
        let n = family(
            &mut out,
            "codex_jobs_total",
            "counter",
            "Job attempts that ended, by role and outcome (done, retry, dead, interrupted, lost).",
        );
        for ((role, outcome), (count, _, _)) in &stats.runs {
            lines.push(format!(
                "{n}{{role=\"{}\",outcome=\"{}\"}} {count}",
                label(role),
                label(outcome)
            ));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_queue_jobs",
            "gauge",
            "Jobs in the queue and its history, by state.",
        );
        for state in JobState::ALL {
            let count = stats.queue.get(state.as_str()).copied().unwrap_or(0);
            lines.push(format!("{n}{{state=\"{}\"}} {count}", state.as_str()));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_webhook_deliveries_total",
            "counter",
            "Webhook deliveries recorded, by outcome (queued, ignored, refused, invalid, ping).",
        );
        for (outcome, count) in &stats.deliveries {
            lines.push(format!("{n}{{outcome=\"{}\"}} {count}", label(outcome)));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_webhook_signature_failures_total",
            "counter",
            "Webhook deliveries refused for their signature since the server started.",
        );
        lines.push(format!(
            "{n} {}",
            self.signature_failures.load(Ordering::Relaxed)
        ));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_poll_requests_total",
            "counter",
            "Conditional GETs sent by polling since the server started.",
        );
        lines.push(format!(
            "{n} {}",
            self.poll_requests.load(Ordering::Relaxed)
        ));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_poll_not_modified_total",
            "counter",
            "Polling GETs answered 304 Not Modified (they cost no rate-limit budget).",
        );
        lines.push(format!(
            "{n} {}",
            self.poll_not_modified.load(Ordering::Relaxed)
        ));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_github_rate_limit_remaining",
            "gauge",
            "The last X-RateLimit-Remaining seen, by credential name.",
        );
        if let Ok(m) = self.rate_remaining.lock() {
            for (cred, remaining) in m.iter() {
                lines.push(format!("{n}{{credential=\"{}\"}} {remaining}", label(cred)));
            }
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_model_tokens_total",
            "counter",
            "Model tokens (prompt + output) used by jobs, by role.",
        );
        let mut by_role: BTreeMap<&str, (u64, f64)> = BTreeMap::new();
        for ((role, _), (_, tokens, seconds)) in &stats.runs {
            let e = by_role.entry(role).or_default();
            e.0 += tokens;
            e.1 += seconds;
        }
        for (role, (tokens, _)) in &by_role {
            lines.push(format!("{n}{{role=\"{}\"}} {tokens}", label(role)));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "codex_model_seconds_total",
            "counter",
            "Seconds spent in model calls by jobs, by role.",
        );
        for (role, (_, seconds)) in &by_role {
            lines.push(format!("{n}{{role=\"{}\"}} {seconds}", label(role)));
        }
        flush(&mut out, &mut lines);
        out
    }
}

/// Writes a metric family's HELP and TYPE lines; returns its name.
fn family<'a>(out: &mut String, name: &'a str, kind: &str, help: &str) -> &'a str {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name
}

fn flush(out: &mut String, lines: &mut Vec<String>) {
    for l in lines.drain(..) {
        out.push_str(&l);
        out.push('\n');
    }
}

/// A label value escaped as the format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::default();
        m.poll_request(true);
        m.poll_request(false);
        m.set_rate_remaining("env:TOKEN", 4999);
        let mut stats = Stats::default();
        stats
            .runs
            .insert(("reviewer".into(), "done".into()), (3, 1200, 4.5));
        stats.queue.insert("queued".into(), 2);
        let text = m.render(&stats);
        assert!(
            text.contains("codex_jobs_total{role=\"reviewer\",outcome=\"done\"} 3"),
            "{text}"
        );
        assert!(text.contains("codex_queue_jobs{state=\"queued\"} 2"));
        assert!(text.contains("codex_poll_requests_total 2"));
        assert!(text.contains("codex_poll_not_modified_total 1"));
        assert!(text.contains("codex_github_rate_limit_remaining{credential=\"env:TOKEN\"} 4999"));
        assert!(text.contains("codex_model_tokens_total{role=\"reviewer\"} 1200"));
        assert!(text.contains("# TYPE codex_jobs_total counter"));
    }
}
