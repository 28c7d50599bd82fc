//! [`HubConfig`]: how the hub serves, spawns and proxies. The `[hub]` table of the config file.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The hub's own settings. Every field has a default, so an empty `[hub]` table is valid.
///
/// # Example
/// ```
/// use lticontainer_hub::HubConfig;
/// let cfg: HubConfig = toml_like(r#"{"bind": "127.0.0.1:9000", "admin_users": ["admin"]}"#);
/// assert_eq!(cfg.bind.port(), 9000);
/// assert_eq!(cfg.max_concurrent_spawns, 16);
/// # fn toml_like(s: &str) -> HubConfig { serde_json::from_str(s).unwrap() }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HubConfig {
    /// The address the hub listens on. Put a TLS-terminating reverse proxy in front for
    /// production. Default: `127.0.0.1:8000`.
    pub bind: SocketAddr,
    /// Where the hub keeps its state: the session key (`session.key`), by default the SQLite
    /// database, and the Jupyter config cross-site servers mount (`jupyter-cross-site/`, see
    /// [`crate::cross_site`]). Created when missing. Default: `/var/lib/lticontainer`.
    pub state_dir: PathBuf,
    /// Hub users who may open every user's server (e.g. teachers who help students).
    /// Default: none.
    pub admin_users: Vec<String>,
    /// LMS origins allowed to show the hub in an iframe, e.g. `https://moodle.school.edu`.
    /// When set, every response carries `Content-Security-Policy: frame-ancestors 'self' <origins>`
    /// and the session cookie is `SameSite=None; Secure` (which needs https). Launches with
    /// `lms_iframe=1` add their LMS origin at run time. Default: none (`frame-ancestors 'self'`).
    pub lms_origins: Vec<String>,
    /// The first port handed to users' servers (host networking: one port per server).
    /// Default: 20000, below the kernel's ephemeral ports (32768–60999 by default), from which
    /// kernels and outgoing connections take theirs: a server port there can be taken before
    /// the server binds it. The hub says at start-up when the range overlaps them.
    pub port_min: u16,
    /// The last port handed to users' servers (inclusive). Default: 20999.
    pub port_max: u16,
    /// How many spawns may run at once; further launches wait (their progress page says the hub
    /// is busy and retries) instead of failing. Default: 16.
    pub max_concurrent_spawns: usize,
    /// Seconds a spawn may take to get the image, volumes and container ready (JupyterHub's
    /// `start_timeout`). Default: 120.
    pub start_timeout_secs: u64,
    /// Seconds the started server has to answer HTTP (JupyterHub's `http_timeout`). Default: 300 —
    /// generous, because when a whole class clicks at once on a small machine, each Jupyter server
    /// starts slowly (a class of 30 on 2 cores missed a 60 s limit); a slow start beats a failed one.
    pub http_timeout_secs: u64,
    /// Seconds a hub session lasts; a new launch from the LMS renews it. Default: 86400 (one day).
    pub session_max_age_secs: u64,
    /// The command the container runs; empty keeps the image's own (`jupyterhub-singleuser` or
    /// `start-notebook.sh`). Default: empty.
    pub cmd: Vec<String>,
    /// The address users' servers bind (`JUPYTERHUB_SERVICE_URL`): `127.0.0.1` with host
    /// networking, `0.0.0.0` in a bridge network. Default: `127.0.0.1`.
    pub server_bind_host: String,
    /// The hub API URL the containers call (`JUPYTERHUB_API_URL`). Default: derived from
    /// `bind` (`http://127.0.0.1:<port>/hub/api` when bound to a loopback or unspecified address).
    pub hub_api_url: Option<String>,
    /// The admin service token (the original's `api_token`; Moodle's "JupyterHub API Token"):
    /// with it, mod_lticontainer lists users and stops or deletes their servers through the
    /// admin API (`lticontainer-http`'s `hubapi::admin`). At least 8 characters. Default: none,
    /// which turns the admin API off.
    pub api_token: Option<crate::admin_token::AdminToken>,
    /// Whether the admin API also accepts its token as a `?token=` URL parameter. Off, only the
    /// `Authorization: token …` header counts (mod_lticontainer sends the token there), so the
    /// admin token never lands in proxy logs, browser history or `Referer` headers. Default:
    /// false.
    pub api_token_in_url: bool,
    /// Lines of the container's log written to the admin log when a server fails to start.
    /// Default: 30.
    pub failure_log_lines: usize,

    // Slow clients and floods: what one client may hold, and for how long (`lticontainer-http`'s
    // `serve` and its body limits apply these; see "Slow clients and floods" in ARCHITECTURE.md).
    /// Seconds a client has to send a request's head (request line and headers), counted from
    /// the moment the connection is accepted or the previous response was sent; a client that
    /// takes longer is disconnected. It is also how long an idle keep-alive connection stays open
    /// (hyper runs one timer for both), so a reverse proxy that keeps upstream connections alive
    /// should drop idle ones sooner. Default: 10 — a browser sends its headers in one packet, and
    /// idle keep-alive connections are cheap to reopen.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send the whole body of a request to the hub's own endpoints (the
    /// launch, the hub API, the admin API); a body still incomplete then is answered
    /// `408 Request Timeout` and the connection closed. Proxied requests to users' servers have
    /// no total limit (see [`HubConfig::proxy_body_idle_secs`]). Default: 10 — a launch is a few
    /// kilobytes, the API bodies less.
    pub body_timeout_secs: u64,
    /// Seconds a request body proxied to a user's server (an upload, a notebook save) may pause
    /// between two pieces before it is cut. There is no total limit, so a large save over a slow
    /// link goes through as long as it keeps moving. Default: 60.
    pub proxy_body_idle_secs: u64,
    /// The largest request body, in bytes, forwarded to a user's server: a larger
    /// `Content-Length` is answered `413 Payload Too Large` before any of the body is read, and
    /// a body without a length is cut there. The proxy streams, so this costs no memory; it only
    /// stops what Jupyter would refuse anyway. Default: 536870912 (512 MiB, Jupyter Server's own
    /// `max_body_size`).
    pub max_proxy_body_bytes: u64,
    /// Client connections open at once (keep-alive, WebSockets and progress streams included);
    /// one more is answered `503` and closed at once. A student's JupyterLab holds about 4–8
    /// (a few WebSockets and requests in flight); each connection costs a file descriptor, and
    /// a proxied one a second, so keep the process's open-file limit (systemd `LimitNOFILE`) above
    /// twice this. With it, the memory stalled clients can pin is bounded: at most about
    /// 320 KiB per connection (32 KiB of head, a 32 KiB read buffer, and the largest body the
    /// hub buffers, 256 KiB for a launch), so about 1.3 GiB at the default. Default: 4096.
    pub max_connections: usize,
    /// Client connections open at once from one address (an IPv6 client: its /64 network).
    /// A lecture hall behind one NAT shares one public address, so this is generous: the
    /// default fits some 250–500 students behind one address, while no single address takes
    /// more than half of [`HubConfig::max_connections`]. Peers in `[public_url] trusted_proxies`
    /// are exempt: behind a TLS proxy every client has the proxy's address (limit per client at
    /// the proxy instead, e.g. nginx `limit_conn`). Default: 2048.
    pub max_connections_per_ip: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            state_dir: PathBuf::from("/var/lib/lticontainer"),
            admin_users: Vec::new(),
            lms_origins: Vec::new(),
            port_min: 20000,
            port_max: 20999,
            max_concurrent_spawns: 16,
            start_timeout_secs: 120,
            http_timeout_secs: 300,
            session_max_age_secs: 86_400,
            cmd: Vec::new(),
            failure_log_lines: 30,
            server_bind_host: "127.0.0.1".to_owned(),
            hub_api_url: None,
            api_token: None,
            api_token_in_url: false,
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            proxy_body_idle_secs: 60,
            max_proxy_body_bytes: 512 * 1024 * 1024,
            max_connections: 4096,
            max_connections_per_ip: 2048,
        }
    }
}

