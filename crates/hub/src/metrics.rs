//! [`Metrics`]: what the hub counts for `/hub/metrics` — atomics only, so counting costs a
//! relaxed add — and [`render`], the Prometheus text exposition (format 0.0.4).
//!
//! Names follow JupyterHub's `metrics.py` where it has the metric
//! (`jupyterhub_server_spawn_duration_seconds` with its `status` label and JupyterHub 5's
//! buckets, `jupyterhub_running_servers`, `jupyterhub_total_users`); what JupyterHub lacks is
//! named `lticontainer_…`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::analytics::AnalyticsSnapshot;

/// JupyterHub's bucket bounds (seconds) of `jupyterhub_server_spawn_duration_seconds`.
const SPAWN_BUCKETS: [f64; 12] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0,
];

/// How a spawn ended: JupyterHub's `ServerSpawnStatus` values, and `cancelled` (a stop during
/// the spawn), which JupyterHub counts as a failure but an admin wants apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnOutcome {
    /// The server answers.
    Success,
    /// The spawn failed.
    Failure,
    /// A stop cancelled it.
    Cancelled,
}

impl SpawnOutcome {
    const ALL: [Self; 3] = [Self::Success, Self::Failure, Self::Cancelled];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How an LTI launch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchOutcome {
    /// Verified; the student went on to their server.
    Accepted,
    /// Refused: bad signature, stale or replayed nonce, unknown consumer, unusable request, or
    /// an account that belongs to another LMS user.
    Refused,
    /// The hub failed (the store).
    Error,
}

impl LaunchOutcome {
    const ALL: [Self; 3] = [Self::Accepted, Self::Refused, Self::Error];

    /// The `outcome` label and log field.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Error => "error",
        }
    }
}

/// Errors the admin should see rising, by kind (`lticontainer_errors_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A spawn failed.
    Spawn,
    /// The culler could not stop a server.
    Cull,
    /// A proxied request found the server gone.
    ProxyUnreachable,
    /// A proxied request failed on the way.
    ProxyFailed,
}

impl ErrorKind {
    const ALL: [Self; 4] = [
        Self::Spawn,
        Self::Cull,
        Self::ProxyUnreachable,
        Self::ProxyFailed,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Spawn => "spawn",
            Self::Cull => "cull",
            Self::ProxyUnreachable => "proxy_unreachable",
            Self::ProxyFailed => "proxy_failed",
        }
    }
}

/// Why the culler stopped a server (`lticontainer_culls_total{reason}`), as
/// [`CullReason::name`](crate::spawner::CullReason::name) says it.
const CULL_REASONS: [&str; 3] = ["act_limit", "idle", "max_age"];

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bound of [`SPAWN_BUCKETS`] (not cumulative).
    buckets: [AtomicU64; SPAWN_BUCKETS.len()],
    count: AtomicU64,
    /// The sum in microseconds.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = SPAWN_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The hub's live counters; one per hub, shared through the [`Spawner`](crate::spawner::Spawner).
#[derive(Debug, Default)]
pub struct Metrics {
    spawns: [Histogram; 3],
    launches: [AtomicU64; 3],
    errors: [AtomicU64; 4],
    culls: [AtomicU64; 3],
    proxy_requests: AtomicU64,
    websockets: AtomicU64,
}

