//! A launch storm for the hub (`benches/launch-storm.sh`): POSTs N already signed LTI launch
//! bodies to the hub's launch URL, open loop — launch i leaves at `i × spread / N` after the start,
//! whether or not earlier ones were answered, each on its own connection as separate browsers do.
//! Prints one JSON line (the shape of the other load tools') with the answers' status codes, where
//! the redirects pointed (the first path segment of `Location`), how late the tool itself sent
//! (so a slow load generator is seen, not mistaken for a slow hub) and the latency quantiles (µs,
//! connect to the whole answer).
//!
//! Usage: `launch-storm --url http://127.0.0.1:8000/hub/lti/launch --bodies FILE
//!         [--spread-ms 1000] [--threads 1]` where FILE holds one URL-encoded form body per line.
//!
//! Only loopback URLs are accepted: this is a load tool, and the project sends load to nothing
//! else.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use lticontainer_benches::load_report::LoadRun;
use lticontainer_benches::loopback;
use tokio::net::TcpStream;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    url: String,
    bodies: String,
    spread: Duration,
    threads: usize,
}

/// What one launch got.
#[derive(Debug)]
enum Outcome {
    /// An answer: its status, the first segment of its `Location` (if any), the latency and how
    /// late the request left against its schedule.
    Answered {
        status: u16,
        location: Option<String>,
        latency: Duration,
        late: Duration,
    },
    /// No answer: why.
    Failed(String),
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("launch-storm: {why}");
            eprintln!(
                "usage: launch-storm --url http://127.0.0.1:PORT/hub/lti/launch --bodies FILE \
                 [--spread-ms 1000] [--threads N]"
            );
            return ExitCode::from(2);
        }
    };
    let bodies: Vec<Bytes> = match std::fs::read_to_string(&opts.bodies) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| Bytes::from(l.to_owned()))
            .collect(),
        Err(e) => {
            eprintln!("launch-storm: cannot read {}: {e}", opts.bodies);
            return ExitCode::FAILURE;
        }
    };
    if bodies.is_empty() {
        eprintln!("launch-storm: {} holds no launch bodies", opts.bodies);
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("launch-storm: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let count = bodies.len();
    let (outcomes, elapsed) = runtime.block_on(storm(&opts, bodies));
    println!("{}", report(count, elapsed, &outcomes));
    if outcomes.iter().all(|o| matches!(o, Outcome::Failed(_))) {
        eprintln!("launch-storm: no launch was answered");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        url: String::new(),
        bodies: String::new(),
        spread: Duration::from_secs(1),
        threads: 1,
    };
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{arg} {value}: {e}");
        match arg.as_str() {
            "--url" => opts.url = value,
            "--bodies" => opts.bodies = value,
            "--spread-ms" => {
                let ms: u64 = value.parse().map_err(|e| bad(&e))?;
                opts.spread = Duration::from_millis(ms);
            }
            "--threads" => opts.threads = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    if loopback::authority(&opts.url, "http").is_none() {
        return Err(format!(
            "--url must be a loopback http:// URL with a port, got {:?}",
            opts.url
        ));
    }
    if opts.bodies.is_empty() {
        return Err("--bodies FILE is required".to_owned());
    }
    if opts.spread > Duration::from_secs(60) {
        return Err("--spread-ms must be at most 60000".to_owned());
    }
    opts.threads = opts.threads.max(1);
    Ok(opts)
}

/// Sends every body on its schedule and waits for all answers.
async fn storm(opts: &Options, bodies: Vec<Bytes>) -> (Vec<Outcome>, Duration) {
    let start = Instant::now();
    let count = bodies.len() as u32;
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let due = start + opts.spread * i as u32 / count;
            let url = opts.url.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(due.into()).await;
                one_launch(&url, body, due).await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for t in tasks {
        outcomes.push(
            t.await
                .unwrap_or_else(|e| Outcome::Failed(format!("task failed: {e}"))),
        );
    }
    (outcomes, start.elapsed())
}

/// One launch on a fresh connection, as a browser that just got Moodle's auto-submitting form.
async fn one_launch(url: &str, body: Bytes, due: Instant) -> Outcome {
    let t0 = Instant::now();
    let late = t0.saturating_duration_since(due);
    let Some(auth) = loopback::authority(url, "http") else {
        return Outcome::Failed(format!("bad URL {url}"));
    };
    let stream = match TcpStream::connect(auth).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("connect {auth}: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => return Outcome::Failed(format!("handshake: {e}")),
    };
    let driver = tokio::spawn(conn);
    let request = Request::post(url)
        .header(hyper::header::HOST, auth)
        .header(
            hyper::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(hyper::header::CONNECTION, "close")
        .body(Full::new(body));
    let outcome = match request {
        Err(e) => Outcome::Failed(format!("request: {e}")),
        Ok(request) => match sender.send_request(request).await {
            Err(e) => Outcome::Failed(format!("send: {e}")),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let location = resp
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(first_segment);
                match resp.into_body().collect().await {
                    Err(e) => Outcome::Failed(format!("body: {e}")),
                    Ok(_) => Outcome::Answered {
                        status,
                        location,
                        latency: t0.elapsed(),
                        late,
                    },
                }
            }
        },
    };
    driver.abort();
    outcome
}

/// `/user/` of `/user/alice/lab`, `/hub/` of `http://h:1/hub/spawn-pending/alice`: where a
/// redirect sends the student, without the user's name.
fn first_segment(location: &str) -> String {
    let path = match location.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => location,
    };
    let segment = path.trim_start_matches('/').split(['/', '?']).next();
    format!("/{}/", segment.unwrap_or(""))
}

/// The JSON line: the common load shape plus `statuses`, `locations` and `max_late_us`.
fn report(count: usize, elapsed: Duration, outcomes: &[Outcome]) -> String {
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut locations: BTreeMap<&str, usize> = BTreeMap::new();
    let mut latencies_us = Vec::with_capacity(outcomes.len());
    let mut errors = Vec::new();
    let mut max_late = Duration::ZERO;
    for outcome in outcomes {
        match outcome {
            Outcome::Answered {
                status,
                location,
                latency,
                late,
            } => {
                *statuses.entry(*status).or_default() += 1;
                if let Some(l) = location {
                    *locations.entry(l.as_str()).or_default() += 1;
                }
                latencies_us.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
                max_late = max_late.max(*late);
            }
            Outcome::Failed(why) => errors.push(why.as_str()),
        }
    }
    let statuses = json_map(statuses.iter().map(|(k, v)| (k.to_string(), *v)));
    let locations = json_map(locations.iter().map(|(k, v)| ((*k).to_owned(), *v)));
    LoadRun {
        connections: count,
        elapsed,
        latencies_us,
        errors,
    }
    .json(
        "answered",
        &[
            ("statuses", statuses),
            ("locations", locations),
            ("max_late_us", max_late.as_micros().to_string()),
        ],
    )
}

/// `{"k":v,…}` of keys that need no escaping (status codes, path segments).
fn json_map(entries: impl Iterator<Item = (String, usize)>) -> String {
    let inner: Vec<String> = entries
        .map(|(k, v)| format!("\"{}\":{v}", k.replace(['"', '\\'], "")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Options, String> {
        parse_args(v.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn options_are_parsed_and_only_loopback_is_accepted() {
        let o = args(&[
            "--url",
            "http://127.0.0.1:9/hub/lti/launch",
            "--bodies",
            "/tmp/b",
            "--spread-ms",
            "500",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.spread, Duration::from_millis(500));
        assert!(args(&["--url", "http://10.0.0.1:9/x", "--bodies", "/tmp/b"]).is_err());
        assert!(args(&["--url", "http://127.0.0.1:9/x"]).is_err());
        assert!(
            args(&[
                "--url",
                "http://127.0.0.1:9/x",
                "--bodies",
                "b",
                "--spread-ms",
                "60001"
            ])
            .is_err()
        );
    }

    #[test]
    fn redirects_are_classed_by_their_first_path_segment() {
        assert_eq!(first_segment("/user/alice/lab"), "/user/");
        assert_eq!(
            first_segment("http://127.0.0.1:1/hub/spawn-pending/a"),
            "/hub/"
        );
        assert_eq!(first_segment("http://127.0.0.1:1"), "//");
        assert_eq!(first_segment("/hub?x=1"), "/hub/");
    }

    #[test]
    fn the_report_counts_statuses_locations_and_failures() {
        let answered = |status, location: &str| Outcome::Answered {
            status,
            location: Some(location.to_owned()),
            latency: Duration::from_millis(2),
            late: Duration::from_micros(30),
        };
        let line = report(
            3,
            Duration::from_secs(1),
            &[
                answered(302, "/user/"),
                answered(302, "/hub/"),
                Outcome::Failed("connect: refused".to_owned()),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["answered"], 2);
        assert_eq!(v["statuses"]["302"], 2);
        assert_eq!(v["locations"]["/user/"], 1);
        assert_eq!(v["failed_connections"], 1);
        assert_eq!(v["max_late_us"], 30);
        assert_eq!(v["p99_us"], 2000);
    }
}
