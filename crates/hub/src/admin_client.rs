//! [`AdminClient`]: the admin subcommands of `lticontainer` (`users`, `user`, `stop`, `cull`,
//! `grades send`)
//! talk to the running hub through its admin REST API with the admin token, the same requests
//! Moodle's mod_lticontainer sends, so the command line and the API are one code path.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde_json::Value;

use crate::https_client::{ClientError, HttpsClient, describe, https_client};

/// How long one request may take, answer included (a stop waits up to 10 s in the hub).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most of an answer that is read.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The page size the user list is read in.
const PAGE: usize = 200;

/// Why an admin request failed, in words for the admin at the terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No connection to the hub (it is down, or listens elsewhere).
    #[error(
        "cannot reach the hub at {url}: {why}. Is it running (`systemctl status lticontainer`)? \
         Pass --url when it listens elsewhere"
    )]
    Unreachable {
        /// The hub's URL.
        url: String,
        /// The connection's error.
        why: String,
    },
    /// The hub refused the token (401/403).
    #[error(
        "the hub at {url} refused the admin token ({status}): the token is not the running \
         hub's [hub] api_token (restart the hub after changing it), or the hub has none"
    )]
    Refused {
        /// The hub's URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The user is not known to the hub.
    #[error("the hub knows no user named {0:?}")]
    NoSuchUser(String),
    /// Any other error answer.
    #[error("the hub answered {status} to {what}: {message}")]
    Hub {
        /// The request, e.g. `DELETE /hub/api/users/alice/server`.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The hub's message.
        message: String,
    },
    /// The answer could not be read.
    #[error("the hub's answer to {what} could not be read: {why}")]
    BadAnswer {
        /// The request.
        what: String,
        /// What is wrong with it.
        why: String,
    },
}

/// What `DELETE /hub/api/users/<name>/server` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAnswer {
    /// 204: the server is stopped (or none ran).
    Stopped,
    /// 202: the stop is still under way; the hub finishes it.
    Stopping,
}

/// One server the culler stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culled {
    /// The user's name, as the API lists it.
    pub name: String,
    /// Why: `act_limit`, `idle` or `max_age`.
    pub reason: String,
}

/// A client of one hub's admin API; cheap to clone.
#[derive(Clone)]
pub struct AdminClient {
    client: HttpsClient,
    url: String,
    api: String,
    token: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client of the hub at `url` (e.g. `http://127.0.0.1:8000`, the hub's prefix `/hub/`
    /// below it) with the admin token `token`; for HTTPS, the hub's certificate is checked
    /// against the system's CAs and `ca_file` (e.g. the hub's own `ssl_cert`).
    ///
    /// # Errors
    /// [`ClientError`] when the CA file cannot be used.
    pub fn new(url: &str, token: &str, ca_file: Option<&Path>) -> Result<Self, ClientError> {
        let url = url.trim_end_matches('/').to_owned();
        Ok(Self {
            client: https_client(ca_file.map(|p| ("the CA file", p)))?,
            api: format!("{url}/hub/api"),
            url,
            token: token.to_owned(),
        })
    }

    /// Every user's model (`GET /hub/api/users`, read page by page with JupyterHub's
    /// pagination envelope).
    ///
    /// # Errors
    /// [`AdminError`] on any failed request.
    pub async fn users(&self) -> Result<Vec<Value>, AdminError> {
        let mut users = Vec::new();
        let mut offset = 0;
        loop {
            let path = format!("/users?offset={offset}&limit={PAGE}");
            let (_, page) = self.json(Method::GET, &path).await?;
            let what = format!("GET /hub/api{path}");
            let bad = |why: &str| AdminError::BadAnswer {
                what: what.clone(),
                why: why.to_owned(),
            };
            let items = page
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("no \"items\" list"))?;
            users.extend(items.iter().cloned());
            match page
                .pointer("/_pagination/next/offset")
                .and_then(Value::as_u64)
            {
                Some(next) if usize::try_from(next).is_ok_and(|n| n > offset) => {
                    offset = usize::try_from(next).unwrap_or(usize::MAX);
                }
                Some(_) => return Err(bad("the next page does not move on")),
                None => return Ok(users),
            }
        }
    }

    /// One user's model, with its servers (`GET /hub/api/users/<name>`).
    ///
    /// # Errors
    /// [`AdminError::NoSuchUser`] for an unknown user; [`AdminError`] on any failed request.
    pub async fn user(&self, name: &str) -> Result<Value, AdminError> {
        self.for_user(name, self.json(Method::GET, &user_path(name, "")).await)
            .map(|(_, v)| v)
    }

