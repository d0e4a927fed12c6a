//! Secret-looking strings: a content check the write policy applies to model-written files
//! (and the reviewer to added lines). Shapes of well-known tokens and keys, never the secrets.

/// What kind of secret a line seems to contain (never the secret itself).
pub fn secret_kind(line: &str) -> Option<&'static str> {
    let token_after = |prefix: &str, min: usize, extra: &str| {
        line.match_indices(prefix).any(|(i, _)| {
            let boundary = i == 0 || !line.as_bytes()[i - 1].is_ascii_alphanumeric();
            let run = line[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || extra.contains(*c))
                .count();
            boundary && run >= min
        })
    };
    if ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .any(|p| token_after(p, 36, ""))
    {
        return Some("a GitHub token");
    }
    if token_after("github_pat_", 22, "_") {
        return Some("a GitHub fine-grained token");
    }
    if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    if token_after("AKIA", 16, "") {
        return Some("an AWS access key");
    }
    if ["xoxb-", "xoxp-", "xoxa-"]
        .iter()
        .any(|p| token_after(p, 10, "-"))
    {
        return Some("a Slack token");
    }
    if token_after("sk-", 32, "-_") {
        return Some("an API secret key");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_secret_shapes_not_lookalikes() {
        assert_eq!(
            secret_kind(&format!("token = \"ghp_{}\"", "a".repeat(36))),
            Some("a GitHub token")
        );
        assert_eq!(
            secret_kind(&format!("x=github_pat_{}", "A1_".repeat(10))),
            Some("a GitHub fine-grained token")
        );
        assert_eq!(
            secret_kind("-----BEGIN OPENSSH PRIVATE KEY-----"),
            Some("a private key")
        );
        assert_eq!(
            secret_kind("key: AKIAABCDEFGHIJKLMNOP"),
            Some("an AWS access key")
        );
        assert_eq!(secret_kind("ghp_short"), None);
        assert_eq!(secret_kind("mighp_abc"), None);
        assert_eq!(secret_kind("def sk_learn(): pass"), None);
    }
}
