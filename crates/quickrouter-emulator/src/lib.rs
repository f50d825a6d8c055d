//! A local QuickRouter emulator: an HTTP/1.1 server on loopback that behaves like the relays of
//! this family (new-api / one-api forks, LiteLLM, relays that serve video through chat), misbehaviour
//! included, so every layer of quickrouter is tested against it and a newcomer can try the CLI
//! without an API key.
//!
//! It serves `POST {prefix}/chat/completions` (JSON and SSE), `GET {prefix}/models`, the video
//! task routes (`POST {prefix}/video/create`, `GET {prefix}/video/query?id=`, `POST {prefix}/videos`,
//! `GET {prefix}/videos/{id}`, `GET {prefix}/videos/{id}/content`), and `GET /files/NAME` (the media
//! its answers link to: any GET path ending in `.mp4`, `.webp`, `.mov` serves deterministic bytes
//! named by its last segment, see [`media_bytes`]). Any path prefix is accepted (the
//! usual one is `/v1`), so a client's base-URL prefix handling can be checked in the recorded
//! requests. Only `Authorization: Bearer KEY` with the configured key is accepted on the API paths;
//! anything else gets new-api's 401. Every answer carries `x-request-id` and
//! `X-Oneapi-Request-Id`, and every request is recorded (method, path, headers, body).
//!
//! # Scenarios
//! Chosen by the request's `model`: [`scenario::SCENARIOS`] for chat (ordinary text, video made
//! through chat, tools, relay quirks, every fault) and [`video::VIDEO_MODELS`] for the video task
//! routes (progress, failures, 429 and 500 on create, cut, redirected, expired and JSON-pointer
//! downloads). Each list is the one place its scenarios are named and described; `GET /v1/models`
//! serves both (`quickrouter models --output json` prints them).
//!
//! Video tasks advance with time: queued for one step ([`Options::video_step`]), three steps of
//! progress, then done; files under `/files/` are served with `Range` support and no key.
//!
//! "Then success" counts requests per model over the emulator's life.
//!
//! # Byte splitting
//! With [`Options::split`] (or a request header `x-emulator-split: N`) every streamed body is
//! written in pieces of 1..=N bytes, so the same answer arrives split mid-UTF-8, mid-`data:`,
//! and between `\r` and `\n`.
//!
//! ```no_run
//! # fn main() {
//! let emulator = quickrouter_emulator::Emulator::start(Default::default()).unwrap();
//! println!("try: QUICKROUTER_BASE_URL={} QUICKROUTER_API_KEY=sk-emulator", emulator.base_url());
//! # }
//! ```

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod compress;
pub mod limits;
pub mod scenario;
mod server;
pub mod video;

pub use server::{media_bytes, Emulator, Options, RecordedRequest};
