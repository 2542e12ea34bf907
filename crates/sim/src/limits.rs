//! What a client may ask of the simulator: header size, body size, and how long a
//! request may take to arrive. `serve` is pointed at by other tools, so a client that
//! sends too much, too slowly or not at all gets an error or a closed connection,
//! never a task that waits forever.

use crate::units::HumanDuration;
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use serde::{Deserialize, Serialize};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Limits on requests.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body (S3: a PUT or a part; S3's own limit is 5 GiB). Past it
    /// the answer is `EntityTooLarge`, as S3's.
    pub max_body_bytes: u64,
    /// Largest request head (request line and headers); past it, 431. S3 allows 8 KB
    /// of headers on a PUT; the default leaves room for clients that send more.
    pub max_header_bytes: usize,
    /// Time to send a request's head, and to send the next one on an idle
    /// keep-alive connection; past it the connection is closed (slowloris clients).
    pub header_timeout: HumanDuration,
    /// Longest pause inside a request body; past it the request fails and the
    /// connection is closed (S3's RequestTimeout).
    pub body_idle_timeout: HumanDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 5 << 30,
            max_header_bytes: 64 << 10,
            header_timeout: HumanDuration(Duration::from_secs(30)),
            body_idle_timeout: HumanDuration(Duration::from_secs(30)),
        }
    }
}

impl Limits {
    /// Checks the values (hyper needs at least 8 KiB of head buffer).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_header_bytes < 8192 {
            return Err(format!(
                "limits.max_header_bytes: at least 8192, got {}",
                self.max_header_bytes
            ));
        }
        if self.header_timeout.0.is_zero() || self.body_idle_timeout.0.is_zero() {
            return Err("limits: timeouts must be above zero".into());
        }
        Ok(())
    }
}

/// Why a guarded body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More bytes than the limit.
    #[error("request body larger than {0} bytes")]
    TooLarge(u64),
    /// No data for longer than the idle timeout.
    #[error("request body stalled for more than {0:?}")]
    Stalled(Duration),
    /// The connection failed.
    #[error("reading the request body: {0}")]
    Read(#[from] hyper::Error),
}

/// A request body with a size limit and an idle timeout.
pub struct Guarded<B> {
    inner: B,
    left: u64,
    limit: u64,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<B> Guarded<B> {
    /// Guards `inner` with the limits.
    pub fn new(inner: B, limits: &Limits) -> Self {
        let idle = limits.body_idle_timeout.0;
        Guarded {
            inner,
            left: limits.max_body_bytes,
            limit: limits.max_body_bytes,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl<B> Body for Guarded<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    let n = d.len() as u64;
                    if n > this.left {
                        return Poll::Ready(Some(Err(BodyError::TooLarge(this.limit))));
                    }
                    this.left -= n;
                }
                let next = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Stalled(this.idle)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
