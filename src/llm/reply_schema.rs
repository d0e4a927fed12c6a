//! The JSON schema a model reply must follow, derived (schemars) from the Rust type that reads
//! the reply, so the two cannot drift. Cut to what every backend takes (Ollama `format`, OpenAI
//! `json_schema`, the schema in the prompt, `structured::validate_schema`): nested types inlined,
//! only `type`, `properties`, `required`, `items` and `enum` kept, and every property required.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The only keywords sent: what the hand-written schemas used and every backend understands
/// (no `$schema`, titles, Rust doc comments, `format: uint64`, `default`s).
const KEPT: [&str; 5] = ["type", "properties", "required", "items", "enum"];

/// The reply schema of `T`.
pub fn reply_schema<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft07();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    trim(&mut schema);
    schema
}

/// Keeps the `KEPT` keywords (recursively) and requires every property: a field the type
/// defaults (`#[serde(default)]`) is still one the model must write, as strict schemas want.
fn trim(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    // A unit enum with doc comments on variants comes as `oneOf`: a `const` per documented
    // variant, one `enum` for the rest.
    let values: Option<Vec<Vec<Value>>> =
        map.get("oneOf").and_then(Value::as_array).and_then(|vs| {
            vs.iter()
                .map(|v| match (v.get("const"), v.get("enum")) {
                    (Some(c), _) => Some(vec![c.clone()]),
                    (None, Some(Value::Array(e))) => Some(e.clone()),
                    _ => None,
                })
                .collect()
        });
    if let Some(values) = values {
        map.insert("type".into(), "string".into());
        map.insert("enum".into(), Value::Array(values.concat()));
    }
    map.retain(|k, _| KEPT.contains(&k.as_str()));
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        let names = props.keys().cloned().map(Value::String).collect();
        props.values_mut().for_each(trim);
        map.insert("required".into(), Value::Array(names));
    }
    if let Some(items) = map.get_mut("items") {
        trim(items);
    }
}

/// A reply valid under `schema` with every property and one item per array (the first `enum`
/// value, `"x"`, `1`, `true`): what a round-trip test deserialises into the type and back.
#[cfg(test)]
pub(crate) fn witness(schema: &Value) -> Value {
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => Value::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, sub)| (k.clone(), witness(sub)))
                .collect(),
        ),
        Some("array") => Value::Array(vec![witness(&schema["items"])]),
        Some("integer" | "number") => Value::from(1),
        Some("boolean") => Value::Bool(true),
        Some("string") => Value::from("x"),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Doc comments on a field and a variant (they must not reach the model), a default, a
    /// nested type, a renamed unit enum and a number.
    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Reply {
        /// Said to Rust readers only.
        name: String,
        #[serde(default)]
        tags: Vec<Inner>,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Big,
        /// Said to Rust readers only.
        SmallOne,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Inner {
        kind: Kind,
        line: u64,
    }

    #[test]
    fn nested_types_are_inlined_every_property_required_and_only_the_common_keywords_kept() {
        assert_eq!(
            reply_schema::<Reply>(),
            json!({
                "type": "object",
                "required": ["name", "tags"],
                "properties": {
                    "name": {"type": "string"},
                    "tags": {"type": "array", "items": {
                        "type": "object",
                        "required": ["kind", "line"],
                        "properties": {
                            "kind": {"type": "string", "enum": ["big", "small_one"]},
                            "line": {"type": "integer"}
                        }
                    }}
                }
            })
        );
    }

    #[test]
    fn the_witness_is_valid_under_its_schema() {
        let schema = reply_schema::<Reply>();
        let w = witness(&schema);
        assert_eq!(
            w,
            json!({"name": "x", "tags": [{"kind": "big", "line": 1}]})
        );
        crate::llm::structured::validate_schema(&w, &schema).unwrap();
    }
}
