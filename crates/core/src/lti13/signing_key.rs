//! [`RsaSigningKey`]: an RSA private key that signs compact JWS with RS256, as the tool (its
//! client-credentials assertions) and the test platforms ([`PlatformSigner`](super::PlatformSigner))
//! do.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Value, json};

use super::jose::{Jwk, RS256};

/// An RSA key pair (PKCS#8) that signs RS256 JWTs naming itself `kid` in their header.
///
/// Signing is `ring`'s (constant-time RSA). `Debug` shows the key id only.
pub struct RsaSigningKey {
    key: RsaKeyPair,
    kid: String,
}

impl fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaSigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl RsaSigningKey {
    /// The key in the PKCS#8 DER `der`, naming itself `kid`.
    ///
    /// # Errors
    /// A message when `der` is not an RSA PKCS#8 private key `ring` accepts (2048 to 8192 bits).
    pub fn from_pkcs8_der(der: &[u8], kid: impl Into<String>) -> Result<Self, String> {
        let key = RsaKeyPair::from_pkcs8(der).map_err(|e| {
            format!("it is not an RSA PKCS#8 private key of 2048 to 8192 bits ({e})")
        })?;
        Ok(Self {
            key,
            kid: kid.into(),
        })
    }

    /// The key in the PKCS#8 PEM `pem` (`-----BEGIN PRIVATE KEY-----`), naming itself `kid`.
    ///
    /// # Errors
    /// A message when the PEM is not base64 or does not hold a key [`from_pkcs8_der`](Self::from_pkcs8_der) takes.
    pub fn from_pkcs8_pem(pem: &str, kid: impl Into<String>) -> Result<Self, String> {
        Self::from_pkcs8_der(&pkcs8_pem_to_der(pem)?, kid)
    }

    /// The same key under another key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The key id written into the header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK with this key's id.
    pub fn jwk(&self) -> Jwk {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(self.key.public());
        Jwk::rsa(self.kid.clone(), &public.n, &public.e)
    }

    /// A compact JWS of `claims`, header `{"alg":"RS256","typ":"JWT","kid":…}`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": RS256, "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap_or_else(|e| unreachable!("RSA signing into a modulus-sized buffer: {e}"));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The DER inside a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----` … `-----END PRIVATE KEY-----`).
///
/// # Errors
/// A message when the text has no such block or its body is not base64.
pub fn pkcs8_pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem
        .find(BEGIN)
        .ok_or_else(|| format!("it is not a PKCS#8 PEM (no `{BEGIN}` line)"))?
        + BEGIN.len();
    let end = pem[start..]
        .find(END)
        .ok_or_else(|| format!("the PEM is cut short (no `{END}` line)"))?
        + start;
    let body: String = pem[start..end].split_whitespace().collect();
    STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM's body is not base64 ({e})"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::lti13::UnverifiedToken;

    const PEM: &str = include_str!("test_platform.pem");

    #[test]
    fn signs_tokens_its_jwk_verifies() {
        let key = RsaSigningKey::from_pkcs8_pem(PEM, "k1").unwrap();
        let token = key.sign(&json!({"iss": "tool"}));
        let parsed = UnverifiedToken::parse(&token).unwrap();
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        parsed.verify_rs256(&key.jwk(), "tool").unwrap();
        assert!(format!("{key:?}").contains("k1") && !format!("{key:?}").contains("MII"));
    }

    #[test]
    fn bad_pems_are_named() {
        for (pem, says) in [
            ("", "no `-----BEGIN"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n", "cut short"),
            (
                "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n",
                "not base64",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "not an RSA",
            ),
        ] {
            let err = RsaSigningKey::from_pkcs8_pem(pem, "k").unwrap_err();
            assert!(err.contains(says), "{pem:?}: {err}");
        }
    }
}
