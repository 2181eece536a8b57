//! A deadline on a connection's first byte (after the TLS handshake).
//!
//! hyper bounds the reading of a request head once one has begun, but
//! hyper-util's `auto` builder first sniffs the connection for the HTTP/2
//! preface, and that read has no bound: a client that connects (and
//! completes the handshake) and then says nothing would hold its connection,
//! and one of the gateway's `server.max_connections` slots, forever. Both
//! listeners wrap their streams in [`FirstByte`], which fails the first read
//! with `TimedOut` when no byte arrived within the request-head timeout;
//! afterwards it is a plain pass-through (one flag test per read).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `inner` whose first byte must arrive before `timeout` runs out.
pub struct FirstByte<T> {
    inner: T,
    /// `None` once a byte has been read.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> FirstByte<T> {
    pub fn new(inner: T, timeout: Duration) -> Self {
        FirstByte {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for FirstByte<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline.as_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.deadline = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request within the request-head timeout",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FirstByte<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_then_bytes_pass_freely() {
        let (a, _b) = tokio::io::duplex(64);
        let mut silent = FirstByte::new(a, Duration::from_secs(1));
        let mut buf = [0u8; 8];
        let e = silent.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);

        let (a, mut b) = tokio::io::duplex(64);
        let mut talker = FirstByte::new(a, Duration::from_secs(1));
        b.write_all(b"GET").await.unwrap();
        assert_eq!(talker.read(&mut buf).await.unwrap(), 3);
        // After the first byte the deadline is gone: a long pause is fine.
        tokio::time::sleep(Duration::from_secs(5)).await;
        b.write_all(b" /").await.unwrap();
        assert_eq!(talker.read(&mut buf).await.unwrap(), 2);
    }
}
