//! Wire types of the QuickRouter API: OpenAI chat completions and video tasks, as relays really
//! speak them.
//!
//! Generated from the workspace's `openapi.yaml` by `cargo xtask codegen` (see `generated.rs`);
//! hand-written additions sit beside it: [`open`] (enums that accept unknown values),
//! `tolerant` (null-tolerant deserializers used by the generated code), `ext` (constructors
//! and builders) and [`json`] (the decoding entry point the client uses).
//!
//! ```
//! use quickrouter_types::{ChatMessage, CreateChatCompletionRequest};
//!
//! let request = CreateChatCompletionRequest::new("gpt-4o-mini", [ChatMessage::user("hi")])
//!     .temperature(0.2);
//! let body = serde_json::to_value(&request).unwrap();
//! assert_eq!(
//!     body,
//!     serde_json::json!({
//!         "model": "gpt-4o-mini",
//!         "messages": [{"role": "user", "content": "hi"}],
//!         "temperature": 0.2
//!     })
//! );
//! ```

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod generated;

mod ext;
pub mod json;
pub mod open;
#[doc(hidden)]
pub mod tolerant;

pub use generated::*;
pub use open::{FinishReason, ObjectType, Role, ToolKind, VideoStatus};
