//! A TCP gate in front of a function's `cargo lambda watch`: the address callers use stays the
//! same while the `watch` behind it is replaced.
//!
//! When the chaos run crashes a deliverer, a new `watch` takes its place (as Lambda starts a new
//! execution environment). Callers must not reach the new `watch` before it is warmed up: an
//! invocation that arrives while it is still starting its first instance can be left waiting by
//! `cargo lambda watch`. The gate refuses connections (accepts and closes them at once: the
//! local event source sees a failed invocation, and the batch comes back after its visibility
//! timeout, as on Lambda) until it is pointed at the new `watch`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use tokio::net::{TcpListener, TcpStream};

/// A running gate; dropping it stops accepting.
#[derive(Debug)]
pub struct Gate {
    target: Arc<AtomicU16>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// Listens on `port` (127.0.0.1), forwarding to `target`.
    pub fn open(port: u16, target: u16) -> Result<Gate, String> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(TcpListener::from_std)
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let target = Arc::new(AtomicU16::new(target));
        let to = Arc::clone(&target);
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let port = to.load(Ordering::SeqCst);
                if port == 0 {
                    drop(inbound); // closed: refuse
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Ok(Gate { target, accepting })
    }

    /// Refuses new connections until [`Gate::point_to`].
    pub fn close(&self) {
        self.target.store(0, Ordering::SeqCst);
    }

    /// Forwards new connections to `port`.
    pub fn point_to(&self, port: u16) {
        self.target.store(port, Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    let _ = socket.write_all(&buf[..n]).await;
                });
            }
        });
        port
    }

    async fn round_trip(port: u16) -> Vec<u8> {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = socket.write_all(b"ping").await;
        let mut out = Vec::new();
        let _ = socket.read_to_end(&mut out).await;
        out
    }

    #[tokio::test]
    async fn forwards_refuses_while_closed_and_follows_the_new_target() {
        let first = echo_server().await;
        let port = crate::moto::free_port();
        let gate = Gate::open(port, first).unwrap();
        assert_eq!(round_trip(port).await, b"ping");
        gate.close();
        assert_eq!(round_trip(port).await, b"", "closed: nothing answers");
        gate.point_to(echo_server().await);
        assert_eq!(round_trip(port).await, b"ping");
    }
}
