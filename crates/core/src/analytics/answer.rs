//! What Moodle's answer to one notebook-log request means. The REST server answers errors with
//! HTTP 200 and an exception body, so the body decides, not the status
//! (`/work/shared/moodle/README.md`, "The notebook-log web service").

use serde::Deserialize;

/// How the delivery goes on after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Stored: the record leaves the outbox.
    Stored,
    /// The destination refuses every record (bad token, the function not in the token's
    /// service, web services off): retrying will not help; the admin must act.
    Refused {
        /// Moodle's `errorcode`.
        errorcode: String,
        /// Moodle's `message`.
        message: String,
    },
    /// This record was refused (its parameters): it is dropped, the others go on.
    Invalid {
        /// Moodle's `errorcode`.
        errorcode: String,
        /// Moodle's `message`.
        message: String,
    },
    /// Try again later (an error status, a body that is not Moodle's, a temporary exception).
    Retry(String),
}

#[derive(Debug, Deserialize)]
struct Exception {
    exception: Option<String>,
    errorcode: Option<String>,
    message: Option<String>,
}

/// Error codes after which no record to the same destination can be stored.
const REFUSED: [&str; 8] = [
    "invalidtoken",
    "accessexception",
    "servicenotavailable",
    "invalidrecord",
    "webservicesnotenabled",
    "enablewsdescription",
    "usernotfullysetup",
    "restoredaccountresetpassword",
];

/// Classifies the answer to a request sent with `moodlewsrestformat=json`.
pub fn classify(status: u16, body: &[u8]) -> Answer {
    if status != 200 {
        return Answer::Retry(format!("HTTP {status}"));
    }
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    // The function returns an empty structure: `[]`, `{}` or `null` in JSON.
    if matches!(trimmed, "[]" | "{}" | "null") {
        return Answer::Stored;
    }
    match serde_json::from_str::<Exception>(trimmed) {
        Ok(Exception {
            exception: Some(_),
            errorcode,
            message,
        })
        | Ok(Exception {
            exception: None,
            errorcode: errorcode @ Some(_),
            message,
        }) => {
            let errorcode = errorcode.unwrap_or_default();
            let message = message.unwrap_or_default();
            if REFUSED.contains(&errorcode.as_str()) {
                Answer::Refused { errorcode, message }
            } else if errorcode == "invalidparameter" {
                Answer::Invalid { errorcode, message }
            } else {
                Answer::Retry(format!("{errorcode}: {message}"))
            }
        }
        _ => Answer::Retry(format!(
            "unexpected answer: {}",
            trimmed.chars().take(120).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_structures_are_stored() {
        for b in ["[]", "{}", " null\n"] {
            assert_eq!(classify(200, b.as_bytes()), Answer::Stored);
        }
    }

    #[test]
    fn a_bad_token_is_refused_even_with_200() {
        let body = br#"{"exception":"moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}"#;
        assert!(
            matches!(classify(200, body), Answer::Refused { errorcode, .. } if errorcode == "invalidtoken")
        );
        let body = br#"{"exception":"dml_missing_record_exception","errorcode":"invalidrecord","message":"Can't find data record in database table external_functions."}"#;
        assert!(matches!(classify(200, body), Answer::Refused { .. }));
    }

    #[test]
    fn bad_parameters_drop_the_record_and_others_retry() {
        let body = br#"{"exception":"invalid_parameter_exception","errorcode":"invalidparameter","message":"Invalid parameter value detected"}"#;
        assert!(matches!(classify(200, body), Answer::Invalid { .. }));
        let body = br#"{"exception":"dml_write_exception","errorcode":"dmlwriteexception","message":"Error writing to database"}"#;
        assert!(matches!(classify(200, body), Answer::Retry(_)));
        assert!(matches!(classify(503, b"[]"), Answer::Retry(_)));
        assert!(matches!(
            classify(200, b"<html>maintenance</html>"),
            Answer::Retry(_)
        ));
        assert!(matches!(classify(200, b""), Answer::Retry(_)));
    }
}
