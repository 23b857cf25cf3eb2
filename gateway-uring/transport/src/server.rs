//! The thread-per-core server: one OS thread per listener, each running its own monoio runtime
//! (io_uring or epoll) and accepting from its own `SO_REUSEPORT` socket on the shared port;
//! connections are upgraded there (after the TLS handshake when TLS is on) and handed to that
//! thread's handler.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use monoio::io::Splitable;
use monoio::net::{TcpListener, TcpStream};
use monoio::time::TimeDriver;
use monoio::{IoUringDriver, LegacyDriver, Runtime, RuntimeBuilder};
use rustls::ServerConfig;
use socket2::{Domain, Protocol, Socket, Type};

use crate::conn::{self, Either, race};
use crate::direct::{self, Ring};
use crate::halves::{ReadHalf, WriteHalf};
use crate::handshake::{self, HandshakeError, UpgradeRequest};
use crate::signal::{Abort, Control};
use crate::{Conn, Driver, TransportConfig, tls};

/// Listen backlog of every socket.
const BACKLOG: i32 = 1024;
/// Pause after an accept error (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// How often a stopping thread checks whether its connections are gone.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// The running listeners.
pub struct Server {
    local_addr: SocketAddr,
    driver: &'static str,
    control: Arc<Control>,
    threads: Vec<JoinHandle<()>>,
}

/// The runtime a gateway thread runs.
enum AnyRuntime {
    Uring(Runtime<TimeDriver<IoUringDriver>>),
    Legacy(Runtime<TimeDriver<LegacyDriver>>),
}

/// Builds a runtime for `driver`, timers enabled.
fn build_runtime(driver: Driver) -> io::Result<AnyRuntime> {
    let uring = || {
        RuntimeBuilder::<IoUringDriver>::new()
            .enable_timer()
            .build()
            .map(AnyRuntime::Uring)
    };
    let legacy = || {
        RuntimeBuilder::<LegacyDriver>::new()
            .enable_timer()
            .build()
            .map(AnyRuntime::Legacy)
    };
    match driver {
        Driver::IoUring => uring(),
        Driver::Epoll => legacy(),
        Driver::Auto if monoio::utils::detect_uring() => uring().or_else(|e| {
            tracing::warn!(error = %e, "io_uring runtime failed to build; using epoll");
            legacy()
        }),
        Driver::Auto => legacy(),
    }
}

/// A nonblocking listening socket with `SO_REUSEADDR` and `SO_REUSEPORT`.
fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// What each thread needs besides its listener.
struct ThreadArgs<S> {
    index: usize,
    config: TransportConfig,
    /// The loaded TLS configuration when TLS is on.
    tls: Option<Arc<ServerConfig>>,
    setup: Arc<S>,
    control: Arc<Control>,
    ready: mpsc::Sender<io::Result<&'static str>>,
}

impl Server {
    /// Starts `config.threads` threads. On each, `setup(thread_index)` runs inside the thread's
    /// runtime (so it may `monoio::spawn` per-thread background tasks) and returns that thread's
    /// handler; every accepted and upgraded connection is passed to it and the returned future
    /// is spawned on that thread.
    ///
    /// Returns once every thread accepts, or with the first start-up error (unreadable or
    /// invalid TLS certificate or key, bind failure, io_uring unavailable with
    /// [`Driver::IoUring`], a panicking `setup`).
    pub fn start<S, H, F>(config: TransportConfig, setup: S) -> io::Result<Server>
    where
        S: Fn(usize) -> H + Send + Sync + 'static,
        H: Fn(Conn) -> F + 'static,
        F: Future<Output = ()> + 'static,
    {
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let tls = config.tls.as_ref().map(tls::load).transpose()?;
        let first = bind(config.addr)?;
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..threads {
            listeners.push(bind(local_addr)?);
        }

        let setup = Arc::new(setup);
        let control = Arc::new(Control::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut server = Server {
            local_addr,
            driver: "",
            control: control.clone(),
            threads: Vec::with_capacity(threads),
        };
        for (index, listener) in listeners.into_iter().enumerate() {
            let args = ThreadArgs {
                index,
                config: config.clone(),
                tls: tls.clone(),
                setup: setup.clone(),
                control: control.clone(),
                ready: ready_tx.clone(),
            };
            let spawned = std::thread::Builder::new()
                .name(format!("gateway-{index}"))
                .spawn(move || run_thread(listener, args));
            match spawned {
                Ok(handle) => server.threads.push(handle),
                Err(e) => {
                    server.stop_and_join(Duration::ZERO);
                    return Err(e);
                }
            }
        }
        drop(ready_tx);

        let mut failure = None;
        for _ in 0..threads {
            match ready_rx.recv() {
                Ok(Ok(name)) => server.driver = name,
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure.get_or_insert_with(|| {
                        io::Error::other("a gateway thread ended during start-up")
                    });
                    break;
                }
            }
        }
        if let Some(e) = failure {
            server.stop_and_join(Duration::ZERO);
            return Err(e);
        }
        tracing::info!(
            addr = %local_addr,
            threads,
            driver = server.driver,
            tls = tls.is_some(),
            "gateway transport listening"
        );
        Ok(server)
    }

