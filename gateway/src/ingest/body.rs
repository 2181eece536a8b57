//! Reading a request body with a hard byte cap, so an oversized upload is
//! refused (413) while it streams in, before it is buffered or sent upstream.

use bytes::{Buf, Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

/// Why a capped read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// The body is (or declared itself) larger than `limit` bytes → 413.
    #[error("request body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The body stream failed (client went away, bad framing).
    #[error("reading the request body failed")]
    Body(#[source] E),
}

/// Reads all of `body`, refusing more than `cap` bytes. A declared length
/// (`Content-Length`) over the cap is refused before reading anything.
pub async fn read_capped<B>(body: B, cap: usize) -> Result<Bytes, ReadError<B::Error>>
where
    B: Body,
{
    let declared = body.size_hint().lower();
    if usize::try_from(declared).map_or(true, |d| d > cap) {
        return Err(ReadError::TooLarge { limit: cap });
    }
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Body)?;
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers carry nothing we need
        };
        let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
        if held + data.remaining() > cap {
            return Err(ReadError::TooLarge { limit: cap });
        }
        // The common case is one frame: keep it without copying.
        match first.take() {
            None if buf.is_empty() => first = Some(data.copy_to_bytes(data.remaining())),
            previous => {
                if let Some(previous) = previous {
                    buf.extend_from_slice(&previous);
                }
                while data.has_remaining() {
                    let chunk = data.chunk();
                    let n = chunk.len();
                    buf.extend_from_slice(chunk);
                    data.advance(n);
                }
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use http_body_util::Full;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Data frames without a size hint, like a chunked upload.
    struct Chunks(std::vec::IntoIter<&'static str>);

    fn chunks(parts: &[&'static str]) -> Chunks {
        Chunks(Vec::from(parts).into_iter())
    }

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            let next = self.0.next();
            Poll::Ready(next.map(|s| Ok(Frame::data(Bytes::from_static(s.as_bytes())))))
        }
    }

    #[tokio::test]
    async fn reads_within_the_cap() {
        let body = Full::new(Bytes::from_static(b"hello"));
        assert_eq!(read_capped(body, 5).await.expect("fits"), "hello");
        assert_eq!(
            read_capped(chunks(&["he", "ll", "o"]), 5)
                .await
                .expect("fits"),
            "hello"
        );
        assert_eq!(read_capped(chunks(&[]), 5).await.expect("empty"), "");
    }

    #[tokio::test]
    async fn refuses_over_the_cap() {
        let declared = Full::new(Bytes::from_static(b"too long"));
        assert!(matches!(
            read_capped(declared, 4).await,
            Err(ReadError::TooLarge { limit: 4 })
        ));
        assert!(matches!(
            read_capped(chunks(&["abc", "def"]), 4).await,
            Err(ReadError::TooLarge { limit: 4 })
        ));
    }
}
