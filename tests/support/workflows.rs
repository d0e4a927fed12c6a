//! The shipped workflow files as a test runner reads them: triggers, jobs in `needs` order with
//! their `if:`, `permissions:` and steps, and the `${{ }}` expressions they use (contexts
//! `github`, `inputs`, `vars`, `secrets`, `runner`; `!`, `==`, `!=`, `&&`, `||`, parentheses),
//! evaluated the way GitHub does. Enough for `tests/loop_e2e.rs` to run the examples' jobs.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Workflow {
    /// The file name under `.github/workflows/`.
    pub file: String,
    pub on: Value,
    /// Jobs in an order that honours `needs`.
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub needs: Vec<String>,
    pub condition: Option<String>,
    /// scope → `read`/`write` (`{}`: none).
    pub permissions: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub uses: Option<String>,
    pub run: Option<String>,
    /// The `with:` inputs, as written (expressions not yet evaluated).
    pub with: BTreeMap<String, String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Workflow {
    pub fn parse(file: &str, yaml: &str) -> Workflow {
        let doc: Value = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{file}: {e}"));
        let on = doc
            .get("on")
            .or_else(|| doc.get("true"))
            .cloned()
            .unwrap_or(Value::Null);
        let top_permissions = doc.get("permissions").cloned();
        let mut jobs: Vec<Job> = Vec::new();
        for (id, j) in doc["jobs"].as_object().expect("jobs") {
            let needs = match &j["needs"] {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().map(text).collect(),
                _ => Vec::new(),
            };
            let permissions = j
                .get("permissions")
                .or(top_permissions.as_ref())
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                .unwrap_or_default();
            let steps = j["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| Step {
                    uses: s.get("uses").map(text),
                    run: s.get("run").map(text),
                    with: s
                        .get("with")
                        .and_then(Value::as_object)
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                        .unwrap_or_default(),
                })
                .collect();
            jobs.push(Job {
                id: id.clone(),
                needs,
                condition: j.get("if").map(text),
                permissions,
                steps,
            });
        }
        // `needs` order (the files are small: a repeated pass is enough).
        let mut ordered: Vec<Job> = Vec::new();
        while !jobs.is_empty() {
            let i = jobs
                .iter()
                .position(|j| j.needs.iter().all(|n| ordered.iter().any(|o| &o.id == n)))
                .unwrap_or_else(|| panic!("{file}: a `needs` cycle or an unknown job"));
            ordered.push(jobs.remove(i));
        }
        Workflow {
            file: file.to_string(),
            on,
            jobs: ordered,
        }
    }

    /// The trigger's settings, when the workflow has trigger `event`.
    fn trigger(&self, event: &str) -> Option<Value> {
        match &self.on {
            Value::String(s) => (s == event).then_some(Value::Null),
            Value::Array(a) => a.iter().any(|v| v == event).then_some(Value::Null),
            Value::Object(m) => m.get(event).cloned(),
            _ => None,
        }
    }

    /// Whether `event` (with `payload`) starts this workflow. A `workflow_dispatch` starts only
    /// the workflow it names, so it is not asked here.
    pub fn runs_on(&self, event: &str, payload: &Value, changed: &[String]) -> bool {
        let Some(t) = self.trigger(event) else {
            return false;
        };
        match event {
            "pull_request" => {
                let types: Vec<String> = t["types"]
                    .as_array()
                    .map(|a| a.iter().map(text).collect())
                    .unwrap_or_else(|| {
                        ["opened", "synchronize", "reopened"]
                            .map(String::from)
                            .to_vec()
                    });
                types.iter().any(|ty| payload["action"] == ty.as_str())
            }
            "push" => {
                let branch = text(&payload["ref"])
                    .trim_start_matches("refs/heads/")
                    .to_string();
                let branches_ok = t["branches"]
                    .as_array()
                    .is_none_or(|b| b.iter().any(|x| text(x) == branch));
                let paths_ok = t["paths"]
                    .as_array()
                    .is_none_or(|p| p.iter().any(|x| changed.contains(&text(x))));
                branches_ok && paths_ok
            }
            _ => true,
        }
    }

    /// The declared `workflow_dispatch` inputs with their defaults, overlaid with `given`.
    pub fn dispatch_inputs(&self, given: &Value) -> Value {
        let mut out = serde_json::Map::new();
        if let Some(t) = self.trigger("workflow_dispatch")
            && let Some(inputs) = t["inputs"].as_object()
        {
            for (k, spec) in inputs {
                let v = given.get(k).cloned().unwrap_or_else(|| {
                    let d = spec.get("default").cloned().unwrap_or(Value::Null);
                    match (spec["type"].as_str(), d) {
                        (Some("boolean"), Value::Null) => json!(false),
                        (_, Value::Null) => json!(""),
                        (_, d) => d,
                    }
                });
                out.insert(k.clone(), v);
            }
        }
        Value::Object(out)
    }
}

// ---- expressions --------------------------------------------------------------------------