    /// The bound address (the real port when `addr` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Which driver the threads run ("io_uring" or "epoll").
    pub fn driver_name(&self) -> &'static str {
        self.driver
    }

    /// Stops accepting, waits up to `grace` for open connections to finish, then stops the
    /// threads (open connections are dropped).
    pub fn shutdown(mut self, grace: Duration) {
        self.stop_and_join(grace);
    }

    fn stop_and_join(&mut self, grace: Duration) {
        self.control.stop(Instant::now() + grace);
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a gateway thread panicked");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop_and_join(Duration::ZERO);
        }
    }
}

/// Body of one gateway thread.
fn run_thread<S, H, F>(listener: std::net::TcpListener, args: ThreadArgs<S>)
where
    S: Fn(usize) -> H + Send + Sync + 'static,
    H: Fn(Conn) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    match build_runtime(args.config.driver) {
        Ok(AnyRuntime::Uring(mut rt)) => rt.block_on(thread_main(listener, args, "io_uring")),
        Ok(AnyRuntime::Legacy(mut rt)) => rt.block_on(thread_main(listener, args, "epoll")),
        Err(e) => {
            let _ = args.ready.send(Err(e));
        }
    }
}

/// Counts a thread's open connections; one guard lives as long as a connection's tasks.
struct OpenGuard(Rc<Cell<usize>>);

