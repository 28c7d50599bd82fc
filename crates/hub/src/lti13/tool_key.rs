//! [`ToolKey`]: the tool's own RSA key pair. LTI 1.3 platforms know the tool by its public key
//! set (`GET /hub/lti13/jwks`); the tool signs with the private key what it sends them (the
//! client-credentials assertion of Assignment and Grade Services).
//!
//! The key is made on the hub's first start (2048-bit RSA, by the RustCrypto `rsa` crate, as
//! `ring` cannot generate RSA keys) and kept as PKCS#8 PEM, mode 0600, in the state directory
//! (`[lti13] tool_key_file`, default `<hub.state_dir>/lti13-tool-key.pem`). It signs with
//! `ring` (constant-time RSA, already the hub's verifier; the `rsa` crate's private-key
//! operations are not constant-time, RUSTSEC-2023-0071), so `rsa` only ever generates.
//!
//! A file that exists but is group- or world-readable, or does not hold such a key, stops the
//! start with an error for the admin: a new key would silently break every registration that
//! knows the old one.

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use lticontainer_core::lti13::{JwkSet, RsaSigningKey};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use serde_json::Value;

use crate::state_file::write_private_atomically;

/// The default file name of the tool's key in the state directory.
pub const TOOL_KEY_FILE: &str = "lti13-tool-key.pem";

/// The size of a generated key, in bits.
pub const TOOL_KEY_BITS: usize = 2048;

/// Why the tool's key could not be had; each message says what the admin does about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolKeyError {
    /// The file could not be read, or a new key not written.
    #[error("the LTI 1.3 tool key file {}: {source}", .path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The file system's error.
        #[source]
        source: io::Error,
    },
    /// The file may be read by others than the hub's user.
    #[error(
        "the LTI 1.3 tool key file {} has mode {mode:04o}, readable by others than its owner; \
         run `chmod 600 {}` (and replace the key if others may have read it: the LMS must then \
         fetch the new key set)",
        .path.display(), .path.display()
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold an RSA PKCS#8 PEM key.
    #[error(
        "the LTI 1.3 tool key file {} is unusable: {reason}. It is not replaced on its own, as \
         the platforms registered with the tool know its key: restore it from a backup, or move \
         it away to have a new key made at the next start (then update the tool's key in each \
         LMS, or register it again)",
        .path.display()
    )]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating a key failed (no system randomness).
    #[error("cannot generate the LTI 1.3 tool key: {0}")]
    Generate(String),
}

/// The tool's RSA key pair: its id, its public key set, and RS256 signing.
pub struct ToolKey {
    key: RsaSigningKey,
    path: PathBuf,
}

impl fmt::Debug for ToolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolKey")
            .field("kid", &self.kid())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ToolKey {
    /// The key in `path`; when the file does not exist, a new key is generated and written
    /// there (mode 0600, the directory created).
    ///
    /// # Errors
    /// [`ToolKeyError::TooOpen`] when the file is group- or world-readable,
    /// [`ToolKeyError::Corrupt`] when it holds no RSA PKCS#8 PEM key (never overwritten),
    /// [`ToolKeyError::Io`] when it cannot be read or written.
    pub fn load_or_create(path: &Path) -> Result<Self, ToolKeyError> {
        let io = |source| ToolKeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(ToolKeyError::TooOpen {
                        path: path.to_owned(),
                        mode,
                    });
                }
                let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
                    io::ErrorKind::InvalidData => ToolKeyError::Corrupt {
                        path: path.to_owned(),
                        reason: "it is not text".to_owned(),
                    },
                    _ => io(e),
                })?;
                Self::from_pem(&text, path)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let pem = generate_pem()?;
                write_private_atomically(path, pem.as_bytes()).map_err(io)?;
                tracing::info!(file = %path.display(), "generated the LTI 1.3 tool key");
                Self::from_pem(&pem, path)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key in the PKCS#8 PEM `pem`, said to come from `path` (tests and fixtures).
    ///
    /// # Errors
    /// [`ToolKeyError::Corrupt`] when `pem` holds no RSA PKCS#8 key.
    pub fn from_pem(pem: &str, path: &Path) -> Result<Self, ToolKeyError> {
        let corrupt = |reason: String| ToolKeyError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let key = RsaSigningKey::from_pkcs8_pem(pem, "").map_err(corrupt)?;
        let kid = key
            .jwk()
            .thumbprint()
            .unwrap_or_else(|| unreachable!("an RSA signing key's JWK is RSA with n and e"));
        Ok(Self {
            key: key.with_kid(kid),
            path: path.to_owned(),
        })
    }

    /// The key id: the RFC 7638 thumbprint of the public key, so it changes exactly when the key
    /// does.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The file the key is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A compact JWS of `claims`, RS256, its header naming [`kid`](Self::kid).
    ///
    /// # Errors
    /// None today (signing into a modulus-sized buffer cannot fail); the `Result` keeps room
    /// for a key kept elsewhere (an HSM).
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, ToolKeyError> {
        Ok(self.key.sign(claims))
    }

    /// The public key set, `{"keys": [<the public JWK, alg RS256, use sig, kid>]}`.
    pub fn jwks(&self) -> Value {
        serde_json::to_value(JwkSet::new(vec![self.key.jwk()]))
            .unwrap_or_else(|e| unreachable!("a key set serialises: {e}"))
    }
}

