//! LTI 1.1 Basic Outcomes (IMS LTI 1.1 §6, the POX `replaceResult` service), as Moodle's
//! `mod/lti/service.php` takes it: the message ([`replace_result_body`]), its signature (OAuth
//! 1.0a HMAC-SHA1 over the `oauth_body_hash` of the body, [`authorization`]) and the answer
//! ([`OutcomeAnswer::parse`]: Moodle answers HTTP 200 also when it refused, with
//! `imsx_codeMajor` `failure` inside).

use crate::auth::{LaunchError, LaunchSigner};
use crate::form::authorization_header;
use crate::markup::escape;

/// The content type of a POX message.
pub const CONTENT_TYPE: &str = "application/xml";

/// `score` out of `max` as Basic Outcomes carries it: a fraction from 0 to 1, clamped.
/// `None` when `max` is not positive or either is not a finite number.
pub fn normalise(score: f64, max: f64) -> Option<f64> {
    if !(score.is_finite() && max.is_finite() && max > 0.0) {
        return None;
    }
    Some((score / max).clamp(0.0, 1.0))
}

/// The `replaceResultRequest` that sets `sourcedid`'s result to `fraction` (0 to 1), with the
/// message id `message_id`. Replacing is idempotent: sending it again leaves the same grade.
pub fn replace_result_body(message_id: &str, sourcedid: &str, fraction: f64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <imsx_POXEnvelopeRequest xmlns=\"http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0\">\
         <imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>\
         <imsx_messageIdentifier>{id}</imsx_messageIdentifier></imsx_POXRequestHeaderInfo></imsx_POXHeader>\
         <imsx_POXBody><replaceResultRequest><resultRecord><sourcedGUID>\
         <sourcedId>{sourcedid}</sourcedId></sourcedGUID><result><resultScore>\
         <language>en</language><textString>{score}</textString></resultScore></result>\
         </resultRecord></replaceResultRequest></imsx_POXBody></imsx_POXEnvelopeRequest>",
        id = escape(message_id),
        sourcedid = escape(sourcedid),
        score = format_fraction(fraction),
    )
}

/// The `Authorization` header value that signs `body` for a POST to `url` with the consumer
/// `key` and `secret` (the launch's consumer), at `timestamp` with `nonce`.
///
/// # Errors
/// [`LaunchError::Malformed`] when `url` is not an absolute `http(s)` URL.
pub fn authorization(
    url: &str,
    key: &str,
    secret: &str,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
) -> Result<String, LaunchError> {
    let params = LaunchSigner::new(key, secret).sign_body(url, body, timestamp, nonce)?;
    Ok(authorization_header(&params))
}

/// What the LMS answered a Basic Outcomes request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeAnswer {
    /// `imsx_codeMajor` is `success`.
    pub success: bool,
    /// `imsx_codeMajor` as sent (`success`, `failure`, `unsupported`, …), empty when missing.
    pub code_major: String,
    /// `imsx_description`, empty when missing.
    pub description: String,
}

impl OutcomeAnswer {
    /// Reads the answer of status `status` with `body`. Success needs HTTP 2xx *and*
    /// `imsx_codeMajor` `success`; anything else is a failure whose description says what came.
    pub fn parse(status: u16, body: &str) -> Self {
        let code_major = element_text(body, "imsx_codeMajor").unwrap_or_default();
        let description = element_text(body, "imsx_description").unwrap_or_default();
        let success = (200..300).contains(&status) && code_major == "success";
        let description = if description.is_empty() && !success {
            let head: String = body.chars().take(200).collect();
            format!("HTTP {status}: {}", head.trim())
        } else {
            description
        };
        Self {
            success,
            code_major,
            description,
        }
    }
}

