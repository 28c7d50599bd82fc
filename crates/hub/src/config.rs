//! [`HubConfig`]: how the hub serves, spawns and proxies. The `[hub]` table of the config file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lticontainer_core::network::Ipv4Subnet;
use serde::Deserialize;

/// How the hub writes its log: the `log_format` setting of `[hub]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line, with the event's fields, for a log collector.
    Json,
}

/// How users' containers are networked: the `network` setting of `[hub]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Networking {
    /// One private network per user (the default): each container has its own network
    /// namespace and loopback, on a bridge network of its own (a `/28` of
    /// [`HubConfig::network_pool`]); the host does not forward its traffic anywhere, so it
    /// reaches only the host's addresses, where the hub serves the part of its API that
    /// single-user servers call, on [`HubConfig::container_api_port`]. See `docs/security.md`.
    #[default]
    Isolated,
    /// The host's network namespace, shared by every container and the host: each student's code
    /// can reach every other student's Jupyter server and kernel ports, and every service the
    /// host binds on 127.0.0.1. For trusted single-class machines only; the hub warns at start.
    Host,
}

impl Networking {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Isolated => "isolated",
            Self::Host => "host",
        }
    }
}

/// The size of each server's network in isolated mode: a `/28` (gateway, container, room to spare).
pub const SERVER_SUBNET_PREFIX: u8 = 28;

