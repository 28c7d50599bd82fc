//! One LTI 1.1 Basic Outcomes `replaceResult` request: the message and its signature from
//! `lticontainer_core::grades::outcomes`, sent by the [`LmsClient`].

use lticontainer_core::clock::Clock;
use lticontainer_core::grades::outcomes::{
    CONTENT_TYPE, OutcomeAnswer, authorization, normalise, replace_result_body,
};

use crate::analytics::LmsClient;
use crate::credentials::new_secret;

/// The most of an answer that is read (Moodle's are under 1 KiB).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where one student's result goes, and the consumer's credentials.
pub(super) struct Request<'a> {
    /// `lis_outcome_service_url`.
    pub(super) service_url: &'a str,
    /// `lis_result_sourcedid`.
    pub(super) sourcedid: &'a str,
    /// The launch's consumer key.
    pub(super) consumer_key: &'a str,
    /// Its secret.
    pub(super) secret: &'a str,
}

/// Replaces the result of `request` with `score` out of `max`; whether the LMS took it, and
/// its answer (`codeMajor: description`) or why nothing reached it.
pub(super) async fn send(
    client: &LmsClient,
    request: &Request<'_>,
    score: f64,
    max: f64,
    clock: &dyn Clock,
) -> (bool, String) {
    let Some(fraction) = normalise(score, max) else {
        return (
            false,
            format!("not sent: {score} out of {max} is not a grade"),
        );
    };
    let message_id = new_secret();
    let body = replace_result_body(&message_id, request.sourcedid, fraction);
    let timestamp = clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let header = match authorization(
        request.service_url,
        request.consumer_key,
        request.secret,
        body.as_bytes(),
        timestamp,
        &new_secret(),
    ) {
        Ok(h) => h,
        Err(e) => return (false, format!("not sent: {e}")),
    };
    match client
        .post_signed(
            request.service_url,
            CONTENT_TYPE,
            &header,
            body.into_bytes(),
            MAX_ANSWER_BYTES,
        )
        .await
    {
        Ok((status, answer)) => {
            let answer = OutcomeAnswer::parse(status, &String::from_utf8_lossy(&answer));
            let code = if answer.code_major.is_empty() {
                "no imsx_codeMajor"
            } else {
                answer.code_major.as_str()
            };
            (answer.success, format!("{code}: {}", answer.description))
        }
        Err(why) => (false, format!("the LMS did not answer: {why}")),
    }
}
