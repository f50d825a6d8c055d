//! One request: method, path, query, headers (in its options), a body, and what answer it expects.

use std::path::PathBuf;

use bytes::Bytes;
use reqwest::Method;

use crate::config::RequestOptions;

/// One request to send. Built once, sent as many times as the retry policy allows (a multipart
/// body is rebuilt from its parts for each attempt, files read from disk again).
#[derive(Clone, Debug)]
pub struct Request {
    /// GET, POST, ...
    pub method: Method,
    /// The path under the base URL, e.g. `/chat/completions`.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: RequestBody,
    /// What kind of answer the caller wants.
    pub expect: Expect,
    /// Whether the request may be sent again after the server may have received it.
    pub resend: Resend,
    /// Per-request overrides.
    pub options: RequestOptions,
}

/// A request body.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum RequestBody {
    /// No body.
    #[default]
    None,
    /// JSON, already serialized (sent as `application/json`).
    Json(Bytes),
    /// A `multipart/form-data` form; file parts are streamed from disk.
    Multipart(Vec<Part>),
}

/// One field of a multipart form.
#[derive(Clone, Debug)]
pub struct Part {
    /// The field name.
    pub name: String,
    /// Its value.
    pub value: PartValue,
}

/// A multipart field's value.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PartValue {
    /// A text field.
    Text(String),
    /// A file, read from disk as the request is written.
    File {
        /// Where it is.
        path: PathBuf,
        /// Its MIME type (`image/png`); guessed from the extension when `None`.
        content_type: Option<String>,
    },
}

/// What kind of answer a request expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expect {
    /// One document (JSON), read whole.
    #[default]
    Document,
    /// A Server-Sent Events stream (`Accept: text/event-stream`). A relay may still answer with
    /// one document: [`Response::is_event_stream`](crate::Response::is_event_stream) tells.
    Events,
    /// Bytes to copy elsewhere (a file), handed over unread.
    Bytes,
}

/// Whether the retry policy may send a request again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resend {
    /// As the retry policy says (see [`crate::retry`]).
    #[default]
    Policy,
    /// Only when the server certainly did not take it: a 429 (not a quota error), or a connection
    /// that failed before the request was written. For requests that may be billed (a video
    /// create). Any other failure after sending comes back as [`Error::Unconfirmed`](crate::Error::Unconfirmed).
    OnlyIfNotReceived,
}

impl Request {
    /// A request of `method` to `path`, with no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: RequestBody::None,
            expect: Expect::Document,
            resend: Resend::Policy,
            options: RequestOptions::default(),
        }
    }

    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A POST of a JSON `body` to `path`.
    pub fn post_json(path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self::new(Method::POST, path).body(RequestBody::Json(body.into()))
    }

    /// Set the body.
    pub fn body(mut self, body: RequestBody) -> Self {
        self.body = body;
        self
    }

    /// Add a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Ask for an event stream (`true`) or a document (`false`).
    pub fn streaming(mut self, stream: bool) -> Self {
        self.expect = if stream {
            Expect::Events
        } else {
            Expect::Document
        };
        self
    }

    /// Say what answer is expected.
    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    /// Say whether the request may be sent again (see [`Resend`]).
    pub fn resend(mut self, resend: Resend) -> Self {
        self.resend = resend;
        self
    }

    /// Per-request overrides.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

/// The MIME type of a file, from its extension (the types a video or image API takes).
pub fn guess_content_type(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}
