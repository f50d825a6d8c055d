//! Shared support for the end-to-end tests: an emulator with short pauses, and clients for it.

use std::time::Duration;

use quickrouter::{ChatMessage, Client, ClientBuilder, CreateChatCompletionRequest};
pub use quickrouter_emulator::{Emulator, Options, RecordedRequest};

/// An emulator whose video-chat pauses are short (50 ms), optionally splitting streams.
pub fn emulator(split: Option<usize>) -> Emulator {
    Emulator::start(Options {
        video_step: Duration::from_millis(50),
        split,
        ..Options::default()
    })
    .expect("the emulator starts")
}

/// A client builder pointed at `emulator`, with its key.
pub fn builder(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .base_url(emulator.base_url())
        .api_key(emulator.api_key())
}

/// A client pointed at `emulator`.
pub fn client(emulator: &Emulator) -> Client {
    builder(emulator).build().expect("a client")
}

/// A one-message request.
pub fn ask(model: &str, prompt: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequest::new(model, [ChatMessage::user(prompt)])
}

/// Requests to the chat endpoint so far.
pub fn chat_requests(emulator: &Emulator) -> Vec<RecordedRequest> {
    emulator.requests_to("/chat/completions")
}
