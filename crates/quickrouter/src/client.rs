//! The client, its builder, and per-request options.

use std::time::Duration;

use quickrouter_transport::reqwest::header::{HeaderName, HeaderValue};
use quickrouter_transport::{ApiKey, Config, HttpClient};
use serde_json::{Map, Value};

use crate::chat::Chat;
use crate::models::Models;
use crate::videos::{VideoApi, Videos};
use crate::Error;

/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "QUICKROUTER_API_KEY";
/// The environment variable holding the base URL.
pub const ENV_BASE_URL: &str = "QUICKROUTER_BASE_URL";
/// The environment variable holding the `X-Forwarded-Host` value.
pub const ENV_FORWARDED_HOST: &str = "QUICKROUTER_FORWARDED_HOST";
/// The environment variable naming the chat model when none is given.
pub const ENV_MODEL: &str = "QUICKROUTER_MODEL";
/// The environment variable naming the video model when none is given.
pub const ENV_VIDEO_MODEL: &str = "QUICKROUTER_VIDEO_MODEL";
/// The chat model when none is named anywhere.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// A QuickRouter client. Cheap to clone (one connection pool behind an `Arc`), `Send + Sync`.
///
/// Diagnostics go to `tracing` (a span per request, events for responses and retries; never
/// the key or a body): install any subscriber to see them.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) http: HttpClient,
    /// For media hosts: no key, no headers. Built on first use (most programs never download).
    media: std::sync::Arc<std::sync::OnceLock<quickrouter_transport::reqwest::Client>>,
}

impl Client {
    /// A client for the default base URL with `api_key`.
    ///
    /// # Panics
    /// If the TLS backend cannot be initialised (as `reqwest::Client::new` does).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self::builder()
            .api_key(api_key)
            .build()
            .expect("the default client configuration is valid")
    }

    /// A client configured from `QUICKROUTER_API_KEY` (required), `QUICKROUTER_BASE_URL` and
    /// `QUICKROUTER_FORWARDED_HOST`.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env().build()
    }

    /// A builder with every setting at its default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Chat completions (text models, and video models served through chat).
    pub fn chat(&self) -> Chat<'_> {
        Chat {
            client: self,
            options: RequestOptions::default(),
        }
    }

    /// Video generation through the unified task API (`/video/create`, `/video/query`); use
    /// [`Videos::api`] for the OpenAI-format `/videos` routes.
    pub fn videos(&self) -> Videos<'_> {
        Videos::new(self, VideoApi::Unified)
    }

    /// The model list.
    pub fn models(&self) -> Models<'_> {
        Models {
            client: self,
            options: RequestOptions::default(),
        }
    }

    /// The client for media hosts: no key, no headers, this client's connect and idle timeouts.
    pub(crate) fn media(&self) -> Result<&quickrouter_transport::reqwest::Client, Error> {
        if let Some(client) = self.media.get() {
            return Ok(client);
        }
        let config = self.http.config();
        let client = quickrouter_transport::plain_client_builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.idle_timeout)
            .build()
            .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?;
        Ok(self.media.get_or_init(|| client))
    }

    /// The transport settings in force (the key redacted in `Debug`).
    pub fn config(&self) -> &Config {
        self.http.config()
    }
}

/// Builds a [`Client`]. Every setter is optional.
#[derive(Debug, Default)]
pub struct ClientBuilder {
    config: Config,
    http: Option<quickrouter_transport::reqwest::Client>,
    bad_header: Option<String>,
    missing_env_key: bool,
}

