//! A minimal HTTP forward proxy on loopback, for testing that a client
//! really goes through the proxy it is given: it records the request line of
//! each connection's first request (absolute-form, `POST http://host/path`)
//! and pipes the bytes to the host named there.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy: its URL, and the first request line of every connection.
pub struct ForwardProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ForwardProxy {
    /// Starts a proxy on a free port; it runs until the runtime ends.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, log.clone()));
            }
        });
        Self { url, seen }
    }

    /// The first request line of every connection made through the proxy.
    pub fn request_lines(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn forward(mut client: TcpStream, log: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or_default().to_owned();
    log.lock().expect("lock").push(line.clone());
    // `METHOD http://host:port/path HTTP/1.1`: connect to host:port.
    let Some(authority) = line
        .split_whitespace()
        .nth(1)
        .and_then(|target| target.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
    else {
        let _ = client
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(authority).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    // The origin (hyper) takes the absolute-form target as it is.
    if upstream.write_all(&head).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}