    /// Stops `name`'s server (`DELETE /hub/api/users/<name>/server`; a start under way is
    /// cancelled, files are kept).
    ///
    /// # Errors
    /// [`AdminError::NoSuchUser`] for an unknown user; [`AdminError`] on any failed request.
    pub async fn stop(&self, name: &str) -> Result<StopAnswer, AdminError> {
        let (status, _) = self.for_user(
            name,
            self.json(Method::DELETE, &user_path(name, "/server")).await,
        )?;
        Ok(if status == StatusCode::ACCEPTED {
            StopAnswer::Stopping
        } else {
            StopAnswer::Stopped
        })
    }

    /// Checks every running server against its limits now, as the culler's round does, and
    /// returns those stopped (`POST /hub/api/cull`, lticontainer's own).
    ///
    /// # Errors
    /// [`AdminError`] on any failed request.
    pub async fn cull(&self) -> Result<Vec<Culled>, AdminError> {
        let (_, answer) = self.json(Method::POST, "/cull").await?;
        let bad = |why: &str| AdminError::BadAnswer {
            what: "POST /hub/api/cull".into(),
            why: why.to_owned(),
        };
        answer
            .get("culled")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"culled\" list"))?
            .iter()
            .map(|c| {
                let field = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
                Ok(Culled {
                    name: field("name").ok_or_else(|| bad("a culled server without a name"))?,
                    reason: field("reason").unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Sends the scores of `column` in the CSV `csv`, out of `max`, to the LMS as the grades of
    /// `activity` (`POST /hub/api/grades/<activity>`, lticontainer's own); with `dry_run`, only
    /// matches them to the activity's students. The hub's answer: `{"results": […]}` or
    /// `{"plan": …}`.
    ///
    /// # Errors
    /// [`AdminError`] on a failed request; a CSV the hub cannot use is
    /// [`AdminError::Hub`] with the hub's reason.
    pub async fn send_grades(
        &self,
        activity: &str,
        csv: &str,
        column: &str,
        max: &str,
        dry_run: bool,
    ) -> Result<Value, AdminError> {
        let body =
            serde_json::json!({"csv": csv, "column": column, "max": max, "dry_run": dry_run});
        let path = format!(
            "/grades/{}",
            lticontainer_core::form::percent_encode(activity)
        );
        let (_, answer) = self.request(Method::POST, &path, Some(&body)).await?;
        Ok(answer)
    }

    /// A 404 of a user's endpoint is an unknown user.
    fn for_user<T>(&self, name: &str, result: Result<T, AdminError>) -> Result<T, AdminError> {
        match result {
            Err(AdminError::Hub { status: 404, .. }) => Err(AdminError::NoSuchUser(name.into())),
            other => other,
        }
    }

    /// Sends one request below `/hub/api` without a body and reads its JSON answer.
    async fn json(&self, method: Method, path: &str) -> Result<(StatusCode, Value), AdminError> {
        self.request(method, path, None).await
    }

    /// Sends one request below `/hub/api`, with `body` as JSON when given, and reads its JSON
    /// answer (`null` for an empty body).
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), AdminError> {
        let what = format!("{method} /hub/api{path}");
        let unreachable = |why: String| AdminError::Unreachable {
            url: self.url.clone(),
            why,
        };
        let mut token = HeaderValue::from_str(&format!("token {}", self.token))
            .map_err(|_| unreachable("the token cannot be sent in a header".into()))?;
        token.set_sensitive(true);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api))
            .header(AUTHORIZATION, token)
            .header(
                ACCEPT,
                HeaderValue::from_static("application/jupyterhub-pagination+json"),
            );
        if body.is_some() {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let request = request
            .body(Full::new(
                body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
            ))
            .map_err(|e| unreachable(format!("{} is not a usable URL ({e})", self.url)))?;
        let exchange = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(describe(&e)))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| AdminError::BadAnswer {
                    what: what.clone(),
                    why: e.to_string(),
                })?
                .to_bytes();
            Ok::<_, AdminError>((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {REQUEST_TIMEOUT:?}")))??;
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| AdminError::BadAnswer {
                what: what.clone(),
                why: format!("not JSON ({e})"),
            })?
        };
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(AdminError::Refused {
                url: self.url.clone(),
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or(""))
                .to_owned();
            return Err(AdminError::Hub {
                what,
                status: status.as_u16(),
                message,
            });
        }
        Ok((status, value))
    }
}

/// `/users/<name><rest>`, the name percent-encoded as a path segment.
fn user_path(name: &str, rest: &str) -> String {
    format!(
        "/users/{}{rest}",
        lticontainer_core::form::percent_encode(name)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn user_paths_encode_the_name() {
        assert_eq!(user_path("alice", "/server"), "/users/alice/server");
        assert_eq!(user_path("a b/c", ""), "/users/a%20b%2Fc");
    }
}
