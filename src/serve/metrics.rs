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
        let mut by_role: BTreeMap<&str, (u64, f64)> = BTreeMap::new();
        for ((role, _), (_, tokens, seconds)) in &stats.runs {
            let e = by_role.entry(role).or_default();
            e.0 += tokens;
            e.1 += seconds;
        }
        let total = |n: &AtomicU64| vec![(String::new(), n.load(Ordering::Relaxed).to_string())];
        let rate_remaining = self
            .rate_remaining
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(cred, n)| (labels(&[("credential", cred)]), n.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let families = [
            Family {
                name: "codex_jobs_total",
                kind: "counter",
                help: "Job attempts that ended, by role and outcome (done, retry, dead, interrupted, lost).",
                samples: stats
                    .runs
                    .iter()
                    .map(|((role, outcome), (count, _, _))| {
                        (
                            labels(&[("role", role), ("outcome", outcome)]),
                            count.to_string(),
                        )
                    })
                    .collect(),
            },
            Family {
                name: "codex_queue_jobs",
                kind: "gauge",
                help: "Jobs in the queue and its history, by state.",
                samples: JobState::ALL
                    .iter()
                    .map(|state| {
                        let count = stats.queue.get(state.as_str()).copied().unwrap_or(0);
                        (labels(&[("state", state.as_str())]), count.to_string())
                    })
                    .collect(),
            },
            Family {
                name: "codex_webhook_deliveries_total",
                kind: "counter",
                help: "Webhook deliveries recorded, by outcome (queued, ignored, refused, invalid, ping).",
                samples: stats
                    .deliveries
                    .iter()
                    .map(|(outcome, count)| (labels(&[("outcome", outcome)]), count.to_string()))
                    .collect(),
            },
            Family {
                name: "codex_webhook_signature_failures_total",
                kind: "counter",
                help: "Webhook deliveries refused for their signature since the server started.",
                samples: total(&self.signature_failures),
            },
            Family {
                name: "codex_poll_requests_total",
                kind: "counter",
                help: "Conditional GETs sent by polling since the server started.",
                samples: total(&self.poll_requests),
            },
            Family {
                name: "codex_poll_not_modified_total",
                kind: "counter",
                help: "Polling GETs answered 304 Not Modified (they cost no rate-limit budget).",
                samples: total(&self.poll_not_modified),
            },
            Family {
                name: "codex_github_rate_limit_remaining",
                kind: "gauge",
                help: "The last X-RateLimit-Remaining seen, by credential name.",
                samples: rate_remaining,
            },
            Family {
                name: "codex_model_tokens_total",
                kind: "counter",
                help: "Model tokens (prompt + output) used by jobs, by role.",
                samples: by_role
                    .iter()
                    .map(|(role, (tokens, _))| (labels(&[("role", role)]), tokens.to_string()))
                    .collect(),
            },
            Family {
                name: "codex_model_seconds_total",
                kind: "counter",
                help: "Seconds spent in model calls by jobs, by role.",
                samples: by_role
                    .iter()
                    .map(|(role, (_, seconds))| (labels(&[("role", role)]), seconds.to_string()))
                    .collect(),
            },
        ];
        let mut out = String::new();
        for f in &families {
            f.write(&mut out);
        }
        out
    }
}

/// One metric family: its HELP and TYPE lines, then one line per sample.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    /// `({labels})` (empty: none) and the value, as written.
    samples: Vec<(String, String)>,
}

impl Family {
    fn write(&self, out: &mut String) {
        let Family {
            name, kind, help, ..
        } = self;
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in &self.samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    }
}

/// `{key="value",…}` with each value escaped.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
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
