//! One LTI 1.3 Assignment and Grade Services score: the service token (client-credentials
//! grant with an assertion signed by the tool's key, cached until shortly before it expires, asked
//! for again once when the platform answers a score with 401; a score answered 409, Moodle's
//! "not newer than the grade it has" to the second, is sent once more in the next second),
//! the line item (the activity's own, or found or created under the course's container; the
//! rule is in `lticontainer_core::grades::ags`), and the score, sent by the [`LmsClient`].
//!
//! Where the hub sends its token: only to the platform's configured token URL, and the bearer
//! token only to line item URLs on the origin of the platform's issuer or token URL. A launch
//! names the line item URLs; without this check a launch could make the hub hand its token to
//! any server (docs/security.md).

use std::collections::HashMap;
use std::sync::Arc;

use lticontainer_core::clock::Clock;
use lticontainer_core::grades::ags::{
    AccessToken, FORM_TYPE, LINEITEM_CONTAINER_TYPE, LINEITEM_TYPE, SCORE_TYPE, assertion_claims,
    created_lineitem, describe_answer, find_lineitem, new_lineitem, parse_token_answer, score_body,
    token_form,
};
use lticontainer_core::lti13::{PlatformConfig, SCOPE_LINEITEM, SCOPE_SCORE};
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::sync::Mutex;

use crate::analytics::{LmsClient, ServiceCall};
use crate::credentials::new_secret;
use crate::lti13::Lti13Launches;
use crate::origin::normalise_origin;

/// The most of a token, score or line item answer that is read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The most of a line item container that is read.
const MAX_CONTAINER_BYTES: usize = 1024 * 1024;
/// A cached token is used only while it has at least this long to live, in seconds.
const TOKEN_MARGIN_SECS: i64 = 60;

/// Where one student's score goes (a `GradeTarget::V13`).
pub(super) struct Target<'a> {
    /// The platform's issuer.
    pub(super) issuer: &'a str,
    /// The tool's client id there.
    pub(super) client_id: &'a str,
    /// The student (`sub`).
    pub(super) user_id: &'a str,
    /// The activity's own line item.
    pub(super) lineitem: Option<&'a str>,
    /// The course's line item container.
    pub(super) lineitems: Option<&'a str>,
}

/// The score being sent: of `column` of `activity`, `score` out of `max`.
pub(super) struct Sending<'a> {
    /// The activity (`resource_link_id`).
    pub(super) activity: &'a str,
    /// The CSV's column.
    pub(super) column: &'a str,
    /// The score.
    pub(super) score: f64,
    /// Its maximum.
    pub(super) max: f64,
}

/// AGS for the hub's 1.3 platforms, with their service tokens cached.
pub(super) struct Ags {
    launches: Arc<Lti13Launches>,
    client: LmsClient,
    clock: Arc<dyn Clock>,
    /// (issuer, client id) → the token and when it expires (Unix seconds).
    tokens: Mutex<HashMap<(String, String), (AccessToken, i64)>>,
}

