//! Structured (JSON) replies: extraction from what models actually send, light schema
//! validation, one local repair, then at most two retries with the error fed back, then a
//! typed error. Invalid JSON is never treated as success.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::progress::first_chars;
use super::{ChatRequest, Llm, LlmError, Message, Reply};

/// Retries (new model calls) after the first answer failed validation.
pub const MAX_STRUCTURED_RETRIES: u32 = 2;

/// Removes `<think>…</think>` blocks (and everything before an unopened `</think>`).
/// Returns the cleaned text and the thinking text, if any.
pub fn strip_think(text: &str) -> (String, Option<String>) {
    let mut thinking = Vec::new();
    let mut rest = text.to_string();
    // An unopened closing tag: the model thought by default and the opening tag was eaten
    // by the chat template.
    if let Some(close) = rest.find("</think>") {
        let open = rest.find("<think>");
        if open.is_none_or(|o| o > close) {
            thinking.push(rest[..close].trim().to_string());
            rest = rest[close + "</think>".len()..].to_string();
        }
    }
    while let Some(open) = rest.find("<think>") {
        match rest[open..].find("</think>") {
            Some(rel) => {
                let close = open + rel;
                thinking.push(rest[open + "<think>".len()..close].trim().to_string());
                rest = format!("{}{}", &rest[..open], &rest[close + "</think>".len()..]);
            }
            None => {
                // Unclosed: everything after is thinking.
                thinking.push(rest[open + "<think>".len()..].trim().to_string());
                rest.truncate(open);
            }
        }
    }
    let thinking: Vec<String> = thinking.into_iter().filter(|t| !t.is_empty()).collect();
    let t = (!thinking.is_empty()).then(|| thinking.join("\n"));
    (rest.trim().to_string(), t)
}

/// Finds the JSON value in a model's reply: strips thinking, prefers a fenced code block,
/// else the first balanced `{…}` or `[…]` (string-aware). Returns the candidate text.
pub fn extract_json(text: &str) -> Option<String> {
    let (clean, _) = strip_think(text);
    let mut candidates: Vec<&str> = Vec::new();
    // Fenced blocks.
    let mut search = clean.as_str();
    while let Some(start) = search.find("```") {
        let after = &search[start + 3..];
        let body_start = after.find('\n').map(|n| n + 1).unwrap_or(0);
        let body = &after[body_start..];
        match body.find("```") {
            Some(end) => {
                candidates.push(&body[..end]);
                search = &body[end + 3..];
            }
            None => {
                candidates.push(body);
                break;
            }
        }
    }
    candidates.push(&clean);
    for c in candidates {
        let c = c.trim();
        if serde_json::from_str::<Value>(c).is_ok() {
            return Some(c.to_string());
        }
        if let Some(v) = balanced(c) {
            return Some(v.to_string());
        }
    }
    None
}

