//! Servers for the HTTP layer's tests, on the test's own runtime: scripted replies over plain
//! TCP or TLS (a self-signed certificate for `localhost` and `127.0.0.1`, in `testdata/`), and
//! a forward proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The requests a server read, each as text (head and body), in order.
#[derive(Clone, Default)]
pub(super) struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    pub(super) fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn push(&self, request: &[u8]) -> usize {
        let mut seen = self.0.lock().unwrap();
        seen.push(String::from_utf8_lossy(request).into_owned());
        seen.len() - 1
    }
}

/// Reads one request (head and `Content-Length` body); `None` once the peer closed.
pub(super) async fn read_request(socket: &mut (impl AsyncRead + Unpin)) -> Option<Vec<u8>> {
    let mut request = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = socket.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            if request.len() >= end + 4 + length {
                return Some(request);
            }
        }
    }
}

/// Answers every request of every connection with the next of `replies` (the last one
/// repeated; an empty one closes the connection instead), over TLS when `tls`. Returns the
/// address and the requests read.
pub(super) async fn start(replies: Vec<String>, tls: bool) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let acceptor = tls.then(acceptor);
    let (replies, log) = (Arc::new(replies), seen.clone());
    tokio::spawn(async move {
        let next = Arc::new(AtomicUsize::new(0));
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let (replies, log, next) = (Arc::clone(&replies), log.clone(), Arc::clone(&next));
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        // A client that refuses the certificate ends the handshake.
                        if let Ok(socket) = acceptor.accept(socket).await {
                            answer(socket, &replies, &log, &next).await;
                        }
                    }
                    None => answer(socket, &replies, &log, &next).await,
                }
            });
        }
    });
    (address, seen)
}

async fn answer(
    mut socket: impl AsyncRead + AsyncWrite + Unpin,
    replies: &[String],
    seen: &Seen,
    next: &AtomicUsize,
) {
    while let Some(request) = read_request(&mut socket).await {
        seen.push(&request);
        let i = next.fetch_add(1, Ordering::SeqCst);
        let reply = &replies[i.min(replies.len() - 1)];
        if reply.is_empty() {
            return;
        }
        socket.write_all(reply.as_bytes()).await.unwrap();
    }
}

/// A reply with `status` (e.g. `200 OK`), `extra` header lines (each ending in `\r\n`) and
/// `body`.
pub(super) fn reply(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

/// A forward proxy: a `CONNECT host:port` request is answered `200` and tunnelled to
/// `127.0.0.1:port`; any other request is answered `200` with the body `via proxy`. Returns the
/// address and the requests (a tunnel's `CONNECT` only) it read.
pub(super) async fn proxy() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                while let Some(request) = read_request(&mut socket).await {
                    let head = String::from_utf8_lossy(&request).into_owned();
                    log.push(&request);
                    if let Some(target) = head.strip_prefix("CONNECT ") {
                        let port = target.split([' ', ':']).nth(1).unwrap();
                        let mut upstream = TcpStream::connect(format!("127.0.0.1:{port}"))
                            .await
                            .unwrap();
                        socket
                            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .await
                            .unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                        return;
                    }
                    let answer = reply("200 OK", "", "via proxy");
                    socket.write_all(answer.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (address, seen)
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificate = CertificateDer::from_pem_slice(include_bytes!("testdata/localhost.crt"))
        .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("testdata/localhost.key"))
        .expect("the test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certificate], key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
