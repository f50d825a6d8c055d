//! Shared support for the end-to-end tests (this crate's and the CLI's): an emulator with short
//! pauses, clients for it, scratch directories.

use std::path::{Path, PathBuf};
use std::time::Duration;

use quickrouter::{ChatMessage, Client, ClientBuilder, CreateChatCompletionRequest};
pub use quickrouter_emulator::{media_bytes, Emulator, Options, RecordedRequest};

/// An emulator whose video steps are short (50 ms), optionally splitting streams.
pub fn emulator(split: Option<usize>) -> Emulator {
    emulator_with_step(Duration::from_millis(50), split)
}

/// An emulator whose video steps (queue, progress, done) last `step`.
pub fn emulator_with_step(step: Duration, split: Option<usize>) -> Emulator {
    Emulator::start(Options {
        video_step: step,
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

/// A fresh, empty directory for one test (under the system's temporary directory, named after
/// the test and the process).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quickrouter-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The names of the files in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
