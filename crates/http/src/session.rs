//! The hub session cookie: who the browser is, signed with a key only the hub knows.
//!
//! The cookie value is `v2.<issued unix>.<expires unix>.<base64url user>.<base64url HMAC-SHA256>`.
//! The key is 32 random bytes kept in the state directory ([`SessionKey::load_or_create`]) so
//! sessions survive a hub restart; the issue time lets the hub revoke a user's sessions (see
//! `session_revocations`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the hub's session cookie.
pub const COOKIE_NAME: &str = "lticontainer-session";

/// The file in the state directory that holds the session key.
pub const KEY_FILE: &str = "session.key";

const KEY_LEN: usize = 32;

/// How the cookie may travel: top-level only (`Lax`) or inside an LMS iframe (`None; Secure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieMode {
    /// `SameSite=Lax`: the browser sends the cookie when the hub is the top-level site.
    Lax,
    /// `SameSite=None; Secure`: the browser also sends it inside an LMS iframe (https only).
    CrossSite,
}

/// The secret that signs session cookies.
#[derive(Clone)]
pub struct SessionKey {
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// Wraps a key given as bytes (tests, or a key from elsewhere).
    pub fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        Self { key }
    }

    /// A fresh random key, not persisted.
    pub fn random() -> Self {
        Self {
            key: rand::random(),
        }
    }

    /// Reads the key from `<dir>/session.key`, creating the directory and a new random key
    /// (mode 0600) when the file is missing.
    ///
    /// # Errors
    /// The file cannot be read or written, or it holds something other than 32 bytes.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} holds {} bytes, expected {KEY_LEN}; delete it to make a new one \
                             (this logs every user out)",
                            path.display(),
                            bytes.len()
                        ),
                    )
                })?;
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(dir)?;
                let key = Self::random();
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                f.write_all(&key.key)?;
                f.sync_all()?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail for our 32-byte key.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(payload.as_bytes());
        mac
    }

    /// The signed cookie value naming `user`, issued at `issued` and valid until `expires`
    /// (unix seconds).
    pub fn sign(&self, user: &str, issued: u64, expires: u64) -> String {
        let payload = format!("v2.{issued}.{expires}.{}", URL_SAFE_NO_PAD.encode(user));
        let sig = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    /// What a cookie value says, when its signature is right and it has not expired at `now`.
    /// Cookies of the first format (`v1`, without the issue time) are no longer accepted: their
    /// holders launch again from the LMS.
    pub fn verify(&self, value: &str, now: u64) -> Option<SessionClaim> {
        let (payload, sig) = value.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        self.mac(payload).verify_slice(&sig).ok()?;
        let mut parts = payload.splitn(4, '.');
        if parts.next()? != "v2" {
            return None;
        }
        let issued: u64 = parts.next()?.parse().ok()?;
        let expires: u64 = parts.next()?.parse().ok()?;
        if expires <= now {
            return None;
        }
        let user = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
        Some(SessionClaim { user, issued })
    }

    /// The form token of the session `claim`: what the hub's own pages put in every form they
    /// post (`_xsrf`), so a page elsewhere cannot make a signed-in browser act. It is bound to
    /// the session (user and issue time) and signed with the session key.
    pub fn form_token(&self, claim: &SessionClaim) -> String {
        let payload = format!(
            "form.{}.{}",
            claim.issued,
            URL_SAFE_NO_PAD.encode(&claim.user)
        );
        URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes())
    }

    /// Every valid session cookie in `headers` (a browser may hold more than one).
    pub fn claims_from_headers<'a>(
        &'a self,
        headers: &'a HeaderMap,
        now: u64,
    ) -> impl Iterator<Item = SessionClaim> + 'a {
        cookie_values(headers, COOKIE_NAME).filter_map(move |v| self.verify(v, now))
    }
}

/// What a valid session cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaim {
    /// The signed-in user.
    pub user: String,
    /// When the session was issued (unix seconds).
    pub issued: u64,
}

/// The `Set-Cookie` value that stores `value` as the session cookie for `max_age` seconds.
///
/// `https` marks the cookie `Secure` (the browser reached the hub over https); cross-site
/// cookies are always `Secure`, as browsers require.
pub fn set_cookie_header(value: &str, max_age: u64, mode: CookieMode, https: bool) -> String {
    let site = match (mode, https) {
        (CookieMode::Lax, false) => "SameSite=Lax",
        (CookieMode::Lax, true) => "SameSite=Lax; Secure",
        (CookieMode::CrossSite, _) => "SameSite=None; Secure",
    };
    format!("{COOKIE_NAME}={value}; Path=/; HttpOnly; {site}; Max-Age={max_age}")
}

