//! The HTTP client: sends a [`Request`], applies auth, headers, timeouts and the retry policy,
//! and hands back a [`Response`] whose body has the form the request expected.
//!
//! It knows nothing of the API's types. Diagnostics go to `tracing`: a `request` span per call
//! (method, path, attempt), `debug` events for the request and response lines and headers (the
//! key redacted), an `info` event for each response's status and request id, and a `warn` event
//! for each retry with its delay and reason. Bodies are never logged.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
    LOCATION, USER_AGENT,
};
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{header_lines, ApiKey, Config, USER_AGENT_VALUE};
use crate::error::{snippet, ApiError, ApiErrorKind, Error, Result, TimeoutKind};
use crate::request::{Expect, PartValue, Request, RequestBody, Resend};
use crate::response::{request_id_header, Body, Response};
use crate::retry;
use crate::sse::SseDecoder;
use crate::stream::{with_idle_timeout, ByteStream, EventStream};

/// The HTTP client: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: Config,
    origin: String,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with its own connection pool (rustls with the ring provider). Redirects are
    /// followed within the API's origin only (see [`Error::Redirect`]).
    pub fn new(config: Config) -> Result<Self> {
        let http = plain_client_builder()
            .connect_timeout(config.connect_timeout)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| {
                Error::Config(format!("could not build the HTTP client: {}", chain(&e)))
            })?;
        Self::with_http_client(config, http)
    }

    /// A client over a `reqwest::Client` the program already has (its timeouts, TLS and redirect
    /// policy apply).
    pub fn with_http_client(config: Config, http: reqwest::Client) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base)
            .map_err(|e| Error::Config(format!("invalid base URL {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "invalid base URL {base:?}: the scheme must be http or https"
            )));
        }
        let origin = origin_of(&parsed);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                origin,
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The API's origin, `scheme://host:port`: the only one that gets the key and headers.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// Whether `url` belongs to the API's origin.
    pub fn is_same_origin(&self, url: &str) -> bool {
        reqwest::Url::parse(url).is_ok_and(|u| origin_of(&u) == self.inner.origin)
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.inner.config.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// Send `request`, retrying as the policy says (see [`crate::retry`] and [`Resend`]).
    ///
    /// A document is read in full before this returns; an event stream is primed (its first
    /// event awaited, so one that breaks before it is retried); a byte stream is handed over
    /// unread. A 2xx JSON document with a top-level `error` is an error.
    pub async fn send(&self, request: &Request) -> Result<Response> {
        let span = tracing::info_span!(
            "request",
            method = %request.method,
            path = %request.path,
            attempt = tracing::field::Empty,
        );
        self.send_in_span(request).instrument(span).await
    }

    async fn send_in_span(&self, request: &Request) -> Result<Response> {
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
            tracing::Span::current().record("attempt", attempt);
            let result = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.attempt(request)).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::Timeout(TimeoutKind::Deadline)),
                },
                None => self.attempt(request).await,
            };
            let result = match result {
                Ok(response) => prime(response, deadline).await,
                Err(error) => Err(error),
            };
            let error = match result {
                Ok(mut response) => {
                    response.attempts = attempt;
                    return Ok(response);
                }
                Err(error) => error,
            };
            let may_resend = match request.resend {
                Resend::Policy => retry::should_retry(&error),
                Resend::OnlyIfNotReceived => not_received(&error),
            };
            let unconfirmed = |error: Error| match request.resend {
                Resend::OnlyIfNotReceived if may_have_been_received(&error) => {
                    Error::Unconfirmed(Box::new(error))
                }
                _ => error,
            };
            if attempt > max_retries || !may_resend {
                return Err(unconfirmed(error));
            }
            let Some(wait) = retry::delay(attempt - 1, error.retry_after()) else {
                return Err(unconfirmed(error));
            };
            if deadline.is_some_and(|at| Instant::now() + wait >= at) {
                return Err(unconfirmed(error));
            }
            tracing::warn!(
                delay_ms = wait.as_millis() as u64,
                reason = %error,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, request: &Request) -> Result<Response> {
        let config = &self.inner.config;
        let options = &request.options;
        let mut url = reqwest::Url::parse(&self.url(&request.path))
            .map_err(|e| Error::Config(format!("invalid URL for {:?}: {e}", request.path)))?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        let headers = self.headers(request)?;
        tracing::debug!(target: "quickrouter::http", "> {} {url}", request.method);
        for line in header_lines(&headers) {
            tracing::debug!(target: "quickrouter::http", "> {line}");
        }
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .headers(headers);
        match &request.body {
            RequestBody::None => {}
            RequestBody::Json(body) => builder = builder.body(body.clone()),
            RequestBody::Multipart(parts) => builder = builder.multipart(form(parts).await?),
        }
        let timeout = options.timeout.unwrap_or(config.timeout);
        let idle_timeout = options.idle_timeout.unwrap_or(config.idle_timeout);
        let exchange = async {
            let response = builder.send().await.map_err(send_error)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            tracing::debug!(target: "quickrouter::http", "< {:?} {}", response.version(), response.status());
            for line in header_lines(&headers) {
                tracing::debug!(target: "quickrouter::http", "< {line}");
            }
            tracing::info!(
                status,
                request_id = request_id_header(&headers).unwrap_or_default(),
                "response"
            );
            if (300..400).contains(&status) {
                return self.redirect(request, status, headers);
            }
            if !(200..300).contains(&status) {
                let body = response.bytes().await.unwrap_or_default();
                let body = scrub(&body, config.api_key.as_ref());
                return Err(api_error(status, &headers, &body));
            }
            // reqwest decodes gzip, br, zstd and deflate and then drops the header; one left
            // standing names an encoding nobody here can read.
            if let Some(encoding) = headers
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.trim().eq_ignore_ascii_case("identity"))
            {
                return Err(Error::Decode {
                    message: format!(
                        "the body is encoded with Content-Encoding {encoding:?}, which this client cannot decode"
                    ),
                    snippet: String::new(),
                    source: None,
                });
            }
            let is_json = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("json"));
            let body: ByteStream = Box::pin(response.bytes_stream().map_err(body_error));
            let body = with_idle_timeout(body, idle_timeout);
            let events = |body: ByteStream| {
                let decoder = SseDecoder::with_max_event_size(config.max_event_size);
                let events = EventStream::new(body, decoder, None)
                    .with_request_id(request_id_header(&headers).map(str::to_owned));
                Body::Events(Box::new(events))
            };
            let body = match request.expect {
                Expect::Bytes => Body::Stream(body),
                Expect::Events if !is_json => events(body),
                Expect::Events => {
                    // Labelled JSON: one document from a relay that ignored `stream: true`, or an
                    // event stream mislabelled. The first piece decides, once, here.
                    let (first, rest) = first_piece(body).await?;
                    if EventStream::looks_like_sse(&first) {
                        let replay: ByteStream = Box::pin(futures_util::StreamExt::chain(
                            futures_util::stream::iter([Ok(first)]),
                            rest,
                        ));
                        events(replay)
                    } else {
                        let bytes = read_rest(first, rest).await?;
                        document(status, &headers, bytes, config)?
                    }
                }
                Expect::Document => {
                    // Read inside the timeout, so a slow body is retried like a slow head.
                    let bytes = read_rest(Bytes::new(), body).await?;
                    document(status, &headers, bytes, config)?
                }
            };
            Ok(Response {
                status,
                headers,
                attempts: 0,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(TimeoutKind::Request)),
        }
    }

    /// A 3xx the redirect policy did not follow (it pointed to another origin). A byte download
    /// gets it back, to fetch the target without credentials; anything else is refused.
    fn redirect(&self, request: &Request, status: u16, headers: HeaderMap) -> Result<Response> {
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let target = reqwest::Url::parse(&self.url(&request.path))
            .and_then(|base| base.join(location))
            .map(|u| origin_of(&u))
            .unwrap_or_else(|_| location.to_owned());
        if request.expect == Expect::Bytes && !location.is_empty() {
            return Ok(Response {
                status,
                headers,
                attempts: 0,
                body: Body::Full(Bytes::new()),
            });
        }
        Err(Error::Redirect {
            from: self.inner.origin.clone(),
            to: target,
        })
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
        let accept = match request.expect {
            Expect::Events => "text/event-stream",
            Expect::Document => "application/json",
            Expect::Bytes => "*/*",
        };
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static(accept));
        if matches!(request.body, RequestBody::Json(_)) {
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
}

