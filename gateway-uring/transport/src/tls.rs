//! TLS for the listeners: loads the PEM certificate chain and key into a rustls `ServerConfig`
//! (ring provider, ALPN `http/1.1`), and runs rustls over the two owned halves of a split monoio
//! TCP stream.
//!
//! The rustls session sits in an `Rc<RefCell<_>>` shared by [`TlsReader`] and [`TlsWriter`] and
//! is only borrowed between awaits, never across one: the reader feeds ciphertext it read from
//! its TCP half and takes plaintext out, the writer puts plaintext in and writes the resulting
//! records on its TCP half. Only the writer ever writes to the socket, so records (including
//! ones rustls queues while reading, such as key-update answers) leave in order.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;
use monoio::buf::IoBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::tcp::{TcpOwnedReadHalf, TcpOwnedWriteHalf};
use rustls::ServerConfig;
use rustls::ServerConnection;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsSettings;

/// How much ciphertext the reader asks the socket for at a time.
const CIPHER_CHUNK: usize = 8 * 1024;

/// ALPN protocol the listener offers (the WebSocket upgrade is HTTP/1.1).
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// An `io::Error` about `path`, keeping the kind of an underlying I/O error.
fn file_error(what: &str, path: &Path, e: pem::Error) -> io::Error {
    let kind = match &e {
        pem::Error::Io(e) => e.kind(),
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, format!("TLS {what} {}: {e}", path.display()))
}

/// Loads the certificate chain and private key of `settings` into a server configuration.
/// Errors name the file at fault.
pub(crate) fn load(settings: &TlsSettings) -> io::Result<Arc<ServerConfig>> {
    let cert_path = &settings.cert_path;
    let key_path = &settings.key_path;
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| file_error("certificate", cert_path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error("certificate", cert_path, e))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "TLS certificate {}: no certificate found",
                cert_path.display()
            ),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| file_error("key", key_path, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "TLS key {} does not fit certificate {}: {e}",
                    key_path.display(),
                    cert_path.display()
                ),
            )
        })?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// The rustls session both halves share.
type Session = Rc<RefCell<ServerConnection>>;

/// Runs the TLS handshake over the halves of a freshly accepted stream (no timeout here: the
/// caller bounds it). On failure the alert rustls prepared is sent before returning.
pub(crate) async fn accept(
    config: Arc<ServerConfig>,
    read: TcpOwnedReadHalf,
    write: TcpOwnedWriteHalf,
) -> io::Result<(TlsReader, TlsWriter)> {
    let session = Rc::new(RefCell::new(
        ServerConnection::new(config).map_err(io::Error::other)?,
    ));
    let mut reader = TlsReader {
        tcp: read,
        session: session.clone(),
        cipher: Vec::new(),
        pos: 0,
    };
    let mut writer = TlsWriter {
        tcp: write,
        session,
        out: Vec::new(),
    };
    loop {
        writer.flush().await?;
        if !writer.session.borrow().is_handshaking() {
            return Ok((reader, writer));
        }
        match reader.feed().await {
            Ok(true) => {}
            Ok(false) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the socket during the TLS handshake",
                ));
            }
            Err(e) => {
                let _ = writer.flush().await;
                return Err(e);
            }
        }
    }
}

/// The reading side of a TLS connection.
pub(crate) struct TlsReader {
    tcp: TcpOwnedReadHalf,
    session: Session,
    /// Ciphertext read from the socket; `cipher[pos..]` is not yet handed to rustls.
    cipher: Vec<u8>,
    pos: usize,
}

impl TlsReader {
    /// Hands rustls more ciphertext (reading the socket when none is buffered) and processes
    /// it. `Ok(false)` at end of stream.
    async fn feed(&mut self) -> io::Result<bool> {
        if self.pos == self.cipher.len() {
            let mut cipher = std::mem::take(&mut self.cipher);
            cipher.clear();
            cipher.reserve(CIPHER_CHUNK);
            let (result, cipher) = self.tcp.read(cipher).await;
            self.cipher = cipher;
            self.pos = 0;
            if result? == 0 {
                // Tells rustls the transport ended.
                let _ = self.session.borrow_mut().read_tls(&mut io::empty());
                return Ok(false);
            }
        }
        let mut session = self.session.borrow_mut();
        let mut pending = &self.cipher[self.pos..];
        let taken = session.read_tls(&mut pending)?;
        if taken == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS session accepts no more data",
            ));
        }
        self.pos += taken;
        session
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(true)
    }

    /// Reads plaintext into `buf[buf.len()..end]` (`end` > `buf.len()`, at most its capacity);
    /// `Ok(0)` once the client ended the connection.
    pub(crate) async fn read(
        &mut self,
        mut buf: BytesMut,
        end: usize,
    ) -> (io::Result<usize>, BytesMut) {
        let start = buf.len();
        let mut eof = false;
        loop {
            let got = {
                let mut session = self.session.borrow_mut();
                buf.resize(end, 0);
                let got = session.reader().read(&mut buf[start..end]);
                buf.truncate(start + *got.as_ref().unwrap_or(&0));
                got
            };
            match got {
                Ok(n) => return (Ok(n), buf),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && eof => return (Ok(0), buf),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The socket ended without close_notify: for WebSocket, which frames its own
                // messages, that is just the end of the stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return (Ok(0), buf),
                Err(e) => return (Err(e), buf),
            }
            match self.feed().await {
                Ok(more) => eof = !more,
                Err(e) => return (Err(e), buf),
            }
        }
    }
}

/// The writing side of a TLS connection.
pub(crate) struct TlsWriter {
    tcp: TcpOwnedWriteHalf,
    session: Session,
    /// Records waiting to be written (kept for reuse).
    out: Vec<u8>,
}

impl TlsWriter {
    /// Writes every record rustls has queued.
    async fn flush(&mut self) -> io::Result<()> {
        loop {
            let mut out = std::mem::take(&mut self.out);
            out.clear();
            {
                let mut session = self.session.borrow_mut();
                while session.wants_write() {
                    session.write_tls(&mut out)?;
                }
            }
            if out.is_empty() {
                self.out = out;
                return Ok(());
            }
            let (result, out) = self.tcp.write_all(out).await;
            self.out = out;
            result?;
        }
    }

    /// Encrypts and writes all of `data`.
    pub(crate) async fn write_all<T: IoBuf + AsRef<[u8]>>(
        &mut self,
        data: T,
    ) -> (io::Result<usize>, T) {
        let total = data.as_ref().len();
        let mut done = 0;
        while done < total {
            let taken = self
                .session
                .borrow_mut()
                .writer()
                .write(&data.as_ref()[done..]);
            match taken {
                Ok(0) if !self.session.borrow().wants_write() => {
                    return (Err(io::ErrorKind::WriteZero.into()), data);
                }
                Ok(n) => done += n,
                Err(e) => return (Err(e), data),
            }
            if let Err(e) = self.flush().await {
                return (Err(e), data);
            }
        }
        (Ok(total), data)
    }

    /// Sends close_notify, then shuts the socket's write side down.
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        self.session.borrow_mut().send_close_notify();
        self.flush().await?;
        self.tcp.shutdown().await
    }
}
