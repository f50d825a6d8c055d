//! Errors: one enum for everything a request can end in, with questions instead of parsing
//! (`status()`, `request_id()`, `is_retryable()`, `retry_after()`).
//!
//! Relay error bodies come in several shapes, all decoded here: OpenAI's
//! `{error: {message, type, param, code}}`, new-api's (any `type`, Chinese messages, a
//! `(request id: ...)` suffix), OpenRouter's integer `code` with `metadata`, a flat
//! `{object: "error", message, ...}`, and HTML or plain-text pages from a CDN (kept as a short
//! snippet). Nothing here ever holds the API key.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a request can end in.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (after any retries).
    Api(Box<ApiError>),
    /// No connection could be made: the request was not sent.
    Connect {
        /// What went wrong (no URL, no key).
        message: String,
        /// The HTTP layer's error (its URL removed).
        source: Option<BoxError>,
    },
    /// The connection failed after it was made, before a whole answer arrived: the server may
    /// have received the request.
    Network {
        /// What went wrong (no URL, no key).
        message: String,
        /// The HTTP layer's error (its URL removed).
        source: Option<BoxError>,
    },
    /// A time limit passed.
    Timeout(TimeoutKind),
    /// A stream broke after it had started.
    Stream(StreamError),
    /// A successful answer whose body could not be read as expected.
    Decode {
        /// The decoder's message.
        message: String,
        /// The start of the body.
        snippet: String,
        /// The decoder's error.
        source: Option<BoxError>,
    },
    /// The client was set up wrongly (bad base URL, bad header), or local input was invalid.
    Config(String),
    /// A request that may be billed failed after the server may have received it, so it was not
    /// sent again (see [`Resend::OnlyIfNotReceived`](crate::Resend::OnlyIfNotReceived)).
    Unconfirmed(Box<Error>),
    /// The API answered with a redirect to another origin, which is not followed: the key and
    /// headers meant for the API must not go there.
    Redirect {
        /// The API's origin (`https://host:port`).
        from: String,
        /// Where the redirect pointed (its origin only).
        to: String,
    },
    /// Fetching media (a video file) failed: the media host's error status, a body that is not
    /// media, a download cut that could not be resumed, or a file that could not be written.
    Media {
        /// What went wrong.
        message: String,
        /// The media host's HTTP status, if it answered with an error.
        status: Option<u16>,
        /// The underlying error.
        source: Option<BoxError>,
    },
}

/// A boxed error, kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which time limit passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Connecting took too long.
    Connect,
    /// The whole request (or, for a stream, waiting for the response head) took too long.
    Request,
    /// A stream was silent for longer than the idle timeout.
    Idle,
    /// The total deadline across all attempts passed.
    Deadline,
}

/// How a stream broke after it started.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The server sent an error as an event (`data: {"error": ...}`) after the 200.
    ErrorEvent(Box<ApiError>),
    /// The connection closed cleanly before `[DONE]`.
    EndedWithoutDone,
    /// The connection was reset or the body broke off.
    Reset {
        /// What the HTTP layer said.
        message: String,
    },
    /// An event whose data was not what the stream promised (e.g. not valid JSON).
    InvalidEvent {
        /// The decoder's message.
        message: String,
        /// The start of the event's data.
        snippet: String,
    },
    /// An event larger than the decoder's limit.
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

/// What kind of error a server reported: the question a caller usually wants answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400, 422 and other client errors not listed below.
    BadRequest,
    /// 401.
    Authentication,
    /// 403.
    PermissionDenied,
    /// 404.
    NotFound,
    /// 408 or 409: the request may succeed if sent again.
    Conflict,
    /// 429 without a quota code.
    RateLimit,
    /// The account's quota or balance is exhausted (`insufficient_quota`,
    /// `insufficient_user_quota`, ...), whatever the status. Never retried.
    Quota,
    /// 5xx, or an error event the upstream model sent.
    Server,
}

