//! The process's one cryptography backend: `ring`, for TLS (rustls under reqwest and octocrab)
//! and for the GitHub App's JWT. aws-lc-rs (C, ~11 % of the static binary) is not linked; both
//! libraries are told which provider to use here, once, before any client is built.

mod jwt;

use std::sync::Once;

/// Installs ring as rustls's and jsonwebtoken's process-wide provider. Idempotent and cheap:
/// every place that builds an HTTP client calls it first, so no caller (tests included) can
/// reach a "no crypto provider" panic.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only when another provider is already installed: then that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let _ = jwt::PROVIDER.install_default();
    });
}

/// Why `key` cannot sign a GitHub App JWT (ring refuses it: not RSA, too short, malformed), if
/// it cannot: checked when the key is read, so the user hears about the key, not about a failed
/// request later.
pub fn rsa_key_problem(key: &jsonwebtoken::EncodingKey) -> Option<String> {
    jwt::key_problem(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_client_builds_with_the_ring_provider() {
        install();
        install();
        let provider =
            rustls::crypto::CryptoProvider::get_default().expect("a provider is installed");
        assert!(!provider.cipher_suites.is_empty());
        // The same builder options our clients use; building must not panic or fail.
        let client = reqwest::Client::builder()
            .https_only(true)
            .build()
            .expect("the https client builds with ring");
        drop(client);
    }
}
