//! Let's Encrypt's ACME test server, `pebble` (Debian package `pebble`, installed by
//! `scripts/test`), run on the loopback for the edge's ACME tests, with an HTTPS certificate
//! from a test CA made here (the Debian package ships none).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;
use super::tls::TestCa;

/// A running pebble, killed when dropped.
pub struct Pebble {
    child: Child,
    /// The ACME directory URL.
    pub directory: String,
    /// PEM file of the CA that signed pebble's HTTPS certificate (to trust for `directory`).
    pub ca_path: PathBuf,
    /// Port of pebble's management API (`/roots/0`: the root of the certificates it issues).
    pub management_port: u16,
    ca: TestCa,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pebble binary; panics naming the Debian package when it is missing.
fn binary() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let path = Path::new(dir).join("pebble");
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "`pebble` (Let's Encrypt's ACME test server) is not installed: install Debian's \
         `pebble` package (`apt-get install pebble`; scripts/test does it)"
    );
}

impl Pebble {
    /// Starts pebble in `dir` with every challenge considered valid (`PEBBLE_VA_ALWAYS_VALID`)
    /// and waits until its directory answers.
    pub fn start(dir: &Path, http_port: u16, tls_port: u16) -> Self {
        Self::start_with(dir, http_port, tls_port, true)
    }

    /// Starts pebble in `dir`; with `always_valid` false, it really validates challenges:
    /// HTTP-01 at `http://<domain>:<http_port>`, TLS-ALPN-01 at `<domain>:<tls_port>`.
    pub fn start_with(dir: &Path, http_port: u16, tls_port: u16, always_valid: bool) -> Self {
        let bin = binary();
        let ca = TestCa::new();
        let leaf = ca.leaf(&["localhost", "127.0.0.1"], "pebble");
        let (cert, key) = leaf.write(dir, "pebble-https");
        let ca_path = dir.join("pebble-https-ca.pem");
        std::fs::write(&ca_path, ca.cert_pem()).unwrap();
        let port = free_port();
        let management_port = free_port();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": cert,
                "privateKey": key,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = dir.join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let mut cmd = Command::new(bin);
        cmd.env_remove("PEBBLE_VA_ALWAYS_VALID");
        if always_valid {
            cmd.env("PEBBLE_VA_ALWAYS_VALID", "1");
        }
        let child = cmd
            .arg("-config")
            .arg(&config_path)
            .current_dir(dir)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pebble");
        let pebble = Self {
            child,
            directory: format!("https://127.0.0.1:{port}/dir"),
            ca_path,
            management_port,
            ca,
        };
        // Pebble opens its ACME and management listeners one after the other: wait for both.
        let deadline = Instant::now() + Duration::from_secs(20);
        for listening in [port, management_port] {
            while TcpStream::connect(("127.0.0.1", listening)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "pebble did not start listening on {listening}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        pebble
    }

    /// The root certificate of the certificates pebble issues (PEM), from its management API.
    pub async fn issuing_root(&self) -> String {
        let stream = self
            .ca
            .connect(self.management_port, "127.0.0.1")
            .await
            .expect("TLS to pebble's management API");
        let (status, text) = super::tls::get(stream, "127.0.0.1", "/roots/0").await;
        assert_eq!(status, 200, "{text}");
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        assert!(body.contains("BEGIN CERTIFICATE"), "{text}");
        body.to_owned()
    }
}
