//! What eval measures and how it sums up: one [`CaseResult`] per model × case (the `--json`
//! contract's `results`), one [`Summary`] per model × role, and per role the recommendation: the
//! fastest model (median seconds per case) whose pass rate clears the threshold.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::llm::CallRecord;

/// One case run against one model.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseResult {
    pub model: String,
    pub role: String,
    pub case: String,
    pub passed: bool,
    pub well_formed: bool,
    pub prompt_tokens: u64,
    pub output_tokens: u64,
    /// Wall seconds of the role's run (the hidden tests not counted).
    pub seconds: f64,
    /// Generation rate over the case's calls (output tokens per second of generation).
    pub tokens_per_second: f64,
    pub calls: usize,
    /// The largest prompt + output of one call, and that call's context size.
    pub peak_context: u32,
    pub context_size: u32,
    /// Why the case could not be judged normally (the server failed, the case is broken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What became of the run, in a line.
    pub note: String,
    /// The temp directory the case ran in (its own local forge; removed when it ended).
    pub workdir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer: Option<DeveloperFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<ReviewerFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planner: Option<PlannerFigures>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeveloperFigures {
    /// Model answers, and how many of them parsed as edits.
    pub replies: usize,
    pub replies_parsed: usize,
    /// Answers whose edits applied and passed the safety rules.
    pub edits_applied: usize,
    pub safety_refusals: usize,
    /// Test-and-fix rounds after the first edit.
    pub fix_rounds: u32,
    /// The role produced a change (its own tests passed).
    pub change_proposed: bool,
    pub files_changed: usize,
    /// The hidden tests after the run (`None`: not run, there was no change).
    pub hidden_tests_passed: Option<bool>,
    pub rounds: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewerFigures {
    pub verdict: String,
    pub expected_verdict: Vec<String>,
    pub verdict_right: bool,
    /// Per expected criterion: the status given, and whether it is right.
    pub criteria: Vec<String>,
    pub criteria_right: bool,
    /// Model findings on a clean change.
    pub false_alarms: usize,
    pub findings: usize,
    /// The JSON answer was valid on the first call (no repair or retry).
    pub json_first_try: bool,
    pub files_reviewed: usize,
    pub files_clipped: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PlannerFigures {
    pub tasks_proposed: usize,
    /// Validation errors of the proposals with the repository's tasks (schema, dependencies,
    /// cycles), and the bounds they broke.
    pub problems: Vec<String>,
}

impl CaseResult {
    /// Tokens, seconds of generation and the context peak, from the call records.
    pub fn add_calls(&mut self, calls: &[CallRecord]) {
        self.calls = calls.len();
        self.prompt_tokens = calls.iter().map(|c| u64::from(c.prompt_tokens)).sum();
        self.output_tokens = calls.iter().map(|c| u64::from(c.output_tokens)).sum();
        self.tokens_per_second = rate(calls);
        if let Some(peak) = calls
            .iter()
            .max_by_key(|c| c.prompt_tokens.saturating_add(c.output_tokens))
        {
            self.peak_context = peak.prompt_tokens.saturating_add(peak.output_tokens);
            self.context_size = peak.num_ctx;
        }
    }
}

/// Output tokens per second of generation: from the servers' timings where they gave them,
/// else each call's own rate weighted by its tokens. 0 when nothing is known.
pub fn rate(calls: &[CallRecord]) -> f64 {
    let timed: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| c.eval_seconds > 0.0 && c.output_tokens > 0)
        .collect();
    if !timed.is_empty() {
        let tokens: f64 = timed.iter().map(|c| f64::from(c.output_tokens)).sum();
        let secs: f64 = timed.iter().map(|c| c.eval_seconds).sum();
        return tokens / secs;
    }
    let rated: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| c.tokens_per_second > 0.0 && c.output_tokens > 0)
        .collect();
    let tokens: f64 = rated.iter().map(|c| f64::from(c.output_tokens)).sum();
    if tokens == 0.0 {
        return 0.0;
    }
    rated
        .iter()
        .map(|c| c.tokens_per_second * f64::from(c.output_tokens))
        .sum::<f64>()
        / tokens
}

