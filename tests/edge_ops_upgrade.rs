//! Zero-downtime upgrade of `accord edge`: while clients keep sending requests (on kept-alive
//! connections and on new ones), a second `accord edge --upgrade` takes the listening socket
//! over through `edge.upgrade_sock`, the first one gets SIGQUIT, drains and exits, and no
//! request fails.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::backend::backend;
use support::{Running, free_port, start, stop};

fn write_config(dir: &Path, edge: u16, admin: u16, app: u16) {
    let sock = dir.join("upgrade.sock");
    let toml = format!(
        "[edge]\nlisten = \"127.0.0.1:{edge}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         accord_routes = false\nhealth_check_secs = 1\ndrain_secs = 2\n\
         upgrade_sock = \"{}\"\n\
         routes = [{{ path_prefix = \"/\", upstream = \"app\" }}]\n\
         [edge.throttle]\nenabled = false\n\
         [edge.upstreams]\napp = [\"127.0.0.1:{app}\"]\n",
        sock.display()
    );
    std::fs::write(dir.join("accord.toml"), toml).unwrap();
}

fn edge_cmd(dir: &Path, upgrade: bool) -> Command {
    let mut cmd = support::edge_cmd(dir);
    if upgrade {
        cmd.arg("--upgrade");
    }
    cmd
}

/// Starts a new edge with `--upgrade` (it waits for the listening socket) and sends SIGQUIT to
/// the running one (`old_pid`), which hands the socket over; returns the new one and its banner.
async fn hand_over(dir: &Path, old_pid: u32) -> (Running, String) {
    let dir = dir.to_owned();
    let new = tokio::task::spawn_blocking(move || start(edge_cmd(&dir, true)));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let quit = Command::new("kill")
        .args(["-QUIT", &old_pid.to_string()])
        .status()
        .unwrap();
    assert!(quit.success());
    new.await.unwrap()
}

/// Waits (at most 30 s) for the old edge to exit by itself.
async fn exited(old: &mut Running) -> std::process::ExitStatus {
    let child = old.0.as_mut().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the old edge did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    old.0 = None;
    status
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    failed: AtomicUsize,
    errors: std::sync::Mutex<Vec<String>>,
}

/// Sends requests in a loop until `done`, with `http`.
async fn load(http: reqwest::Client, url: String, tally: Arc<Tally>, done: Arc<AtomicBool>) {
    while !done.load(Ordering::SeqCst) {
        let outcome = match http.get(&url).send().await {
            Ok(resp) if resp.status() == 200 => {
                resp.bytes().await.map(drop).map_err(|e| format!("{e:?}"))
            }
            Ok(resp) => Err(format!("status {}", resp.status())),
            Err(e) => Err(format!("{e:?}")),
        };
        match outcome {
            Ok(()) => {
                tally.ok.fetch_add(1, Ordering::SeqCst);
            }
            Err(what) => {
                tally.failed.fetch_add(1, Ordering::SeqCst);
                tally.errors.lock().unwrap().push(what);
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_edge_takes_the_socket_over_and_no_request_fails() {
    let (app, _) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let (edge, admin) = (free_port(), free_port());
    write_config(dir.path(), edge, admin, app);
    let (mut old, _) = start(edge_cmd(dir.path(), false));
    let old_pid = old.0.as_ref().unwrap().id();

    let tally = Arc::new(Tally::default());
    let done = Arc::new(AtomicBool::new(false));
    let url = format!("http://127.0.0.1:{edge}/n");
    let kept = reqwest::Client::new();
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut clients = Vec::new();
    for http in [kept.clone(), kept, fresh.clone(), fresh] {
        clients.push(tokio::spawn(load(
            http,
            url.clone(),
            tally.clone(),
            done.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = tally.ok.load(Ordering::SeqCst);
    assert!(before > 0, "no request went through the first edge");

    let (new, banner) = hand_over(dir.path(), old_pid).await;
    assert!(banner.contains(&format!("127.0.0.1:{edge}")), "{banner}");

    // The old process accepts 5 more seconds, drains 2, then exits by itself.
    let status = exited(&mut old).await;
    assert!(status.success(), "{status:?}");
    let at_exit = tally.ok.load(Ordering::SeqCst);
    // Requests keep succeeding through the new process alone.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    done.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let ok = tally.ok.load(Ordering::SeqCst);
    let failed = tally.failed.load(Ordering::SeqCst);
    assert_eq!(failed, 0, "{:?}", tally.errors.lock().unwrap());
    assert!(ok > at_exit + 10, "{ok} after {at_exit}");
    // The new process got the admin port once the old one let it go.
    let metrics = reqwest::get(format!("http://127.0.0.1:{admin}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(stop(new).success());
}

/// Reads one HTTP/1.1 answer (head and `Content-Length` body) from `stream`; `None` when the
/// connection ends (or is reset) first.
async fn answer(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if got.len() >= end + 4 + length {
                return Some(head);
            }
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_waiting_for_a_request_are_answered_after_accepting_ends() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let (app, _) = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let (edge, admin) = (free_port(), free_port());
    write_config(dir.path(), edge, admin, app);
    // A longer drain than the other test, so the requests below come well inside it.
    let config = std::fs::read_to_string(dir.path().join("accord.toml")).unwrap();
    std::fs::write(
        dir.path().join("accord.toml"),
        config.replace("drain_secs = 2", "drain_secs = 6"),
    )
    .unwrap();
    let (mut old, _) = start(edge_cmd(dir.path(), false));
    let pid = old.0.as_ref().unwrap().id();
    let request = b"GET /n HTTP/1.1\r\nHost: edge\r\n\r\n";

    // A kept-alive connection that has had one answer, and a new one that has sent nothing.
    let mut kept = TcpStream::connect(("127.0.0.1", edge)).await.unwrap();
    kept.write_all(request).await.unwrap();
    let head = answer(&mut kept).await.expect("first answer");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let mut quiet = TcpStream::connect(("127.0.0.1", edge)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The new process takes the socket over; the old one accepts 5 s more, then drains.
    let (new, _) = hand_over(dir.path(), pid).await;
    // Past the 5 s of accepting (when Pingora drops the connections waiting for a request),
    // well inside the 6 s of draining.
    tokio::time::sleep(Duration::from_millis(6000)).await;

    // Both are still served, and told to close.
    for (what, stream) in [("new", &mut quiet), ("kept-alive", &mut kept)] {
        stream.write_all(request).await.unwrap();
        let head = answer(stream)
            .await
            .unwrap_or_else(|| panic!("the {what} connection was closed unanswered"));
        assert!(head.starts_with("http/1.1 200"), "{what}: {head}");
        assert!(head.contains("connection: close"), "{what}: {head}");
    }
    exited(&mut old).await;
    assert!(stop(new).success());
}
