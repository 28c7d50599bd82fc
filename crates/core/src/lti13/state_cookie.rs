//! The cookie that binds an LTI 1.3 login's `state` to the browser that started it (the login
//! CSRF defence of the 1EdTech Security Framework §5.1.1.2): the login sets
//! `lticontainer-lti13-<first 16 hex digits of SHA-256(state)>` = the whole hash; the launch that
//! brings `state` must come with that cookie, so a state taken from someone else's login (an
//! attacker's own) cannot be posted from another browser. One cookie per login, so two logins
//! in two tabs do not undo each other.

use subtle::ConstantTimeEq as _;

use crate::auth::hash_token;

/// The prefix of the state cookies' names.
pub const STATE_COOKIE_PREFIX: &str = "lticontainer-lti13-";

/// The path the state cookies are sent to (the launch only).
pub const STATE_COOKIE_PATH: &str = "/hub/lti13/";

/// The state cookie of `state`: its name and value.
pub fn state_cookie(state: &str) -> (String, String) {
    let hash = hash_token(state);
    (format!("{STATE_COOKIE_PREFIX}{}", &hash[..16]), hash)
}

/// True when `cookies` (name, value pairs of the request) hold the cookie of `state`.
pub fn state_cookie_matches<'a>(
    state: &str,
    cookies: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> bool {
    let (name, value) = state_cookie(state);
    cookies
        .into_iter()
        .any(|(n, v)| n == name && bool::from(v.as_bytes().ct_eq(value.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cookie_of_the_state_matches() {
        let (name, value) = state_cookie("s1");
        assert!(
            name.starts_with(STATE_COOKIE_PREFIX) && name.len() == STATE_COOKIE_PREFIX.len() + 16
        );
        assert!(value.len() == 64 && value.starts_with(&name[STATE_COOKIE_PREFIX.len()..]));
        assert!(state_cookie_matches(
            "s1",
            [("a", "b"), (name.as_str(), value.as_str())]
        ));
        assert!(!state_cookie_matches(
            "s2",
            [(name.as_str(), value.as_str())]
        ));
        assert!(!state_cookie_matches("s1", [(name.as_str(), "0")]));
        assert!(!state_cookie_matches("s1", []));
    }
}
