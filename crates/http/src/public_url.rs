//! [`public_url`]: the URL a request was made to, as the browser (or Moodle) sees it — the
//! configured base URL, or the `Host` / trusted `X-Forwarded-*` headers.

use std::net::IpAddr;

use axum::http::{HeaderMap, Uri, header::HOST};
use lticontainer_core::auth::{LaunchError, PublicUrlConfig, RequestOrigin, public_launch_url};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The public URL of the request to `uri` with `headers` from `peer`: `config`'s base URL, or
/// the scheme and host the request's headers name (`X-Forwarded-*` only from a trusted proxy),
/// followed by `path_and_query` (the request's own when `None`).
///
/// # Errors
/// The request names no host, or a forwarded scheme that cannot be trusted (see
/// [`public_launch_url`]).
pub(crate) fn public_url(
    config: &PublicUrlConfig,
    peer: IpAddr,
    tls: bool,
    headers: &HeaderMap,
    uri: &Uri,
    path_and_query: Option<&str>,
) -> Result<String, LaunchError> {
    let authority = uri.authority().map(|a| a.as_str().to_owned());
    let origin = RequestOrigin {
        peer,
        tls,
        host: header(headers, HOST.as_str()).or(authority.as_deref()),
        forwarded_proto: header(headers, "x-forwarded-proto"),
        forwarded_host: header(headers, "x-forwarded-host"),
        path_and_query: path_and_query
            .or_else(|| uri.path_and_query().map(|p| p.as_str()))
            .unwrap_or("/"),
    };
    public_launch_url(config, &origin)
}

/// [`public_url`] of the request `parts` from `peer`, at its own path (over the hub's own TLS
/// when the accept loop marked it so).
///
/// # Errors
/// As [`public_url`].
pub(crate) fn request_public_url(
    config: &PublicUrlConfig,
    peer: IpAddr,
    parts: &axum::http::request::Parts,
) -> Result<String, LaunchError> {
    public_url(
        config,
        peer,
        crate::peer::served_tls(&parts.extensions),
        &parts.headers,
        &parts.uri,
        None,
    )
}
