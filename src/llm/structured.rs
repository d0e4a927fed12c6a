//! Structured (JSON) replies: extraction from what models actually send, light schema
//! validation, one local repair, then at most two retries with the error fed back, then a
//! typed error. Invalid JSON is never treated as success.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::budget::{MESSAGE_OVERHEAD, estimate_tokens, truncate_to_tokens};
use super::progress::first_chars;
use super::think::strip_think;
use super::{ChatRequest, Llm, LlmError, Message, Reply};

/// Retries (new model calls) after the first answer failed validation.
pub const MAX_STRUCTURED_RETRIES: u32 = 2;

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
/// model is asked again, with its last answer and the validation error in the conversation (cut
/// to the room the budget leaves), at most [`MAX_STRUCTURED_RETRIES`] times; then
/// [`LlmError::InvalidStructuredReply`].
/// A cut-off answer (`done_reason: "length"`) counts as invalid and is retried the same way.
pub async fn chat_json<T: DeserializeOwned>(
    llm: &dyn Llm,
    mut request: ChatRequest,
    schema: &Value,
) -> Result<Structured<T>, LlmError> {
    request.json_schema = Some(schema.clone());
    let base = request.messages.clone();
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
        // The retry carries only the last failure, sized to the room the prompt leaves: a
        // prompt that filled its budget must not be pushed out of the context by the retry.
        let room = match llm.budget(&request.model, request.max_output_tokens).await {
            Ok(b) => b.room_after(&base),
            Err(_) => u32::MAX,
        };
        request.messages = base.clone();
        request
            .messages
            .extend(retry_messages(&last_text, &last_error, schema, room));
    }
}

/// The messages that ask again after an invalid reply: the reply (cut to fit) and the error
/// with the schema; less when the room is short, nothing when there is none.
fn retry_messages(last_text: &str, last_error: &str, schema: &Value, room: u32) -> Vec<Message> {
    let cost = |m: &str| estimate_tokens(m) + MESSAGE_OVERHEAD;
    let full = format!(
        "Your previous reply was not valid: {last_error}.\n\
         Reply again with ONLY one JSON value that matches this JSON schema, with no prose, \
         no code fences and no thinking:\n{schema}"
    );
    let short = format!(
        "Your previous reply was not valid: {}.\nReply again with ONLY the JSON value asked \
         for, with no prose, no code fences and no thinking.",
        first_chars(last_error, 300)
    );
    let feedback = if cost(&full) + 64 <= room {
        full
    } else if cost(&short) <= room {
        short
    } else {
        return Vec::new();
    };
    let left = room.saturating_sub(cost(&feedback));
    let excerpt = first_chars(last_text, 4000);
    let excerpt = truncate_to_tokens(&excerpt, left.saturating_sub(MESSAGE_OVERHEAD + 16));
    let mut out = Vec::new();
    if left > MESSAGE_OVERHEAD + 32 && !excerpt.trim().is_empty() {
        out.push(Message::assistant(excerpt));
    }
    out.push(Message::user(feedback));
    out
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
    fn a_retry_fits_the_room_left() {
        let schema = serde_json::json!({"type": "object", "required": ["a"]});
        let reply = "x ".repeat(5000);
        let roomy = retry_messages(&reply, "bad", &schema, 100_000);
        assert_eq!(roomy.len(), 2);
        assert!(roomy[1].content.contains("\"required\""));
        let tight = retry_messages(&reply, "bad", &schema, 200);
        let cost: u32 = tight
            .iter()
            .map(|m| estimate_tokens(&m.content) + MESSAGE_OVERHEAD)
            .sum();
        assert!(cost <= 200, "{cost}");
        assert!(tight.last().unwrap().content.contains("not valid: bad"));
        assert!(retry_messages(&reply, "bad", &schema, 10).is_empty());
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
