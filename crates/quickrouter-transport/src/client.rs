//! The HTTP layer: base URL, auth, headers, timeouts, retries, error mapping.
//!
//! It sends bodies it is given as bytes and hands back bytes or an [`EventStream`]; it knows
//! nothing of the API's types.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};
use reqwest::Method;
use tokio::time::Instant;

use crate::error::{snippet, ApiError, Error, Result, StreamError, TimeoutKind};
use crate::retry;
use crate::sse::{SseDecoder, DEFAULT_MAX_EVENT_SIZE};
use crate::stream::{ByteStream, EventStream};

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.quickrouter.ai/v1";
/// The default whole-request timeout (and the default idle timeout of streams).
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

/// A function that receives trace lines (request and response lines and headers), with the
/// `Authorization` value already redacted.
pub type TraceFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How a [`HttpClient`] talks to the server.
#[derive(Clone)]
pub struct Config {
    /// The base URL; a path prefix is kept (`{base}/chat/completions`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer KEY` when set.
    pub api_key: Option<ApiKey>,
    /// Sent as `X-Forwarded-Host` when set.
    pub forwarded_host: Option<String>,
    /// Sent with every request.
    pub headers: HeaderMap,
    /// The whole request, per attempt (for a stream: until the response head arrives).
    pub timeout: Duration,
    /// Connecting, per attempt.
    pub connect_timeout: Duration,
    /// The longest silence between two pieces of a stream.
    pub idle_timeout: Duration,
    /// Retries after the first try.
    pub max_retries: u32,
    /// An optional limit on the total time of all attempts and waits.
    pub deadline: Option<Duration>,
    /// The largest event a stream may carry.
    pub max_event_size: usize,
    /// Where trace lines go (the CLI's `--verbose`), if anywhere.
    pub trace: Option<TraceFn>,
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
            trace: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("forwarded_host", &self.forwarded_host)
            .field("headers", &redacted_headers(&self.headers))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .field("deadline", &self.deadline)
            .field("max_event_size", &self.max_event_size)
            .field("trace", &self.trace.is_some())
            .finish()
    }
}

/// Per-request overrides of the client's settings.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    /// Extra headers for this request (they replace the client's of the same name).
    pub headers: HeaderMap,
    /// The whole-request timeout.
    pub timeout: Option<Duration>,
    /// The idle timeout of a stream.
    pub idle_timeout: Option<Duration>,
    /// Retries after the first try.
    pub max_retries: Option<u32>,
    /// The total deadline.
    pub deadline: Option<Duration>,
}

/// One request to send.
#[derive(Clone, Debug)]
pub struct Request {
    /// GET, POST, ...
    pub method: Method,
    /// The path under the base URL, e.g. `/chat/completions`.
    pub path: String,
    /// A JSON body, already serialized.
    pub body: Option<Bytes>,
    /// Whether the answer is an event stream (sets `Accept: text/event-stream`).
    pub stream: bool,
    /// Per-request overrides.
    pub options: RequestOptions,
}

impl Request {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            body: None,
            stream: false,
            options: Default::default(),
        }
    }

    /// A POST of a JSON `body` to `path`.
    pub fn post_json(path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            body: Some(body.into()),
            stream: false,
            options: Default::default(),
        }
    }

    /// Ask for an event stream.
    pub fn streaming(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// Per-request overrides.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

/// A successful response: its head, and its body (read in full, or a stream).
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// How many attempts it took (1 when the first succeeded).
    pub attempts: u32,
    body: Body,
}

enum Body {
    Full(Bytes),
    /// An event stream, primed: its first event (if any) has arrived.
    Events(Box<EventStream>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            Body::Events(_) => f.write_str("Events"),
        }
    }
}

impl Response {
    /// The request id the server gave (`x-request-id`, `X-Oneapi-Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        request_id_header(&self.headers)
    }

    /// Whether the body is an event stream (a stream request can be answered with one JSON
    /// document by relays that ignore `stream: true`).
    pub fn is_event_stream(&self) -> bool {
        matches!(self.body, Body::Events(_))
    }

    /// The body read whole (a non-stream request, or a stream request answered with JSON).
    pub async fn bytes(self) -> Result<Bytes> {
        match self.body {
            Body::Full(bytes) => Ok(bytes),
            Body::Events(_) => Err(Error::Config(
                "this response is an event stream: read it with events()".into(),
            )),
        }
    }

    /// The events of a stream request.
    pub fn events(self) -> EventStream {
        match self.body {
            Body::Events(events) => *events,
            Body::Full(bytes) => EventStream::from_bytes(bytes),
        }
    }
}

