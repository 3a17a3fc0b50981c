//! `kubectl port-forward` on the node: `/portForward/{namespace}/{pod}`, SPDY/3.1 with the
//! `portforward.k8s.io` protocol, either as a plain HTTP upgrade or tunnelled in WebSocket
//! binary messages (`SPDY/3.1+portforward.k8s.io`, kubectl 1.31+). For each local connection
//! the client opens an `error` and a `data` stream with the same `requestID` and the remote
//! `port`; the data stream is joined to a TCP connection to that port on the Pod's own
//! `localhost` (made inside its network namespace, as the kubelet does).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::spdy::{Session, Stream};

/// Serves one port-forward session until the client goes away.
pub async fn serve(mut session: Session, netns: PathBuf, pod: String) {
    let mut halves: HashMap<String, (Option<Stream>, Option<Stream>)> = HashMap::new();
    while let Some(stream) = session.accept().await {
        let id = stream.header("requestid").unwrap_or_default().to_string();
        let entry = halves.entry(id.clone()).or_default();
        match stream.header("streamtype") {
            Some("error") => entry.0 = Some(stream),
            Some("data") => entry.1 = Some(stream),
            _ => continue,
        }
        if let (Some(_), Some(_)) = entry {
            if let Some((Some(error), Some(data))) = halves.remove(&id) {
                tokio::spawn(forward(error, data, netns.clone(), pod.clone()));
            }
        }
    }
}

async fn forward(error: Stream, mut data: Stream, netns: PathBuf, pod: String) {
    let port = data.header("port").and_then(|p| p.parse::<u16>().ok());
    let connected = match port {
        Some(port) => {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let ns = netns.clone();
            tokio::task::spawn_blocking(move || skiff_net::netns::connect_in(&ns, address))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)))
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    tokio::net::TcpStream::from_std(s)
                })
                .map_err(|e| {
                    format!(
                        "error forwarding port {port} to pod {pod}: failed to connect to localhost:{port} inside namespace {}: {e}",
                        netns.display()
                    )
                })
        }
        None => Err(format!("invalid port {:?}", data.header("port").unwrap_or_default())),
    };
    let tcp = match connected {
        Ok(tcp) => tcp,
        Err(message) => {
            tracing::info!(%message, "port-forward");
            error.writer.send(message.as_bytes()).await;
            error.writer.close().await;
            data.writer.close().await;
            return;
        }
    };
    let (mut read, mut write) = tcp.into_split();
    let upstream = async {
        while let Some(bytes) = data.data.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = write.shutdown().await;
    };
    let writer = data.writer.clone();
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n @ 1..) = read.read(&mut buf).await {
            if !writer.send(&buf[..n]).await {
                break;
            }
        }
        writer.close().await;
    };
    tokio::join!(upstream, downstream);
    error.writer.close().await;
}

/// Carries a byte stream in WebSocket binary messages (kubectl 1.31+ tunnels SPDY this way):
/// returns the other end of a pipe whose bytes travel over `socket`.
pub fn tunnel(socket: WebSocket) -> tokio::io::DuplexStream {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut pipe_read, mut pipe_write) = tokio::io::split(ours);
    let (mut sink, mut messages) = socket.split();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n @ 1..) = pipe_read.read(&mut buf).await {
            if sink.send(Message::Binary(bytes::Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                return;
            }
        }
        let _ = sink.send(super::normal_close()).await;
    });
    tokio::spawn(async move {
        while let Some(Ok(message)) = messages.next().await {
            match message {
                Message::Binary(b) if pipe_write.write_all(&b).await.is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = pipe_write.shutdown().await;
    });
    theirs
}
