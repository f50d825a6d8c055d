//! Async adapters over [`SseDecoder`]: bytes stream in, events out.
//!
//! [`SseStream`] turns any `Stream<Item = Result<Bytes, E>>` into SSE events and enforces an idle
//! timeout that every received byte resets (keep-alive comments included). [`EventStream`] adds
//! the conventions of OpenAI-compatible streams: `data: [DONE]` ends it, an error event
//! (`data: {"error": ...}` or `event: error`) becomes a typed error, and a close before `[DONE]` is
//! an error too, after every event that arrived before it.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use serde_json::Value;
use tokio::time::{Instant, Sleep};

use crate::error::{snippet, ApiError, Error, StreamError, TimeoutKind};
use crate::sse::{SseDecoder, SseError, SseEvent};

/// A boxed stream of body bytes, as the HTTP layer hands it over.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// SSE events from a byte stream, with an idle timeout.
pub struct SseStream<S> {
    inner: Option<S>,
    decoder: SseDecoder,
    idle: Option<Idle>,
}

/// The idle timer. Re-arming a tokio timer on every piece is costly, so each piece only records
/// when it came; the timer, when it fires, checks that record and re-arms itself if needed.
struct Idle {
    limit: Duration,
    last_input: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl<S> std::fmt::Debug for SseStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseStream")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl<S> SseStream<S> {
    /// Decode `inner` with `decoder`; `idle_timeout` bounds the silence between two pieces of input.
    pub fn new(inner: S, decoder: SseDecoder, idle_timeout: Option<Duration>) -> Self {
        let idle = idle_timeout.map(|limit| Idle {
            limit,
            last_input: Instant::now(),
            sleep: Box::pin(tokio::time::sleep(limit)),
        });
        Self {
            inner: Some(inner),
            decoder,
            idle,
        }
    }

    /// The decoder (for its last event id).
    pub fn decoder(&self) -> &SseDecoder {
        &self.decoder
    }
}

impl<S> Stream for SseStream<S>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    type Item = Result<SseEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.decoder.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(SseError::EventTooLarge { limit }) => {
                    this.inner = None;
                    return Poll::Ready(Some(Err(StreamError::EventTooLarge { limit }.into())));
                }
            }
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(inner).poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    if let Some(idle) = &mut this.idle {
                        idle.last_input = Instant::now();
                    }
                    this.decoder.feed_bytes(bytes);
                }
                Poll::Ready(Some(Err(error))) => {
                    this.inner = None;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    this.inner = None;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if let Some(idle) = &mut this.idle {
                        loop {
                            ready!(idle.sleep.as_mut().poll(cx));
                            let deadline = idle.last_input + idle.limit;
                            if Instant::now() >= deadline {
                                this.inner = None;
                                return Poll::Ready(Some(Err(Error::Timeout(TimeoutKind::Idle))));
                            }
                            // Input came since the timer was armed: wait the rest of the limit.
                            idle.sleep.as_mut().reset(deadline);
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// The events of an OpenAI-compatible stream: each item is one `data:` event before `[DONE]`.
///
/// Ends with `None` after `[DONE]`; yields one error and then ends if the stream carried an
/// error event, broke off, went silent, or closed before `[DONE]`.
pub struct EventStream {
    inner: SseStream<ByteStream>,
    /// An event read ahead by [`prime`](Self::prime).
    pending: Option<SseEvent>,
    finished: bool,
    /// Attached to every error event this stream yields that names none itself.
    request_id: Option<String>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// Wrap a byte stream.
    pub fn new(body: ByteStream, decoder: SseDecoder, idle_timeout: Option<Duration>) -> Self {
        Self {
            inner: SseStream::new(body, decoder, idle_timeout),
            pending: None,
            finished: false,
            request_id: None,
        }
    }

    /// Attach `request_id` (the response head's) to every error event that names none itself.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// The request id errors of this stream carry.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Wait for the first event and keep it for the first `poll_next`. An error (the stream broke
    /// or carried an error event before any event) is returned here instead.
    pub async fn prime(&mut self) -> Result<(), Error> {
        match std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await {
            Some(Ok(event)) => {
                self.pending = Some(event);
                Ok(())
            }
            Some(Err(error)) => Err(error),
            None => Ok(()),
        }
    }

    /// The events of a body already read whole.
    pub fn from_bytes(body: Bytes) -> Self {
        let body: ByteStream = Box::pin(futures_util::stream::iter([Ok(body)]));
        Self::new(body, SseDecoder::new(), None)
    }

    /// Whether a body read whole looks like an event stream (some relays label their SSE
    /// `application/json`).
    pub fn looks_like_sse(body: &[u8]) -> bool {
        let body = body.trim_ascii_start();
        [&b"data:"[..], b"event:", b"id:", b"retry:", b":"]
            .iter()
            .any(|p| body.starts_with(p))
    }
}

/// Whether `bytes` contain `"error"` (a cheap first test before parsing JSON). The searcher is
/// built once: building one per event showed in profiles.
pub(crate) fn mentions_error(bytes: &[u8]) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"error\""));
    FINDER.find(bytes).is_some()
}

