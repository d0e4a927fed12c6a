//! How an eval run reads: the plain table on stdout, Markdown for the job summary and `--report
//! x.md`, and a self-contained HTML page (`--report x.html`). Both reports carry an inline SVG
//! chart of pass rate against median seconds per case, one point per model and role. Model names
//! and notes come from servers and case files, so every one is escaped where it lands.

use super::Report;
use super::measure::{CaseResult, Summary};
use crate::vocab::markdown::{replace_chars, table_cell as cell};

/// The table per model × role, then the recommendations (plain text).
pub fn table(report: &Report) -> String {
    let header = [
        "role",
        "model",
        "cases",
        "passed",
        "pass",
        "well-formed",
        "median s",
        "median tok in",
        "median tok out",
        "tok/s",
        "context used",
    ];
    let rows: Vec<Vec<String>> = report.summary.iter().map(row).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&header.map(str::to_string));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&recommendations(report));
    out
}

fn row(s: &Summary) -> Vec<String> {
    vec![
        s.role.clone(),
        s.model.clone(),
        s.cases.to_string(),
        s.passed.to_string(),
        percent(s.pass_rate),
        percent(s.well_formed_rate),
        format!("{:.1}", s.median_seconds),
        format!("{:.0}", s.median_prompt_tokens),
        format!("{:.0}", s.median_output_tokens),
        if s.tokens_per_second > 0.0 {
            format!("{:.1}", s.tokens_per_second)
        } else {
            "-".into()
        },
        context(s.peak_context, s.context_size),
        match (s.replies, s.replies_parsed_rate) {
            (Some(n), Some(rate)) => format!("{} of {n}", (rate * n as f64).round() as usize),
            _ => "-".into(),
        },
    ]
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

fn context(used: u32, size: u32) -> String {
    match (used, size) {
        (0, _) => "-".into(),
        (u, 0) => u.to_string(),
        (u, s) => format!("{u} / {s} ({:.0} %)", f64::from(u) * 100.0 / f64::from(s)),
    }
}

fn recommendations(report: &Report) -> String {
    let mut out = format!(
        "Recommendation (the fastest model passing at least {:.0} % of a role's cases):\n",
        report.threshold * 100.0
    );
    for note in &report.recommendation_notes {
        out.push_str(&format!("  {note}\n"));
    }
    out
}

/// One case's cells, unescaped: role, model, case, passed, well-formed, seconds, tokens in / out,
/// and what happened.
fn case_row(r: &CaseResult) -> [String; 8] {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    [
        r.role.clone(),
        r.model.clone(),
        r.case.clone(),
        yes(r.passed),
        yes(r.well_formed),
        format!("{:.1}", r.seconds),
        format!("{} / {}", r.prompt_tokens, r.output_tokens),
        r.error.clone().unwrap_or_else(|| r.note.clone()),
    ]
}

/// One table row of escaped cells.
fn html_row(cells: &[String]) -> String {
    let cells: String = cells
        .iter()
        .map(|c| format!("<td>{}</td>", html(c)))
        .collect();
    format!("<tr>{cells}</tr>\n")
}

/// Text safe in HTML (and SVG) text and attributes.
fn html(text: &str) -> String {
    replace_chars(text.chars(), |c| match c {
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '&' => Some("&amp;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    })
}

/// The Markdown report: the summary table, the recommendations, the chart and every case.
pub fn markdown(report: &Report) -> String {
    let mut md = String::from("### codex-orchestrator eval\n\n");
    md.push_str(&format!(
        "Server: {} ({}). Pass threshold for a recommendation: {:.0} %.\n\n",
        cell(&report.base_url),
        cell(&report.api),
        report.threshold * 100.0
    ));
    md.push_str("| Role | Model | Cases | Passed | Pass rate | Well-formed | Median s | Median tokens in / out | tok/s | Context used | Answers parsed |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for s in &report.summary {
        let r = row(s);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |\n",
            cell(&r[0]),
            cell(&r[1]),
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11]
        ));
    }
    md.push_str("\n**Recommendation**\n\n");
    for note in &report.recommendation_notes {
        md.push_str(&format!("- {}\n", cell(note)));
    }
    md.push_str("\n<details><summary>Every case</summary>\n\n");
    md.push_str("| Role | Model | Case | Passed | Well-formed | s | Tokens in / out | What happened |\n|---|---|---|---|---|---|---|---|\n");
    for r in &report.results {
        let cells: Vec<String> = case_row(r).iter().map(|c| cell(c)).collect();
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    md.push_str("\n</details>\n");
    md
}

/// The Markdown report with the chart, for `--report x.md`.
pub fn markdown_report(report: &Report) -> String {
    format!(
        "{}\n#### Pass rate against median seconds per case\n\n{}\n",
        markdown(report),
        svg(&report.summary)
    )
}

/// The HTML report: one page, no outside resources.
pub fn html_report(report: &Report) -> String {
    let mut rows = String::new();
    for s in &report.summary {
        rows.push_str(&html_row(&row(s)));
    }
    let mut cases = String::new();
    for r in &report.results {
        cases.push_str(&html_row(&case_row(r)));
    }
    let notes: String = report
        .recommendation_notes
        .iter()
        .map(|n| format!("<li>{}</li>", html(n)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>codex-orchestrator eval</title>\n\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style>\n\
         </head><body>\n<h1>codex-orchestrator eval</h1>\n<p>Server: {} ({}). Pass threshold for a recommendation: {:.0} %.</p>\n\
         <table><tr><th>Role</th><th>Model</th><th>Cases</th><th>Passed</th><th>Pass rate</th><th>Well-formed</th><th>Median s</th><th>Median tokens in</th><th>Median tokens out</th><th>tok/s</th><th>Context used</th><th>Answers parsed</th></tr>\n{rows}</table>\n\
         <h2>Recommendation</h2>\n<ul>{notes}</ul>\n<h2>Pass rate against median seconds per case</h2>\n{}\n\
         <h2>Every case</h2>\n<table><tr><th>Role</th><th>Model</th><th>Case</th><th>Passed</th><th>Well-formed</th><th>s</th><th>Tokens in / out</th><th>What happened</th></tr>\n{cases}</table>\n</body></html>\n",
        html(&report.base_url),
        html(&report.api),
        report.threshold * 100.0,
        svg(&report.summary)
    )
}

/// The chart: x = median seconds per case, y = pass rate; one labelled point per model × role.
pub fn svg(summary: &[Summary]) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 360.0, 60.0, 40.0, 20.0, 160.0);
    let max_s = summary
        .iter()
        .map(|s| s.median_seconds)
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let x = |s: f64| left + (s / max_s) * (w - left - right);
    let y = |p: f64| top + (1.0 - p) * (h - top - bottom);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"pass rate against median seconds per case\">\n"
    );
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>\n",
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    ));
    for p in [0.0, 0.5, 1.0] {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{:.0} %</text>\n",
            left - 6.0,
            y(p) + 4.0,
            p * 100.0
        ));
    }
    for k in 0..=4 {
        let s = max_s * f64::from(k) / 4.0;
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{s:.0}</text>\n",
            x(s),
            h - bottom + 16.0
        ));
    }
    out.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">median seconds per case</text>\n",
        left + (w - left - right) / 2.0,
        h - 4.0
    ));
    let colours = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    ];
    let mut models: Vec<&str> = Vec::new();
    for s in summary {
        if !models.contains(&s.model.as_str()) {
            models.push(&s.model);
        }
    }
    for s in summary {
        let i = models.iter().position(|m| *m == s.model).unwrap_or(0);
        let colour = colours[i % colours.len()];
        out.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"{colour}\"><title>{} {}: {:.0} % in {:.1} s</title></circle>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>\n",
            x(s.median_seconds),
            y(s.pass_rate),
            html(&s.model),
            html(&s.role),
            s.pass_rate * 100.0,
            s.median_seconds,
            x(s.median_seconds) + 7.0,
            y(s.pass_rate) - 6.0,
            html(&s.role)
        ));
    }
    for (i, m) in models.iter().enumerate() {
        let ly = top + 14.0 * i as f64;
        out.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{ly:.1}\" r=\"5\" fill=\"{}\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\">{}</text>\n",
            w - right + 16.0,
            colours[i % colours.len()],
            w - right + 26.0,
            ly + 4.0,
            html(m)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_out_of_the_report() {
        assert_eq!(
            html("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
        assert_eq!(cell("a|b\n<i>`"), "a\\|b &lt;i&gt;'");
        let s = Summary {
            model: "<b>m</b>".into(),
            role: "developer".into(),
            cases: 1,
            passed: 1,
            pass_rate: 1.0,
            well_formed_rate: 1.0,
            median_seconds: 2.0,
            median_prompt_tokens: 1.0,
            median_output_tokens: 1.0,
            tokens_per_second: 0.0,
            peak_context: 0,
            context_size: 0,
            replies: None,
            replies_parsed_rate: None,
        };
        let chart = svg(&[s]);
        assert!(chart.starts_with("<svg") && chart.contains("&lt;b&gt;m"));
        assert!(!chart.contains("<b>"));
    }
}
