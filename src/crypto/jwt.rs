//! The GitHub App's JWT (RS256), signed with ring: the PEM key GitHub generates (PKCS#1, or
//! PKCS#8 after `openssl pkcs8`) is read once, and each JWT is the App id, a nine-minute window
//! and an RSA-SHA256 signature, which is all GitHub accepts or needs.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::RsaKeyPair;

/// A GitHub App's private key, checked when it is read.
pub struct AppKey(RsaKeyPair);

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppKey(..)")
    }
}

impl AppKey {
    /// Reads a PEM RSA private key (`BEGIN RSA PRIVATE KEY` or `BEGIN PRIVATE KEY`). The error
    /// says what was wrong, never what the key holds.
    pub fn from_pem(pem: &str) -> Result<AppKey, String> {
        let pem = pem.trim();
        let (label, body) = pem_body(pem).ok_or_else(|| {
            "not an RSA private key in PEM form (expected a -----BEGIN RSA PRIVATE KEY----- block)".to_string()
        })?;
        let der = STANDARD.decode(body).map_err(|_| {
            "not an RSA private key in PEM form: the block is not base64".to_string()
        })?;
        let pair = match label {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            other => {
                return Err(format!(
                    "not an RSA private key in PEM form: a {other:?} block (use the .pem GitHub generated for the App)"
                ));
            }
        };
        pair.map(AppKey)
            .map_err(|e| format!("not an RSA private key in PEM form that can sign ({e})"))
    }

    /// The JWT that authenticates as App `app_id` at Unix time `now`: issued a minute early
    /// (clock drift) and valid for nine more (GitHub's limit is ten).
    pub fn jwt(&self, app_id: u64, now: u64) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({"iat": now.saturating_sub(60), "exp": now + 9 * 60, "iss": app_id.to_string()});
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{header}.{claims}");
        let mut sig = vec![0; self.0.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        self.0
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &rng,
                message.as_bytes(),
                &mut sig,
            )
            .map_err(|e| format!("signing the App's JWT failed: {e}"))?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    #[cfg(test)]
    fn public_key(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        self.0.public_key().as_ref().to_vec()
    }
}

/// `(label, base64 body)` of the first PEM block in `text`.
fn pem_body(text: &str) -> Option<(&str, String)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_and_end = &rest[label_end + 5..];
    let end = body_and_end.find(&format!("-----END {label}-----"))?;
    let body: String = body_and_end[..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some((label, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    /// Throwaway 2048-bit RSA keys made for these tests (PKCS#1, as GitHub hands them out, and
    /// the same key as PKCS#8).
    const KEY: &str = include_str!("test_rsa_key.pem");
    const KEY_PKCS8: &str = include_str!("test_rsa_key_pkcs8.pem");

    fn decode(part: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(part).unwrap()
    }

    #[test]
    fn the_jwt_is_rs256_over_the_app_id_and_verifies_with_the_public_key() {
        let key = AppKey::from_pem(KEY).unwrap();
        let token = key.jwt(123, 1_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let header: serde_json::Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"iat": 999_940, "exp": 1_000_540, "iss": "123"})
        );
        let public = key.public_key();
        let verifier = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public);
        let message = format!("{}.{}", parts[0], parts[1]);
        verifier
            .verify(message.as_bytes(), &decode(parts[2]))
            .expect("the signature verifies");
        assert!(verifier.verify(b"tampered", &decode(parts[2])).is_err());
    }

    #[test]
    fn pkcs8_keys_and_surrounding_text_are_read_too() {
        let a = AppKey::from_pem(KEY).unwrap();
        let b = AppKey::from_pem(&format!("  \n{KEY_PKCS8}\n")).unwrap();
        assert_eq!(a.public_key(), b.public_key());
    }

    #[test]
    fn bad_keys_are_clear_errors_not_panics() {
        for bad in [
            "",
            "-----BEGIN NOTHING-----",
            "-----BEGIN RSA PRIVATE KEY-----\n!!!\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
        ] {
            let e = AppKey::from_pem(bad).unwrap_err();
            assert!(
                e.contains("not an RSA private key in PEM form"),
                "{bad:?}: {e}"
            );
        }
    }
}
