//! The `workflow_dispatch` inputs a target workflow declares. GitHub answers 422 "Unexpected
//! inputs provided" to a dispatch carrying any other input, so a hand-off sends only the ones its
//! target declares (`role` to `llm-team.yml`, never to a single-role developer workflow).

use std::collections::BTreeSet;

use serde_json::Value;

/// What a workflow file says about being dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatchable {
    /// It has a `workflow_dispatch` trigger with these inputs (possibly none).
    Inputs(BTreeSet<String>),
    /// It has no `workflow_dispatch` trigger: GitHub refuses to dispatch it.
    NoTrigger,
}

/// Reads the `on:` block of a workflow file; `None` when the text is not a workflow we can read
/// (then the dispatch goes out as it is and GitHub has the last word).
pub fn declared(yaml: &str) -> Option<Dispatchable> {
    let doc = crate::tasks::yaml_text::parse_value(yaml).ok()?;
    let map = doc.as_object()?;
    // YAML 1.1 readers turn a bare `on` into `true`; accept either spelling of the key.
    let on = map.get("on").or_else(|| map.get("true"))?;
    Some(match on {
        Value::String(s) if s == "workflow_dispatch" => Dispatchable::Inputs(BTreeSet::new()),
        Value::String(_) => Dispatchable::NoTrigger,
        Value::Array(list) => {
            if list.iter().any(|v| v == "workflow_dispatch") {
                Dispatchable::Inputs(BTreeSet::new())
            } else {
                Dispatchable::NoTrigger
            }
        }
        Value::Object(triggers) => match triggers.get("workflow_dispatch") {
            None => Dispatchable::NoTrigger,
            Some(d) => Dispatchable::Inputs(
                d.get("inputs")
                    .and_then(Value::as_object)
                    .map(|i| i.keys().cloned().collect())
                    .unwrap_or_default(),
            ),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Dispatchable {
        Dispatchable::Inputs(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_inputs_of_each_trigger_form_are_read() {
        let full = "name: x\non:\n  workflow_dispatch:\n    inputs:\n      task:\n        type: string\n      boost:\n        type: boolean\npermissions: {}\njobs: {}\n";
        assert_eq!(declared(full), Some(names(&["boost", "task"])));
        assert_eq!(
            declared("on:\n  workflow_dispatch: {}\n  push:\n"),
            Some(names(&[]))
        );
        assert_eq!(declared("on:\n  workflow_dispatch:\n"), Some(names(&[])));
        assert_eq!(declared("on: workflow_dispatch\n"), Some(names(&[])));
        assert_eq!(
            declared("on: [push, workflow_dispatch]\n"),
            Some(names(&[]))
        );
    }

    #[test]
    fn a_workflow_without_the_trigger_says_so_and_garbage_is_unknown() {
        assert_eq!(
            declared("on:\n  pull_request:\n    types: [closed]\n"),
            Some(Dispatchable::NoTrigger)
        );
        assert_eq!(declared("on: push\n"), Some(Dispatchable::NoTrigger));
        assert_eq!(declared("jobs: {}\n"), None);
        assert_eq!(declared(": : :\n\t["), None);
        assert_eq!(declared("- a\n- b\n"), None);
    }

    #[test]
    fn the_shipped_examples_declare_what_the_hand_offs_send() {
        let dev = declared(include_str!("../../examples/workflows/developer.yml"));
        assert_eq!(dev, Some(names(&["boost", "takeover", "task"])));
        let team = declared(include_str!("../../examples/workflows/llm-team.yml"));
        assert_eq!(team, Some(names(&["boost", "role", "takeover", "task"])));
        let reviewer = declared(include_str!("../../examples/workflows/reviewer.yml"));
        assert_eq!(reviewer, Some(names(&["pr"])));
        let integrator = declared(include_str!("../../examples/workflows/integrator.yml"));
        assert_eq!(integrator, Some(Dispatchable::NoTrigger));
    }
}
