//! How a client talks to the server: base URL, key, headers, timeouts, retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION};

use crate::retry;
use crate::sse::DEFAULT_MAX_EVENT_SIZE;

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.quickrouter.ai/v1";
/// The default per-attempt timeout (and the default idle timeout of streams).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The `User-Agent` sent with every request.
pub const USER_AGENT_VALUE: &str = concat!("quickrouter/", env!("CARGO_PKG_VERSION"));
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wrap a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(Arc::from(key.into()))
    }

    /// The key itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How a [`HttpClient`](crate::HttpClient) talks to the server.
#[derive(Clone)]
pub struct Config {
    /// The base URL; a path prefix is kept (`{base}/chat/completions`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer KEY` when set, and only to the base URL's origin.
    pub api_key: Option<ApiKey>,
    /// Sent as `X-Forwarded-Host` when set.
    pub forwarded_host: Option<String>,
    /// Sent with every request to the API (never to another origin).
    pub headers: HeaderMap,
    /// Each attempt, until the response starts (for a whole body: until it is read).
    pub timeout: Duration,
    /// Connecting, per attempt.
    pub connect_timeout: Duration,
    /// The longest silence between two pieces of a streamed body.
    pub idle_timeout: Duration,
    /// Retries after the first try.
    pub max_retries: u32,
    /// An optional limit on the total time of all attempts and waits.
    pub deadline: Option<Duration>,
    /// The largest event a stream may carry.
    pub max_event_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            forwarded_host: None,
            headers: HeaderMap::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            idle_timeout: DEFAULT_TIMEOUT,
            max_retries: retry::DEFAULT_MAX_RETRIES,
            deadline: None,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("forwarded_host", &self.forwarded_host)
            .field("headers", &header_lines(&self.headers))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .field("deadline", &self.deadline)
            .field("max_event_size", &self.max_event_size)
            .finish()
    }
}

/// Per-request overrides of the client's settings.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    /// Extra headers for this request (they replace the client's of the same name).
    pub headers: HeaderMap,
    /// The per-attempt timeout.
    pub timeout: Option<Duration>,
    /// The idle timeout of a streamed body.
    pub idle_timeout: Option<Duration>,
    /// Retries after the first try.
    pub max_retries: Option<u32>,
    /// The total deadline.
    pub deadline: Option<Duration>,
}

impl RequestOptions {
    /// `self`, with every setting `other` makes laid over it.
    pub fn merged(&self, other: &RequestOptions) -> RequestOptions {
        let mut headers = self.headers.clone();
        for (name, value) in &other.headers {
            headers.insert(name.clone(), value.clone());
        }
        RequestOptions {
            headers,
            timeout: other.timeout.or(self.timeout),
            idle_timeout: other.idle_timeout.or(self.idle_timeout),
            max_retries: other.max_retries.or(self.max_retries),
            deadline: other.deadline.or(self.deadline),
        }
    }
}

/// Header lines for traces and `Debug`, `Authorization` and sensitive values redacted.
pub(crate) fn header_lines(headers: &HeaderMap) -> Vec<String> {
    headers
        .iter()
        .map(|(name, value)| {
            if name == AUTHORIZATION || value.is_sensitive() {
                format!("{name}: [redacted]")
            } else {
                format!("{name}: {}", String::from_utf8_lossy(value.as_bytes()))
            }
        })
        .collect()
}