/// An error the server reported, decoded from whatever body it sent.
#[derive(Debug, Clone, Default)]
pub struct ApiError {
    /// The HTTP status (absent for an error event inside a 200 stream).
    pub status: Option<u16>,
    /// The message, as the relay sent it (Chinese included).
    pub message: String,
    /// The `type` field.
    pub error_type: Option<String>,
    /// The `code` field, as text (OpenRouter sends integers).
    pub code: Option<String>,
    /// The `param` field.
    pub param: Option<String>,
    /// The request id, from the `x-request-id` / `X-Oneapi-Request-Id` headers or the message.
    pub request_id: Option<String>,
    /// How long the server asked to wait (`retry-after-ms`, `Retry-After`).
    pub retry_after: Option<Duration>,
    /// The whole body when it was not JSON (HTML page, plain text), shortened.
    pub body_snippet: Option<String>,
    /// The decoded body when it was JSON (for fields this type does not name).
    pub body: Option<Value>,
    /// The server's `x-should-retry` header, which overrides the status rule.
    pub should_retry: Option<bool>,
}

/// Codes that mean the account's quota or balance is gone.
const QUOTA_CODES: &[&str] = &[
    "insufficient_quota",
    "insufficient_user_quota",
    "quota_exceeded",
    "insufficient_balance",
    "billing_hard_limit_reached",
];

impl ApiError {
    /// Decode an error body of any relay shape.
    pub fn from_body(status: Option<u16>, body: &[u8]) -> Self {
        let mut error = ApiError {
            status,
            ..Default::default()
        };
        match serde_json::from_slice::<Value>(body) {
            Ok(value) if value.is_object() => {
                error.fill_from_json(&value);
                error.body = Some(value);
            }
            _ => {
                if let Some(summary) = crate::html::summary(body, status) {
                    error.message = summary.message;
                    error.body_snippet = Some(summary.text);
                } else {
                    let snippet = snippet(body, 200);
                    if !snippet.is_empty() {
                        error.message = snippet.clone();
                        error.body_snippet = Some(snippet);
                    }
                }
            }
        }
        if error.message.is_empty() {
            error.message = match status {
                Some(s) => format!("the server answered {s} with no message"),
                None => "the server reported an error with no message".to_owned(),
            };
        }
        error.request_id = request_id_in_message(&error.message);
        error
    }

    /// Decode an error from a JSON value (an error event's data).
    pub fn from_json(status: Option<u16>, value: &Value) -> Self {
        let mut error = ApiError {
            status,
            ..Default::default()
        };
        error.fill_from_json(value);
        if error.message.is_empty() {
            error.message = "the server reported an error with no message".to_owned();
        }
        error.request_id = request_id_in_message(&error.message);
        error.body = Some(value.clone());
        error
    }

    fn fill_from_json(&mut self, value: &Value) {
        let detail = match value.get("error") {
            Some(inner @ Value::Object(_)) => inner,
            Some(Value::String(message)) => {
                self.message = message.clone();
                value
            }
            _ => value,
        };
        if self.message.is_empty() {
            if let Some(message) = text(detail.get("message")) {
                self.message = message;
            } else if let Some(message) = text(detail.get("message_zh")) {
                self.message = message;
            } else if let Some(message) = text(detail.get("detail")) {
                self.message = message;
            }
        }
        // OpenRouter puts the upstream's own message in metadata.raw; keep it visible.
        if let Some(raw) = detail.pointer("/metadata/raw").and_then(Value::as_str) {
            if !raw.is_empty() && !self.message.contains(raw) {
                self.message = format!("{}: {raw}", self.message);
            }
        }
        self.error_type = text(detail.get("type")).or_else(|| text(value.get("type")));
        self.code = text(detail.get("code")).or_else(|| text(value.get("code")));
        self.param = text(detail.get("param"));
    }