fn index<T: PartialEq>(all: &[T], x: &T) -> usize {
    all.iter().position(|a| a == x).unwrap_or_default()
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Metrics {
    /// Counts a spawn that ended after `took`.
    pub fn spawn_ended(&self, outcome: SpawnOutcome, took: Duration) {
        self.spawns[index(&SpawnOutcome::ALL, &outcome)].observe(took);
        if outcome == SpawnOutcome::Failure {
            self.error(ErrorKind::Spawn);
        }
    }

    /// Counts an LTI launch.
    pub fn launch(&self, outcome: LaunchOutcome) {
        add(&self.launches[index(&LaunchOutcome::ALL, &outcome)]);
    }

    /// Counts an error.
    pub fn error(&self, kind: ErrorKind) {
        add(&self.errors[index(&ErrorKind::ALL, &kind)]);
    }

    /// Counts a server the culler stopped, by [`CullReason::name`](crate::spawner::CullReason::name).
    pub fn culled(&self, reason: &str) {
        if let Some(i) = CULL_REASONS.iter().position(|r| *r == reason) {
            add(&self.culls[i]);
        }
    }

    /// Counts a request the proxy forwarded to a user's server; `websocket` when it became one.
    pub fn proxied(&self, websocket: bool) {
        add(&self.proxy_requests);
        if websocket {
            add(&self.websockets);
        }
    }
}

/// What [`render`] shows besides the counters: values read when scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Servers running now.
    pub running_servers: u64,
    /// Spawns under way now.
    pub pending_spawns: u64,
    /// Users the hub knows; `None` when the store could not say.
    pub total_users: Option<u64>,
    /// The learning analytics counters, when analytics are on.
    pub analytics: Option<AnalyticsSnapshot>,
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The Prometheus text exposition of `m` and `g`.
pub fn render(m: &Metrics, g: &Gauges) -> String {
    let mut out = String::with_capacity(4096);
    let name = "jupyterhub_server_spawn_duration_seconds";
    head(
        &mut out,
        name,
        "histogram",
        "time taken for server spawning operation",
    );
    for (outcome, h) in SpawnOutcome::ALL.iter().zip(&m.spawns) {
        let status = outcome.label();
        let mut cumulative = 0;
        for (bound, b) in SPAWN_BUCKETS.iter().zip(&h.buckets) {
            cumulative += get(b);
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound:?}\",status=\"{status}\"}} {cumulative}"
            );
        }
        let count = get(&h.count);
        let sum = Duration::from_micros(get(&h.sum_micros)).as_secs_f64();
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\",status=\"{status}\"}} {count}\n\
             {name}_count{{status=\"{status}\"}} {count}\n\
             {name}_sum{{status=\"{status}\"}} {sum}"
        );
    }
    let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
        head(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {v}");
    };
    gauge(
        &mut out,
        "jupyterhub_running_servers",
        "the number of user servers currently running",
        g.running_servers,
    );
    if let Some(users) = g.total_users {
        gauge(
            &mut out,
            "jupyterhub_total_users",
            "total number of users",
            users,
        );
    }
    gauge(
        &mut out,
        "lticontainer_pending_spawns",
        "the number of user servers currently starting",
        g.pending_spawns,
    );
    let labelled = |out: &mut String, name: &str, help: &str, label: &str, rows: &[(&str, u64)]| {
        head(out, name, "counter", help);
        for (value, n) in rows {
            let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
        }
    };
    let rows = |labels: &[&'static str], counters: &[AtomicU64]| -> Vec<(&'static str, u64)> {
        labels
            .iter()
            .copied()
            .zip(counters.iter().map(get))
            .collect()
    };
    labelled(
        &mut out,
        "lticontainer_launches_total",
        "LTI launches by outcome",
        "outcome",
        &rows(&LaunchOutcome::ALL.map(LaunchOutcome::label), &m.launches),
    );
    labelled(
        &mut out,
        "lticontainer_culls_total",
        "servers the hub stopped at a limit, by reason",
        "reason",
        &rows(&CULL_REASONS, &m.culls),
    );
    labelled(
        &mut out,
        "lticontainer_errors_total",
        "errors by kind",
        "kind",
        &rows(&ErrorKind::ALL.map(ErrorKind::label), &m.errors),
    );
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        head(out, name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    };
    counter(
        &mut out,
        "lticontainer_proxy_requests_total",
        "requests forwarded to users' servers",
        get(&m.proxy_requests),
    );
    counter(
        &mut out,
        "lticontainer_proxy_websocket_connections_total",
        "WebSocket connections opened to users' servers",
        get(&m.websockets),
    );
    if let Some(a) = g.analytics {
        for (what, v, help) in [
            (
                "connections",
                a.connections,
                "kernel channel connections watched",
            ),
            ("captured", a.captured, "records captured"),
            ("unparsed", a.unparsed, "kernel messages that passed unread"),
            (
                "dropped",
                a.dropped,
                "records dropped because the outbox was behind",
            ),
            ("delivered", a.delivered, "records stored by the LMS"),
            (
                "invalid",
                a.invalid,
                "records the LMS refused for themselves",
            ),
            (
                "refused",
                a.refused,
                "records the LMS refused for their destination",
            ),
            ("retries", a.retries, "delivery attempts to be retried"),
        ] {
            counter(
                &mut out,
                &format!("lticontainer_analytics_{what}_total"),
                &format!("learning analytics: {help}"),
                v,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spawn_lands_in_its_bucket_and_the_higher_ones() {
        let m = Metrics::default();
        m.spawn_ended(SpawnOutcome::Success, Duration::from_millis(2000));
        m.spawn_ended(SpawnOutcome::Failure, Duration::from_secs(700));
        let text = render(&m, &Gauges::default());
        let line = |s: &str| text.lines().any(|l| l == s);
        assert!(line(
            r#"jupyterhub_server_spawn_duration_seconds_bucket{le="1.0",status="success"} 0"#
        ));
        assert!(line(
            r#"jupyterhub_server_spawn_duration_seconds_bucket{le="2.5",status="success"} 1"#
        ));
        assert!(line(
            r#"jupyterhub_server_spawn_duration_seconds_bucket{le="600.0",status="failure"} 0"#
        ));
        assert!(line(
            r#"jupyterhub_server_spawn_duration_seconds_bucket{le="+Inf",status="failure"} 1"#
        ));
        assert!(line(
            r#"jupyterhub_server_spawn_duration_seconds_sum{status="success"} 2"#
        ));
        assert!(line(r#"lticontainer_errors_total{kind="spawn"} 1"#));
        assert!(!text.contains("lticontainer_analytics_"));
    }
}
