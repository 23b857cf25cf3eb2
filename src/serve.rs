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
    /// The CDN only (no database or bus: it reads the configured file storage).
    Cdn,
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

/// A CDN serving in the background until [`CdnTask::stop`].
struct CdnTask {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl CdnTask {
    /// Binds `cdn.listen` and serves `blobs` there, checking signed attachment URLs with
    /// `url_key` (when `cdn.signed_urls` is enabled); prints its banner line.
    async fn start(
        config: &Config,
        blobs: accord_blobs::Blobs,
        url_key: Option<accord_auth::UrlSigningKey>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.cdn.listen)
            .await
            .with_context(|| format!("cannot listen on {} (cdn.listen)", config.cdn.listen))?;
        println!(
            "  CDN:       {}   (listening on {}, {})",
            config.cdn_public_url(),
            listener.local_addr()?,
            blobs.describe()
        );
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let mut state = accord_cdn::CdnState::new(config, blobs);
        if let Some(key) = url_key {
            state = state.with_url_key(key);
        }
        let task = tokio::spawn(accord_cdn::serve(listener, state, async move {
            let _ = rx.await;
        }));
        Ok(Self { stop, task })
    }

    /// Stops accepting, lets requests in flight finish, and reports how serving ended.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .context("CDN task failed")?
            .context("CDN server failed")
    }
}

/// `accord cdn`: the CDN alone, until Ctrl-C or SIGTERM.
async fn run_cdn(config: &Config) -> anyhow::Result<()> {
    let blobs = accord_blobs::Blobs::from_config(config)
        .context("cannot open the file storage ([cdn] storage settings)")?;
    let url_key = cdn_url_key(config).await?;
    println!("Accord is running (CDN only).");
    let mut cdn = CdnTask::start(config, blobs, url_key).await?;
    let stop = shutdown_signal();
    println!("Press Ctrl-C to stop.");
    tokio::select! {
        () = stop => {}
        // The server ends by itself only when it fails.
        ended = &mut cdn.task => {
            return ended.context("CDN task failed")?.context("CDN server failed");
        }
    }
    tracing::info!("shutting down");
    cdn.stop().await
}

/// The key of signed attachment URLs for `accord cdn`, when `cdn.signed_urls` is enabled: from
/// `security.token_secret`, or else from the secret the API generated in the database (the only
/// time the CDN alone opens the database).
async fn cdn_url_key(config: &Config) -> anyhow::Result<Option<accord_auth::UrlSigningKey>> {
    if !config.cdn.signed_urls.enabled {
        return Ok(None);
    }
    if let Some(secret) = &config.security.token_secret {
        return Ok(Some(accord_auth::UrlSigningKey::derive(secret.as_bytes())));
    }
    let store = open_store(config)
        .await
        .context("cdn.signed_urls needs the token secret: set security.token_secret, or let the CDN reach the database")?;
    let key = accord_api::state::url_signing_key(config, &store)
        .await
        .context("cannot read the token secret from the database");
    store.close().await;
    Ok(Some(key?))
}

/// Starts the edge proxy of `config.edge` (on its own thread) and prints its banner lines; with
/// `upgrade`, takes the listening socket over from the running edge process.
async fn start_edge(config: Arc<Config>, upgrade: bool) -> anyhow::Result<accord_edge::EdgeHandle> {
    if upgrade {
        println!(
            "  Edge:      waiting on {} for the running edge's socket (send it SIGQUIT)",
            config.edge.upgrade_sock
        );
    }
    let edge = tokio::task::spawn_blocking(move || accord_edge::start_with(&config, upgrade))
        .await
        .context("edge start-up failed")??;
    println!(
        "  Edge:      http://{}   ({} routes: configured ones first, longest prefix wins)",
        edge.listen_addr(),
        edge.routes().len()
    );
    for route in edge.routes() {
        println!("             {route}");
    }
    if let Some(tls) = edge.tls_addr() {
        println!("  Edge TLS:  https://{tls}   (certificates by SNI, reloaded on change)");
    }
    println!(
        "  Edge admin: http://{}/blocks   http://{}/metrics   (keep it on the loopback)",
        edge.admin_addr(),
        edge.admin_addr()
    );
    Ok(edge)
}