/// The HTTP client: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: Config,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with its own connection pool (rustls with the ring provider).
    pub fn new(config: Config) -> Result<Self> {
        let http = plain_client_builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| {
                Error::Config(format!("could not build the HTTP client: {}", chain(&e)))
            })?;
        Self::with_http_client(config, http)
    }

    /// A client over a `reqwest::Client` the program already has (its timeouts and TLS apply).
    pub fn with_http_client(config: Config, http: reqwest::Client) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base)
            .map_err(|e| Error::Config(format!("invalid base URL {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "invalid base URL {base:?}: the scheme must be http or https"
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner { http, config }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.inner.config.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// Send `request`, retrying as the policy says (see [`crate::retry`]). A non-stream body is
    /// read in full before this returns; a stream's body is handed over unread.
    pub async fn send(&self, request: &Request) -> Result<Response> {
        let config = &self.inner.config;
        let options = &request.options;
        let max_retries = options.max_retries.unwrap_or(config.max_retries);
        let deadline = options
            .deadline
            .or(config.deadline)
            .map(|d| Instant::now() + d);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.attempt(request)).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::Timeout(TimeoutKind::Deadline)),
                },
                None => self.attempt(request).await,
            };
            let result = match result {
                Ok(response) => self.prime(response, deadline).await,
                Err(error) => Err(error),
            };
            let error = match result {
                Ok(mut response) => {
                    response.attempts = attempt;
                    return Ok(response);
                }
                Err(error) => error,
            };
            if attempt > max_retries || !retry::should_retry(&error) {
                return Err(error);
            }
            let Some(wait) = retry::delay(attempt - 1, error.retry_after()) else {
                return Err(error);
            };
            if deadline.is_some_and(|at| Instant::now() + wait >= at) {
                return Err(error);
            }
            self.trace(&format!(
                "* retrying in {:.3}s after: {error}",
                wait.as_secs_f64()
            ));
            tokio::time::sleep(wait).await;
        }
    }

    /// Wait for a stream's first event, so that a stream that breaks before it (nothing was
    /// delivered yet) is retried like a failed request. Only the idle timeout (and the deadline)
    /// bound this wait: a video job may be silent for minutes before its first event.
    async fn prime(&self, mut response: Response, deadline: Option<Instant>) -> Result<Response> {
        let Body::Events(events) = &mut response.body else {
            return Ok(response);
        };
        let primed = match deadline {
            Some(at) => tokio::time::timeout_at(at, events.prime())
                .await
                .unwrap_or(Err(Error::Timeout(TimeoutKind::Deadline))),
            None => events.prime().await,
        };
        match primed {
            Ok(()) => Ok(response),
            Err(mut error) => {
                if let Error::Stream(StreamError::ErrorEvent(api)) = &mut error {
                    if api.request_id.is_none() {
                        api.request_id = response.request_id().map(str::to_owned);
                    }
                }
                Err(error)
            }
        }
    }

    async fn attempt(&self, request: &Request) -> Result<Response> {
        let config = &self.inner.config;
        let options = &request.options;
        let url = self.url(&request.path);
        let headers = self.headers(request)?;
        if config.trace.is_some() {
            self.trace(&format!("> {} {url}", request.method));
            for line in header_lines(&headers) {
                self.trace(&format!("> {line}"));
            }
        }
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), &url)
            .headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let timeout = options.timeout.unwrap_or(config.timeout);
        let idle_timeout = options.idle_timeout.unwrap_or(config.idle_timeout);
        let exchange = async {
            let response = builder.send().await.map_err(|e| send_error(&e))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            if config.trace.is_some() {
                self.trace(&format!("< {:?} {}", response.version(), response.status()));
                for line in header_lines(&headers) {
                    self.trace(&format!("< {line}"));
                }
            }
            if !(200..300).contains(&status) {
                let body = response.bytes().await.unwrap_or_default();
                let body = scrub(&body, config.api_key.as_ref());
                return Err(api_error(status, &headers, &body));
            }
            let is_json = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("json"));
            if request.stream && !is_json {
                let bytes: ByteStream =
                    Box::pin(response.bytes_stream().map_err(|e| body_error(&e)));
                let decoder = SseDecoder::with_max_event_size(config.max_event_size);
                let body = Body::Events(Box::new(EventStream::new(
                    bytes,
                    decoder,
                    Some(idle_timeout),
                )));
                return Ok(Response {
                    status,
                    headers,
                    attempts: 0,
                    body,
                });
            }
            // A full body: read it inside the timeout, so a slow body is retried like a slow head.
            let bytes = response.bytes().await.map_err(|e| send_error(&e))?;
            if memchr::memmem::find(&bytes, b"\"error\"").is_some() {
                // An error in disguise: a JSON error body with a 2xx status (also the answer some
                // relays give a stream request). It is an error, not retried: the relay did answer,
                // and a video job may have been billed. Anything else is handed over whole (a
                // stream request answered this way: see `Response::is_event_stream`).
                let mut error =
                    ApiError::from_body(Some(status), &scrub(&bytes, config.api_key.as_ref()));
                if error
                    .body
                    .as_ref()
                    .is_some_and(|b| b.get("error").is_some_and(|e| !e.is_null()))
                {
                    if let Some(id) = request_id_header(&headers) {
                        error.request_id = Some(id.to_owned());
                    }
                    error.should_retry = Some(false);
                    return Err(Error::Api(Box::new(error)));
                }
            }
            Ok(Response {
                status,
                headers,
                attempts: 0,
                body: Body::Full(bytes),
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(TimeoutKind::Request)),
        }
    }

    fn headers(&self, request: &Request) -> Result<HeaderMap> {
        let config = &self.inner.config;
        let mut headers = config.headers.clone();
        for (name, value) in &request.options.headers {
            headers.insert(name.clone(), value.clone());
        }
        // Set here (not only on the reqwest client) so traces show it; a user's own wins.
        headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
        let accept = if request.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        if request.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(key) = &config.api_key {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                    Error::Config("the API key contains characters not allowed in a header".into())
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(host) = &config.forwarded_host {
            let value = HeaderValue::from_str(host)
                .map_err(|_| Error::Config(format!("invalid forwarded host {host:?}")))?;
            headers.insert(HeaderName::from_static("x-forwarded-host"), value);
        }
        Ok(headers)
    }

    fn trace(&self, line: &str) {
        if let Some(trace) = &self.inner.config.trace {
            trace(line);
        }
    }
}