impl Ags {
    /// AGS for the platforms of `launches`, signed with its tool key, sent by `client`.
    pub(super) fn new(
        launches: Arc<Lti13Launches>,
        client: LmsClient,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            launches,
            client,
            clock,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Sends one score; whether the platform took it, and its answer in words (errors are also
    /// logged for the admin).
    pub(super) async fn send(&self, target: &Target<'_>, sending: &Sending<'_>) -> (bool, String) {
        match self.try_send(target, sending).await {
            Ok(answer) => (true, answer),
            Err(why) => {
                tracing::warn!(issuer = %target.issuer, client_id = %target.client_id, activity = %sending.activity, error = %why, "grades: the LTI 1.3 score was not taken");
                (false, why)
            }
        }
    }

    async fn try_send(&self, target: &Target<'_>, sending: &Sending<'_>) -> Result<String, String> {
        let config = self.launches.config();
        let platform = config
            .platform(target.issuer, Some(target.client_id))
            .ok_or_else(|| {
                format!(
                    "not sent: the platform {} (client id {}) of the launch is no longer registered with the hub",
                    target.issuer, target.client_id
                )
            })?;
        let origins = platform_origins(platform);
        let body = || {
            let timestamp = iso_millis(self.clock.now());
            score_body(target.user_id, sending.score, sending.max, &timestamp)
                .map(|b| b.to_string().into_bytes())
                .ok_or_else(|| {
                    format!(
                        "not sent: {} out of {} is not a grade",
                        sending.score, sending.max
                    )
                })
        };
        body()?;
        // The launch's URLs are checked before any token is had or sent.
        let given = match (target.lineitem, target.lineitems) {
            (Some(item), _) => Ok(on_platform(item, &origins)?),
            (None, Some(container)) => Err(on_platform(container, &origins)?),
            (None, None) => return Err("not sent: the launch named no line item".to_owned()),
        };
        let mut token = self.token(platform).await?;
        let lineitem = match given {
            Ok(item) => item.to_owned(),
            Err(container) => {
                self.lineitem_of(container, &token, sending, &origins)
                    .await?
            }
        };
        let url = scores_url(&lineitem)?;
        let mut answer = self.post_score(&url, &body()?, &token).await?;
        if answer.0 == 401 {
            // A cached token the platform no longer knows (restarted, revoked): one more try
            // with a new one.
            self.forget_token(platform).await;
            token = self.token(platform).await?;
            answer = self.post_score(&url, &body()?, &token).await?;
        }
        if answer.0 == 409 {
            // Moodle takes a score only when its timestamp is newer than the grade's, to the
            // second: a re-send within the second of the last one is sent again in the next.
            let into_second = self
                .clock
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_millis());
            tokio::time::sleep(std::time::Duration::from_millis(
                u64::from(1000 - into_second.min(1000)) + 20,
            ))
            .await;
            answer = self.post_score(&url, &body()?, &token).await?;
        }
        let (status, answer) = answer;
        if (200..300).contains(&status) {
            Ok(format!("HTTP {status}: score taken ({lineitem})"))
        } else {
            Err(format!(
                "score refused: {}",
                describe_answer(status, &answer)
            ))
        }
    }

    /// POSTs the score `body` to `url` with `token`; the platform's status and answer.
    async fn post_score(
        &self,
        url: &str,
        body: &[u8],
        token: &str,
    ) -> Result<(u16, bytes::Bytes), String> {
        let call = ServiceCall::post(url, SCORE_TYPE, body.to_vec()).bearer(token);
        self.client
            .call(call, MAX_ANSWER_BYTES)
            .await
            .map_err(|why| format!("the platform did not answer: {why}"))
    }

    /// The line item of `sending`'s column under `container`: found by activity and column, or
    /// created.
    async fn lineitem_of(
        &self,
        container: &str,
        token: &str,
        sending: &Sending<'_>,
        origins: &[String],
    ) -> Result<String, String> {
        let mut query = url::Url::parse(container).map_err(|e| {
            format!("not sent: the line item container {container} is not a URL: {e}")
        })?;
        query
            .query_pairs_mut()
            .append_pair("resource_id", sending.activity)
            .append_pair("tag", sending.column);
        let call = ServiceCall::get(query.as_str(), LINEITEM_CONTAINER_TYPE).bearer(token);
        let (status, body) = self
            .client
            .call(call, MAX_CONTAINER_BYTES)
            .await
            .map_err(|why| format!("the platform did not list its line items: {why}"))?;
        if !(200..300).contains(&status) {
            return Err(format!(
                "the platform did not list its line items: {}",
                describe_answer(status, &body)
            ));
        }
        if let Some(found) = find_lineitem(&body, sending.activity, sending.column)? {
            return Ok(on_platform(&found, origins)?.to_owned());
        }
        let item = new_lineitem(sending.activity, sending.column, sending.max);
        let call = ServiceCall::post(container, LINEITEM_TYPE, item.to_string().into_bytes())
            .bearer(token);
        let (status, body) = self
            .client
            .call(call, MAX_ANSWER_BYTES)
            .await
            .map_err(|why| format!("the platform did not create the line item: {why}"))?;
        let created = created_lineitem(status, &body)?;
        tracing::info!(activity = %sending.activity, column = %sending.column, lineitem = %created, "grades: LTI 1.3 line item created");
        Ok(on_platform(&created, origins)?.to_owned())
    }

    /// A service token of `platform`: the cached one while it lives, else a new one.
    async fn token(&self, platform: &PlatformConfig) -> Result<String, String> {
        let key = (platform.issuer.clone(), platform.client_id.clone());
        let now = self.clock.now_unix();
        let mut tokens = self.tokens.lock().await;
        if let Some((token, expires)) = tokens.get(&key) {
            if now + TOKEN_MARGIN_SECS < *expires {
                return Ok(token.token.clone());
            }
        }
        let token_url = platform.token_url.as_deref().ok_or_else(|| {
            format!(
                "not sent: the platform {} has no token URL in the hub's configuration",
                platform.issuer
            )
        })?;
        let tool_key = self
            .launches
            .tool_key()
            .ok_or("not sent: the hub has no LTI 1.3 tool key")?;
        let claims = assertion_claims(&platform.client_id, token_url, &new_secret(), now);
        let assertion = tool_key
            .sign_jwt(&claims)
            .map_err(|e| format!("not sent: {e}"))?;
        let form = token_form(&assertion, &[SCOPE_LINEITEM, SCOPE_SCORE]);
        let call = ServiceCall::post(token_url, FORM_TYPE, form.into_bytes());
        let (status, body) = self
            .client
            .call(call, MAX_ANSWER_BYTES)
            .await
            .map_err(|why| format!("the platform's token URL {token_url} did not answer: {why}"))?;
        let token = parse_token_answer(status, &body)?;
        let expires = now.saturating_add(i64::try_from(token.expires_in).unwrap_or(i64::MAX));
        let value = token.token.clone();
        tokens.insert(key, (token, expires));
        Ok(value)
    }

    async fn forget_token(&self, platform: &PlatformConfig) {
        self.tokens
            .lock()
            .await
            .remove(&(platform.issuer.clone(), platform.client_id.clone()));
    }
}

/// The origins the platform's service URLs may be on: its issuer's and its token URL's.
fn platform_origins(platform: &PlatformConfig) -> Vec<String> {
    [
        Some(platform.issuer.as_str()),
        platform.token_url.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(normalise_origin)
    .collect()
}

/// `url` when it is on one of `origins`; otherwise why it is refused.
fn on_platform<'a>(url: &'a str, origins: &[String]) -> Result<&'a str, String> {
    match normalise_origin(url) {
        Some(origin) if origins.contains(&origin) => Ok(url),
        _ => Err(format!(
            "not sent: the line item URL {url} is not on the platform's origin ({}); the hub \
             sends its service token only there",
            origins.join(", ")
        )),
    }
}

