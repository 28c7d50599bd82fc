//! Where single-user servers reach the hub with isolated networking: [`container_api`], the part
//! of the hub API servers call, served on a [`ServerNetworkListener`].
//!
//! Each server's container sits on a network of its own and reaches only the host's addresses,
//! among them its network's gateway; its `JUPYTERHUB_API_URL` is
//! `http://<gateway>:<hub.container_api_port>/hub/api`. The listener binds that port on every
//! address (the gateways come and go with the servers), but hands on only connections made from
//! a container on one of the hub's networks to that network's gateway; any other connection —
//! from the site's network, from loopback, or from a container to another network's gateway —
//! is closed before a byte is read. What it serves is only what a server calls (the version,
//! `user`, `oauth2/token`, `users/<name>/activity`): no launch, no proxy, no admin API, no
//! browser OAuth step. The browser-facing listener (`hub.bind`) stays where it is, on
//! 127.0.0.1 by default, out of the containers' reach.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::serve::Listener;
use lticontainer_hub::HubConfig;
use tokio::net::{TcpListener, TcpStream};

use crate::hubapi::server_router;
use crate::serve::AcceptTcp;
use crate::state::AppState;

/// The router of the containers' listener: the hub API routes a single-user server calls
/// ([`server_router`]).
pub fn container_api(state: &AppState) -> Router {
    server_router(Arc::clone(&state.hubapi))
}

/// A TCP listener that hands on only connections from a container on one of the hub's
/// networks to that network's gateway ([`HubConfig::is_from_server_network`]); it closes every
/// other connection at once.
#[derive(Debug)]
pub struct ServerNetworkListener {
    inner: TcpListener,
    hub: Arc<HubConfig>,
}

impl ServerNetworkListener {
    /// Listens on `0.0.0.0:<hub.container_api_port>`.
    ///
    /// # Errors
    /// The port cannot be bound.
    pub async fn bind(hub: Arc<HubConfig>) -> io::Result<Self> {
        let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, hub.container_api_port));
        let inner = TcpListener::bind(addr).await?;
        Ok(Self::from_listener(inner, hub))
    }

    /// Filters the connections `inner` accepts.
    pub fn from_listener(inner: TcpListener, hub: Arc<HubConfig>) -> Self {
        Self { inner, hub }
    }
}

impl ServerNetworkListener {
    /// Whether a connection the inner listener accepted may be handed on (logs why not).
    fn admits(&self, stream: &TcpStream, peer: SocketAddr) -> bool {
        match stream.local_addr() {
            Ok(local) if self.hub.is_from_server_network(local, peer) => true,
            Ok(local) => {
                tracing::debug!(%peer, %local, "container API: closed a connection that does not come from a server's network");
                false
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "container API: closed a connection without a local address");
                false
            }
        }
    }
}

/// What the hub serves it with: [`crate::serve::serve`], with the same connection limits and
/// deadlines as the browser-facing listener (a student's code can open connections to its
/// gateway).
impl AcceptTcp for ServerNetworkListener {
    async fn accept_tcp(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            let (stream, peer) = self.inner.accept().await?;
            if self.admits(&stream, peer) {
                return Ok((stream, peer));
            }
        }
    }
}

/// For embedding with `axum::serve` (no connection limits of its own).
impl Listener for ServerNetworkListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = Listener::accept(&mut self.inner).await;
            if self.admits(&stream, peer) {
                return (stream, peer);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
