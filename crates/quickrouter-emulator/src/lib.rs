//! A local QuickRouter emulator: an HTTP/1.1 server on loopback that behaves like the relays of
//! this family (new-api / one-api forks, LiteLLM, relays that serve video through chat), misbehaviour
//! included, so every layer of quickrouter is tested against it and a newcomer can try the CLI
//! without an API key.
//!
//! It serves `POST {prefix}/chat/completions` (JSON and SSE), `GET {prefix}/models`, and
//! `GET /files/NAME` (the media its video-chat answers link to: any GET path ending in `.mp4`, `.webp`, `.mov`
//! serves deterministic bytes named by its last segment, see [`media_bytes`]). Any path prefix is accepted (the
//! usual one is `/v1`), so a client's base-URL prefix handling can be checked in the recorded
//! requests. Only `Authorization: Bearer KEY` with the configured key is accepted on the API paths;
//! anything else gets new-api's 401. Every answer carries `x-request-id` and
//! `X-Oneapi-Request-Id`, and every request is recorded (method, path, headers, body).
//!
//! # Scenarios
//! Chosen by the request's `model` ([`scenario::SCENARIOS`] lists them; `GET /v1/models` too):
//!
//! | model | behaviour |
//! |---|---|
//! | any other, e.g. `gpt-4o-mini` | `You said: PROMPT`, word by word; honours `n`, `max_tokens` (words), `stop`, `stream_options.include_usage` |
//! | `long` | `max_tokens` words (default 10000), for benchmarks |
//! | `video-chat` | queue note and progress in `reasoning_content` (`排队中`, `🏃 进度 36..`, `Progress 76%`), keep-alive comments, pauses, CRLF lines, then `[▶ 点击查看视频](…/files/TASK.mp4)` and a `.webp` thumbnail |
//! | `video-chat-inline` | the same with progress in `content` |
//! | `video-chat-fail` | progress, then `❌ 生成失败 … Failure reason: … content policies` with HTTP 200 |
//! | `video-chat-error` | progress, then an in-band `data: {"error": …}` |
//! | `media-links` | links to media with hostile names (`../../x.mp4`, encoded slashes, a duplicate name) |
//! | `tools` | two parallel tool calls, arguments split into 5-byte pieces interleaved by `index` |
//! | `quirks` | unknown fields, `null`s, `STOP`, `data:` with no space, `event:`/`id:`/`retry:` lines, `choices: []` and `null`, comments |
//! | `json-for-stream` | a whole JSON completion even to a stream request |
//! | `sse-as-json` | an event stream labelled `application/json` |
//! | `error-200` | HTTP 200 with a JSON error body |
//! | `slow-keepalive` | keep-alive comments and silences of the video step pause, then a normal end |
//! | `fault-429-then-ok` | 429 with `Retry-After: 1`, then success |
//! | `fault-429-long` | 429 with `Retry-After: 3600` |
//! | `fault-429-quota` | 429 `insufficient_quota` |
//! | `fault-502-then-ok` | an HTML 502 page, then success |
//! | `fault-503` | 503 forever |
//! | `fault-401`, `fault-403` | new-api bodies, Chinese messages, request id in the message |
//! | `fault-echo-key` | 401 whose message echoes the key it was sent |
//! | `fault-403-quota` | 403 `insufficient_user_quota` |
//! | `fault-400` | 400 JSON error, stream or not |
//! | `fault-midstream-error` | content, then `data: {"error": …}` |
//! | `fault-no-done` | content, then a clean close without `[DONE]` |
//! | `fault-drop-then-ok` | a 200 event stream closed before its first event, then success |
//! | `fault-reset` | content, then a reset mid-chunk |
//! | `fault-invalid-json` | content, then a data line that is not JSON |
//! | `fault-silent` | content, then silence (idle timeout) |
//! | `fault-hang` | no response head at all (request timeout) |
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

pub mod scenario;
mod server;
pub mod video;

pub use server::{media_bytes, Emulator, Options, RecordedRequest};