/// The first balanced JSON object or array in `s` (quotes and escapes respected).
fn balanced(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(rel) = s[from..].find(['{', '[']) {
        let start = from + rel;
        let mut depth = 0i32;
        let mut in_str = false;
        let mut esc = false;
        for (i, &b) in bytes.iter().enumerate().skip(start) {
            if in_str {
                match b {
                    _ if esc => esc = false,
                    b'\\' => esc = true,
                    b'"' => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        let cand = &s[start..=i];
                        if serde_json::from_str::<Value>(cand).is_ok() || repair(cand).is_some() {
                            return Some(cand);
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
        from = start + 1;
    }
    None
}

/// One local repair: removes trailing commas before `}`/`]` (outside strings). Returns the
/// repaired text only when it then parses.
pub fn repair(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut in_str = false;
    let mut esc = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            out.push(c);
            match c {
                _ if esc => esc = false,
                '\\' => esc = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    serde_json::from_str::<Value>(&out).ok().map(|_| out)
}

/// Light JSON-schema checks with readable paths: `type`, `required`, `properties`,
/// `items`, `enum`, `additionalProperties: false`. Returns the first few problems.
pub fn validate_schema(value: &Value, schema: &Value) -> Result<(), String> {
    let mut errs = Vec::new();
    check(value, schema, "$", &mut errs);
    if errs.is_empty() {
        Ok(())
    } else {
        errs.truncate(5);
        Err(errs.join("; "))
    }
}

fn type_ok(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn check(v: &Value, schema: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(v, t),
            Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).any(|t| type_ok(v, t)),
            _ => true,
        };
        if !ok {
            errs.push(format!(
                "{path}: expected {t}, got {}",
                first_chars(&v.to_string(), 60)
            ));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(v)
    {
        errs.push(format!(
            "{path}: {} is not one of {}",
            first_chars(&v.to_string(), 60),
            Value::Array(allowed.clone())
        ));
    }
    if let Some(obj) = v.as_object() {
        if let Some(Value::Array(req)) = schema.get("required") {
            for k in req.iter().filter_map(|k| k.as_str()) {
                if !obj.contains_key(k) {
                    errs.push(format!("{path}: missing required key \"{k}\""));
                }
            }
        }
        let props = schema.get("properties").and_then(|p| p.as_object());
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(sub) => check(val, sub, &format!("{path}.{k}"), errs),
                None => {
                    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                        errs.push(format!("{path}: unexpected key \"{k}\""));
                    }
                }
            }
        }
    }
    if let (Some(arr), Some(items)) = (v.as_array(), schema.get("items")) {
        for (i, item) in arr.iter().enumerate() {
            check(item, items, &format!("{path}[{i}]"), errs);
        }
    }
}

/// Parses and validates one reply text into `T`.
pub fn parse_structured<T: DeserializeOwned>(text: &str, schema: &Value) -> Result<T, String> {
    let cand = extract_json(text).ok_or_else(|| "no JSON value found in the reply".to_string())?;
    let value: Value = match serde_json::from_str(&cand) {
        Ok(v) => v,
        Err(e) => match repair(&cand) {
            Some(r) => serde_json::from_str(&r).map_err(|e| e.to_string())?,
            None => return Err(format!("invalid JSON: {e}")),
        },
    };
    validate_schema(&value, schema)?;
    serde_json::from_value(value).map_err(|e| format!("does not match the expected shape: {e}"))
}

/// A validated structured reply.
#[derive(Debug, Clone)]
pub struct Structured<T> {
    pub value: T,
    /// The reply that validated.
    pub reply: Reply,
    /// Model calls made (1 + retries).
    pub attempts: u32,
}

/// Asks for a JSON reply matching `schema` and deserializes it into `T`.
///
/// Per answer: strip thinking, fences and prose, parse (with one local repair of trailing
/// commas), check the schema (required keys, types, enums), deserialize. When that fails the
/// model is asked again, with its answer and the validation error in the conversation, at most
/// [`MAX_STRUCTURED_RETRIES`] times; then [`LlmError::InvalidStructuredReply`].
/// A cut-off answer (`done_reason: "length"`) counts as invalid and is retried the same way.
pub async fn chat_json<T: DeserializeOwned>(
    llm: &dyn Llm,
    mut request: ChatRequest,
    schema: &Value,
) -> Result<Structured<T>, LlmError> {
    request.json_schema = Some(schema.clone());
    let mut attempts = 0;
    let mut last_error;
    let mut last_text;
    loop {
        attempts += 1;
        match llm.chat(&request).await {
            Ok(reply) => match parse_structured::<T>(&reply.text, schema) {
                Ok(value) => {
                    return Ok(Structured {
                        value,
                        reply,
                        attempts,
                    });
                }
                Err(e) => {
                    last_error = e;
                    last_text = reply.text;
                }
            },
            Err(LlmError::OutputTruncated { partial, limit, .. }) => {
                last_error = format!("the answer was cut off at {limit} tokens; answer shorter");
                last_text = partial;
            }
            Err(e) => return Err(e),
        }
        if attempts > MAX_STRUCTURED_RETRIES {
            return Err(LlmError::InvalidStructuredReply {
                model: request.model.clone(),
                attempts,
                last_error,
                last_reply_excerpt: first_chars(&last_text, 300),
            });
        }
        request
            .messages
            .push(Message::assistant(first_chars(&last_text, 4000)));
        request.messages.push(Message::user(format!(
            "Your previous reply was not valid: {last_error}.\n\
             Reply again with ONLY one JSON value that matches this JSON schema, with no prose, \
             no code fences and no thinking:\n{schema}"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_from_noise() {
        assert_eq!(extract_json("{\"a\":1}").unwrap(), "{\"a\":1}");
        assert_eq!(
            extract_json("<think>hmm {no}</think>\nHere:\n```json\n{\"a\": [1]}\n```\nbye")
                .unwrap(),
            "{\"a\": [1]}"
        );
        assert_eq!(
            extract_json("thinking... {x} </think> Sure! {\"a\": \"}\"} done").unwrap(),
            "{\"a\": \"}\"}"
        );
        assert!(extract_json("no json here").is_none());
        assert_eq!(repair("{\"a\": [1,2,],}").unwrap(), "{\"a\": [1,2]}");
    }

    #[test]
    fn schema_errors_are_readable() {
        let schema = serde_json::json!({"type":"object","required":["verdict","items"],
            "properties":{"verdict":{"enum":["approve","reject"]},
            "items":{"type":"array","items":{"type":"string"}}}});
        let e = validate_schema(&serde_json::json!({"verdict":"maybe","items":[1]}), &schema)
            .unwrap_err();
        assert!(e.contains("$.verdict: \"maybe\" is not one of"), "{e}");
        assert!(e.contains("$.items[0]: expected \"string\""), "{e}");
        let e = validate_schema(&serde_json::json!({}), &schema).unwrap_err();
        assert!(e.contains("missing required key \"verdict\""), "{e}");
    }
}
