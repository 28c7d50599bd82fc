//! The form token every form of the hub's own pages posts (`_xsrf`, JupyterHub's field name):
//! how it travels. It is made and checked with the session key
//! ([`SessionKey::form_token`](crate::session::SessionKey::form_token),
//! [`Session::check_form`](crate::extract::Session::check_form)).

use lticontainer_hub::html::escape;

/// The form field that carries the token.
pub(crate) const FIELD: &str = "_xsrf";

/// The hidden `<input>` that carries `token` in a form.
pub(crate) fn hidden_input(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{FIELD}\" value=\"{}\">",
        escape(token)
    )
}

/// The token in a posted `application/x-www-form-urlencoded` body, if there is one.
pub(crate) fn from_body(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_posted_form() {
        assert_eq!(
            from_body(b"a=1&_xsrf=abc-_d&b=2").as_deref(),
            Some("abc-_d")
        );
        assert_eq!(from_body(b"a=1"), None);
        assert_eq!(from_body(b""), None);
        assert!(hidden_input("a\"b").contains("value=\"a&quot;b\""));
    }
}
