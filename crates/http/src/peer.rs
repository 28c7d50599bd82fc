//! The address a request came from, as the hub's accept loop recorded it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request};

/// The peer address of a request, or `0.0.0.0` when the server did not record it (tests).
pub(crate) fn peer_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Marks a request that came over the hub's own TLS ([`crate::serve::serve_tls`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServedOverTls;

/// Whether the request came over the hub's own TLS (not a proxy's in front).
pub(crate) fn served_tls(extensions: &axum::http::Extensions) -> bool {
    extensions.get::<ServedOverTls>().is_some()
}