/// GitHub's truthiness: null, false, 0, "" are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        _ => a == b,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Path(String),
    Str(String),
    Op(&'static str),
}

fn lex(expr: &str) -> Vec<Tok> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(s));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "&&", "||"].into_iter().find(|o| *o == two);
            if let Some(op) = op {
                out.push(Tok::Op(op));
                i += 2;
            } else if "!()".contains(c) {
                out.push(Tok::Op(match c {
                    '!' => "!",
                    '(' => "(",
                    _ => ")",
                }));
                i += 1;
            } else {
                let mut s = String::new();
                while i < chars.len() && (chars[i].is_alphanumeric() || "._-".contains(chars[i])) {
                    s.push(chars[i]);
                    i += 1;
                }
                assert!(!s.is_empty(), "cannot read the expression {expr:?}");
                out.push(Tok::Path(s));
            }
        }
    }
    out
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    ctx: &'a Value,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn or(&mut self) -> Value {
        let mut v = self.and();
        while self.peek() == Some(&Tok::Op("||")) {
            self.at += 1;
            let r = self.and();
            if !truthy(&v) {
                v = r;
            }
        }
        v
    }

    fn and(&mut self) -> Value {
        let mut v = self.cmp();
        while self.peek() == Some(&Tok::Op("&&")) {
            self.at += 1;
            let r = self.cmp();
            if truthy(&v) {
                v = r;
            }
        }
        v
    }

    fn cmp(&mut self) -> Value {
        let v = self.unary();
        match self.peek() {
            Some(Tok::Op("==")) => {
                self.at += 1;
                json!(equal(&v, &self.unary()))
            }
            Some(Tok::Op("!=")) => {
                self.at += 1;
                json!(!equal(&v, &self.unary()))
            }
            _ => v,
        }
    }

    fn unary(&mut self) -> Value {
        match self.peek().cloned() {
            Some(Tok::Op("!")) => {
                self.at += 1;
                json!(!truthy(&self.unary()))
            }
            Some(Tok::Op("(")) => {
                self.at += 1;
                let v = self.or();
                assert_eq!(self.peek(), Some(&Tok::Op(")")), "unbalanced parentheses");
                self.at += 1;
                v
            }
            Some(Tok::Str(s)) => {
                self.at += 1;
                json!(s)
            }
            Some(Tok::Path(p)) => {
                self.at += 1;
                match p.as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    "null" => Value::Null,
                    _ => {
                        if let Ok(n) = p.parse::<f64>() {
                            return json!(n);
                        }
                        p.split('.')
                            .fold(self.ctx, |v, k| v.get(k).unwrap_or(&Value::Null))
                            .clone()
                    }
                }
            }
            other => panic!("unexpected {other:?} in an expression"),
        }
    }
}

/// Evaluates one expression (without the `${{ }}`) against `ctx`.
pub fn eval(expr: &str, ctx: &Value) -> Value {
    let mut p = Parser {
        toks: lex(expr),
        at: 0,
        ctx,
    };
    let v = p.or();
    assert!(p.at == p.toks.len(), "trailing tokens in {expr:?}");
    v
}

/// Replaces every `${{ … }}` in `s` with its value as text.
pub fn interpolate(s: &str, ctx: &Value) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("unclosed ${{") + i;
        out.push_str(&text(&eval(&rest[i + 3..end], ctx)));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// An `if:` condition (with or without `${{ }}`).
pub fn condition(s: &str, ctx: &Value) -> bool {
    let t = s.trim();
    let inner = t
        .strip_prefix("${{")
        .and_then(|x| x.strip_suffix("}}"))
        .unwrap_or(t);
    truthy(&eval(inner, ctx))
}

#[test]
fn expressions_evaluate_as_on_github() {
    let ctx = json!({"github": {"event_name": "pull_request", "event": {"action": "closed", "pull_request": {"draft": false, "head": {"repo": {"full_name": "octo/app"}}}}, "repository": "octo/app", "token": "ghs_1"},
                     "inputs": {"role": "developer", "task": ""}, "secrets": {"LLM_TEAM_TOKEN": "ghp_2"}, "vars": {}});
    assert!(condition("${{ !github.event.pull_request.draft }}", &ctx));
    assert!(condition(
        "github.event.pull_request.head.repo.full_name == github.repository",
        &ctx
    ));
    assert!(!condition(
        "github.event_name == 'pull_request' && github.event.action != 'closed'",
        &ctx
    ));
    assert!(condition(
        "github.event_name == 'schedule' || (github.event_name == 'pull_request' && inputs.role == 'DEVELOPER')",
        &ctx
    ));
    assert_eq!(
        interpolate("${{ secrets.LLM_TEAM_TOKEN || github.token }}", &ctx),
        "ghp_2"
    );
    assert_eq!(
        interpolate("${{ secrets.NONE || github.token }}", &ctx),
        "ghs_1"
    );
    assert_eq!(
        interpolate("g-${{ inputs.task || 'next' }}/x", &ctx),
        "g-next/x"
    );
    assert_eq!(interpolate("${{ vars.X }}", &ctx), "");
}