/// Wait for a stream's first event, so that a stream that breaks before it (nothing was
/// delivered yet) is retried like a failed request. Only the idle timeout (and the deadline)
/// bound this wait: a video job may be silent for minutes before its first event.
async fn prime(mut response: Response, deadline: Option<Instant>) -> Result<Response> {
    let Body::Events(events) = &mut response.body else {
        return Ok(response);
    };
    match deadline {
        Some(at) => tokio::time::timeout_at(at, events.prime())
            .await
            .unwrap_or(Err(Error::Timeout(TimeoutKind::Deadline)))?,
        None => events.prime().await?,
    }
    Ok(response)
}

/// A whole 2xx document; one whose top-level `error` is set is an error (not retried: the
/// relay did answer, and a video job may have been billed).
fn document(status: u16, headers: &HeaderMap, bytes: Bytes, config: &Config) -> Result<Body> {
    if crate::stream::mentions_error(&bytes) {
        let error = ApiError::from_body(Some(status), &scrub(&bytes, config.api_key.as_ref()));
        // `{"error": {…}}` or `{"error": "text"}` is an error; `null`, `""`, `false` are not,
        // and neither is an object with an `id` that reports its own failure (a failed video).
        let body = error.body.as_ref();
        let is_error = body.is_some_and(|b| b.get("id").is_none())
            && match body.and_then(|b| b.get("error")) {
                Some(serde_json::Value::Object(_)) => true,
                Some(serde_json::Value::String(s)) => !s.is_empty(),
                _ => false,
            };
        if is_error {
            let mut error = error;
            if let Some(id) = request_id_header(headers) {
                error.request_id = Some(id.to_owned());
            }
            error.should_retry = Some(false);
            return Err(Error::Api(Box::new(error)));
        }
    }
    Ok(Body::Full(bytes))
}

