#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

#[cfg(feature = "batch")]
pub mod batch;
pub mod chat;
mod client;
pub mod download;
mod models;
pub mod tools;
pub mod videos;

pub use chat::{Chat, ChatStream, CompletionAccumulator, WithResponse};
pub use client::{
    Client, ClientBuilder, RequestOptions, DEFAULT_MODEL, ENV_API_KEY, ENV_BASE_URL,
    ENV_FORWARDED_HOST, ENV_MODEL, ENV_VIDEO_MODEL,
};
pub use models::Models;
/// The transport layer (HTTP client, SSE decoder, retry policy), for advanced use.
pub use quickrouter_transport as transport;
pub use quickrouter_transport::{ApiError, ApiErrorKind, Error, StreamError, TimeoutKind};
pub use quickrouter_types::{
    ChatCompletion, ChatCompletionChunk, ChatMessage, ContentPart, CreateChatCompletionRequest,
    FinishReason, Role, Tool, ToolCall, ToolChoice, VideoStatus,
};
pub use schemars;
pub use videos::{VideoApi, VideoRequest, VideoTask, Videos};

/// Every wire type, generated from `openapi.yaml`.
pub mod types {
    pub use quickrouter_types::*;
}

/// Decode a JSON body, keeping the decoder's error and the start of the body.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    quickrouter_types::json::from_slice(bytes).map_err(|e| Error::decode(e, bytes))
}
