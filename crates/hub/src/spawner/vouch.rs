//! [`Spawner::vouch_for_connection`]: the proxy's check of every new connection to a server,
//! before a byte of the browser's request (its cookies) goes over it.
//!
//! The engine's events end the routing when a container stops, but an event arrives some time
//! after the server's process has closed its port: milliseconds on Docker, and with Podman up to
//! the few hundred milliseconds its `container cleanup` process takes to log the exit. In that
//! window another process could bind the port, and the browser's next request would reach it.
//! So the proxy opens each connection to a host-network server through this check: the sockets
//! listening at the address must be those vouched for as the container's (by readiness, by a
//! launch's running-server check, or by an earlier connection's full check). Reading the socket
//! tables is cheap; a change there (or a re-adopted server, never checked) runs the full
//! ownership check, and a listener the container does not hold ends the server instead of
//! receiving the request. Pooled connections stay valid: a connection accepted by the
//! container's listener leads to the container.

use std::net::SocketAddr;
use std::sync::Arc;

use super::Spawner;
use crate::listener_owner::{ListenerCheck, needs_check};

impl Spawner {
    /// Vouches for a connection just opened to `addr`, before anything is sent over it: `Ok`
    /// when `addr` is a running server's and the listener there is its container's (always, for
    /// a bridge or user-network address: that address is the container's own).
    ///
    /// # Errors
    /// Why the connection must not be used, for the log. When the listener is not the
    /// container's, the server is ended (its container removed, the server marked stopped).
    pub async fn vouch_for_connection(&self, addr: SocketAddr) -> Result<(), String> {
        if !needs_check(addr) {
            return Ok(());
        }
        let Some((user, server)) = self
            .running_servers()
            .into_iter()
            .find(|(_, s)| s.addr == addr)
        else {
            return Err(format!("no running server is at {addr}"));
        };
        if let Some(vouched) = &server.listener {
            let listeners = Arc::clone(&self.listeners);
            let now = tokio::task::spawn_blocking(move || listeners.sockets(addr)).await;
            if matches!(&now, Ok(Ok(sockets)) if sockets == vouched) {
                return Ok(());
            }
        }
        match self.listener_check(addr, &server.container_id).await {
            ListenerCheck::Container(sockets) => {
                self.vouched(&user, &server.container_id, sockets);
                Ok(())
            }
            ListenerCheck::Unknown(why) => {
                tracing::error!(%user, container = %server.container_id, %addr, %why, "cannot tell who listens at a server's address; not sending the request there");
                Err(format!("cannot tell who listens at {addr}: {why}"))
            }
            check => {
                self.retire(&user, &server, &check).await;
                Err(format!(
                    "{addr} is not held by container {}: {check}",
                    server.container_id
                ))
            }
        }
    }
}