/// A `reqwest::ClientBuilder` with this crate's TLS (rustls, ring) and User-Agent, and nothing
/// else: no key, no headers. For fetching from other hosts (e.g. media links).
pub fn plain_client_builder() -> reqwest::ClientBuilder {
    // reqwest is built without a default crypto provider; install ring unless the program
    // installed one of its own already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().user_agent(USER_AGENT_VALUE)
}

/// The request id in response headers.
pub fn request_id_header(headers: &HeaderMap) -> Option<&str> {
    ["x-request-id", "x-oneapi-request-id"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .filter(|v| !v.is_empty())
}

fn api_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let mut error = ApiError::from_body(Some(status), body);
    if let Some(id) = request_id_header(headers) {
        error.request_id = Some(id.to_owned());
    }
    error.retry_after = retry::retry_after(headers);
    error.should_retry = retry::should_retry_header(headers);
    Error::Api(Box::new(error))
}

/// An error body with every occurrence of the API key replaced: some relays echo the key they
/// refused, and error messages end up in logs and terminals.
fn scrub<'a>(body: &'a [u8], key: Option<&ApiKey>) -> std::borrow::Cow<'a, [u8]> {
    let Some(key) = key.map(|k| k.expose().as_bytes()).filter(|k| k.len() >= 4) else {
        return std::borrow::Cow::Borrowed(body);
    };
    if memchr::memmem::find(body, key).is_none() {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = memchr::memmem::find(rest, key) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"[redacted]");
        rest = &rest[at + key.len()..];
    }
    out.extend_from_slice(rest);
    std::borrow::Cow::Owned(out)
}

/// Header lines for traces, `Authorization` redacted.
fn header_lines(headers: &HeaderMap) -> Vec<String> {
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

fn redacted_headers(headers: &HeaderMap) -> Vec<String> {
    header_lines(headers)
}

/// An error from sending a request or reading a full body.
fn send_error(error: &reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::Timeout(if error.is_connect() {
            TimeoutKind::Connect
        } else {
            TimeoutKind::Request
        });
    }
    if error.is_builder() {
        return Error::Config(chain(error));
    }
    Error::Connect {
        message: chain(error),
    }
}

/// An error while reading a stream's body: the stream broke.
fn body_error(error: &reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::Timeout(TimeoutKind::Request);
    }
    Error::Stream(StreamError::Reset {
        message: chain(error),
    })
}

/// An error and its causes on one line, without the URL.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        // reqwest's own message may name the URL; the causes say what went wrong.
        let text = match text.find(" for url (") {
            Some(cut) => text[..cut].to_owned(),
            None => text,
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    let joined = parts.join(": ");
    snippet(joined.as_bytes(), 300)
}