/// One model × role.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub model: String,
    pub role: String,
    pub cases: usize,
    pub passed: usize,
    pub pass_rate: f64,
    pub well_formed_rate: f64,
    pub median_seconds: f64,
    pub median_prompt_tokens: f64,
    pub median_output_tokens: f64,
    pub tokens_per_second: f64,
    /// The largest context used by one call over the cases, and the context size then.
    pub peak_context: u32,
    pub context_size: u32,
    /// Developer: model answers over the cases and the share of them that parsed as edits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies_parsed_rate: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The summaries, in the order the model × role pairs first appear in `results`.
pub fn summarize(results: &[CaseResult]) -> Vec<Summary> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        let key = (r.model.clone(), r.role.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    order
        .into_iter()
        .map(|key| {
            let rs = &groups[&key];
            let n = rs.len();
            let passed = rs.iter().filter(|r| r.passed).count();
            let well = rs.iter().filter(|r| r.well_formed).count();
            let out_tokens: f64 = rs.iter().map(|r| r.output_tokens as f64).sum();
            let rated: f64 = rs
                .iter()
                .filter(|r| r.tokens_per_second > 0.0)
                .map(|r| r.output_tokens as f64 / r.tokens_per_second)
                .sum();
            let peak = rs.iter().max_by_key(|r| r.peak_context);
            let dev: Vec<&DeveloperFigures> =
                rs.iter().filter_map(|r| r.developer.as_ref()).collect();
            let replies: usize = dev.iter().map(|d| d.replies).sum();
            let parsed: usize = dev.iter().map(|d| d.replies_parsed).sum();
            Summary {
                model: key.0.clone(),
                role: key.1.clone(),
                cases: n,
                passed,
                pass_rate: ratio(passed, n),
                well_formed_rate: ratio(well, n),
                median_seconds: median(rs.iter().map(|r| r.seconds).collect()),
                median_prompt_tokens: median(rs.iter().map(|r| r.prompt_tokens as f64).collect()),
                median_output_tokens: median(rs.iter().map(|r| r.output_tokens as f64).collect()),
                tokens_per_second: if rated > 0.0 { out_tokens / rated } else { 0.0 },
                peak_context: peak.map_or(0, |r| r.peak_context),
                context_size: peak.map_or(0, |r| r.context_size),
                replies: (!dev.is_empty()).then_some(replies),
                replies_parsed_rate: (!dev.is_empty()).then(|| ratio(parsed, replies)),
            }
        })
        .collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Per role, the fastest model whose pass rate is at least `threshold` (`None`: none is), and
/// the sentence with the numbers behind it.
pub fn recommend(
    summaries: &[Summary],
    role: &str,
    threshold: f64,
) -> (Option<String>, Option<String>) {
    let of_role: Vec<&Summary> = summaries.iter().filter(|s| s.role == role).collect();
    if of_role.is_empty() {
        return (None, None);
    }
    let best = of_role
        .iter()
        .filter(|s| s.pass_rate >= threshold)
        .min_by(|a, b| a.median_seconds.total_cmp(&b.median_seconds));
    match best {
        Some(s) => (
            Some(s.model.clone()),
            Some(format!(
                "{role}: {} — passes {}/{} ({:.0} %, threshold {:.0} %) in a median {:.1} s per case{}",
                s.model,
                s.passed,
                s.cases,
                s.pass_rate * 100.0,
                threshold * 100.0,
                s.median_seconds,
                if s.tokens_per_second > 0.0 {
                    format!(" at {:.1} tok/s", s.tokens_per_second)
                } else {
                    String::new()
                }
            )),
        ),
        None => {
            let top = of_role
                .iter()
                .max_by(|a, b| a.pass_rate.total_cmp(&b.pass_rate))
                .map(|s| format!("{} at {:.0} %", s.model, s.pass_rate * 100.0))
                .unwrap_or_default();
            (
                None,
                Some(format!(
                    "{role}: no model passes {:.0} % of the cases (best: {top})",
                    threshold * 100.0
                )),
            )
        }
    }
}
