//! Keeps a zero-downtime upgrade (hand-over of the listening socket) from cutting requests.
//!
//! When its accept loops end, Pingora drops every HTTP/1 connection that is waiting for a
//! request (its `cleanup`), a fresh one included. A connection the old process accepted a moment
//! before it stopped accepting, whose request had not arrived yet, was closed unanswered, and the
//! client, which had already written the request, saw a reset. [`HandOverApp`] wraps the HTTP
//! proxy app: it waits for the first byte of a new connection's first request before Pingora's
//! HTTP session sees the connection (so no fresh connection is parked in Pingora's wait), and
//! during a hand-over it holds the `cleanup` back for the drain period, so keep-alive
//! connections still open in the old process are answered (with `Connection: close`, see
//! [`crate::proxy`]) rather than cut as their next request arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use accord_config::EdgeConfig;
use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::protocols::Stream;
use pingora::server::ShutdownWatch;

/// An app holding a connection until its first byte, and its cleanup during a hand-over.
pub struct HandOverApp<A> {
    inner: Arc<A>,
    handing_over: Arc<AtomicBool>,
    /// How long a new connection may stay silent (`edge.timeouts.client_read_secs`).
    first_byte: Duration,
    /// How long the cleanup waits during a hand-over.
    drain: Duration,
}

impl<A> HandOverApp<A> {
    /// Wraps `inner` with the edge's client read timeout and drain period.
    pub fn for_edge(inner: A, handing_over: &Arc<AtomicBool>, edge: &EdgeConfig) -> Self {
        Self::new(
            inner,
            handing_over.clone(),
            Duration::from_secs(edge.timeouts.client_read_secs.max(1)),
            Duration::from_secs(edge.drain_secs),
        )
    }

    /// Wraps `inner`. `drain` is the hand-over's drain period (`edge.drain_secs`); the cleanup
    /// runs a second before it ends, so Pingora's runtime shutdown does not find those
    /// connections still open.
    fn new(inner: A, handing_over: Arc<AtomicBool>, first_byte: Duration, drain: Duration) -> Self {
        Self {
            inner: Arc::new(inner),
            handing_over,
            first_byte,
            drain: drain.saturating_sub(Duration::from_secs(1)),
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for HandOverApp<A> {
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        // Reads one byte and puts it back (plain TCP; other streams answer `false` at once).
        let mut first = [0u8; 1];
        match tokio::time::timeout(self.first_byte, stream.try_peek(&mut first)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!("edge: a connection closed before its first request: {e}");
                return None;
            }
            Err(_) => {
                tracing::debug!("edge: a connection sent nothing in time: closed");
                return None;
            }
        }
        self.inner.process_new(stream, shutdown).await
    }

    async fn cleanup(&self) {
        if self.handing_over.load(Ordering::SeqCst) {
            tokio::time::sleep(self.drain).await;
        }
        self.inner.cleanup().await;
    }
}
