#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod accumulate;
mod chat;
mod client;
mod models;
pub mod sora;
pub mod tools;

pub use accumulate::CompletionAccumulator;
pub use chat::{Chat, ChatStream, WithResponse};
pub use client::{
    Client, ClientBuilder, RequestOptions, ENV_API_KEY, ENV_BASE_URL, ENV_FORWARDED_HOST,
};
pub use models::Models;
/// The transport layer (HTTP client, SSE decoder, retry policy), for advanced use.
pub use quickrouter_transport as transport;
pub use quickrouter_transport::{ApiError, ApiErrorKind, Error, StreamError, TimeoutKind};
pub use quickrouter_types::{
    ChatCompletion, ChatCompletionChunk, ChatMessage, ContentPart, CreateChatCompletionRequest,
    FinishReason, Role, Tool, ToolCall, ToolChoice,
};
pub use schemars;

/// Every wire type, generated from `openapi.yaml`.
pub mod types {
    pub use quickrouter_types::*;
}

/// Decode a JSON body, keeping the start of it in the error.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        message: e.to_string(),
        snippet: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
    })
}
