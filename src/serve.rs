//! Starting services: logging, database, bus, listeners, the start-up banner and clean shutdown.

use std::sync::Arc;
use std::time::Duration;

use accord_api::AppState;
use accord_bus::Bus;
use accord_config::{Config, LogFormat};
use accord_store::{PoolSettings, Store};
use anyhow::Context;

/// Which services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Services {
    /// Everything built so far (the default).
    All,
    /// The REST API only.
    Api,
    /// The WebSocket gateway only.
    Gateway,
}

/// Sets up `tracing` from the `[log]` section (`RUST_LOG` overrides the filter).
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Connects to the configured database and applies migrations when configured to.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let settings = PoolSettings {
        max_connections: config.database.max_connections,
        min_connections: config.database.min_connections,
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
        message_writers: config.database.message_writers as usize,
    };
    let url = config.database_url();
    let store = Store::connect(&url, &settings)
        .await
        .with_context(|| format!("cannot open the database ({})", redact(&url)))?;
    if config.database.migrate_on_start {
        store
            .migrate()
            .await
            .context("cannot apply database migrations")?;
    }
    Ok(store)
}

/// Builds the configured event bus (see `accord_api::bus::open`), naming the setting at fault
/// when Redis cannot be reached.
pub async fn open_bus(config: &Config, interest: accord_bus::Interest) -> anyhow::Result<Bus> {
    accord_api::bus::open(config, interest)
        .await
        .with_context(|| {
            format!(
                "cannot open the Redis event bus ({}; bus.redis_url)",
                redact(&config.bus.redis_url)
            )
        })
}

/// `accord migrate`.
pub async fn migrate_only(config: Config) -> anyhow::Result<()> {
    let mut config = config;
    config.database.migrate_on_start = false;
    let store = open_store(&config).await?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    println!("migrations applied ({})", store.backend());
    store.close().await;
    Ok(())
}

/// Runs `services` until Ctrl-C or SIGTERM.
pub async fn run(config: Config, services: Services) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let store = open_store(&config).await?;
    let interest = if services == Services::Gateway {
        accord_bus::Interest::Chosen
    } else {
        accord_bus::Interest::Everything
    };
    let bus = open_bus(&config, interest).await?;
    let state = AppState::new(config.clone(), store.clone(), bus)
        .await
        .context("cannot initialise the API state")?;

    let gateway = if services == Services::Api {
        None
    } else {
        let gw = accord_gateway::Gateway::start(state.clone(), tokio::runtime::Handle::current())
            .with_context(|| {
            format!(
                "cannot start the gateway on {} (gateway.listen)",
                config.gateway.listen
            )
        })?;
        Some(gw)
    };
    println!("Accord is running ({} database).", store.backend());
    if let Some(gw) = &gateway {
        println!(
            "  Gateway:   {}   (listening on {}, {})",
            config.gateway_public_url(),
            gw.local_addr(),
            gw.driver_name()
        );
    }
    if services == Services::Gateway {
        println!("Press Ctrl-C to stop.");
        shutdown_signal().await;
    } else {
        let listener = tokio::net::TcpListener::bind(config.api.listen)
            .await
            .with_context(|| format!("cannot listen on {} (api.listen)", config.api.listen))?;
        let api_url = config.api_public_url();
        println!("  REST API:  {api_url}/api/v10   (also /api/v9 and /api)");
        println!("  OpenAPI:   {api_url}/api/openapi.json");
        println!("  Health:    {api_url}/healthz   {api_url}/readyz   {api_url}/metrics");
        if services == Services::All {
            println!("  CDN and voice are not part of this build yet.");
        }
        println!("Press Ctrl-C to stop.");
        accord_api::serve(listener, state, shutdown_signal())
            .await
            .context("API server failed")?;
    }
    tracing::info!("shutting down");
    if let Some(gw) = gateway {
        // Sessions get Reconnect (op 7) and stay resumable: here until the process ends, and
        // with the Redis bus on any gateway process, from the checkpoints written on the way out.
        tokio::task::spawn_blocking(move || gw.shutdown(Duration::from_secs(5)))
            .await
            .context("gateway shutdown failed")?;
    }
    store.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://data/a.db"), "sqlite://data/a.db");
    }
}
