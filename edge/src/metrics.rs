//! The edge's Prometheus metrics, on a recorder of its own (not the process-wide one, which the
//! API installs in the bundle), served by the admin listener's `GET /metrics`:
//!
//! - `edge_requests_total{upstream, class}`: responses by upstream (`edge` for the edge's own
//!   answers) and status class (`2xx`, `4xx`, ...);
//! - `edge_request_duration_seconds{upstream}`: latency histogram;
//! - `edge_blocks_total`, `edge_blocks_lifted_total`, `edge_blocked_requests_total`,
//!   `edge_blocked_addresses`: error-based blocking;
//! - `edge_throttled_total{rule}`: 429s by throttle rule;
//! - `edge_ip_refused_total`: requests refused by the IP filter;
//! - `edge_access_log_dropped_total`: access log lines dropped because the writer fell behind.

use std::sync::OnceLock;
use std::time::Duration;

use dashmap::DashMap;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency buckets in seconds: 100 µs to 10 s.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// The edge's recorder and its handle.
pub struct EdgeMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Each upstream's request counters and latency histogram, looked up once: going through
    /// the recorder for every request builds and hashes the labelled key each time.
    upstreams: DashMap<String, UpstreamHandles>,
}

/// The per-request metrics of one upstream.
struct UpstreamHandles {
    /// `edge_requests_total` by status class ([`CLASSES`]), registered on first use.
    requests: [OnceLock<Counter>; CLASSES.len()],
    latency: Histogram,
}

impl std::fmt::Debug for EdgeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EdgeMetrics(..)")
    }
}

impl Default for EdgeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The status classes of `edge_requests_total`.
const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// The index in [`CLASSES`] of `status`'s class.
fn class(status: u16) -> usize {
    match status {
        100..=599 => usize::from(status / 100 - 1),
        _ => CLASSES.len() - 1,
    }
}

impl EdgeMetrics {
    /// A fresh recorder.
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets(&BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        Self {
            recorder,
            handle,
            upstreams: DashMap::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// One response sent, from `upstream` (or `edge`), with `status`, after `latency`.
    pub fn request(&self, upstream: &str, status: u16, latency: Duration) {
        // The name is allocated only for an upstream not seen before.
        let handles = match self.upstreams.get(upstream) {
            Some(handles) => handles,
            None => self
                .upstreams
                .entry(upstream.to_owned())
                .or_insert_with(|| UpstreamHandles {
                    requests: Default::default(),
                    latency: self.with(|| {
                        metrics::histogram!("edge_request_duration_seconds", "upstream" => upstream.to_owned())
                    }),
                })
                .downgrade(),
        };
        let class = class(status);
        handles.requests[class]
            .get_or_init(|| {
                let upstream = upstream.to_owned();
                self.with(|| {
                    metrics::counter!("edge_requests_total", "upstream" => upstream, "class" => CLASSES[class])
                })
            })
            .increment(1);
        handles.latency.record(latency.as_secs_f64());
    }

    /// An address was blocked.
    pub fn blocked(&self) {
        self.with(|| metrics::counter!("edge_blocks_total").increment(1));
    }

    /// A block was lifted by the admin.
    pub fn lifted(&self) {
        self.with(|| metrics::counter!("edge_blocks_lifted_total").increment(1));
    }

    /// A request from a blocked address was refused.
    pub fn blocked_request(&self) {
        self.with(|| metrics::counter!("edge_blocked_requests_total").increment(1));
    }

    /// A request was throttled by `rule`.
    pub fn throttled(&self, rule: &str) {
        let rule = rule.to_owned();
        self.with(|| metrics::counter!("edge_throttled_total", "rule" => rule).increment(1));
    }

    /// A request was refused by the IP filter.
    pub fn ip_refused(&self) {
        self.with(|| metrics::counter!("edge_ip_refused_total").increment(1));
    }

    /// An access log line was dropped.
    pub fn access_log_dropped(&self) {
        self.with(|| metrics::counter!("edge_access_log_dropped_total").increment(1));
    }

    /// The Prometheus text, with `blocked_addresses` as the current number of blocks.
    pub fn render(&self, blocked_addresses: usize) -> String {
        self.with(|| metrics::gauge!("edge_blocked_addresses").set(blocked_addresses as f64));
        self.handle.render()
    }

    /// Drains the histograms' old samples (call every few seconds).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_are_rendered() {
        let m = EdgeMetrics::new();
        m.request("app", 204, Duration::from_micros(300));
        m.request("app", 200, Duration::from_micros(300));
        m.request("app", 503, Duration::from_micros(300));
        m.request("edge", 429, Duration::from_micros(50));
        m.request("edge", 99, Duration::from_micros(50));
        m.throttled("login");
        m.blocked();
        m.access_log_dropped();
        let text = m.render(1);
        assert!(
            text.contains(r#"edge_requests_total{upstream="app",class="2xx"} 2"#),
            "{text}"
        );
        for series in [
            r#"edge_requests_total{upstream="app",class="5xx"} 1"#,
            r#"edge_requests_total{upstream="edge",class="4xx"} 1"#,
            r#"edge_requests_total{upstream="edge",class="other"} 1"#,
            r#"edge_request_duration_seconds_count{upstream="app"} 3"#,
        ] {
            assert!(text.contains(series), "{series} in {text}");
        }
        assert!(!text.contains(r#"class="3xx""#), "{text}");
        assert!(
            text.contains(r#"edge_throttled_total{rule="login"} 1"#),
            "{text}"
        );
        assert!(text.contains("edge_blocks_total 1"), "{text}");
        assert!(text.contains("edge_access_log_dropped_total 1"), "{text}");
        assert!(text.contains("edge_blocked_addresses 1"), "{text}");
        assert!(
            text.contains("edge_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