    /// The kind, from the code and the status.
    pub fn kind(&self) -> ApiErrorKind {
        let quota = |s: &Option<String>| {
            s.as_deref()
                .is_some_and(|s| QUOTA_CODES.iter().any(|q| s.eq_ignore_ascii_case(q)))
        };
        if quota(&self.code) || quota(&self.error_type) {
            return ApiErrorKind::Quota;
        }
        match self.status {
            Some(401) => ApiErrorKind::Authentication,
            Some(403) => ApiErrorKind::PermissionDenied,
            Some(404) => ApiErrorKind::NotFound,
            Some(408 | 409) => ApiErrorKind::Conflict,
            Some(429) => ApiErrorKind::RateLimit,
            Some(s) if (400..500).contains(&s) => ApiErrorKind::BadRequest,
            _ => ApiErrorKind::Server,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: relays put newlines in messages.
        let message = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        f.write_str(&message)?;
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status {s}"));
        }
        if let Some(t) = self.error_type.as_deref().filter(|t| !t.is_empty()) {
            parts.push(format!("type {t}"));
        }
        if let Some(c) = self.code.as_deref().filter(|c| !c.is_empty()) {
            parts.push(format!("code {c}"));
        }
        if let Some(r) = &self.request_id {
            parts.push(format!("request id {r}"));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

impl Error {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        self.api().and_then(|e| e.status)
    }

    /// The server's error, for an error status or an error event.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::Stream(StreamError::ErrorEvent(e)) => Some(e),
            Error::Unconfirmed(e) => e.api(),
            _ => None,
        }
    }

    /// The error under an [`Error::Unconfirmed`], or `self`.
    pub fn inner(&self) -> &Error {
        match self {
            Error::Unconfirmed(e) => e.inner(),
            other => other,
        }
    }

    /// A decoding error, keeping the decoder's error and the start of the body.
    pub fn decode(error: serde_json::Error, body: &[u8]) -> Self {
        Error::Decode {
            message: error.to_string(),
            snippet: snippet(body, 200),
            source: Some(Box::new(error)),
        }
    }

    /// A media error with no status.
    pub fn media(message: impl Into<String>) -> Self {
        Error::Media {
            message: message.into(),
            status: None,
            source: None,
        }
    }

    /// The request id the server gave, when it gave one.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.request_id.as_deref())
    }

    /// How long the server asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }

    /// Whether sending the same request again may succeed (the retry policy's own test).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => {
                matches!(
                    e.kind(),
                    ApiErrorKind::RateLimit | ApiErrorKind::Conflict | ApiErrorKind::Server
                )
            }
            Error::Connect { .. } | Error::Network { .. } => true,
            Error::Timeout(kind) => *kind != TimeoutKind::Deadline,
            Error::Stream(_)
            | Error::Decode { .. }
            | Error::Config(_)
            | Error::Unconfirmed(_)
            | Error::Redirect { .. }
            | Error::Media { .. } => false,
        }
    }

    /// Whether a time limit passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner(), Error::Timeout(_))
    }

    /// The kind of the server's error, if the server reported one.
    pub fn kind(&self) -> Option<ApiErrorKind> {
        self.api().map(ApiError::kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => e.fmt(f),
            Error::Connect { message, .. } => write!(f, "connection failed: {message}"),
            Error::Network { message, .. } => write!(f, "connection broken: {message}"),
            Error::Timeout(TimeoutKind::Connect) => f.write_str("timed out connecting"),
            Error::Timeout(TimeoutKind::Request) => {
                f.write_str("timed out waiting for the response")
            }
            Error::Timeout(TimeoutKind::Idle) => {
                f.write_str("stream idle timeout: the server sent nothing for too long")
            }
            Error::Timeout(TimeoutKind::Deadline) => {
                f.write_str("the total deadline across attempts passed")
            }
            Error::Stream(e) => e.fmt(f),
            Error::Decode {
                message, snippet, ..
            } if snippet.is_empty() => write!(f, "could not decode the response: {message}"),
            Error::Decode {
                message, snippet, ..
            } => {
                write!(
                    f,
                    "could not decode the response: {message} (body starts {snippet:?})"
                )
            }
            Error::Config(message) => f.write_str(message),
            Error::Unconfirmed(e) => write!(
                f,
                "{e}; the request may have been accepted (and billed), so it was not sent again"
            ),
            Error::Redirect { from, to } => write!(
                f,
                "refused a redirect from {from} to {to}: the API key and headers go to the API's origin only; set the base URL to the new address if it is the API"
            ),
            Error::Media { message, .. } => f.write_str(message),
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::ErrorEvent(e) => write!(f, "stream error event: {e}"),
            StreamError::EndedWithoutDone => {
                f.write_str("stream broken: the connection closed before [DONE]")
            }
            StreamError::Reset { message } => write!(f, "stream broken: {message}"),
            StreamError::InvalidEvent { message, snippet } => {
                write!(f, "stream broken: invalid event ({message}): {snippet:?}")
            }
            StreamError::EventTooLarge { limit } => {
                write!(f, "stream broken: an event exceeded the {limit}-byte limit")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Api(e) => Some(e.as_ref()),
            Error::Stream(e) => Some(e),
            Error::Unconfirmed(e) => Some(e.as_ref()),
            Error::Connect { source, .. }
            | Error::Network { source, .. }
            | Error::Decode { source, .. }
            | Error::Media { source, .. } => source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}
impl std::error::Error for StreamError {}
impl std::error::Error for ApiError {}

impl From<StreamError> for Error {
    fn from(value: StreamError) -> Self {
        Error::Stream(value)
    }
}

impl From<ApiError> for Error {
    fn from(value: ApiError) -> Self {
        Error::Api(Box::new(value))
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first `max` characters of a body, whitespace folded, for messages.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max * 4)]);
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &folded[..cut]),
        None => folded,
    }
}

