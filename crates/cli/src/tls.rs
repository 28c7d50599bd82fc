//! The hub's own HTTPS in `lticontainer serve`: the pair `[hub] ssl_cert` / `ssl_key` loaded at
//! start (a bad one stops the start, naming the file), and reloaded on each SIGHUP (a bad new one
//! keeps the old, with an error line: `lticontainer_http::tls`).

use lticontainer_http::tls::HubTls;
use lticontainer_hub::HubConfig;

/// The TLS pair of `hub`, or `None` for plain HTTP (neither file set; `validate` refused one
/// without the other). With a pair, a task reloads it on every SIGHUP.
pub(crate) fn start(hub: &HubConfig) -> Result<Option<HubTls>, String> {
    let (Some(cert), Some(key)) = (&hub.ssl_cert, &hub.ssl_key) else {
        return Ok(None);
    };
    let tls = HubTls::load(cert, key).map_err(|e| format!("cannot serve HTTPS: {e}"))?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("cannot listen for SIGHUP (TLS reload): {e}"))?;
    let reloading = tls.clone();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            // A failure is logged by `reload`, which keeps the pair in use.
            let _ = reloading.reload();
        }
    });
    Ok(Some(tls))
}
