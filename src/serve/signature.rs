//! Webhook signatures: `X-Hub-Signature-256` is HMAC-SHA256 of the raw body with the shared
//! secret. Checked in constant time, before the body is parsed at all; `sha1=` signatures and
//! empty secrets are refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a delivery's signature was refused. The messages name what to fix and never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "missing X-Hub-Signature-256: set a secret on the GitHub webhook (Settings → Webhooks → Secret) \
         equal to GITHUB_WEBHOOK_SECRET"
    )]
    Missing,
    #[error(
        "only an X-Hub-Signature (sha1) header was sent; sha1 signatures are refused. GitHub sends \
         X-Hub-Signature-256 whenever the webhook has a secret"
    )]
    Sha1Only,
    #[error("X-Hub-Signature-256 is not of the form sha256=<64 hex digits>")]
    Malformed,
    #[error(
        "X-Hub-Signature-256 does not match the body: the webhook's secret differs from the \
         server's, or the body was changed on the way"
    )]
    Mismatch,
}

/// The signature header's value for `body` under `secret` (`sha256=…`): what GitHub sends.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Parses the header into the 32 signature bytes.
pub fn parse_header(sha256: Option<&[u8]>, sha1_present: bool) -> Result<[u8; 32], SignatureError> {
    let Some(value) = sha256 else {
        return Err(if sha1_present {
            SignatureError::Sha1Only
        } else {
            SignatureError::Missing
        });
    };
    let value = std::str::from_utf8(value).map_err(|_| SignatureError::Malformed)?;
    let hexpart = value
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hexpart, &mut out).map_err(|_| SignatureError::Malformed)?;
    Ok(out)
}

/// Whether `signature` is the HMAC-SHA256 of `body` under `secret`, compared in constant time.
/// An empty secret never verifies anything.
pub fn verify(secret: &[u8], body: &[u8], signature: &[u8; 32]) -> bool {
    if secret.is_empty() {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's documented example (docs: "Validating webhook deliveries").
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const EXPECTED: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_vector_passes() {
        assert_eq!(sign(SECRET, PAYLOAD), EXPECTED);
        let sig = parse_header(Some(EXPECTED.as_bytes()), false).unwrap();
        assert!(verify(SECRET, PAYLOAD, &sig));
    }

    #[test]
    fn tampering_wrong_secrets_and_bad_headers_are_refused() {
        let sig = parse_header(Some(EXPECTED.as_bytes()), false).unwrap();
        assert!(!verify(SECRET, b"Hello, World?", &sig));
        assert!(!verify(b"It's a secret to everybody", PAYLOAD, &sig));
        assert!(!verify(b"", PAYLOAD, &sig));
        let mut flipped = sig;
        flipped[31] ^= 1;
        assert!(!verify(SECRET, PAYLOAD, &flipped));
        assert_eq!(parse_header(None, false), Err(SignatureError::Missing));
        assert_eq!(parse_header(None, true), Err(SignatureError::Sha1Only));
        assert_eq!(
            parse_header(Some(b"sha1=0123"), false),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            parse_header(Some(&EXPECTED.as_bytes()[..70]), false),
            Err(SignatureError::Malformed)
        );
    }
}
