//! Shared set-up for Accord's benchmark binaries.

use accord_config::Config;

/// Turns rate limiting off in `config`, so a load test measures the work behind a route rather
/// than the configured policy.
pub fn disable_rate_limits(config: &mut Config) {
    config.rate_limits.enabled = false;
}
