//! The JOSE pieces an LTI 1.3 launch needs: a compact JWS ([`UnverifiedToken`]), a platform's
//! key set ([`JwkSet`], [`Jwk`]) and RS256 verification with `ring`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::{Deserialize, Serialize};

use super::Lti13Error;

/// The only signature algorithm LTI 1.3 (1EdTech Security Framework §5.1.3) uses for id_tokens.
pub const RS256: &str = "RS256";

/// The protected header of a JWS, as far as the hub reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct JoseHeader {
    /// The signature algorithm (`RS256`).
    pub alg: String,
    /// The id of the platform key that signed the token.
    #[serde(default)]
    pub kid: Option<String>,
}

/// A compact JWS split and decoded, its signature not yet checked.
///
/// The claims are parsed before the signature is checked only to find the platform and key
/// that must check it; nothing in them is trusted until
/// [`Lti13Verifier::verify`](super::Lti13Verifier::verify) has passed.
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    /// The protected header.
    pub header: JoseHeader,
    /// The claims (the decoded payload).
    pub claims: serde_json::Map<String, serde_json::Value>,
    signing_input_len: usize,
    token: String,
    signature: Vec<u8>,
}

impl UnverifiedToken {
    /// Splits `token` (`header.payload.signature`, base64url without padding) and decodes the
    /// header and the claims.
    ///
    /// # Errors
    /// [`Lti13Error::Malformed`] when the token has not three parts, a part is not base64url,
    /// or the header or the payload is not a JSON object.
    pub fn parse(token: &str) -> Result<Self, Lti13Error> {
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Lti13Error::malformed(
                "the id_token is not a compact JWS (three base64url parts separated by dots)",
            ));
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD.decode(part).map_err(|e| {
                Lti13Error::malformed(format!("the id_token's {what} is not base64url: {e}"))
            })
        };
        let header: JoseHeader = serde_json::from_slice(&decode(h, "header")?)
            .map_err(|e| Lti13Error::malformed(format!("the id_token's header: {e}")))?;
        let claims = serde_json::from_slice(&decode(p, "payload")?)
            .map_err(|e| Lti13Error::malformed(format!("the id_token's claims: {e}")))?;
        let signature = decode(s, "signature")?;
        Ok(Self {
            header,
            claims,
            signing_input_len: h.len() + 1 + p.len(),
            token: token.to_owned(),
            signature,
        })
    }

    /// The `iss` claim, when it is a string.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(serde_json::Value::as_str)
    }

    /// The bytes the signature covers: `base64url(header) "." base64url(payload)`.
    fn signing_input(&self) -> &[u8] {
        &self.token.as_bytes()[..self.signing_input_len]
    }

    /// Checks the RS256 signature with `key`.
    ///
    /// # Errors
    /// [`Lti13Error::BadSignature`] when it does not verify; [`Lti13Error::UnusableKey`] when the
    /// key is not an RSA key with a base64url modulus and exponent.
    pub(crate) fn verify_rs256(&self, key: &Jwk, issuer: &str) -> Result<(), Lti13Error> {
        let components = key.rsa_components(issuer)?;
        components
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                self.signing_input(),
                &self.signature,
            )
            .map_err(|_| Lti13Error::BadSignature {
                issuer: issuer.to_owned(),
                kid: key.kid.clone().unwrap_or_default(),
            })
    }
}