/// A new 2048-bit RSA key as PKCS#8 PEM.
fn generate_pem() -> Result<String, ToolKeyError> {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, TOOL_KEY_BITS)
        .map_err(|e| ToolKeyError::Generate(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| ToolKeyError::Generate(e.to_string()))?;
    Ok(pem.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lticontainer_core::lti13::UnverifiedToken;
    use serde_json::json;

    use super::*;

    /// The committed test key of the core crate (no generation in most tests).
    const PEM: &str = include_str!("../../../core/src/lti13/test_other.pem");

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(TOOL_KEY_FILE);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_key_file_loads_signs_and_publishes_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), PEM, 0o600);
        let key = ToolKey::load_or_create(&path).unwrap();
        let set = key.jwks();
        let jwk = &set["keys"][0];
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["alg"].as_str(),
                jwk["use"].as_str()
            ),
            (Some("RSA"), Some("RS256"), Some("sig"))
        );
        assert!(jwk.get("d").is_none(), "no private part: {jwk}");
        assert_eq!(set["keys"].as_array().unwrap().len(), 1);

        let token = key.sign_jwt(&json!({"iss": "client"})).unwrap();
        let parsed = UnverifiedToken::parse(&token).unwrap();
        assert_eq!(parsed.header.kid.as_deref(), Some(key.kid()));
        let keys = JwkSet::parse(set.to_string().as_bytes()).unwrap();
        let jwk = keys.find(key.kid()).unwrap();
        assert_eq!(jwk.thumbprint().as_deref(), Some(key.kid()));
        // The token verifies with the published key (through the verifier's RS256 check).
        let signer =
            lticontainer_core::lti13::PlatformSigner::from_pkcs8_pem(PEM, key.kid()).unwrap();
        assert_eq!(signer.jwk(), *jwk);
        assert!(format!("{key:?}").contains(key.kid()));
    }

    #[test]
    fn an_open_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o640, 0o604, 0o644] {
            let path = write(dir.path(), PEM, mode);
            let err = ToolKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(err, ToolKeyError::TooOpen { .. }),
                "{mode:o}: {err}"
            );
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn a_corrupt_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "",
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let path = write(dir.path(), text, 0o600);
            let err = ToolKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(err, ToolKeyError::Corrupt { .. }),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains("not replaced"), "{err}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                text,
                "left as it was"
            );
        }
    }

    /// The one test that generates a key (slow without optimisation; the workspace optimises
    /// `rsa` in debug builds).
    #[test]
    fn a_missing_file_gets_a_new_private_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/sub").join(TOOL_KEY_FILE);
        let made = ToolKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let again = ToolKey::load_or_create(&path).unwrap();
        assert_eq!(made.kid(), again.kid());
        assert_eq!(made.jwks(), again.jwks());
        let n = made.jwks()["keys"][0]["n"].as_str().unwrap().to_owned();
        assert_eq!(
            n.len(),
            342,
            "a 2048-bit modulus is 256 bytes, 342 base64url characters"
        );
    }
}
