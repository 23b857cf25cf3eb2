//! Opening the event bus the configuration asks for, the one way every process (the binary,
//! tests, load generators) does it.

use accord_bus::{Bus, BusError, Interest, LogSettings};
use accord_config::{BusKind, Config};

/// The Redis event log's settings from the configuration.
pub fn log_settings(config: &Config) -> LogSettings {
    LogSettings {
        retention_ms: config.bus.log_retention_secs.saturating_mul(1000),
        max_len: config.bus.log_max_len,
    }
}

/// The configured bus. The Redis bus needs Redis reachable now; it receives every channel
/// (`Interest::Everything`: a process serving the API, whose caches and revocations follow
/// every event) or only those asked for (`Interest::Chosen`: a gateway-only process).
pub async fn open(config: &Config, interest: Interest) -> Result<Bus, BusError> {
    let bus = &config.bus;
    match bus.kind {
        BusKind::Memory => Ok(Bus::memory(bus.capacity)),
        BusKind::Redis => {
            Bus::redis(
                &bus.redis_url,
                &bus.channel_prefix,
                bus.capacity,
                log_settings(config),
                interest,
            )
            .await
        }
    }
}
