//! The transport under the `quickrouter` client: HTTP, auth, headers, retries, timeouts, error
//! mapping, and a fast, WHATWG-conformant Server-Sent Events decoder.
//!
//! It is generic: it sends JSON bodies it is given as bytes and returns bytes or events. It knows
//! nothing of `openapi.yaml` or the generated types (the `quickrouter` crate puts them together).
//!
//! - [`sse`]: the sans-IO decoder (bytes in, events out).
//! - [`stream`]: async adapters with an idle timeout and the `[DONE]` / error-event conventions.
//! - [`client`]: the HTTP client ([`HttpClient`]) and its [`Config`].
//! - [`retry`]: the retry policy, written down.
//! - [`error`]: the one error enum.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod client;
pub mod error;
pub mod retry;
pub mod sse;
pub mod stream;

pub use client::{ApiKey, Config, HttpClient, Request, RequestOptions, Response, TraceFn};
pub use error::{ApiError, ApiErrorKind, Error, Result, StreamError, TimeoutKind};
pub use reqwest;
pub use sse::{SseDecoder, SseEvent};
pub use stream::{EventStream, SseStream};
