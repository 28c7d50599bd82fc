//! HTTP GET load for the proxy benchmarks (`benches/network.sh`): opens C keep-alive connections
//! to one URL and on each sends GET, reads the whole answer, and repeats, for a fixed time. Prints
//! one JSON line: requests, requests per second, non-2xx answers and latency percentiles (µs) —
//! the same shape as `ws-echo-load`'s.
//!
//! Usage: `http-get-load --url http://127.0.0.1:8000/user/a/ping --connections 10 --seconds 10
//!         [--header "Cookie: …"]… [--threads 1]`
//!
//! Only loopback URLs are accepted: this is a load tool, and the project sends load to nothing
//! else.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
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
    connections: usize,
    seconds: f64,
    headers: Vec<(String, String)>,
    threads: usize,
}

/// What one connection measured.
#[derive(Debug, Default)]
struct ConnResult {
    latencies_us: Vec<u32>,
    non_2xx: u64,
    error: Option<String>,
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("http-get-load: {why}");
            eprintln!(
                "usage: http-get-load --url http://127.0.0.1:PORT/PATH --connections N --seconds S \
                 [--header 'Name: value']… [--threads N]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("http-get-load: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (results, elapsed) = runtime.block_on(run(&opts));
    let errors: Vec<&str> = results.iter().filter_map(|r| r.error.as_deref()).collect();
    let non_2xx: u64 = results.iter().map(|r| r.non_2xx).sum();
    let run = LoadRun {
        connections: opts.connections,
        elapsed,
        latencies_us: results
            .iter()
            .flat_map(|r| r.latencies_us.iter().copied())
            .collect(),
        errors: errors.clone(),
    };
    println!(
        "{}",
        run.json("requests", &[("non_2xx", non_2xx.to_string())])
    );
    if errors.len() == results.len() {
        eprintln!(
            "http-get-load: every connection failed: {}",
            errors.first().unwrap_or(&"?")
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        url: String::new(),
        connections: 1,
        seconds: 10.0,
        headers: Vec::new(),
        threads: 1,
    };
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{arg} {value}: {e}");
        match arg.as_str() {
            "--url" => opts.url = value,
            "--connections" => opts.connections = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => opts.seconds = value.parse().map_err(|e| bad(&e))?,
            "--threads" => opts.threads = value.parse().map_err(|e| bad(&e))?,
            "--header" => {
                let (name, v) = value
                    .split_once(':')
                    .ok_or_else(|| format!("--header {value}: expected 'Name: value'"))?;
                opts.headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    if authority(&opts.url).is_none() {
        return Err(format!(
            "--url must be a loopback http:// URL with a port, got {:?}",
            opts.url
        ));
    }
    if opts.connections == 0 || opts.connections > 1000 {
        return Err("--connections must be 1..=1000".to_owned());
    }
    if !(opts.seconds > 0.0 && opts.seconds <= 300.0) {
        return Err("--seconds must be in (0, 300]".to_owned());
    }
    opts.threads = opts.threads.max(1);
    Ok(opts)
}

/// `127.0.0.1:PORT` (or `[::1]:PORT`) of a loopback `http://` URL; `None` for anything else.
fn authority(url: &str) -> Option<&str> {
    loopback::authority(url, "http")
}

async fn run(opts: &Options) -> (Vec<ConnResult>, Duration) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(opts.seconds);
    let tasks: Vec<_> = (0..opts.connections)
        .map(|_| {
            let opts = opts.clone();
            tokio::spawn(async move { one_connection(&opts, deadline).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap_or_else(|e| ConnResult {
            error: Some(format!("task failed: {e}")),
            ..ConnResult::default()
        }));
    }
    (results, start.elapsed())
}

async fn one_connection(opts: &Options, deadline: Instant) -> ConnResult {
    let mut out = ConnResult::default();
    let Some(auth) = authority(&opts.url) else {
        out.error = Some(format!("bad URL {}", opts.url));
        return out;
    };
    let stream = match TcpStream::connect(auth).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("connect {auth}: {e}"));
            return out;
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => {
            out.error = Some(format!("handshake: {e}"));
            return out;
        }
    };
    let driver = tokio::spawn(conn);
    while Instant::now() < deadline {
        let mut req = Request::get(opts.url.as_str()).header(hyper::header::HOST, auth);
        for (name, value) in &opts.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = match req.body(Empty::<Bytes>::new()) {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(format!("request: {e}"));
                break;
            }
        };
        let t0 = Instant::now();
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(format!("send: {e}"));
                break;
            }
        };
        let ok = resp.status().is_success();
        if let Err(e) = resp.into_body().collect().await {
            out.error = Some(format!("body: {e}"));
            break;
        }
        out.latencies_us
            .push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
        if !ok {
            out.non_2xx += 1;
        }
    }
    drop(sender);
    driver.abort();
    out
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
            "http://127.0.0.1:9/x",
            "--connections",
            "10",
            "--header",
            "Cookie: a=b",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.connections, 10);
        assert_eq!(o.headers, vec![("Cookie".to_owned(), "a=b".to_owned())]);
        for bad in [
            "http://10.0.0.1:9/x",
            "http://127.0.0.1/x",
            "https://127.0.0.1:9/",
            "http://127.0.0.1.evil:9/",
        ] {
            assert!(args(&["--url", bad]).is_err(), "{bad}");
        }
        assert!(args(&["--url", "http://127.0.0.1:9/", "--connections", "0"]).is_err());
        assert!(args(&["--url", "http://127.0.0.1:9/", "--seconds", "0"]).is_err());
        assert_eq!(authority("http://[::1]:9/x"), Some("[::1]:9"));
    }
}
