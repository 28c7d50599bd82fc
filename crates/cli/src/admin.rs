//! The admin subcommands (`users`, `user`, `stop`, `cull`): requests to the running hub's admin
//! REST API ([`AdminClient`]) with the admin token of its configuration, the requests Moodle's
//! mod_lticontainer sends, so the command line never goes around the hub.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use clap::Args;
use lticontainer_hub::admin_client::{AdminClient, StopAnswer};
use serde_json::Value;

use crate::ConfigArg;
use crate::config::Config;

/// Where the hub is and how to reach its admin API; shared by the admin subcommands.
#[derive(Debug, Args)]
pub(crate) struct HubArgs {
    /// The hub's configuration: its `[hub] bind`, `ssl_cert` and `api_token` say where and how
    /// to reach it.
    #[command(flatten)]
    config: ConfigArg,
    /// The hub's URL, when it is not reached at its `bind` address (e.g. a certificate made
    /// out to the public name: `https://hub.example.org`).
    #[arg(long)]
    url: Option<String>,
    /// The admin token, instead of the configuration's `[hub] api_token`.
    #[arg(long, env = "LTICONTAINER_API_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Prints the hub's JSON answer as it is.
    #[arg(long)]
    json: bool,
}

impl HubArgs {
    /// Whether `--json` was given.
    pub(crate) fn json(&self) -> bool {
        self.json
    }
}

/// One admin action.
#[derive(Debug)]
pub(crate) enum Action {
    /// Lists every user and their server.
    Users,
    /// Shows one user and their server.
    User(String),
    /// Stops a user's server.
    Stop(String),
    /// Runs the culler's round now.
    Cull,
}

/// Runs `action` against the hub `args` point at; the text to print, or the error for the admin.
pub(crate) async fn run(args: &HubArgs, action: Action) -> Result<String, String> {
    let client = client(args)?;
    let json = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    match action {
        Action::Users => {
            let users = client.users().await.map_err(|e| e.to_string())?;
            Ok(if args.json {
                json(&Value::Array(users))
            } else {
                users_table(&users)
            })
        }
        Action::User(name) => {
            let user = client.user(&name).await.map_err(|e| e.to_string())?;
            Ok(if args.json {
                json(&user)
            } else {
                user_text(&user)
            })
        }
        Action::Stop(name) => match client.stop(&name).await.map_err(|e| e.to_string())? {
            StopAnswer::Stopped => Ok(format!("{name}: server stopped (files kept)\n")),
            StopAnswer::Stopping => Ok(format!(
                "{name}: the server is still stopping; the hub finishes it (`lticontainer user {name}` shows when)\n"
            )),
        },
        Action::Cull => {
            let culled = client.cull().await.map_err(|e| e.to_string())?;
            if culled.is_empty() {
                return Ok("no server over a limit\n".into());
            }
            Ok(culled.iter().fold(String::new(), |mut out, c| {
                let _ = writeln!(out, "{}: stopped ({})", c.name, c.reason);
                out
            }))
        }
    }
}

/// The client for `args`: the URL from `--url` or the configuration's `bind` (HTTPS, checked
/// against `ssl_cert` too, when the hub serves TLS itself), the token from `--token` or
/// `[hub] api_token`.
pub(crate) fn client(args: &HubArgs) -> Result<AdminClient, String> {
    let cfg = Config::load(&args.config.config)?;
    let token = match &args.token {
        Some(t) => t.clone(),
        None => plain_api_token(&args.config.config)?.ok_or_else(|| {
            format!(
                "{} has no [hub] api_token, so the hub's admin API is off: set one (`openssl rand -hex 32`), \
                 restart the hub, or pass --token",
                args.config.config.display()
            )
        })?,
    };
    let tls = cfg.hub.ssl_cert.is_some();
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| hub_url(cfg.hub.bind, tls));
    AdminClient::new(&url, &token, cfg.hub.ssl_cert.as_deref()).map_err(|e| e.to_string())
}

/// The hub's own URL from its `bind` address: an unspecified address is reached on loopback.
fn hub_url(bind: SocketAddr, tls: bool) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, bind.port()))
}

/// The plain `[hub] api_token` of the file (the parsed configuration keeps only its hash).
fn plain_api_token(path: &std::path::Path) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(table
        .get("hub")
        .and_then(|h| h.get("api_token"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned))
}

/// A user's server state in one word.
fn server_state(user: &Value) -> &'static str {
    match user.get("pending").and_then(Value::as_str) {
        Some("spawn") => "starting",
        Some("stop") => "stopping",
        _ if user.get("server").is_some_and(|s| !s.is_null()) => "running",
        _ => "stopped",
    }
}

fn field<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("-")
}

/// The users as a table: name, server state, started, last activity.
fn users_table(users: &[Value]) -> String {
    let width = users
        .iter()
        .map(|u| field(u, "/name").chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "{:width$}  {:8}  {:27}  LAST ACTIVITY\n",
        "NAME", "SERVER", "STARTED"
    );
    for u in users {
        let _ = writeln!(
            out,
            "{:width$}  {:8}  {:27}  {}",
            field(u, "/name"),
            server_state(u),
            field(u, "/servers//started"),
            field(u, "/last_activity"),
        );
    }
    let _ = writeln!(out, "{} users", users.len());
    out
}

/// One user: their server and its details.
fn user_text(user: &Value) -> String {
    let mut out = format!(
        "name:          {}\nadmin:         {}\nserver:        {}\n",
        field(user, "/name"),
        user.get("admin").and_then(Value::as_bool).unwrap_or(false),
        server_state(user),
    );
    for (label, pointer) in [
        ("url:", "/servers//url"),
        ("started:", "/servers//started"),
        ("container:", "/servers//state/object_name"),
        ("created:", "/created"),
        ("last activity:", "/last_activity"),
    ] {
        let _ = writeln!(out, "{label:14} {}", field(user, pointer));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hub_is_reached_on_loopback_when_bound_to_every_address() {
        assert_eq!(
            hub_url("0.0.0.0:8000".parse().unwrap(), false),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            hub_url("[::]:443".parse().unwrap(), true),
            "https://[::1]:443"
        );
        assert_eq!(
            hub_url("10.0.0.5:8000".parse().unwrap(), true),
            "https://10.0.0.5:8000"
        );
    }

    #[test]
    fn users_are_listed_with_their_server_state() {
        let users = [
            json!({"name": "alice", "server": "/user/alice/", "pending": null,
                   "last_activity": "2026-12-01T10:00:00.000000Z",
                   "servers": {"": {"started": "2026-12-01T09:00:00.000000Z", "url": "/user/alice/"}}}),
            json!({"name": "bob", "server": null, "pending": "spawn", "servers": {"": {}}}),
            json!({"name": "carol", "server": null, "pending": null, "servers": {}}),
        ];
        let table = users_table(&users);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME"), "{table}");
        assert!(
            lines[1].starts_with("alice")
                && lines[1].contains("running")
                && lines[1].contains("2026-12-01T09:00:00")
                && lines[1].ends_with("2026-12-01T10:00:00.000000Z"),
            "{table}"
        );
        assert!(lines[2].contains("starting"), "{table}");
        assert!(lines[3].contains("stopped"), "{table}");
        assert_eq!(lines[4], "3 users");
        let one = user_text(&users[0]);
        assert!(one.contains("server:        running"), "{one}");
        assert!(one.contains("url:           /user/alice/"), "{one}");
    }
}
