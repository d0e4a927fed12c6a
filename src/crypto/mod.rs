//! The process's one cryptography backend: `ring`, for TLS (rustls under reqwest)
//! and for the GitHub App's JWT. aws-lc-rs (C, ~11 % of the static binary) is not linked; rustls
//! is told which provider to use here, once, before any client is built.

mod jwt;

use std::sync::Once;

pub use jwt::AppKey;

/// Installs ring as rustls's process-wide provider. Idempotent and cheap: every place that
/// builds an HTTP client calls it first, so no caller (tests included) can reach reqwest's
/// "no crypto provider" panic.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only when a provider is already installed: then that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
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
        // Building runs reqwest's whole rustls setup (provider, versions, verifier); it must
        // neither panic nor fail.
        reqwest::Client::builder()
            .https_only(true)
            .build()
            .expect("the https client builds with ring");
    }
}
