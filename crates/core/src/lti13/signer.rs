//! [`PlatformSigner`]: signs id_tokens the way an LTI 1.3 platform (Moodle) does, for tests,
//! benchmarks and fake platforms.

use serde_json::{Value, json};

use super::claims::{
    CLAIM_CUSTOM, CLAIM_DEPLOYMENT_ID, CLAIM_EXT, CLAIM_MESSAGE_TYPE, CLAIM_RESOURCE_LINK,
    CLAIM_ROLES, CLAIM_VERSION, LTI_VERSION_13, RESOURCE_LINK_REQUEST,
};
use super::jose::Jwk;
use super::signing_key::RsaSigningKey;

/// A test key pair (2048-bit RSA, PKCS#8), committed for tests and benchmarks only: anyone can
/// read it, so no platform may ever use it.
const TEST_PLATFORM_KEY: &str = include_str!("test_platform.pem");
/// A second test key pair, for "signed by another key" tests.
const TEST_OTHER_KEY: &str = include_str!("test_other.pem");

/// Signs LTI 1.3 id_tokens with an RSA key (RS256), as a platform does.
///
/// `Debug` shows the key id only.
#[derive(Debug)]
pub struct PlatformSigner {
    key: RsaSigningKey,
}

impl PlatformSigner {
    /// The key id of [`PlatformSigner::test_platform`].
    pub const TEST_KID: &'static str = "test-platform-key";

    /// A signer for the PKCS#8 PEM private key `pem` (`-----BEGIN PRIVATE KEY-----`), naming
    /// itself `kid`.
    ///
    /// # Errors
    /// A message when the PEM does not hold an RSA PKCS#8 key ring accepts.
    pub fn from_pkcs8_pem(pem: &str, kid: impl Into<String>) -> Result<Self, String> {
        Ok(Self {
            key: RsaSigningKey::from_pkcs8_pem(pem, kid)?,
        })
    }

    /// The committed test platform key, id [`PlatformSigner::TEST_KID`]. Tests only.
    pub fn test_platform() -> Self {
        Self::from_pkcs8_pem(TEST_PLATFORM_KEY, Self::TEST_KID)
            .unwrap_or_else(|e| unreachable!("the committed test key parses: {e}"))
    }

    /// A second committed test key (id `test-other-key`), which no test key set trusts unless a
    /// test puts it there. Tests only.
    pub fn test_other() -> Self {
        Self::from_pkcs8_pem(TEST_OTHER_KEY, "test-other-key")
            .unwrap_or_else(|e| unreachable!("the committed test key parses: {e}"))
    }

    /// The same key under another key id.
    #[must_use]
    pub fn with_kid(self, kid: impl Into<String>) -> Self {
        Self {
            key: self.key.with_kid(kid),
        }
    }

    /// The key id this signer writes into the header.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The public key as a JWK, as the platform publishes it in its key set.
    pub fn jwk(&self) -> Jwk {
        self.key.jwk()
    }

    /// A compact JWS of `claims`, header `{"alg":"RS256","typ":"JWT","kid":…}`.
    pub fn sign_claims(&self, claims: &Value) -> String {
        self.key.sign(claims)
    }

    /// The claims of a student's resource link launch as Moodle 5.1 writes them (user 4,
    /// `student1`, course 2, link 1, no custom parameters), issued `now` and expiring a minute
    /// later. Tests change or add claims on the returned value.
    pub fn student_launch_claims(
        issuer: &str,
        client_id: &str,
        deployment_id: &str,
        nonce: &str,
        now: i64,
    ) -> Value {
        json!({
            "iss": issuer,
            "aud": client_id,
            "sub": "4",
            "nonce": nonce,
            "iat": now,
            "exp": now + 60,
            "given_name": "Student",
            "family_name": "One",
            "name": "Student One",
            "email": "student1@example.com",
            CLAIM_DEPLOYMENT_ID: deployment_id,
            CLAIM_MESSAGE_TYPE: RESOURCE_LINK_REQUEST,
            CLAIM_VERSION: LTI_VERSION_13,
            CLAIM_ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM_RESOURCE_LINK: {"id": "1", "title": "Jupyter"},
            "https://purl.imsglobal.org/spec/lti/claim/context": {
                "id": "2", "label": "DS101", "title": "Data Science 101", "type": ["CourseSection"]
            },
            CLAIM_EXT: {"user_username": "student1", "lms": "moodle-2"},
            CLAIM_CUSTOM: {},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_keys_load_and_differ() {
        let a = PlatformSigner::test_platform();
        let b = PlatformSigner::test_other();
        assert_eq!(a.kid(), PlatformSigner::TEST_KID);
        assert_ne!(a.jwk().n, b.jwk().n);
        assert!(format!("{a:?}").contains("test-platform-key"));
        assert!(
            PlatformSigner::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n", "k").is_err()
        );
    }
}
