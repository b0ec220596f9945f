//! A listener whose connections a handler can cut: how the stand-in drops a connection or
//! loses an answer, which a handler cannot do by itself. A cut connection fails its next write,
//! hyper drops the socket, and the client sees the connection close without an answer.
//!
//! Shared by the stand-ins (`slack.rs`, `hubspot/`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What a handler knows of its connection: a switch to cut it.
#[derive(Debug, Clone)]
pub struct Connection {
    cut: Arc<AtomicBool>,
}

impl Connection {
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections a handler can cut.
pub struct CuttableListener(pub TcpListener);

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (CuttableStream, Connection) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let connection = Connection {
                        cut: Arc::new(AtomicBool::new(false)),
                    };
                    let stream = CuttableStream {
                        inner: stream,
                        cut: connection.cut.clone(),
                    };
                    return (stream, connection);
                }
                // Out of file descriptors and the like: wait and accept again.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Connection> {
        let _: SocketAddr = self.0.local_addr()?;
        Ok(Connection {
            cut: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A connection that reads as closed and fails every write once cut, so hyper drops it
/// without sending anything more.
pub struct CuttableStream {
    inner: TcpStream,
    cut: Arc<AtomicBool>,
}

impl CuttableStream {
    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_cut() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
