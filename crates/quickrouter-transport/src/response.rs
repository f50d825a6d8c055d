//! A successful response: its head, and its body in the form the request asked for.

use std::fmt;

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE};

use crate::error::{Error, Result};
use crate::stream::{ByteStream, EventStream};

/// A successful (2xx) response.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// How many attempts it took (1 when the first succeeded).
    pub attempts: u32,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    /// A document, read whole.
    Full(Bytes),
    /// An event stream, primed: its first event (if any) has arrived.
    Events(Box<EventStream>),
    /// Bytes not yet read.
    Stream(ByteStream),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            Body::Events(_) => f.write_str("Events"),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Response {
    /// The request id the server gave (`x-request-id`, `X-Oneapi-Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        request_id_header(&self.headers)
    }

    /// The `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Length`, if the server sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether the body is an event stream. The transport decides this once: a stream request
    /// answered with one JSON document (relays that ignore `stream: true`) is not; an event
    /// stream labelled `application/json` is.
    pub fn is_event_stream(&self) -> bool {
        matches!(self.body, Body::Events(_))
    }

    /// The body read whole. A byte stream is read to its end here.
    pub async fn bytes(self) -> Result<Bytes> {
        match self.body {
            Body::Full(bytes) => Ok(bytes),
            Body::Stream(mut stream) => {
                use futures_util::StreamExt;
                let mut out = Vec::new();
                while let Some(piece) = stream.next().await {
                    out.extend_from_slice(&piece?);
                }
                Ok(out.into())
            }
            Body::Events(_) => Err(Error::Config(
                "this response is an event stream: read it with events()".into(),
            )),
        }
    }

    /// The events of a stream request (a document is read as the events it holds).
    pub fn events(self) -> EventStream {
        match self.body {
            Body::Events(events) => *events,
            Body::Full(bytes) => EventStream::from_bytes(bytes),
            Body::Stream(stream) => EventStream::new(stream, Default::default(), None),
        }
    }

    /// The body as a stream of bytes, each piece as it arrives, bounded by the idle timeout.
    pub fn byte_stream(self) -> ByteStream {
        match self.body {
            Body::Stream(stream) => stream,
            Body::Full(bytes) => Box::pin(futures_util::stream::iter([Ok(bytes)])),
            Body::Events(_) => Box::pin(futures_util::stream::iter([Err(Error::Config(
                "this response is an event stream: read it with events()".into(),
            ))])),
        }
    }
}

/// The request id in response headers.
pub fn request_id_header(headers: &HeaderMap) -> Option<&str> {
    ["x-request-id", "x-oneapi-request-id"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .filter(|v| !v.is_empty())
}