impl ClientBuilder {
    /// Read `QUICKROUTER_API_KEY`, `QUICKROUTER_BASE_URL` and `QUICKROUTER_FORWARDED_HOST`;
    /// `build` fails if no key was found here or set otherwise.
    pub fn from_env(self) -> Self {
        self.from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `var` (for tests, or a
    /// program's own configuration source). Empty values count as unset.
    pub fn from_env_with(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name| var(name).filter(|v: &String| !v.trim().is_empty());
        match var(ENV_API_KEY) {
            Some(key) => self.config.api_key = Some(ApiKey::new(key.trim())),
            None => self.missing_env_key = self.config.api_key.is_none(),
        }
        if let Some(url) = var(ENV_BASE_URL) {
            self.config.base_url = url;
        }
        if let Some(host) = var(ENV_FORWARDED_HOST) {
            self.config.forwarded_host = Some(host);
        }
        self
    }

    /// The API key, sent as `Authorization: Bearer KEY`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = Some(ApiKey::new(key));
        self.missing_env_key = false;
        self
    }

    /// The base URL (default `https://api.quickrouter.ai/v1`); a path prefix is kept.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self
    }

    /// Send `X-Forwarded-Host: HOST`.
    pub fn forwarded_host(mut self, host: impl Into<String>) -> Self {
        self.config.forwarded_host = Some(host.into());
        self
    }

    /// A header sent with every request. An invalid name or value makes `build` fail.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.config.headers.append(n, v);
            }
            _ => self.bad_header = Some(name.to_owned()),
        }
        self
    }

    /// The timeout of each attempt until the response starts (default 600 s): the head of a
    /// stream, the whole of a document. The idle timeout bounds a stream after that, and
    /// [`deadline`](Self::deadline) the total of all attempts and waits.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// The connect timeout (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The longest silence between two pieces of a stream (default 600 s: video jobs served
    /// through chat stay silent for minutes).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Retries after the first try (default 2).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.max_retries = retries;
        self
    }

    /// A limit on the total time of all attempts and the waits between them.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = Some(deadline);
        self
    }

    /// The largest streamed event accepted (default 8 MiB).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.config.max_event_size = bytes;
        self
    }

    /// Use this `reqwest::Client` (its own TLS, proxy and timeouts apply; `connect_timeout`
    /// here is then ignored).
    pub fn http_client(mut self, client: quickrouter_transport::reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client, Error> {
        if self.missing_env_key {
            return Err(Error::Config(format!("missing API key: set {ENV_API_KEY}")));
        }
        if let Some(name) = self.bad_header {
            return Err(Error::Config(format!("invalid header {name:?}")));
        }
        let http = match self.http {
            Some(client) => HttpClient::with_http_client(self.config, client)?,
            None => HttpClient::new(self.config)?,
        };
        Ok(Client {
            http,
            media: Default::default(),
        })
    }
}

/// Settings for one request, without a new client.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    pub(crate) transport: quickrouter_transport::RequestOptions,
    pub(crate) extra_body: Map<String, Value>,
    pub(crate) bad_header: Option<String>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// A header for this request (replaces the client's of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.transport.headers.insert(n, v);
            }
            _ => self.bad_header = Some(name.to_owned()),
        }
        self
    }

    /// The whole-request timeout for this request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = Some(timeout);
        self
    }

    /// The stream idle timeout for this request.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.transport.idle_timeout = Some(timeout);
        self
    }

    /// Retries after the first try, for this request.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.transport.max_retries = Some(retries);
        self
    }

    /// A total deadline for this request.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.transport.deadline = Some(deadline);
        self
    }

    /// A body field sent as given, replacing the request's field of that name: the escape hatch
    /// for provider-specific parameters.
    pub fn extra_body(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra_body.insert(key.into(), value.into());
        self
    }

    /// `self` with every setting `other` makes laid over it.
    pub fn merged(&self, other: &RequestOptions) -> RequestOptions {
        let mut extra_body = self.extra_body.clone();
        extra_body.extend(other.extra_body.clone());
        RequestOptions {
            transport: self.transport.merged(&other.transport),
            extra_body,
            bad_header: other.bad_header.clone().or_else(|| self.bad_header.clone()),
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.bad_header {
            Some(name) => Err(Error::Config(format!("invalid header {name:?}"))),
            None => Ok(()),
        }
    }
}
