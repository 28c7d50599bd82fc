//! LTI 1.3 Assignment and Grade Services (AGS 2.0) on the wire, sans-IO: the client-credentials
//! assertion and token request (1EdTech Security Framework §4.1), the token answer, the line
//! item container, a new line item, a score, and the platform's answers in words.
//!
//! Which line item a column goes to (the hub's rule, `docs/security.md` and README): the
//! activity's own line item when the launch named one (`lineitem`: Moodle's grade item of the
//! External tool activity; as LTI 1.1 Basic Outcomes, the column the teacher picks is the
//! activity's grade); otherwise the line item of the course's container (`lineitems`) whose
//! `resourceId` is the activity and `tag` the column ([`find_lineitem`]), created when missing
//! ([`new_lineitem`]). A score *replaces* the student's previous one on that item, so
//! re-sending changes nothing but the timestamp.

use serde_json::{Value, json};

use super::outcomes::normalise;

/// The media type of a line item container (the `Accept` of its GET).
pub const LINEITEM_CONTAINER_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";
/// The media type of one line item.
pub const LINEITEM_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
/// The media type of a score.
pub const SCORE_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
/// The content type of the token request.
pub const FORM_TYPE: &str = "application/x-www-form-urlencoded";
/// How long the client assertion is valid, in seconds.
pub const ASSERTION_TTL_SECS: i64 = 300;

/// The claims of the client-credentials assertion the tool signs: it is the client
/// `client_id` (`iss` = `sub`), for the platform's `token_url` (`aud`), once (`jti`), issued
/// `now` and valid [`ASSERTION_TTL_SECS`].
pub fn assertion_claims(client_id: &str, token_url: &str, jti: &str, now: i64) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + ASSERTION_TTL_SECS,
        "jti": jti,
    })
}

/// The form body of the token request: the client-credentials grant with the signed
/// `assertion`, for `scopes`.
pub fn token_form(assertion: &str, scopes: &[&str]) -> String {
    let scope = scopes.join(" ");
    [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
        ("scope", scope.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", crate::form::percent_encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

/// A service token the platform gave.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub token: String,
    /// Its lifetime in seconds (`expires_in`; 3600 when the platform did not say).
    pub expires_in: u64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Reads the token endpoint's answer of `status` with `body`.
///
/// # Errors
/// What the platform said, for the teacher and the admin: the HTTP status and its `error` /
/// `error_description`, or why the answer is unusable.
pub fn parse_token_answer(status: u16, body: &[u8]) -> Result<AccessToken, String> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if !(200..300).contains(&status) {
        return Err(format!(
            "the platform refused the service token: {}",
            describe_answer(status, body)
        ));
    }
    let token = json
        .as_ref()
        .and_then(|j| j.get("access_token"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 4096)
        .ok_or_else(|| {
            format!(
                "the platform's token answer has no access_token: {}",
                describe_answer(status, body)
            )
        })?;
    let expires_in = json
        .as_ref()
        .and_then(|j| j.get("expires_in"))
        .and_then(Value::as_u64)
        .unwrap_or(3600);
    Ok(AccessToken {
        token: token.to_owned(),
        expires_in,
    })
}

/// A platform's answer in one line: `HTTP <status>` and its `error`/`error_description`, or
/// `reason` (Moodle's services), or the start of the body.
pub fn describe_answer(status: u16, body: &[u8]) -> String {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let said: Vec<&str> = ["error", "error_description", "reason"]
        .iter()
        .filter_map(|n| field(n))
        .collect();
    let said = if said.is_empty() {
        text_of(&String::from_utf8_lossy(body))
    } else {
        said.join(": ")
    };
    if said.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {said}")
    }
}

/// The start (200 characters) of `body` as text: an HTML page's tags dropped and its
/// whitespace collapsed (a platform's error page says what went wrong in its text).
fn text_of(body: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

/// The `id` of the line item in the container `body` (a JSON array) whose `resourceId` is
/// `resource_id` and `tag` is `tag`; `Ok(None)` when there is none.
///
/// # Errors
/// The body is not a JSON array.
pub fn find_lineitem(body: &[u8], resource_id: &str, tag: &str) -> Result<Option<String>, String> {
    let items: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| format!("the platform's line item container is not a JSON array: {e}"))?;
    Ok(items.iter().find_map(|item| {
        let is = |k: &str, v: &str| item.get(k).and_then(Value::as_str) == Some(v);
        (is("resourceId", resource_id) && is("tag", tag))
            .then(|| item.get("id").and_then(Value::as_str).map(str::to_owned))
            .flatten()
    }))
}

/// The new line item for `column` of the activity `resource_id`, out of `max`.
pub fn new_lineitem(resource_id: &str, column: &str, max: f64) -> Value {
    json!({
        "label": column,
        "scoreMaximum": max,
        "resourceId": resource_id,
        "tag": column,
    })
}

/// The `id` of the line item the platform created (its answer `body`).
///
/// # Errors
/// The answer has no `id`.
pub fn created_lineitem(status: u16, body: &[u8]) -> Result<String, String> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|j| j.get("id").and_then(Value::as_str).map(str::to_owned))
        .filter(|_| (200..300).contains(&status))
        .ok_or_else(|| {
            format!(
                "the platform did not create the line item: {}",
                describe_answer(status, body)
            )
        })
}