/// The scores URL of `lineitem`: its path with `/scores` appended, its query kept (Moodle's
/// `…/lineitems/5/lineitem?type_id=1` → `…/lineitems/5/lineitem/scores?type_id=1`).
fn scores_url(lineitem: &str) -> Result<String, String> {
    let mut url = url::Url::parse(lineitem)
        .map_err(|e| format!("not sent: the line item {lineitem} is not a URL: {e}"))?;
    let path = format!("{}/scores", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url.into())
}

/// `t` as ISO 8601 UTC with milliseconds (`2026-01-01T12:00:00.123Z`), as AGS scores carry it.
fn iso_millis(t: std::time::SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_scores_url_keeps_the_query() {
        assert_eq!(
            scores_url("http://m/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1").unwrap(),
            "http://m/mod/lti/services.php/2/lineitems/5/lineitem/scores?type_id=1"
        );
        assert_eq!(
            scores_url("https://p/li/5/").unwrap(),
            "https://p/li/5/scores"
        );
    }

    #[test]
    fn line_items_must_be_on_the_platform() {
        let p = PlatformConfig::moodle("http://127.0.0.1:30080", "c");
        let origins = platform_origins(&p);
        assert!(
            on_platform(
                "http://127.0.0.1:30080/mod/lti/services.php/2/lineitems",
                &origins
            )
            .is_ok()
        );
        for bad in [
            "http://127.0.0.1:30081/x",
            "https://127.0.0.1:30080/x",
            "http://evil/x",
            "file:///etc",
        ] {
            let e = on_platform(bad, &origins).unwrap_err();
            assert!(e.contains("not on the platform's origin"), "{e}");
        }
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_798_761_599_123);
        assert_eq!(iso_millis(t), "2026-12-31T23:59:59.123Z");
    }
}