impl HubConfig {
    /// Checks for values that cannot work.
    ///
    /// # Errors
    /// [`lticontainer_core::Error::InvalidInput`] naming the field.
    pub fn validate(&self) -> lticontainer_core::Result<()> {
        use lticontainer_core::Error;
        if self.port_min == 0 || self.port_min > self.port_max {
            return Err(Error::invalid(format!(
                "hub.port_min {} / hub.port_max {}: need 1 <= port_min <= port_max",
                self.port_min, self.port_max
            )));
        }
        if self.max_concurrent_spawns == 0 {
            return Err(Error::invalid(
                "hub.max_concurrent_spawns is 0, which would never start a server",
            ));
        }
        if self.start_timeout_secs == 0 || self.http_timeout_secs == 0 {
            return Err(Error::invalid(
                "hub.start_timeout_secs and hub.http_timeout_secs must be at least 1",
            ));
        }
        if self.session_max_age_secs < 60 {
            return Err(Error::invalid(
                "hub.session_max_age_secs must be at least 60 seconds",
            ));
        }
        if self.header_timeout_secs == 0
            || self.body_timeout_secs == 0
            || self.proxy_body_idle_secs == 0
        {
            return Err(Error::invalid(
                "hub.header_timeout_secs, hub.body_timeout_secs and hub.proxy_body_idle_secs \
                 must be at least 1",
            ));
        }
        if self.max_proxy_body_bytes == 0 {
            return Err(Error::invalid(
                "hub.max_proxy_body_bytes is 0, which would refuse every upload",
            ));
        }
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return Err(Error::invalid(
                "hub.max_connections and hub.max_connections_per_ip must be at least 1",
            ));
        }
        for o in &self.lms_origins {
            if crate::origin::normalise_origin(o).is_none() && !o.contains('*') {
                return Err(Error::invalid(format!(
                    "hub.lms_origins entry {o:?} is not an origin like https://moodle.school.edu"
                )));
            }
        }
        Ok(())
    }

    /// [`HubConfig::start_timeout_secs`] as a duration.
    pub fn start_timeout(&self) -> Duration {
        Duration::from_secs(self.start_timeout_secs)
    }

    /// [`HubConfig::http_timeout_secs`] as a duration.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_secs)
    }

    /// [`HubConfig::header_timeout_secs`] as a duration.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    /// [`HubConfig::body_timeout_secs`] as a duration.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    /// [`HubConfig::proxy_body_idle_secs`] as a duration.
    pub fn proxy_body_idle(&self) -> Duration {
        Duration::from_secs(self.proxy_body_idle_secs)
    }

    /// The hub API URL the containers call: [`HubConfig::hub_api_url`] or one derived from `bind`.
    pub fn api_url(&self) -> String {
        if let Some(u) = &self.hub_api_url {
            return u.trim_end_matches('/').to_owned();
        }
        let ip = if self.bind.ip().is_unspecified() {
            std::net::IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.bind.ip()
        };
        format!("http://{}/hub/api", SocketAddr::new(ip, self.bind.port()))
    }

    /// True when `user` may open every server.
    pub fn is_admin(&self, user: &str) -> bool {
        self.admin_users.iter().any(|a| a == user)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bind_loopback() {
        let c = HubConfig::default();
        c.validate().unwrap();
        assert!(c.bind.ip().is_loopback());
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases: Vec<(HubConfig, &str)> = vec![
            (
                HubConfig {
                    port_min: 5,
                    port_max: 4,
                    ..HubConfig::default()
                },
                "port_min",
            ),
            (
                HubConfig {
                    max_concurrent_spawns: 0,
                    ..HubConfig::default()
                },
                "max_concurrent_spawns",
            ),
            (
                HubConfig {
                    http_timeout_secs: 0,
                    ..HubConfig::default()
                },
                "http_timeout_secs",
            ),
            (
                HubConfig {
                    session_max_age_secs: 1,
                    ..HubConfig::default()
                },
                "session_max_age_secs",
            ),
            (
                HubConfig {
                    body_timeout_secs: 0,
                    ..HubConfig::default()
                },
                "body_timeout_secs",
            ),
            (
                HubConfig {
                    max_proxy_body_bytes: 0,
                    ..HubConfig::default()
                },
                "max_proxy_body_bytes",
            ),
            (
                HubConfig {
                    max_connections_per_ip: 0,
                    ..HubConfig::default()
                },
                "max_connections_per_ip",
            ),
            (
                HubConfig {
                    lms_origins: vec!["moodle".into()],
                    ..HubConfig::default()
                },
                "lms_origins",
            ),
        ];
        for (c, needle) in cases {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<HubConfig>(r#"{"bnid": "127.0.0.1:1"}"#).is_err());
    }
}