/// Stops the edge, waiting for its threads.
async fn stop_edge(edge: accord_edge::EdgeHandle) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || edge.stop())
        .await
        .context("edge shutdown failed")
}

/// `accord edge` (`--upgrade`: taking the listening socket over from the running edge): the
/// edge proxy alone, until Ctrl-C or SIGTERM, or SIGQUIT, which hands the listening socket over
/// to a new `accord edge --upgrade` process and drains (see README, zero-downtime upgrade).
pub async fn run_edge(config: Config, upgrade: bool) -> anyhow::Result<()> {
    println!("Accord is running (edge only).");
    let stop = shutdown_signal();
    let quit = quit_signal();
    let drain = config.edge.drain_secs;
    let edge = start_edge(Arc::new(config), upgrade).await?;
    println!("Press Ctrl-C to stop.");
    tokio::select! {
        () = stop => {
            tracing::info!("shutting down");
            stop_edge(edge).await
        }
        () = quit => {
            println!(
                "SIGQUIT: handing the listening socket over to the new edge process, \
                 draining for 5 + {drain} s"
            );
            tokio::task::spawn_blocking(move || edge.hand_over())
                .await
                .context("edge hand-over failed")
        }
    }
}

/// Resolves on SIGQUIT (never elsewhere than on Unix). Installed when called.
fn quit_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let quit = signal(SignalKind::quit()).ok();
        async move {
            match quit {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>()
}

/// Runs `services` until Ctrl-C or SIGTERM.
pub async fn run(config: Config, services: Services) -> anyhow::Result<()> {
    if services == Services::Cdn {
        return run_cdn(&config).await;
    }
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
    let mut edge = None;
    if services == Services::Gateway {
        let stop = shutdown_signal();
        println!("Press Ctrl-C to stop.");
        stop.await;
    } else {
        let listener = tokio::net::TcpListener::bind(config.api.listen)
            .await
            .with_context(|| format!("cannot listen on {} (api.listen)", config.api.listen))?;
        let api_url = config.api_public_url();
        println!("  REST API:  {api_url}/api/v10   (also /api/v9 and /api)");
        println!("  OpenAPI:   {api_url}/api/openapi.json");
        println!("  Health:    {api_url}/healthz   {api_url}/readyz   {api_url}/metrics");
        let cdn = if services == Services::All {
            let cdn =
                CdnTask::start(&config, state.blobs.clone(), Some(state.url_key.clone())).await?;
            if config.edge.enabled {
                edge = Some(start_edge(config.clone(), false).await?);
            }
            println!("  Voice is not part of this build yet.");
            Some(cdn)
        } else {
            None
        };
        let stop = shutdown_signal();
        println!("Press Ctrl-C to stop.");
        let served = accord_api::serve(listener, state, stop)
            .await
            .context("API server failed");
        if let Some(cdn) = cdn {
            cdn.stop().await?;
        }
        served?;
    }
    tracing::info!("shutting down");
    if let Some(gw) = gateway {
        // Sessions get Reconnect (op 7) and stay resumable: here until the process ends, and
        // with the Redis bus on any gateway process, from the checkpoints written on the way out.
        tokio::task::spawn_blocking(move || gw.shutdown(Duration::from_secs(5)))
            .await
            .context("gateway shutdown failed")?;
    }
    // Last, so the gateway's Reconnect (op 7) still reaches clients connected through the edge.
    if let Some(edge) = edge {
        stop_edge(edge).await?;
    }
    store.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal sent right after the banner (which is printed before
/// serving starts) stops the server cleanly instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(int) => {},
                () = wait(term) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
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
