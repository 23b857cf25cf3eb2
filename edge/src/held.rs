//! The upstream connection a client connection keeps between its requests.
//!
//! After an exchange that leaves its upstream connection reusable, the client connection keeps
//! that connection for its own next request, instead of returning it to Pingora's keep-alive
//! pool and taking one from it again. The pool costs, per request, a task spawned to watch the
//! idle connection, a timer, locks and two readiness checks; a kept connection costs one
//! readiness check. The round-robin choice of an address is unchanged: the kept connection is
//! used only when the choice falls on its address (always, for an upstream of one address),
//! and goes back to the pool otherwise, or when the client connection ends.
//!
//! At most as many connections as the pool holds (Pingora's `upstream_keepalive_pool_size`,
//! 128) are kept this way across the process, so many idle clients do not hold as many
//! upstream connections; past that, connections go to the pool as before. A kept connection idle for longer than
//! `edge.timeouts.upstream_idle_secs`, or that the upstream closed meanwhile, is closed rather
//! than used.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pingora::connectors::TransportConnector;
use pingora::protocols::Stream;
use tokio::io::{AsyncRead, ReadBuf};

/// An idle upstream connection kept by a client connection.
pub struct Held {
    stream: Stream,
    addr: SocketAddr,
    /// The pool's key for the connection's peer.
    key: u64,
    since: Instant,
    _slot: Slot,
}

/// How many connections are kept by client connections, and how many may be.
#[derive(Debug)]
pub struct HeldCount {
    now: AtomicUsize,
    cap: usize,
}

/// One kept connection's place in the count, given back when dropped.
struct Slot(Arc<HeldCount>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HeldCount {
    /// At most `cap` kept connections.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicUsize::new(0),
            cap,
        })
    }

    /// A place for one more kept connection, if the cap allows.
    fn slot(self: &Arc<Self>) -> Option<Slot> {
        self.now
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.clone()))
    }

    /// How many connections are kept now.
    pub fn kept(&self) -> usize {
        self.now.load(Ordering::Relaxed)
    }
}

/// Keeps `stream`, reusable, to `addr` (pool key `key`) in `held` when the slot is free and
/// the cap allows; else returns it to `pool`.
pub fn keep(
    held: &mut Option<Held>,
    count: &Arc<HeldCount>,
    pool: &TransportConnector,
    stream: Stream,
    addr: SocketAddr,
    key: u64,
    idle: Duration,
) {
    match held.is_none().then(|| count.slot()).flatten() {
        Some(slot) => {
            *held = Some(Held {
                stream,
                addr,
                key,
                since: Instant::now(),
                _slot: slot,
            });
        }
        None => pool.release_stream(stream, key, Some(idle)),
    }
}

/// The kept connection, when it is to `addr`, has been idle for less than `idle` and is still
/// open. One to another address goes back to `pool`; a stale or closed one is closed.
pub fn take(
    held: &mut Option<Held>,
    pool: &TransportConnector,
    addr: SocketAddr,
    idle: Duration,
) -> Option<Stream> {
    let kept = held.take()?;
    if kept.addr != addr {
        release(Some(kept), pool, idle);
        return None;
    }
    let Held {
        mut stream, since, ..
    } = kept;
    (since.elapsed() < idle && still_open(&mut stream)).then_some(stream)
}

/// Returns the kept connection, if any, to `pool` (the client connection is ending).
pub fn release(held: Option<Held>, pool: &TransportConnector, idle: Duration) {
    if let Some(Held {
        stream, key, since, ..
    }) = held
    {
        let left = idle.saturating_sub(since.elapsed());
        if !left.is_zero() {
            pool.release_stream(stream, key, Some(left));
        }
    }
}

/// Whether an idle connection is still open and silent: a read that would wait. End of stream,
/// an error or unexpected bytes from the upstream all mean it is not to be used.
fn still_open(stream: &mut Stream) -> bool {
    let mut byte = [0u8; 1];
    let mut buf = ReadBuf::new(&mut byte);
    let mut cx = Context::from_waker(Waker::noop());
    matches!(Pin::new(stream).poll_read(&mut cx, &mut buf), Poll::Pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_stops_at_its_cap_and_drops_give_places_back() {
        let count = HeldCount::new(2);
        let a = count.slot().expect("first");
        let b = count.slot().expect("second");
        assert!(count.slot().is_none(), "past the cap");
        assert_eq!(count.kept(), 2);
        drop(a);
        assert_eq!(count.kept(), 1);
        let c = count.slot().expect("a place was given back");
        drop((b, c));
        assert_eq!(count.kept(), 0);
    }

    #[tokio::test]
    async fn a_connection_the_peer_closed_is_not_still_open() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut stream: Stream = Box::new(pingora::protocols::l4::stream::Stream::from(client));
        // Readiness is learnt from the reactor: let it see the (absent) events first.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(still_open(&mut stream), "an idle, open connection");
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!still_open(&mut stream), "the peer closed it");
    }
}