impl OpenGuard {
    fn new(open: &Rc<Cell<usize>>) -> OpenGuard {
        open.set(open.get() + 1);
        OpenGuard(open.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Per-thread settings every connection task shares.
struct Shared<H> {
    handler: H,
    max_message: usize,
    handshake_timeout: Duration,
    tls: Option<Arc<ServerConfig>>,
    abort: Rc<Abort>,
    /// The thread's ring of direct descriptors, when connections are held there.
    ring: Option<Rc<Ring>>,
}

/// Accepts until stopped, then drains the thread's connections.
async fn thread_main<S, H, F>(
    listener: std::net::TcpListener,
    args: ThreadArgs<S>,
    driver: &'static str,
) where
    S: Fn(usize) -> H + Send + Sync + 'static,
    H: Fn(Conn) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let ThreadArgs {
        index,
        config,
        tls,
        setup,
        control,
        ready,
    } = args;
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let (ring, ring_driver) = if config.direct_descriptors && driver == "io_uring" && tls.is_none()
    {
        match Ring::start() {
            Ok((ring, task)) => (Some(ring), Some(task)),
            Err(e) => {
                tracing::warn!(thread = index, error = %e, "no io_uring file table; plain descriptors");
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    let direct_table = ring.as_ref().map_or(0, |r| r.table());
    let shared = Rc::new(Shared {
        handler: setup(index),
        max_message: config.max_message,
        handshake_timeout: config.handshake_timeout,
        tls,
        abort: Rc::new(Abort::default()),
        ring,
    });
    drop(setup);
    let _ = ready.send(Ok(driver));
    drop(ready);
    tracing::info!(
        thread = index,
        driver,
        direct_table,
        "gateway thread accepting"
    );

    let open = Rc::new(Cell::new(0usize));
    loop {
        match race(pin!(listener.accept()), pin!(control.stopped())).await {
            Either::Right(()) => break,
            Either::Left(Ok((stream, peer))) => {
                let guard = OpenGuard::new(&open);
                // Boxed: a task keeps its arguments' room for its whole life.
                monoio::spawn(serve(Box::new((stream, peer)), shared.clone(), guard));
            }
            Either::Left(Err(e)) => {
                tracing::warn!(thread = index, error = %e, "accept failed");
                monoio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
    drop(listener);

    let deadline = control.deadline();
    while open.get() > 0 && Instant::now() < deadline {
        monoio::time::sleep(DRAIN_POLL).await;
    }
    let left = open.get();
    if left > 0 {
        tracing::info!(
            thread = index,
            connections = left,
            "dropping open connections"
        );
        shared.abort.fire();
        while open.get() > 0 {
            monoio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    if let (Some(ring), Some(task)) = (&shared.ring, ring_driver) {
        // The driver task submits the last closes and ends.
        ring.stop();
        task.await;
    }
    tracing::info!(thread = index, "gateway thread stopped");
}

/// Why the handshake did not produce a connection.
enum Refused {
    /// The request was bad: answer it.
    Bad(HandshakeError),
    /// The socket failed or closed.
    Io,
}

/// Reads the upgrade request; returns it with the bytes received after it.
async fn read_request(read: &mut ReadHalf) -> Result<(UpgradeRequest, BytesMut), Refused> {
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        match handshake::parse_request(&buf) {
            Ok(Some(request)) => {
                let rest = buf.split_off(request.consumed);
                return Ok((request, rest));
            }
            Ok(None) => {}
            Err(e) => return Err(Refused::Bad(e)),
        }
        buf.reserve(1024);
        let start = buf.len();
        let end = buf
            .capacity()
            .min(handshake::MAX_REQUEST_BYTES + 1)
            .max(start + 1);
        let (result, back) = read.read(buf, end).await;
        buf = back;
        match result {
            Ok(0) | Err(_) => return Err(Refused::Io),
            Ok(_) => {}
        }
    }
}

/// Runs the handshake and answers it (101, or a refusal); the request on success.
async fn handshake(
    read: &mut ReadHalf,
    write: &mut WriteHalf,
) -> Option<(UpgradeRequest, BytesMut)> {
    match read_request(read).await {
        Ok((request, rest)) => {
            let response = handshake::switching_protocols(&request.key);
            let (result, _) = write.write_all(response).await;
            result.ok().map(|_| (request, rest))
        }
        Err(Refused::Bad(e)) => {
            tracing::debug!(error = %e, "upgrade refused");
            let _ = write.write_all(e.response()).await;
            let _ = write.shutdown().await;
            None
        }
        Err(Refused::Io) => None,
    }
}

/// An upgraded connection: its halves, the request and the bytes received after it.
type Opened = (ReadHalf, WriteHalf, UpgradeRequest, BytesMut);

/// Splits the stream (moving it into the thread's ring when there is one), runs the TLS
/// handshake when `tls` is set, then the HTTP upgrade.
async fn open(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<&Arc<ServerConfig>>,
    ring: Option<&Rc<Ring>>,
) -> Option<Opened> {
    if let Some(socket) = ring.and_then(|ring| ring.adopt(stream.as_raw_fd())) {
        // The table holds the socket now: the descriptor goes.
        drop(stream);
        let (read, write) = direct::split(socket);
        let (mut read, mut write) = (ReadHalf::Direct(read), WriteHalf::Direct(write));
        let (request, rest) = handshake(&mut read, &mut write).await?;
        return Some((read, write, request, rest));
    }
    let (read, write) = stream.into_split();
    let (mut read, mut write) = match tls {
        None => (ReadHalf::Plain(read), WriteHalf::Plain(write)),
        Some(config) => match tls::accept(config.clone(), read, write).await {
            Ok((read, write)) => (ReadHalf::Tls(Box::new(read)), WriteHalf::Tls(write)),
            Err(e) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return None;
            }
        },
    };
    let (request, rest) = handshake(&mut read, &mut write).await?;
    Some((read, write, request, rest))
}

/// One connection: TLS and HTTP handshakes under the timeout, then the handler.
async fn serve<H, F>(
    accepted: Box<(TcpStream, SocketAddr)>,
    shared: Rc<Shared<H>>,
    guard: OpenGuard,
) where
    H: Fn(Conn) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let guard: Rc<dyn std::any::Any> = Rc::new(guard);
    let Some(conn) = upgrade(*accepted, &shared, guard.clone()).await else {
        return;
    };
    race(pin!((shared.handler)(conn)), pin!(shared.abort.fired())).await;
    drop(guard);
}

/// The handshakes (boxed, under the timeout); the upgraded connection, or `None` when they
/// failed, timed out or the server aborted. A function of its own so that none of its state is
/// part of the connection's task once the handler runs.
async fn upgrade<H>(
    (stream, peer): (TcpStream, SocketAddr),
    shared: &Shared<H>,
    guard: Rc<dyn std::any::Any>,
) -> Option<Conn> {
    let _ = stream.set_nodelay(true);
    let upgraded = race(
        Box::pin(monoio::time::timeout(
            shared.handshake_timeout,
            open(stream, peer, shared.tls.as_ref(), shared.ring.as_ref()),
        )),
        pin!(shared.abort.fired()),
    )
    .await;
    let (read, write, request, rest) = match upgraded {
        Either::Left(Ok(Some(done))) => done,
        Either::Left(Ok(None)) | Either::Right(()) => return None,
        Either::Left(Err(_)) => {
            tracing::debug!(%peer, "handshake timed out");
            return None;
        }
    };
    let (reader, writer) = conn::split(
        read,
        write,
        rest,
        shared.max_message,
        guard,
        shared.abort.clone(),
    );
    Some(Conn {
        peer,
        path: request.path,
        query: request.query,
        reader,
        writer,
    })
}
