//! `client.chat()`: create a completion, or stream one.
//!
//! Three methods and one combinator:
//!
//! | call | returns |
//! |---|---|
//! | `chat().create(&body)` | the [`ChatCompletion`] |
//! | `chat().create_with_response(&body)` | the completion with its headers and raw bytes ([`WithResponse`]) |
//! | `chat().stream(&body)` | a [`ChatStream`] of chunks (headers and request id on it) |
//! | `chat().with_options(options)` | the same three, with per-request [`RequestOptions`] |
//!
//! `body` is the typed [`CreateChatCompletionRequest`](quickrouter_types::CreateChatCompletionRequest)
//! or anything else that serializes to a JSON object (a `serde_json::Map`, your own struct): the
//! one way to send fields this crate does not know. `stream` is set by the method (`true` for a
//! stream; a whole answer sends `false` only if the body named `stream`); a non-streamed request
//! never carries `stream_options`.
//!
//! Before 0.2 the same was spelled with seven methods: `create_with(r, o)` is now
//! `with_options(o).create(r)`; `create_raw(v, o)` is `with_options(o).create_with_response(v)`;
//! `stream_with(r, o)` and `stream_raw(v, o)` are `with_options(o).stream(..)`.

mod accumulate;
mod stream;
pub mod video;

use bytes::Bytes;
use quickrouter_transport::reqwest::header::HeaderMap;
use quickrouter_transport::{Request, RequestBody};
use quickrouter_types::ChatCompletion;
use serde::Serialize;
use serde_json::{Map, Value};

pub use accumulate::CompletionAccumulator;
pub use stream::ChatStream;

use crate::client::{Client, RequestOptions};
use crate::Error;

const PATH: &str = "/chat/completions";

/// Chat completions. Get one with [`Client::chat`].
#[derive(Clone, Debug)]
pub struct Chat<'a> {
    pub(crate) client: &'a Client,
    pub(crate) options: RequestOptions,
}

impl<'a> Chat<'a> {
    /// The same resource with per-request options (headers, timeouts, retries, extra body fields).
    pub fn with_options(mut self, options: RequestOptions) -> Chat<'a> {
        self.options = self.options.merged(&options);
        self
    }

    /// Send `body` (`stream: false`) and wait for the whole answer.
    pub async fn create<B: Serialize + ?Sized>(&self, body: &B) -> Result<ChatCompletion, Error> {
        Ok(self.create_with_response(body).await?.value)
    }

    /// [`create`](Self::create), also returning the response's headers and the body as received.
    pub async fn create_with_response<B: Serialize + ?Sized>(
        &self,
        body: &B,
    ) -> Result<WithResponse<ChatCompletion>, Error> {
        let request = Request::post_json(PATH, self.body(body, false)?)
            .options(self.options.transport.clone());
        let response = self.client.http.send(&request).await?;
        WithResponse::decode(response).await
    }

    /// Send `body` with `stream: true` and return the chunks as they come.
    pub async fn stream<B: Serialize + ?Sized>(&self, body: &B) -> Result<ChatStream, Error> {
        let request = Request::post_json(PATH, self.body(body, true)?)
            .streaming(true)
            .options(self.options.transport.clone());
        ChatStream::from_response(self.client.http.send(&request).await?).await
    }

    /// The body to send: the caller's fields, `stream` as the method demands (no `stream_options`
    /// without a stream), the options' extra fields laid over.
    pub fn body<B: Serialize + ?Sized>(&self, body: &B, stream: bool) -> Result<Bytes, Error> {
        self.options.check()?;
        let mut map = to_object(body)?;
        if stream {
            map.insert("stream".into(), Value::Bool(true));
        } else {
            // Sent only when the body named it (`false` is the API's default).
            if let Some(value) = map.get_mut("stream") {
                *value = Value::Bool(false);
            }
            map.remove("stream_options");
        }
        for (key, extra) in &self.options.extra_body {
            map.insert(key.clone(), extra.clone());
        }
        serde_json::to_vec(&map)
            .map(Bytes::from)
            .map_err(|e| Error::Config(format!("could not serialize the request: {e}")))
    }
}

/// `body` as a JSON object, or a clear error.
pub(crate) fn to_object<B: Serialize + ?Sized>(body: &B) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Config("a request body must be a JSON object".into())),
        Err(e) => Err(Error::Config(format!(
            "could not serialize the request: {e}"
        ))),
    }
}

/// A JSON body sent as-is (for the resources that need no `stream` handling).
pub(crate) fn json_body<B: Serialize + ?Sized>(
    body: &B,
    options: &RequestOptions,
) -> Result<RequestBody, Error> {
    options.check()?;
    let mut map = to_object(body)?;
    for (key, extra) in &options.extra_body {
        map.insert(key.clone(), extra.clone());
    }
    serde_json::to_vec(&map)
        .map(|v| RequestBody::Json(v.into()))
        .map_err(|e| Error::Config(format!("could not serialize the request: {e}")))
}

/// A decoded answer with its response headers and its body exactly as received.
#[derive(Debug, Clone)]
pub struct WithResponse<T> {
    /// The decoded body.
    pub value: T,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as the relay sent it (every field kept, including those `T` does not name).
    pub raw: Bytes,
}

impl<T: serde::de::DeserializeOwned> WithResponse<T> {
    pub(crate) async fn decode(response: quickrouter_transport::Response) -> Result<Self, Error> {
        let headers = response.headers.clone();
        let raw = response.bytes().await?;
        let value = crate::decode_json(&raw)?;
        Ok(WithResponse {
            value,
            headers,
            raw,
        })
    }
}

impl<T> WithResponse<T> {
    /// The request id the server gave (`x-request-id`, `X-Oneapi-Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        quickrouter_transport::request_id_header(&self.headers)
    }
}