/// Whether an event's data is the `[DONE]` sentinel.
#[inline]
pub fn is_done(data: &[u8]) -> bool {
    data.trim_ascii() == b"[DONE]"
}

/// The error an event carries, if it is an error event: `event: error`, or JSON data with a
/// top-level `error` (new-api, OpenRouter). Cheap for ordinary events: a substring search first.
pub fn error_in_event(event: &SseEvent) -> Option<ApiError> {
    let named_error = event.event.as_deref() == Some("error");
    if !named_error && !mentions_error(&event.data) {
        return None;
    }
    match serde_json::from_slice::<Value>(&event.data) {
        Ok(value) => match value.get("error") {
            Some(Value::Object(_) | Value::String(_)) => Some(ApiError::from_json(None, &value)),
            _ if named_error => Some(ApiError::from_json(None, &value)),
            _ => None,
        },
        Err(_) if named_error => Some(ApiError {
            message: snippet(&event.data, 200),
            ..Default::default()
        }),
        Err(_) => None,
    }
}

impl Stream for EventStream {
    type Item = Result<SseEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(event) = self.pending.take() {
            return Poll::Ready(Some(Ok(event)));
        }
        if self.finished {
            return Poll::Ready(None);
        }
        let item = ready!(Pin::new(&mut self.inner).poll_next(cx));
        let out = match item {
            Some(Ok(event)) => {
                if is_done(&event.data) {
                    None
                } else if let Some(mut error) = error_in_event(&event) {
                    if error.request_id.is_none() {
                        error.request_id.clone_from(&self.request_id);
                    }
                    Some(Err(StreamError::ErrorEvent(Box::new(error)).into()))
                } else {
                    return Poll::Ready(Some(Ok(event)));
                }
            }
            Some(Err(error)) => Some(Err(error)),
            None => Some(Err(StreamError::EndedWithoutDone.into())),
        };
        self.finished = true;
        Poll::Ready(out)
    }
}

/// Bytes with an idle timeout: a silence longer than `limit` between two pieces ends the stream
/// with [`TimeoutKind::Idle`].
pub fn with_idle_timeout(inner: ByteStream, limit: Duration) -> ByteStream {
    Box::pin(IdleBytes {
        inner: Some(inner),
        idle: Idle {
            limit,
            last_input: Instant::now(),
            sleep: Box::pin(tokio::time::sleep(limit)),
        },
    })
}

struct IdleBytes {
    inner: Option<ByteStream>,
    idle: Idle,
}

impl Stream for IdleBytes {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.idle.last_input = Instant::now();
                if item.is_err() {
                    this.inner = None;
                }
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending => loop {
                ready!(this.idle.sleep.as_mut().poll(cx));
                let deadline = this.idle.last_input + this.idle.limit;
                if Instant::now() >= deadline {
                    this.inner = None;
                    return Poll::Ready(Some(Err(Error::Timeout(TimeoutKind::Idle))));
                }
                this.idle.sleep.as_mut().reset(deadline);
            },
        }
    }
}