/// One JSON Web Key (RFC 7517) of a platform's key set; only RSA keys are used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// The key type; `RSA` for the keys LTI uses.
    pub kty: String,
    /// The key id the tokens name in their header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for (`RS256`), when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// The intended use (`sig`), when the platform says.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The RSA modulus, base64url big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The RSA public exponent, base64url big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    /// An RS256 signing key with id `kid` from the big-endian modulus and exponent.
    pub fn rsa(kid: impl Into<String>, n: &[u8], e: &[u8]) -> Self {
        Self {
            kty: "RSA".to_owned(),
            kid: Some(kid.into()),
            alg: Some(RS256.to_owned()),
            use_: Some("sig".to_owned()),
            n: Some(URL_SAFE_NO_PAD.encode(n)),
            e: Some(URL_SAFE_NO_PAD.encode(e)),
        }
    }

    /// The RFC 7638 thumbprint of an RSA key: base64url(SHA-256 of `{"e":…,"kty":"RSA","n":…}`,
    /// the required members in lexicographic order, no whitespace). `None` for a key that is not
    /// RSA or lacks `n` or `e`.
    pub fn thumbprint(&self) -> Option<String> {
        use sha2::Digest as _;
        if self.kty != "RSA" {
            return None;
        }
        let (n, e) = (self.n.as_deref()?, self.e.as_deref()?);
        // base64url text needs no JSON escaping, so the canonical form is written directly.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes())))
    }

    fn rsa_components(&self, issuer: &str) -> Result<RsaPublicKeyComponents<Vec<u8>>, Lti13Error> {
        let unusable = |reason: &str| Lti13Error::UnusableKey {
            issuer: issuer.to_owned(),
            kid: self.kid.clone().unwrap_or_default(),
            reason: reason.to_owned(),
        };
        if self.kty != "RSA" {
            return Err(unusable("it is not an RSA key"));
        }
        if self.alg.as_deref().is_some_and(|a| a != RS256)
            || self.use_.as_deref().is_some_and(|u| u != "sig")
        {
            return Err(unusable("it is not meant for RS256 signatures"));
        }
        let part = |v: &Option<String>, name: &str| {
            let text = v
                .as_deref()
                .ok_or_else(|| unusable(&format!("it has no `{name}`")))?;
            let mut bytes = URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| unusable(&format!("its `{name}` is not base64url")))?;
            let zeros = bytes.iter().take_while(|b| **b == 0).count();
            bytes.drain(..zeros);
            Ok::<_, Lti13Error>(bytes)
        };
        Ok(RsaPublicKeyComponents {
            n: part(&self.n, "n")?,
            e: part(&self.e, "e")?,
        })
    }
}

/// A platform's public key set (RFC 7517 §5), as served at its `key_set_url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// A set of `keys`.
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self { keys }
    }

    /// Parses a key set document.
    ///
    /// # Errors
    /// The JSON error when `body` is not a JSON object with a `keys` array of keys.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The key with id `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::lti13::PlatformSigner;

    #[test]
    fn a_signed_token_verifies_and_a_changed_byte_does_not() {
        let signer = PlatformSigner::test_platform();
        let token = signer.sign_claims(&serde_json::json!({"iss": "x"}));
        let parsed = UnverifiedToken::parse(&token).unwrap();
        assert_eq!(parsed.header.alg, RS256);
        assert_eq!(parsed.issuer(), Some("x"));
        let key = signer.jwk();
        parsed.verify_rs256(&key, "x").unwrap();

        let (head, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"y"}"#);
        let forged = UnverifiedToken::parse(&format!("{head}.{forged_payload}.{sig}")).unwrap();
        assert!(matches!(
            forged.verify_rs256(&key, "y"),
            Err(Lti13Error::BadSignature { .. })
        ));
        let other = PlatformSigner::test_other().jwk();
        assert!(matches!(
            parsed.verify_rs256(&other, "x"),
            Err(Lti13Error::BadSignature { .. })
        ));
    }

    #[test]
    fn malformed_tokens_are_named() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.AA",
            "e30.!!.AA",
            "e30.e30.!!",
            "W10.e30.AA",
        ] {
            let err = UnverifiedToken::parse(bad).unwrap_err();
            assert!(matches!(err, Lti13Error::Malformed { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn keys_that_cannot_verify_are_unusable() {
        let good = PlatformSigner::test_platform().jwk();
        let token = PlatformSigner::test_platform().sign_claims(&serde_json::json!({}));
        let parsed = UnverifiedToken::parse(&token).unwrap();
        let mut ec = good.clone();
        ec.kty = "EC".into();
        let mut enc = good.clone();
        enc.use_ = Some("enc".into());
        let mut no_n = good.clone();
        no_n.n = None;
        for key in [ec, enc, no_n] {
            assert!(matches!(
                parsed.verify_rs256(&key, "x"),
                Err(Lti13Error::UnusableKey { .. })
            ));
        }
    }

    #[test]
    fn thumbprint_is_rfc_7638s() {
        // RFC 7638 §3.1's example key and thumbprint.
        let key: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            key.thumbprint().as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        let mut ec = key.clone();
        ec.kty = "EC".into();
        assert_eq!(ec.thumbprint(), None);
    }

    #[test]
    fn key_sets_parse_and_find_by_kid() {
        let set = JwkSet::new(vec![PlatformSigner::test_platform().jwk()]);
        let text = serde_json::to_vec(&set).unwrap();
        let back = JwkSet::parse(&text).unwrap();
        assert_eq!(back, set);
        assert!(back.find(PlatformSigner::TEST_KID).is_some());
        assert!(back.find("other").is_none());
        assert!(JwkSet::parse(b"{}").is_err());
    }
}