/// What the hub logs at start-up with `network = "host"`: exactly what that exposes.
pub const HOST_NETWORK_WARNING: &str = "hub.network = \"host\": every user's container shares \
this host's network namespace. Code a student runs can connect to every other student's Jupyter \
server and kernel ports on 127.0.0.1 (and so read and run code in their kernels), to every \
service this host listens on, including those bound to 127.0.0.1 only (this hub, databases, \
engine or admin APIs), and to everything this host can reach. Use it only where all users trust \
each other; the default, network = \"isolated\", gives each user a private network.";

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
    /// Hub users who may start and stop every user's server, and open it when
    /// [`HubConfig::admin_access`] is on. Default: none.
    pub admin_users: Vec<String>,
    /// Whether [`HubConfig::admin_users`] may open other users' servers (their JupyterLab,
    /// through the proxy and the single-user OAuth step). Default: `false`, as JupyterHub's
    /// `admin_access` since 2.0: a student's server is served on the hub's own origin from a
    /// process the student controls, so an admin opening it would hand the student's script the
    /// admin's session — every other server and the admin's form tokens (docs/security.md).
    pub admin_access: bool,
    /// LMS origins allowed to show the hub in an iframe, e.g. `https://moodle.school.edu`.
    /// When set, every response carries `Content-Security-Policy: frame-ancestors 'self' <origins>`
    /// and the session cookie is `SameSite=None; Secure` (which needs https). Launches with
    /// `lms_iframe=1` add their LMS origin at run time. Default: none (`frame-ancestors 'self'`).
    pub lms_origins: Vec<String>,
    /// The first port handed to users' servers: one port per server. With isolated networking
    /// the server listens on it inside its own network namespace, and the port's place in the
    /// range picks the server's subnet of [`HubConfig::network_pool`]. With host networking the
    /// range lies best below the kernel's ephemeral ports (32768–60999 by default), from which
    /// kernels and outgoing connections take theirs: a server port there can be taken before the
    /// server binds it; the hub says at start-up when the range overlaps them. Default: 20000.
    pub port_min: u16,
    /// The last port handed to users' servers (inclusive). Default: 20999.
    pub port_max: u16,
    /// How users' containers are networked: `"isolated"` (default; one private network per
    /// user) or `"host"` (the host's network namespace, shared by all; see [`Networking::Host`]).
    pub network: Networking,
    /// With isolated networking, the IPv4 range the users' networks come from: the n-th port of
    /// `port_min..=port_max` uses the n-th `/28` of this range. It must hold one `/28` per port
    /// and overlap no network of the host or its site. Default: `10.213.0.0/16`.
    pub network_pool: Ipv4Subnet,
    /// With isolated networking, the port the hub serves the single-user servers' hub API on
    /// (`JUPYTERHUB_API_URL` is `http://<gateway of the server's network>:<port>/hub/api`). The
    /// hub listens on all addresses but answers only connections that come from a container on
    /// one of its networks to that network's gateway, and only the API paths a server calls.
    /// Default: 8081 (JupyterHub's hub API port).
    pub container_api_port: u16,
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
    /// Stop the user's server when they log out (`/hub/logout`, JupyterLab's "Log Out"), as
    /// JupyterHub's `shutdown_on_logout`; their files are kept. Default: false (the server
    /// keeps running until its limits or a stop).
    pub shutdown_on_logout: bool,
    /// Stop a server whose last activity (proxied traffic, or the server's own activity
    /// reports: kernels busy, terminals) is this many seconds old, as JupyterHub's idle culler
    /// (`--timeout`); its files are kept. Default: 0 (off).
    pub cull_idle_secs: u64,
    /// Stop a server this many seconds after it started, however busy (the culler's
    /// `--max-age`). Default: 0 (off). The activity limit (`spec.act_limit`, `lms_actlimit`)
    /// applies besides.
    pub cull_max_age_secs: u64,
    /// Seconds between two checks of the running servers against the activity limit, idle
    /// time and maximum age. Default: 30.
    pub cull_every_secs: u64,
    /// The share of a server's activity limit (percent) after which the student's pages warn
    /// that the server will stop soon. Default: 90 (as the original's health check).
    pub act_limit_warn_percent: u8,
    /// The share of a server's memory limit (percent) from which the student is told, on the
    /// home page and in the bar inside JupyterLab, that memory runs short; 0 = never.
    /// Default: 90.
    pub memory_warn_percent: u8,
    /// The command the container runs; empty keeps the image's own (`jupyterhub-singleuser` or
    /// `start-notebook.sh`). Default: empty.
    pub cmd: Vec<String>,
    /// The address users' servers bind (`JUPYTERHUB_SERVICE_URL`). Default: `0.0.0.0` with
    /// isolated networking (the server's own namespace; the hub reaches it at the container's
    /// address), `127.0.0.1` with host networking.
    pub server_bind_host: Option<String>,
    /// With host networking, the hub API URL the containers call (`JUPYTERHUB_API_URL`).
    /// Default: derived from `bind` (`http://127.0.0.1:<port>/hub/api` when bound to a loopback
    /// or unspecified address). With isolated networking each server gets its network's gateway
    /// and [`HubConfig::container_api_port`] instead, and setting this is an error.
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
    /// Whether `GET /hub/metrics` answers without the admin token (for a Prometheus that scrapes
    /// over a network only it reaches). Off, the scraper sends `Authorization: token
    /// <api_token>`, as JupyterHub's `authenticate_prometheus`. Default: false.
    pub metrics_public: bool,
    /// How the log is written: `"text"` or `"json"` lines. Default: text.
    pub log_format: LogFormat,
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
    /// Learning analytics: read the cells students run off their kernel WebSockets and send
    /// them to mod_lticontainer's web service (`lms_sessioninfo`, `lms_serverurl`,
    /// `lms_serverpath`, `lms_rpctoken` of each student's latest launch; a launch without them
    /// is not captured). Default: `true`.
    pub analytics: bool,
    /// Origins notebook logs may be sent to besides the LMS that signed each launch, e.g.
    /// `["http://moodle.internal:8080"]` when the hub reaches Moodle's web service under another
    /// name than students do. A launch's `lms_serverurl` (an activity setting a teacher can edit)
    /// must otherwise have the origin of the LMS's own `launch_presentation_return_url` or
    /// `lis_outcome_service_url`, which Moodle sets; other launches are not captured, with a
    /// warning naming the origin. Default: none.
    pub analytics_origins: Vec<String>,
    /// A PEM file of CA certificates the delivery to the LMS trusts besides the system's (for
    /// an LMS whose certificate a private CA signed). The LMS's certificate is always verified.
    /// Default: none.
    pub analytics_ca_file: Option<PathBuf>,
    /// The hub's TLS certificate chain, a PEM file (the original's `ssl_cert`): with
    /// [`HubConfig::ssl_key`], the hub serves HTTPS itself on `bind` and reloads both files on
    /// SIGHUP. Default: none (plain HTTP, e.g. behind a reverse proxy that terminates TLS).
    pub ssl_cert: Option<PathBuf>,
    /// The private key of [`HubConfig::ssl_cert`], a PEM file (PKCS#8, PKCS#1 or SEC1), the
    /// original's `ssl_key`. Default: none.
    pub ssl_key: Option<PathBuf>,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            state_dir: PathBuf::from("/var/lib/lticontainer"),
            admin_users: Vec::new(),
            admin_access: false,
            lms_origins: Vec::new(),
            port_min: 20000,
            port_max: 20999,
            network: Networking::Isolated,
            network_pool: Ipv4Subnet::containing(Ipv4Addr::new(10, 213, 0, 0), 16),
            container_api_port: 8081,
            max_concurrent_spawns: 16,
            start_timeout_secs: 120,
            http_timeout_secs: 300,
            session_max_age_secs: 86_400,
            shutdown_on_logout: false,
            cull_idle_secs: 0,
            cull_max_age_secs: 0,
            cull_every_secs: 30,
            act_limit_warn_percent: 90,
            memory_warn_percent: 90,
            cmd: Vec::new(),
            failure_log_lines: 30,
            server_bind_host: None,
            hub_api_url: None,
            api_token: None,
            api_token_in_url: false,
            metrics_public: false,
            log_format: LogFormat::Text,
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            proxy_body_idle_secs: 60,
            max_proxy_body_bytes: 512 * 1024 * 1024,
            max_connections: 4096,
            max_connections_per_ip: 2048,
            analytics: true,
            analytics_origins: Vec::new(),
            analytics_ca_file: None,
            ssl_cert: None,
            ssl_key: None,
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
        if self.cull_every_secs == 0 || !(1..=100).contains(&self.act_limit_warn_percent) {
            return Err(Error::invalid(
                "hub.cull_every_secs must be at least 1 and hub.act_limit_warn_percent 1 to 100",
            ));
        }
        if self.memory_warn_percent > 100 {
            return Err(Error::invalid(
                "hub.memory_warn_percent must be 0 (off) to 100",
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
        if self.ssl_cert.is_some() != self.ssl_key.is_some() {
            return Err(Error::invalid(
                "hub.ssl_cert and hub.ssl_key go together: set both (HTTPS) or neither (HTTP)",
            ));
        }
        if self.network == Networking::Isolated {
            self.validate_isolated()?;
        }
        for o in &self.lms_origins {
            if crate::origin::normalise_origin(o).is_none() && !o.contains('*') {
                return Err(Error::invalid(format!(
                    "hub.lms_origins entry {o:?} is not an origin like https://moodle.school.edu"
                )));
            }
        }
        for o in &self.analytics_origins {
            if o.contains('*') || crate::origin::normalise_origin(o).is_none() {
                return Err(Error::invalid(format!(
                    "hub.analytics_origins entry {o:?} is not an origin like https://moodle.school.edu (no wildcards)"
                )));
            }
        }
        Ok(())
    }

    fn validate_isolated(&self) -> lticontainer_core::Result<()> {
        use lticontainer_core::Error;
        let ports = u64::from(self.port_max - self.port_min) + 1;
        let room = self.network_pool.subnet_count(SERVER_SUBNET_PREFIX);
        if room < ports {
            return Err(Error::invalid(format!(
                "hub.network_pool {} holds {room} /{SERVER_SUBNET_PREFIX} networks, fewer than \
                 the {ports} ports of hub.port_min..=hub.port_max (each server gets one); widen \
                 the pool or narrow the port range",
                self.network_pool
            )));
        }
        if self.hub_api_url.is_some() {
            return Err(Error::invalid(
                "hub.hub_api_url applies to network = \"host\" only: with isolated networking \
                 each server calls the hub at its network's gateway on hub.container_api_port",
            ));
        }
        if let Some(host) = &self.server_bind_host
            && host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        {
            return Err(Error::invalid(format!(
                "hub.server_bind_host {host:?} is a loopback address, which the hub cannot reach \
                 in an isolated container; leave it unset (0.0.0.0) or use network = \"host\""
            )));
        }
        if self.container_api_port == 0 || self.container_api_port == self.bind.port() {
            return Err(Error::invalid(format!(
                "hub.container_api_port {} must be a port of its own (not 0, not hub.bind's)",
                self.container_api_port
            )));
        }
        Ok(())
    }

    /// The address users' servers bind: [`HubConfig::server_bind_host`], else `0.0.0.0` with
    /// isolated networking and `127.0.0.1` with host networking.
    pub fn server_bind_host(&self) -> String {
        self.server_bind_host
            .clone()
            .unwrap_or_else(|| match self.network {
                Networking::Isolated => "0.0.0.0".to_owned(),
                Networking::Host => "127.0.0.1".to_owned(),
            })
    }

    /// True when a connection to `local` from `peer` comes from a container on one of the
    /// hub's networks to that network's gateway: `local` lies in
    /// [`HubConfig::network_pool`], and `peer` is another address of the same server network.
    /// Always false with host networking.
    pub fn is_from_server_network(&self, local: SocketAddr, peer: SocketAddr) -> bool {
        let (IpAddr::V4(local), IpAddr::V4(peer)) = (local.ip(), peer.ip()) else {
            return false;
        };
        self.network == Networking::Isolated
            && self.network_pool.contains(local)
            && local != peer
            && Ipv4Subnet::containing(local, SERVER_SUBNET_PREFIX).contains(peer)
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

    /// The hub API URL the containers call with host networking: [`HubConfig::hub_api_url`] or
    /// one derived from `bind`. (With isolated networking each server's URL names its gateway.)
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

    /// True when `user` is an admin: may start and stop every server.
    pub fn is_admin(&self, user: &str) -> bool {
        self.admin_users.iter().any(|a| a == user)
    }

    /// True when `user` may open other users' servers: an admin, with
    /// [`HubConfig::admin_access`] on.
    pub fn may_open_others_servers(&self, user: &str) -> bool {
        self.admin_access && self.is_admin(user)
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
                    ssl_cert: Some(PathBuf::from("/etc/lticontainer/hub.crt")),
                    ..HubConfig::default()
                },
                "ssl_key",
            ),
            (
                HubConfig {
                    ssl_key: Some(PathBuf::from("/etc/lticontainer/hub.key")),
                    ..HubConfig::default()
                },
                "ssl_cert",
            ),
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
            (
                HubConfig {
                    analytics_origins: vec!["https://*.school.edu".into()],
                    ..HubConfig::default()
                },
                "analytics_origins",
            ),
            (
                HubConfig {
                    analytics_origins: vec!["moodle.internal".into()],
                    ..HubConfig::default()
                },
                "analytics_origins",
            ),
        ];
        for (c, needle) in cases {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn isolated_networking_is_the_default_and_its_settings_are_checked() {
        let c = HubConfig::default();
        assert_eq!(c.network, Networking::Isolated);
        assert_eq!(c.server_bind_host(), "0.0.0.0");
        let host: HubConfig = serde_json::from_str(r#"{"network": "host"}"#).unwrap();
        assert_eq!(host.server_bind_host(), "127.0.0.1");
        host.validate().unwrap();
        let cases: Vec<(&str, &str)> = vec![
            (
                r#"{"network_pool": "10.213.0.0/24", "port_min": 40000, "port_max": 40016}"#,
                "network_pool",
            ),
            (
                r#"{"hub_api_url": "http://172.17.0.1:8000/hub/api"}"#,
                "hub_api_url",
            ),
            (r#"{"server_bind_host": "127.0.0.1"}"#, "server_bind_host"),
            (r#"{"container_api_port": 8000}"#, "container_api_port"),
        ];
        for (json, needle) in cases {
            let c: HubConfig = serde_json::from_str(json).unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
        let fits: HubConfig =
            serde_json::from_str(r#"{"network_pool": "10.213.0.0/24", "port_max": 20015}"#)
                .unwrap();
        fits.validate().unwrap();
        assert!(serde_json::from_str::<HubConfig>(r#"{"network": "bridge"}"#).is_err());
    }

    #[test]
    fn only_containers_on_a_server_network_reach_the_container_api() {
        let c = HubConfig::default();
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(c.is_from_server_network(at("10.213.0.17:8081"), at("10.213.0.18:51000")));
        // Another server's network, the LAN, loopback, the gateway itself: no.
        assert!(!c.is_from_server_network(at("10.213.0.1:8081"), at("10.213.0.18:51000")));
        assert!(!c.is_from_server_network(at("192.0.2.2:8081"), at("192.0.2.9:51000")));
        assert!(!c.is_from_server_network(at("127.0.0.1:8081"), at("127.0.0.1:51000")));
        assert!(!c.is_from_server_network(at("10.213.0.17:8081"), at("10.213.0.17:51000")));
        assert!(!c.is_from_server_network(at("[::1]:8081"), at("[::1]:51000")));
        let host = HubConfig {
            network: Networking::Host,
            ..HubConfig::default()
        };
        assert!(!host.is_from_server_network(at("10.213.0.17:8081"), at("10.213.0.18:51000")));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<HubConfig>(r#"{"bnid": "127.0.0.1:1"}"#).is_err());
    }
}
