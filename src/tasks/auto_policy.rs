//! A task's `auto_policy`: whether the Integrator may merge the task's integration pull request
//! by itself. `review_required` (the default, also when the key is missing) leaves merging to a
//! person; `auto_merge` (alias `auto`) lets the Integrator merge it when the repository permits.

/// What a task's `auto_policy` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoPolicy {
    /// A person merges (the default).
    ReviewRequired,
    /// The Integrator merges the integration pull request when GitHub allows it.
    AutoMerge,
    /// A value this build does not know: treated like `review_required` (validation warns).
    Unknown(String),
}

impl AutoPolicy {
    /// Reads the front-matter value; missing or empty means `review_required`. Case and
    /// surrounding space are ignored, `-` counts as `_`.
    pub fn parse(value: Option<&str>) -> AutoPolicy {
        let v = value.unwrap_or("").trim();
        match v.to_ascii_lowercase().replace('-', "_").as_str() {
            "" | "review_required" => AutoPolicy::ReviewRequired,
            "auto_merge" | "auto" => AutoPolicy::AutoMerge,
            _ => AutoPolicy::Unknown(v.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(AutoPolicy::parse(None), AutoPolicy::ReviewRequired);
        assert_eq!(
            AutoPolicy::parse(Some("review_required")),
            AutoPolicy::ReviewRequired
        );
        assert_eq!(
            AutoPolicy::parse(Some(" Auto-Merge ")),
            AutoPolicy::AutoMerge
        );
        assert_eq!(AutoPolicy::parse(Some("auto")), AutoPolicy::AutoMerge);
        assert_eq!(
            AutoPolicy::parse(Some("yolo")),
            AutoPolicy::Unknown("yolo".into())
        );
        assert_ne!(AutoPolicy::parse(Some("yolo")), AutoPolicy::AutoMerge);
    }
}
