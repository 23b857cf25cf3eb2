//! The WebSocket gateway that bots and clients hold open: monoio threads (io_uring or epoll)
//! accept connections and run their sessions; a tokio task takes dispatches off the bus and
//! hands each to the sessions that may see it; Identify and Resume read the database on tokio.

pub mod clock;
pub mod conn;
pub mod core;
mod event_window;
pub mod frames;
pub mod handoff;
pub mod hub;
pub mod identify;
pub mod members;
pub mod outbox;
pub mod params;
pub mod presence;
pub mod relay;
pub mod route;
pub mod visibility;
pub mod voice;

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use accord_api::AppState;
use accord_config::GatewayDriver;
use accord_gateway_encoding::{CompressKind, CompressSettings, Compressor};
use accord_gateway_transport::{Driver, Server, TransportConfig};
use tokio::sync::watch;

use crate::conn::ThreadCtx;
use crate::hub::Hub;
use crate::identify::{ConcurrencyGate, SessionSettings};

/// Largest client payload (Discord closes larger ones with 4002).
pub const MAX_PAYLOAD: usize = 4096;

/// A running gateway.
pub struct Gateway {
    server: Server,
    shutdown: watch::Sender<bool>,
    hub: Arc<Hub>,
    hub_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.server.local_addr())
            .field("sessions", &self.hub.len())
            .finish()
    }
}

impl Gateway {
    /// Starts the gateway on `state.config.gateway.listen`; database work and the bus
    /// fan-out run on the tokio runtime of `tokio`.
    pub fn start(state: AppState, tokio: tokio::runtime::Handle) -> std::io::Result<Self> {
        let cfg = state.config.gateway.clone();
        let hub = Arc::new(Hub::new(state.clone()));
        {
            let _guard = tokio.enter();
            hub.start_presences();
        }
        let sub = state.bus.subscribe();
        let hub_task = tokio.spawn(relay::run(
            hub.clone(),
            sub,
            Duration::from_secs(cfg.resume_timeout_secs),
        ));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let settings = SessionSettings {
            replay_buffer: cfg.replay_buffer as usize,
            send_queue: cfg.send_queue as usize,
            max_concurrency: cfg.max_concurrency,
        };
        let transport = TransportConfig {
            addr: cfg.listen,
            threads: cfg.threads as usize,
            driver: match cfg.driver {
                GatewayDriver::Auto => Driver::Auto,
                GatewayDriver::IoUring => Driver::IoUring,
                GatewayDriver::Epoll => Driver::Epoll,
            },
            max_message: MAX_PAYLOAD,
            handshake_timeout: Duration::from_secs(10),
            direct_descriptors: cfg.direct_descriptors,
            tls: cfg
                .tls_cert
                .as_ref()
                .zip(cfg.tls_key.as_ref())
                .map(|(cert, key)| accord_gateway_transport::TlsSettings {
                    cert_path: cert.into(),
                    key_path: key.into(),
                }),
        };
        let compression = compress_settings(&cfg.compression);
        // Refused here, at start, rather than by every compressed connection.
        for kind in [CompressKind::ZlibStream, CompressKind::ZstdStream] {
            Compressor::with_settings(kind, compression)?;
        }
        let gate = Arc::new(ConcurrencyGate::default());
        let thread_hub = hub.clone();
        let heartbeat_interval = Duration::from_millis(cfg.heartbeat_interval_ms);
        let heartbeat_grace = Duration::from_millis(cfg.heartbeat_grace_ms);
        let server = Server::start(transport, move |_thread| {
            let ctx = Rc::new(ThreadCtx {
                hub: thread_hub.clone(),
                gate: gate.clone(),
                tokio: tokio.clone(),
                settings,
                heartbeat_interval,
                heartbeat_grace,
                compression,
            });
            // This runs on the gateway thread: its connections' alarms ring at shutdown.
            clock::ring_all_on(shutdown_rx.clone());
            // Boxed: a future keeps its arguments' room for its whole life, and the
            // connection's task lives as long as the connection.
            move |conn| conn::serve(Box::new(conn), ctx.clone())
        });
        let server = match server {
            Ok(s) => s,
            Err(e) => {
                hub_task.abort();
                return Err(e);
            }
        };
        tracing::info!(
            addr = %server.local_addr(),
            driver = server.driver_name(),
            "gateway listening"
        );
        Ok(Self {
            server,
            shutdown,
            hub,
            hub_task,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Which I/O driver runs.
    pub fn driver_name(&self) -> &'static str {
        self.server.driver_name()
    }

    /// The sessions.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Sends Reconnect (op 7) to every connection, closes them (their sessions stay
    /// resumable for the resume window — with Redis, on any gateway process, from the
    /// checkpoints written now), waits up to `grace`, and stops. Blocks: call it from outside
    /// async code or in `spawn_blocking`.
    pub fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        self.server.shutdown(grace);
        relay::checkpoint_all_blocking(&self.hub);
        self.hub_task.abort();
    }
}

/// The codec's settings from the config section (the config crate does not depend on the
/// codec, so the section mirrors [`CompressSettings`]; the test below keeps their defaults one).
fn compress_settings(z: &accord_config::GatewayCompressionConfig) -> CompressSettings {
    CompressSettings {
        zlib_level: z.zlib_level,
        zlib_window_bits: z.zlib_window_bits,
        zstd_level: z.zstd_level,
        zstd_window_log: z.zstd_window_log,
        zstd_hash_log: z.zstd_hash_log,
        zstd_chain_log: z.zstd_chain_log,
        zstd_max_block_size: z.zstd_max_block_size,
        zstd_share_when_quiet: z.zstd_share_when_quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_defaults_are_the_codecs_defaults() {
        assert_eq!(
            compress_settings(&accord_config::GatewayCompressionConfig::default()),
            CompressSettings::default()
        );
    }
}