/// new-api appends `(request id: XXXX)` to messages.
fn request_id_in_message(message: &str) -> Option<String> {
    let start = message.find("(request id:")? + "(request id:".len();
    let end = start + message[start..].find(')')?;
    let id = message[start..end].trim();
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_relay_shape() {
        let e = ApiError::from_body(Some(401), r#"{"error":{"message":"无效的令牌 (request id: 2025ABC)","type":"new_api_error","param":"","code":"invalid_api_key"}}"#.as_bytes());
        assert_eq!(e.message, "无效的令牌 (request id: 2025ABC)");
        assert_eq!(e.request_id.as_deref(), Some("2025ABC"));
        assert_eq!(e.kind(), ApiErrorKind::Authentication);
        assert_eq!(
            e.to_string(),
            "无效的令牌 (request id: 2025ABC) (status 401, type new_api_error, code invalid_api_key, request id 2025ABC)"
        );

        let e = ApiError::from_body(Some(403), br#"{"error":{"message":"quota","type":"new_api_error","code":"insufficient_user_quota"}}"#);
        assert_eq!(e.kind(), ApiErrorKind::Quota);

        let e = ApiError::from_body(Some(429), br#"{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"slow down"}}}"#);
        assert_eq!(e.code.as_deref(), Some("429"));
        assert_eq!(e.message, "Provider returned error: slow down");
        assert_eq!(e.kind(), ApiErrorKind::RateLimit);

        let e = ApiError::from_body(Some(404), br#"{"object":"error","message":"no such model","type":"invalid_request_error","code":404}"#);
        assert_eq!(
            (e.message.as_str(), e.code.as_deref()),
            ("no such model", Some("404"))
        );

        let e = ApiError::from_body(Some(502), b"<html><head><title>502 Bad Gateway</title></head><body>\n<center>nginx</center></body></html>");
        assert_eq!(e.message, "502 Bad Gateway");
        assert!(e.body_snippet.as_deref().unwrap().contains("nginx"));
        assert_eq!(e.kind(), ApiErrorKind::Server);

        let e = ApiError::from_body(Some(500), b"");
        assert_eq!(e.message, "the server answered 500 with no message");
    }

    #[test]
    fn display_folds_newlines() {
        let e = ApiError {
            message: "line one\nline two".into(),
            ..Default::default()
        };
        assert_eq!(e.to_string(), "line one line two");
    }
}