async fn first_piece(mut body: ByteStream) -> Result<(Bytes, ByteStream)> {
    use futures_util::StreamExt;
    // Leading blank lines decide nothing: they are kept with the first piece that does.
    let mut blank = Vec::new();
    loop {
        match body.next().await {
            Some(Ok(piece)) if piece.iter().all(u8::is_ascii_whitespace) => {
                blank.extend_from_slice(&piece)
            }
            Some(Ok(piece)) if blank.is_empty() => return Ok((piece, body)),
            Some(Ok(piece)) => {
                blank.extend_from_slice(&piece);
                return Ok((blank.into(), body));
            }
            Some(Err(e)) => return Err(e),
            None => return Ok((blank.into(), body)),
        }
    }
}

async fn read_rest(first: Bytes, mut body: ByteStream) -> Result<Bytes> {
    use futures_util::StreamExt;
    let mut out = first.to_vec();
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| match e {
            // A document cut off is a broken connection, retried like one.
            Error::Stream(crate::StreamError::Reset { message }) => Error::Network {
                message,
                source: None,
            },
            other => other,
        })?;
        out.extend_from_slice(&piece);
    }
    Ok(out.into())
}

async fn form(parts: &[crate::request::Part]) -> Result<reqwest::multipart::Form> {
    let mut form = reqwest::multipart::Form::new();
    for part in parts {
        form = match &part.value {
            PartValue::Text(text) => form.text(part.name.clone(), text.clone()),
            PartValue::File { path, content_type } => {
                let file = reqwest::multipart::Part::file(path)
                    .await
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
                let mime = content_type
                    .clone()
                    .unwrap_or_else(|| crate::request::guess_content_type(path).to_owned());
                let file = file
                    .mime_str(&mime)
                    .map_err(|e| Error::Config(format!("invalid content type {mime:?}: {e}")))?;
                form.part(part.name.clone(), file)
            }
        };
    }
    Ok(form)
}

/// Whether the server certainly did not take a request that failed with `error`.
fn not_received(error: &Error) -> bool {
    match error {
        Error::Connect { .. } | Error::Timeout(TimeoutKind::Connect) => true,
        Error::Api(api) => api.status == Some(429) && api.kind() == ApiErrorKind::RateLimit,
        _ => false,
    }
}

/// Whether a request that failed with `error` may have been taken (and billed) all the same.
fn may_have_been_received(error: &Error) -> bool {
    match error {
        Error::Network { .. } | Error::Stream(_) | Error::Decode { .. } => true,
        Error::Timeout(kind) => *kind != TimeoutKind::Connect,
        Error::Api(api) => api.status.is_none_or(|s| s >= 500 || s == 408),
        _ => false,
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

/// Follow redirects within the first URL's origin (up to 10); stop at one to another origin, so
/// the key and the user's headers never reach it (the caller sees the 3xx).
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| origin_of(first) == origin_of(attempt.url()));
        if attempt.previous().len() > 10 {
            attempt.error("too many redirects")
        } else if same {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// `scheme://host[:port]` of a URL (the port only when it is not the scheme's default).
pub fn origin_of(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
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

/// An error from sending a request or reading its head.
pub(crate) fn send_error(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::Timeout(if error.is_connect() {
            TimeoutKind::Connect
        } else {
            TimeoutKind::Request
        });
    }
    if error.is_builder() {
        return Error::Config(chain(&error));
    }
    let message = chain(&error);
    let connect = error.is_connect();
    let source = Some(Box::new(error.without_url()) as crate::error::BoxError);
    if connect {
        Error::Connect { message, source }
    } else {
        Error::Network { message, source }
    }
}

/// An error while reading a body: the stream broke.
pub(crate) fn body_error(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::Timeout(TimeoutKind::Request);
    }
    if error.is_decode() && !broken_connection(&error) {
        // A compressed body that does not decompress: say so, never hand over its raw bytes.
        return Error::Decode {
            message: format!(
                "the compressed body could not be decoded: {}",
                chain(&error)
            ),
            snippet: String::new(),
            source: Some(Box::new(error.without_url())),
        };
    }
    Error::Stream(crate::StreamError::Reset {
        message: chain(&error),
    })
}

/// Whether a body error came from the connection (with decompression on, reqwest reports those
/// as decode errors too): hyper's body error, or a connection I/O error, anywhere in the chain.
fn broken_connection(error: &reqwest::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let io_kind = e.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        if e.to_string().contains("from connection")
            || matches!(
                io_kind,
                Some(
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::TimedOut
                )
            )
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// An error and its causes on one line, without the URL.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
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
