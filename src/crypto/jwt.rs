//! RS256 signing for the GitHub App's JWT (octocrab mints it through jsonwebtoken) with ring.
//! jsonwebtoken's own providers are aws-lc-rs or the RustCrypto stack; GitHub Apps only ever
//! need RS256, so this provider signs that and refuses every other algorithm with an error.

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use ring::signature::RsaKeyPair;

/// The provider `crate::crypto::install` hands to jsonwebtoken.
pub(super) static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// An RSA key pair (PKCS#1 DER, as `EncodingKey::from_rsa_pem` stores it) that signs RS256.
struct Rs256(RsaKeyPair);

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    if *algorithm != Algorithm::RS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    if key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    let pair = RsaKeyPair::from_der(key.inner())
        .map_err(|e| Error::from(ErrorKind::InvalidRsaKey(e.to_string())))?;
    Ok(Box::new(Rs256(pair)))
}

pub(super) fn key_problem(key: &EncodingKey) -> Option<String> {
    RsaKeyPair::from_der(key.inner())
        .err()
        .map(|e| e.to_string())
}

/// The server never verifies JWTs: GitHub does.
fn new_verifier(_: &Algorithm, _: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

impl Signer<Vec<u8>> for Rs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut out = vec![0; self.0.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        self.0
            .sign(&ring::signature::RSA_PKCS1_SHA256, &rng, msg, &mut out)
            .map_err(signature::Error::from_source)?;
        Ok(out)
    }
}

impl JwtSigner for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    /// A throwaway 2048-bit RSA key (PKCS#1 PEM, the form GitHub hands out), made for this test.
    const KEY: &str = include_str!("test_rsa_key.pem");

    #[test]
    fn a_github_app_jwt_is_signed_rs256_and_verifies_with_the_public_key() {
        crate::crypto::install();
        let key = EncodingKey::from_rsa_pem(KEY.as_bytes()).unwrap();
        let header = jsonwebtoken::Header::new(Algorithm::RS256);
        let claims = serde_json::json!({"iss": "123", "iat": 1, "exp": 600});
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        let (message, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let pair = RsaKeyPair::from_der(key.inner()).unwrap();
        let public =
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref());
        public
            .verify(message.as_bytes(), &sig)
            .expect("the signature verifies");
        // A tampered message does not.
        assert!(
            public
                .verify(format!("{message}x").as_bytes(), &sig)
                .is_err()
        );
    }

    #[test]
    fn other_algorithms_and_bad_keys_are_errors_not_panics() {
        crate::crypto::install();
        let key = EncodingKey::from_rsa_pem(KEY.as_bytes()).unwrap();
        let claims = serde_json::json!({"iss": "123"});
        let hs = jsonwebtoken::Header::new(Algorithm::HS256);
        assert!(jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(b"s")).is_err());
        let ps = jsonwebtoken::Header::new(Algorithm::PS256);
        assert!(jsonwebtoken::encode(&ps, &claims, &key).is_err());
        let rs = jsonwebtoken::Header::new(Algorithm::RS256);
        let e = jsonwebtoken::encode(&rs, &claims, &EncodingKey::from_rsa_der(b"not a key"))
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidRsaKey(_)), "{e:?}");
    }
}
