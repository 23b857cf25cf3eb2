//! Shared parts of Accord's benchmark binaries: configuration for load runs and the closed-loop
//! load driver with its latency report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_config::Config;

/// Turns rate limiting off in `config`, so a load test measures the work behind a route rather
/// than the configured policy.
pub fn disable_rate_limits(config: &mut Config) {
    config.rate_limits.enabled = false;
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// Latencies of successful requests in microseconds, sorted.
    pub latencies: Vec<u64>,
    /// Failed requests (transport errors and non-2xx answers).
    pub errors: u64,
    /// Length of the run.
    pub seconds: u64,
}

impl Report {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds.max(1) as f64
    }

    /// The `p` quantile (0–1) of the latencies in microseconds.
    pub fn percentile(&self, p: f64) -> u64 {
        let n = self.latencies.len();
        self.latencies
            .get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    }

    /// `"<rate> <unit>/s, p50 …, p99 …, p99.9 …, errors …"`.
    pub fn summary(&self, unit: &str) -> String {
        format!(
            "{:.0} {unit}/s, p50 {} µs, p99 {} µs, p99.9 {} µs, errors {}",
            self.rate(),
            self.percentile(0.50),
            self.percentile(0.99),
            self.percentile(0.999),
            self.errors
        )
    }
}

/// Runs `connections` closed-loop clients for `seconds`: each sends the request `request(client,
/// n)` builds, waits for the whole answer, and sends the next.
pub async fn drive<F>(connections: usize, seconds: u64, request: F) -> Report
where
    F: Fn(usize, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::with_capacity(connections);
    for client in 0..connections {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let start = Instant::now();
                match request(client, n).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(start.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut report = Report {
        seconds,
        ..Report::default()
    };
    for task in tasks {
        let (latencies, errors) = task.await.expect("load client");
        report.latencies.extend(latencies);
        report.errors += errors;
    }
    report.latencies.sort_unstable();
    report
}