/// The text of the first element named `name` (any namespace prefix), unescaped and trimmed.
fn element_text(xml: &str, name: &str) -> Option<String> {
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>')?;
        let tag = &rest[..end];
        let local = tag.split_whitespace().next().unwrap_or("");
        let local = local.rsplit_once(':').map_or(local, |(_, l)| l);
        if local == name && !tag.ends_with('/') {
            let body = &rest[end + 1..];
            let close = body.find("</")?;
            return Some(xml_unescape(body[..close].trim()));
        }
    }
    None
}

/// A fraction as its shortest decimal text (`0.7`, `1`, `0`; Rust never writes an exponent
/// here), as Moodle's `is_numeric` takes it.
fn format_fraction(f: f64) -> String {
    format!("{f}")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::{base_string_uri, signature_base_string, verify_hmac_sha1};
    use crate::form::parse_authorization;

    #[test]
    fn scores_are_fractions_of_the_maximum() {
        assert_eq!(normalise(7.0, 10.0), Some(0.7));
        assert_eq!(normalise(12.0, 10.0), Some(1.0));
        assert_eq!(normalise(-1.0, 10.0), Some(0.0));
        assert_eq!(normalise(1.0, 0.0), None);
        assert_eq!(normalise(f64::NAN, 10.0), None);
        assert_eq!(format_fraction(0.7), "0.7");
        assert_eq!(format_fraction(1.0), "1");
        assert_eq!(format_fraction(1e-12), "0.000000000001");
    }

    #[test]
    fn the_message_escapes_the_sourcedid() {
        let body = replace_result_body("m1", "{\"a\":\"<&>\"}", 0.5);
        assert!(
            body.contains("<sourcedId>{&quot;a&quot;:&quot;&lt;&amp;&gt;&quot;}</sourcedId>"),
            "{body}"
        );
        assert!(body.contains("<textString>0.5</textString>"));
        assert_eq!(
            element_text(&body, "sourcedId").as_deref(),
            Some("{\"a\":\"<&>\"}")
        );
    }

    #[test]
    fn the_signature_covers_the_body_hash() {
        let url = "http://127.0.0.1:30080/mod/lti/service.php?x=1";
        let body = b"<xml/>";
        let header = authorization(url, "moodle", "secret", body, 1_700_000_000, "n1").unwrap();
        let params = parse_authorization(&header).unwrap().unwrap();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
        // SHA-1 of "<xml/>" in base64, computed independently with `sha1sum | xxd -r -p | base64`.
        assert_eq!(get("oauth_body_hash"), "RWRMh1ZFeMnljarhalVgpJhQjGI=");
        let mut signed: Vec<(&str, &str)> = params
            .iter()
            .filter(|(n, _)| n != "realm" && n != "oauth_signature")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        signed.push(("x", "1"));
        let base = base_string_uri(url).unwrap();
        let base_string = signature_base_string("POST", &base.uri, &signed);
        assert!(verify_hmac_sha1(
            &base_string,
            "secret",
            &get("oauth_signature")
        ));
        assert!(!verify_hmac_sha1(
            &base_string,
            "other",
            &get("oauth_signature")
        ));
    }

    #[test]
    fn answers_are_read_from_the_body() {
        let ok = "<imsx_POXEnvelopeResponse><imsx_POXHeader><imsx_POXResponseHeaderInfo>\
                  <imsx_statusInfo><imsx_codeMajor>success</imsx_codeMajor>\
                  <imsx_description>Grade replace response</imsx_description>";
        let a = OutcomeAnswer::parse(200, ok);
        assert!(a.success);
        assert_eq!(a.description, "Grade replace response");
        let refused = "<x:imsx_codeMajor>failure</x:imsx_codeMajor><x:imsx_description>Message signature not valid</x:imsx_description>";
        let a = OutcomeAnswer::parse(200, refused);
        assert!(!a.success, "Moodle refuses with HTTP 200");
        assert_eq!(a.description, "Message signature not valid");
        let a = OutcomeAnswer::parse(500, "oops");
        assert!(!a.success);
        assert_eq!(a.description, "HTTP 500: oops");
        assert!(!OutcomeAnswer::parse(404, ok).success);
    }
}