/// The score of `user_id`: `score` out of `max` (clamped to 0..=max, as Basic Outcomes
/// clamps), completed and fully graded, at `timestamp` (ISO 8601 with milliseconds). `None`
/// when `max` is not positive or either is not finite.
pub fn score_body(user_id: &str, score: f64, max: f64, timestamp: &str) -> Option<Value> {
    let fraction = normalise(score, max)?;
    Some(json!({
        "userId": user_id,
        "scoreGiven": fraction * max,
        "scoreMaximum": max,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": timestamp,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_assertion_names_the_client_and_the_token_url() {
        let c = assertion_claims("cid", "http://m/mod/lti/token.php", "j1", 1000);
        assert_eq!(c["iss"], "cid");
        assert_eq!(c["sub"], "cid");
        assert_eq!(c["aud"], "http://m/mod/lti/token.php");
        assert_eq!(c["exp"], 1300);
        let form = token_form("a.b.c", &["s 1", "s2"]);
        assert!(form.starts_with("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c&scope=s%201%20s2"), "{form}");
    }

    #[test]
    fn token_answers_are_read_or_explained() {
        let t = parse_token_answer(200, br#"{"access_token":"t","expires_in":3600}"#).unwrap();
        assert_eq!((t.token.as_str(), t.expires_in), ("t", 3600));
        assert!(!format!("{t:?}").contains("\"t\""));
        let e = parse_token_answer(400, br#"{"error":"invalid_scope"}"#).unwrap_err();
        assert!(e.contains("HTTP 400: invalid_scope"), "{e}");
        let e = parse_token_answer(200, b"<html>oops</html>").unwrap_err();
        assert!(e.contains("no access_token") && e.contains("oops"), "{e}");
        assert_eq!(
            describe_answer(409, br#"{"status":409,"reason":"Refusing score"}"#),
            "HTTP 409: Refusing score"
        );
        assert_eq!(describe_answer(500, b""), "HTTP 500");
        assert_eq!(
            describe_answer(
                404,
                b"<html><head><title>Error</title></head>\n<p>No key set</p></html>"
            ),
            "HTTP 404: Error No key set"
        );
    }

    #[test]
    fn line_items_are_found_by_activity_and_column() {
        let body = br#"[{"id":"http://m/li/1","resourceId":"7","tag":"P001"},
                        {"id":"http://m/li/2","resourceId":"7","tag":"Total"}]"#;
        assert_eq!(
            find_lineitem(body, "7", "Total").unwrap().as_deref(),
            Some("http://m/li/2")
        );
        assert_eq!(find_lineitem(body, "8", "Total").unwrap(), None);
        assert!(find_lineitem(b"{}", "7", "Total").is_err());
        assert_eq!(new_lineitem("7", "Total", 10.0)["tag"], "Total");
        assert_eq!(
            created_lineitem(201, br#"{"id":"http://m/li/3"}"#).unwrap(),
            "http://m/li/3"
        );
        assert!(created_lineitem(403, b"").unwrap_err().contains("HTTP 403"));
    }

    #[test]
    fn scores_are_clamped_and_complete() {
        let s = score_body("4", 12.0, 10.0, "2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(s["scoreGiven"], 10.0);
        assert_eq!(s["scoreMaximum"], 10.0);
        assert_eq!(s["gradingProgress"], "FullyGraded");
        assert_eq!(s["activityProgress"], "Completed");
        assert_eq!(score_body("4", 1.0, 0.0, "t"), None);
    }
}