/// Every value of the cookie `name` in the `Cookie` headers.
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The `Cookie` header with the hub's session cookie taken out, or `None` when nothing is left.
///
/// The proxy forwards this so a user's server never sees the hub session of whoever visits it.
pub fn strip_session_cookie(header: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty()
                && pair
                    .split_once('=')
                    .is_none_or(|(k, _)| k.trim() != COOKIE_NAME)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key() -> SessionKey {
        SessionKey::from_bytes([7; KEY_LEN])
    }

    #[test]
    fn form_tokens_belong_to_one_session() {
        let k = key();
        let claim = SessionClaim {
            user: "alice".into(),
            issued: 100,
        };
        let token = k.form_token(&claim);
        assert_eq!(k.form_token(&claim), token, "stable for the session");
        let later = SessionClaim {
            issued: 101,
            ..claim.clone()
        };
        let bob = SessionClaim {
            user: "bob".into(),
            ..claim.clone()
        };
        assert_ne!(k.form_token(&later), token);
        assert_ne!(k.form_token(&bob), token);
        assert_ne!(SessionKey::random().form_token(&claim), token);
        // A form token is no cookie signature, and the reverse.
        assert!(
            k.verify(&format!("v2.100.999.YWxpY2U.{token}"), 0)
                .is_none()
        );
    }

    #[test]
    fn signed_value_round_trips() {
        let v = key().sign("alice", 10, 1000);
        assert_eq!(
            key().verify(&v, 999),
            Some(SessionClaim {
                user: "alice".into(),
                issued: 10
            })
        );
    }

    #[test]
    fn expired_value_is_rejected() {
        let v = key().sign("alice", 10, 1000);
        assert_eq!(key().verify(&v, 1000), None);
    }

    #[test]
    fn tampered_user_is_rejected() {
        let v = key().sign("alice", 10, 1000);
        let forged = v.replace(
            &URL_SAFE_NO_PAD.encode("alice"),
            &URL_SAFE_NO_PAD.encode("bob"),
        );
        assert_ne!(v, forged);
        assert_eq!(key().verify(&forged, 1), None);
    }

    #[test]
    fn other_key_is_rejected() {
        let v = key().sign("alice", 10, 1000);
        assert_eq!(SessionKey::from_bytes([8; KEY_LEN]).verify(&v, 1), None);
    }

    #[test]
    fn first_format_cookies_are_no_longer_accepted() {
        let payload = format!("v1.1000.{}", URL_SAFE_NO_PAD.encode("alice"));
        let sig = URL_SAFE_NO_PAD.encode(key().mac(&payload).finalize().into_bytes());
        assert_eq!(key().verify(&format!("{payload}.{sig}"), 5), None);
    }

    #[test]
    fn garbage_is_rejected() {
        for v in [
            "",
            ".",
            "v1",
            "v2.x.y.z",
            "a.b.c.d.e",
            "v2.1.10.YWxpY2U.!!!",
        ] {
            assert_eq!(key().verify(v, 1), None, "{v:?}");
        }
    }

    #[test]
    fn user_is_found_among_other_cookies() {
        let mut h = HeaderMap::new();
        let v = key().sign("alice", 10, 1000);
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=1; {COOKIE_NAME}={v}; b=2")).unwrap(),
        );
        let users: Vec<String> = key().claims_from_headers(&h, 5).map(|c| c.user).collect();
        assert_eq!(users, ["alice"]);
    }

    #[test]
    fn cookie_attributes_follow_the_mode() {
        let lax = set_cookie_header("x", 60, CookieMode::Lax, false);
        assert!(lax.contains("HttpOnly") && lax.contains("SameSite=Lax") && lax.contains("Path=/"));
        assert!(!lax.contains("Secure"));
        let lax_tls = set_cookie_header("x", 60, CookieMode::Lax, true);
        assert!(lax_tls.contains("SameSite=Lax; Secure"));
        let cross = set_cookie_header("x", 60, CookieMode::CrossSite, false);
        assert!(cross.contains("SameSite=None; Secure"));
    }

    #[test]
    fn session_cookie_is_stripped_for_upstream() {
        assert_eq!(
            strip_session_cookie(&format!("a=1; {COOKIE_NAME}=zzz; b=2")).as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(strip_session_cookie(&format!("{COOKIE_NAME}=zzz")), None);
    }

    #[test]
    fn key_is_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("state");
        let a = SessionKey::load_or_create(&sub).unwrap();
        let b = SessionKey::load_or_create(&sub).unwrap();
        assert_eq!(a.key, b.key);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(sub.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn short_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        let err = SessionKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("expected 32"), "{err}");
    }
}
