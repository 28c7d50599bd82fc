//! What the loopback load tools (`http-get-load`, `ws-echo-load`) print: one JSON line with the
//! run's throughput and latency quantiles.

use std::time::Duration;

/// One finished load run.
#[derive(Debug)]
pub struct LoadRun<'a> {
    /// Connections that were opened.
    pub connections: usize,
    /// How long the run took.
    pub elapsed: Duration,
    /// Every round trip's latency, in microseconds (any order).
    pub latencies_us: Vec<u32>,
    /// The error of each connection that failed.
    pub errors: Vec<&'a str>,
}

impl LoadRun<'_> {
    /// The run as one JSON object: `connections`, `seconds`, `<count_name>` (the number of round
    /// trips), `per_second`, `p50_us`, `p90_us`, `p99_us`, `max_us`, then `extra` (name, JSON
    /// value) pairs, `failed_connections` and `first_error`.
    pub fn json(mut self, count_name: &str, extra: &[(&str, String)]) -> String {
        self.latencies_us.sort_unstable();
        let all = &self.latencies_us;
        let secs = self.elapsed.as_secs_f64();
        let mut out = format!(
            "{{\"connections\":{},\"seconds\":{secs:.3},\"{count_name}\":{},\"per_second\":{:.1},\
             \"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{}",
            self.connections,
            all.len(),
            all.len() as f64 / secs.max(1e-9),
            quantile(all, 0.50),
            quantile(all, 0.90),
            quantile(all, 0.99),
            all.last().copied().unwrap_or(0),
        );
        for (name, value) in extra {
            out.push_str(&format!(",\"{name}\":{value}"));
        }
        let first_error = self
            .errors
            .first()
            .map_or_else(|| "null".to_owned(), |e| json_string(e));
        out.push_str(&format!(
            ",\"failed_connections\":{},\"first_error\":{first_error}}}",
            self.errors.len()
        ));
        out
    }
}

/// The q-quantile by nearest rank of sorted values (0 when there are none).
pub fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), 50);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 1.0), 100);
        assert_eq!(quantile(&[], 0.5), 0);
        assert_eq!(quantile(&[7], 0.99), 7);
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn a_run_is_one_json_object() {
        let run = LoadRun {
            connections: 2,
            elapsed: Duration::from_secs(2),
            latencies_us: vec![30, 10, 20],
            errors: vec!["refused \"x\""],
        };
        let line = run.json("requests", &[("non_2xx", "0".to_owned())]);
        assert_eq!(
            line,
            "{\"connections\":2,\"seconds\":2.000,\"requests\":3,\"per_second\":1.5,\
             \"p50_us\":20,\"p90_us\":30,\"p99_us\":30,\"max_us\":30,\"non_2xx\":0,\
             \"failed_connections\":1,\"first_error\":\"refused \\\"x\\\"\"}"
        );
    }
}
