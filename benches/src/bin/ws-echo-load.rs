//! WebSocket echo load for the proxy benchmark (`benches/peer/run.sh`): opens C connections to
//! one URL, and on each sends a small text message, waits for its echo, and repeats, for a fixed
//! time. Prints one JSON line: round trips, round trips per second and latency percentiles (µs).
//!
//! Usage: `ws-echo-load --url ws://127.0.0.1:8000/user/a/echo --connections 10 --seconds 10
//!         [--header "Cookie: …"]… [--size 64] [--threads 1]`
//!
//! Only loopback URLs are accepted: this is a load tool, and the project sends load to nothing
//! else.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lticontainer_benches::load_report::LoadRun;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    url: String,
    connections: usize,
    seconds: f64,
    headers: Vec<(String, String)>,
    size: usize,
    threads: usize,
}

/// What one connection measured.
#[derive(Debug, Default)]
struct ConnResult {
    latencies_us: Vec<u32>,
    error: Option<String>,
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("ws-echo-load: {why}");
            eprintln!(
                "usage: ws-echo-load --url ws://127.0.0.1:PORT/PATH --connections N --seconds S \
                 [--header 'Name: value']… [--size BYTES] [--threads N]"
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
            eprintln!("ws-echo-load: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (results, elapsed) = runtime.block_on(run(&opts));
    let errors: Vec<&str> = results.iter().filter_map(|r| r.error.as_deref()).collect();
    let run = LoadRun {
        connections: opts.connections,
        elapsed,
        latencies_us: results
            .iter()
            .flat_map(|r| r.latencies_us.iter().copied())
            .collect(),
        errors: errors.clone(),
    };
    println!("{}", run.json("round_trips", &[]));
    if errors.len() == results.len() {
        eprintln!(
            "ws-echo-load: every connection failed: {}",
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
        size: 64,
        threads: 1,
    };
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{arg} {value}: {e}");
        match arg.as_str() {
            "--url" => opts.url = value,
            "--connections" => opts.connections = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => opts.seconds = value.parse().map_err(|e| bad(&e))?,
            "--size" => opts.size = value.parse().map_err(|e| bad(&e))?,
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
    if lticontainer_benches::loopback::authority(&opts.url, "ws").is_none() {
        return Err(format!(
            "--url must be a loopback ws:// URL with a port, got {:?}",
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

async fn run(opts: &Options) -> (Vec<ConnResult>, Duration) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(opts.seconds);
    let payload: String = "x".repeat(opts.size);
    let tasks: Vec<_> = (0..opts.connections)
        .map(|_| {
            let opts = opts.clone();
            let payload = payload.clone();
            tokio::spawn(async move { one_connection(&opts, payload, deadline).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap_or_else(|e| ConnResult {
            latencies_us: Vec::new(),
            error: Some(format!("task failed: {e}")),
        }));
    }
    (results, start.elapsed())
}

async fn one_connection(opts: &Options, payload: String, deadline: Instant) -> ConnResult {
    let mut out = ConnResult::default();
    let mut request = match opts.url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(format!("bad URL {}: {e}", opts.url));
            return out;
        }
    };
    for (name, value) in &opts.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(n), Ok(v)) => {
                request.headers_mut().append(n, v);
            }
            _ => {
                out.error = Some(format!("bad header {name}: {value}"));
                return out;
            }
        }
    }
    let mut ws = match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            out.error = Some(format!("connect {}: {e}", opts.url));
            return out;
        }
    };
    while Instant::now() < deadline {
        let t0 = Instant::now();
        if let Err(e) = ws.send(Message::text(payload.clone())).await {
            out.error = Some(format!("send: {e}"));
            break;
        }
        let echoed = loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => break Ok(t.len()),
                Some(Ok(Message::Binary(b))) => break Ok(b.len()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => break Err(format!("receive: {e}")),
                None => break Err("the proxy closed the connection".to_owned()),
            }
        };
        match echoed {
            Ok(n) if n == payload.len() => {
                let us = t0.elapsed().as_micros();
                out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            Ok(n) => {
                out.error = Some(format!(
                    "echo of {} bytes came back with {n}",
                    payload.len()
                ));
                break;
            }
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    let _ = ws.close(None).await;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Options, String> {
        parse_args(v.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn options_are_parsed_and_checked() {
        let o = args(&[
            "--url",
            "ws://127.0.0.1:9/x",
            "--connections",
            "10",
            "--header",
            "Cookie: a=b",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.connections, 10);
        assert_eq!(o.headers, vec![("Cookie".to_owned(), "a=b".to_owned())]);
        assert!(
            args(&["--url", "ws://10.0.0.1:9/x"]).is_err(),
            "non-loopback refused"
        );
        assert!(args(&["--url", "ws://127.0.0.1:9/", "--connections", "0"]).is_err());
        assert!(args(&["--url", "ws://127.0.0.1:9/", "--seconds", "0"]).is_err());
        assert!(args(&["--url", "ws://127.0.0.1:9/", "--header", "nocolon"]).is_err());
        assert!(args(&["--url"]).is_err());
    }
}
