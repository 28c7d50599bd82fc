//! [`Metrics`]: what the hub counts for `/hub/metrics` — atomics only, so counting costs a
//! relaxed add — and [`render`], the Prometheus text exposition (format 0.0.4).
//!
//! Names follow JupyterHub's `metrics.py` where it has the metric
//! (`jupyterhub_server_spawn_duration_seconds` with its `status` label and JupyterHub 5's
//! buckets, `jupyterhub_server_stop_seconds` with its `status` label and Prometheus' default
//! buckets, `jupyterhub_running_servers`, `jupyterhub_total_users`,
//! `jupyterhub_active_users{period="24h"|"7d"|"30d"}`); what JupyterHub lacks is named
//! `lticontainer_…`. JupyterHub's proxy and route metrics (`jupyterhub_proxy_*`,
//! `jupyterhub_check_routes_*`) have no counterpart: the hub is its own proxy and keeps no
//! route table.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::analytics::AnalyticsSnapshot;

/// JupyterHub's bucket bounds (seconds) of `jupyterhub_server_spawn_duration_seconds`.
const SPAWN_BUCKETS: [f64; 12] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0,
];

/// The bucket bounds (seconds) of `jupyterhub_server_stop_seconds`: Prometheus' defaults,
/// which JupyterHub's histogram keeps.
const STOP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The periods of `jupyterhub_active_users`, as JupyterHub labels them, with their length.
pub const ACTIVE_USER_PERIODS: [(&str, Duration); 3] = [
    ("24h", Duration::from_secs(24 * 3600)),
    ("7d", Duration::from_secs(7 * 24 * 3600)),
    ("30d", Duration::from_secs(30 * 24 * 3600)),
];

/// How a stop of a running server ended: JupyterHub's `ServerStopStatus` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopStatus {
    /// The container is gone.
    Success,
    /// The engine or the store failed.
    Failure,
}

impl StopStatus {
    const ALL: [Self; 2] = [Self::Success, Self::Failure];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

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

#[derive(Debug)]
struct Histogram<const N: usize> {
    /// Observations at or below each bound (not cumulative).
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// The sum in microseconds.
    sum_micros: AtomicU64,
}

impl<const N: usize> Default for Histogram<N> {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl<const N: usize> Histogram<N> {
    fn observe(&self, bounds: &[f64; N], d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = bounds.iter().position(|b| secs <= *b) {
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
    spawns: [Histogram<{ SPAWN_BUCKETS.len() }>; 3],
    stops: [Histogram<{ STOP_BUCKETS.len() }>; 2],
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
        self.spawns[index(&SpawnOutcome::ALL, &outcome)].observe(&SPAWN_BUCKETS, took);
        if outcome == SpawnOutcome::Failure {
            self.error(ErrorKind::Spawn);
        }
    }

    /// Counts a stop of a running server that ended after `took`.
    pub fn stop_ended(&self, status: StopStatus, took: Duration) {
        self.stops[index(&StopStatus::ALL, &status)].observe(&STOP_BUCKETS, took);
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
    /// Users active within each of [`ACTIVE_USER_PERIODS`]; `None` when the store could not say.
    pub active_users: Option<[u64; 3]>,
    /// The learning analytics counters, when analytics are on.
    pub analytics: Option<AnalyticsSnapshot>,
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One histogram `name` with a `status` label per series.
fn histogram<const N: usize>(
    out: &mut String,
    name: &str,
    help: &str,
    bounds: &[f64; N],
    statuses: &[&str],
    series: &[Histogram<N>],
) {
    head(out, name, "histogram", help);
    for (status, h) in statuses.iter().zip(series) {
        let mut cumulative = 0;
        for (bound, b) in bounds.iter().zip(&h.buckets) {
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
}

/// How many of the users' last activities (`None`: never active) fall within each of
/// [`ACTIVE_USER_PERIODS`] before `now`, as JupyterHub counts `jupyterhub_active_users`.
pub fn active_users(
    last_activity: impl IntoIterator<Item = Option<std::time::SystemTime>>,
    now: std::time::SystemTime,
) -> [u64; 3] {
    let mut counts = [0; 3];
    for t in last_activity.into_iter().flatten() {
        let ago = now.duration_since(t).unwrap_or_default();
        for (n, (_, period)) in counts.iter_mut().zip(ACTIVE_USER_PERIODS) {
            if ago <= period {
                *n += 1;
            }
        }
    }
    counts
}

/// The Prometheus text exposition of `m` and `g`.
pub fn render(m: &Metrics, g: &Gauges) -> String {
    let mut out = String::with_capacity(4096);
    histogram(
        &mut out,
        "jupyterhub_server_spawn_duration_seconds",
        "time taken for server spawning operation",
        &SPAWN_BUCKETS,
        &SpawnOutcome::ALL.map(SpawnOutcome::label),
        &m.spawns,
    );
    histogram(
        &mut out,
        "jupyterhub_server_stop_seconds",
        "time taken for server stopping operation",
        &STOP_BUCKETS,
        &StopStatus::ALL.map(StopStatus::label),
        &m.stops,
    );
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
    if let Some(active) = g.active_users {
        let name = "jupyterhub_active_users";
        head(
            &mut out,
            name,
            "gauge",
            "number of users who were active in the given time period",
        );
        for ((period, _), n) in ACTIVE_USER_PERIODS.iter().zip(active) {
            let _ = writeln!(out, "{name}{{period=\"{period}\"}} {n}");
        }
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
                "records dropped because the outbox was behind or full",
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

    #[test]
    fn stops_and_active_users_as_jupyterhub_names_them() {
        let m = Metrics::default();
        m.stop_ended(StopStatus::Success, Duration::from_millis(300));
        m.stop_ended(StopStatus::Failure, Duration::from_secs(20));
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(100 * 24 * 3600);
        let day = Duration::from_secs(24 * 3600);
        let active = active_users(
            [
                Some(now - day / 2),
                Some(now - 3 * day),
                Some(now - 20 * day),
                Some(now - 40 * day),
                None,
            ],
            now,
        );
        assert_eq!(active, [1, 2, 3]);
        let g = Gauges {
            active_users: Some(active),
            ..Gauges::default()
        };
        let text = render(&m, &g);
        let line = |s: &str| text.lines().any(|l| l == s);
        assert!(
            line(r#"jupyterhub_server_stop_seconds_bucket{le="0.25",status="success"} 0"#),
            "{text}"
        );
        assert!(line(
            r#"jupyterhub_server_stop_seconds_bucket{le="0.5",status="success"} 1"#
        ));
        assert!(line(
            r#"jupyterhub_server_stop_seconds_bucket{le="10.0",status="failure"} 0"#
        ));
        assert!(line(
            r#"jupyterhub_server_stop_seconds_count{status="failure"} 1"#
        ));
        assert!(line("# TYPE jupyterhub_active_users gauge"));
        assert!(line(r#"jupyterhub_active_users{period="24h"} 1"#));
        assert!(line(r#"jupyterhub_active_users{period="7d"} 2"#));
        assert!(line(r#"jupyterhub_active_users{period="30d"} 3"#));
    }
}
