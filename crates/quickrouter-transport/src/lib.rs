//! The transport under the `quickrouter` client: HTTP, auth, headers, retries, timeouts, error
//! mapping, and a fast, WHATWG-conformant Server-Sent Events decoder.
//!
//! It is generic: it sends the requests it is given (any method, path, query, a JSON or
//! multipart body) and returns a document, an event stream or a byte stream. It knows nothing of
//! `openapi.yaml` or the generated types (the `quickrouter` crate puts them together).
//!
//! - [`sse`]: the sans-IO decoder (bytes in, events out).
//! - [`stream`]: async adapters with an idle timeout and the `[DONE]` / error-event conventions.
//! - [`config`]: [`Config`], [`ApiKey`], [`RequestOptions`].
//! - [`request`] and [`response`]: what is sent and what comes back.
//! - [`client`]: the HTTP client ([`HttpClient`]); diagnostics through `tracing`.
//! - [`retry`]: the retry policy, written down.
//! - [`error`]: the error enum every layer returns.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod client;
pub mod config;
pub mod error;
mod html;
pub mod request;
pub mod response;
pub mod retry;
pub mod sse;
pub mod stream;

pub use client::{origin_of, plain_client_builder, HttpClient};
pub use config::{ApiKey, Config, RequestOptions, DEFAULT_BASE_URL, USER_AGENT_VALUE};
pub use error::{ApiError, ApiErrorKind, BoxError, Error, Result, StreamError, TimeoutKind};
pub use request::{Expect, Part, PartValue, Request, RequestBody, Resend};
pub use reqwest;
pub use response::{request_id_header, Response};
pub use sse::{SseDecoder, SseEvent};
pub use stream::{ByteStream, EventStream, SseStream};
