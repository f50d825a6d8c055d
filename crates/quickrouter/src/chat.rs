//! `client.chat()`: create a completion, or stream one.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use quickrouter_transport::reqwest::header::HeaderMap;
use quickrouter_transport::{EventStream, Request, StreamError};
use quickrouter_types::{
    ChatCompletion, ChatCompletionChunk, ChunkChoice, ChunkDelta, CreateChatCompletionRequest,
    FunctionCallDelta, ObjectType, ToolCallDelta, Usage,
};
use serde_json::Value;

use crate::accumulate::CompletionAccumulator;
use crate::client::{Client, RequestOptions};
use crate::Error;

const PATH: &str = "/chat/completions";

/// Chat completions. Get one with [`Client::chat`].
#[derive(Clone, Copy, Debug)]
pub struct Chat<'a> {
    pub(crate) client: &'a Client,
}

impl Chat<'_> {
    /// Send `request` and wait for the whole answer (`stream` is sent as `false`).
    pub async fn create(
        &self,
        request: &CreateChatCompletionRequest,
    ) -> Result<ChatCompletion, Error> {
        self.create_with(request, &RequestOptions::default()).await
    }

    /// [`create`](Self::create) with per-request options.
    pub async fn create_with(
        &self,
        request: &CreateChatCompletionRequest,
        options: &RequestOptions,
    ) -> Result<ChatCompletion, Error> {
        Ok(self.create_with_response(request, options).await?.value)
    }

    /// [`create_with`](Self::create_with), also returning the response's request id and headers.
    pub async fn create_with_response(
        &self,
        request: &CreateChatCompletionRequest,
        options: &RequestOptions,
    ) -> Result<WithResponse<ChatCompletion>, Error> {
        self.send_whole(body(request, options, false)?, options)
            .await
    }

    /// Send a request body given as JSON, exactly as given but for `stream`, which is sent as
    /// `false` (set it yourself to send it at all): the escape hatch for bodies built elsewhere.
    pub async fn create_raw(
        &self,
        body: &Value,
        options: &RequestOptions,
    ) -> Result<WithResponse<ChatCompletion>, Error> {
        self.send_whole(raw_body(body, options, false)?, options)
            .await
    }

    /// Stream a request body given as JSON, exactly as given but for `stream: true`.
    pub async fn stream_raw(
        &self,
        body: &Value,
        options: &RequestOptions,
    ) -> Result<ChatStream, Error> {
        self.send_stream(raw_body(body, options, true)?, options)
            .await
    }

    /// Send `request` as a stream (`stream` is sent as `true`) and return the chunks as they come.
    pub async fn stream(&self, request: &CreateChatCompletionRequest) -> Result<ChatStream, Error> {
        self.stream_with(request, &RequestOptions::default()).await
    }

    /// [`stream`](Self::stream) with per-request options.
    pub async fn stream_with(
        &self,
        request: &CreateChatCompletionRequest,
        options: &RequestOptions,
    ) -> Result<ChatStream, Error> {
        self.send_stream(body(request, options, true)?, options)
            .await
    }

    async fn send_whole(
        &self,
        body: Vec<u8>,
        options: &RequestOptions,
    ) -> Result<WithResponse<ChatCompletion>, Error> {
        let request = Request::post_json(PATH, body).options(options.transport.clone());
        let response = self.client.http.send(&request).await?;
        let headers = response.headers.clone();
        let value = crate::decode_json(&response.bytes().await?)?;
        Ok(WithResponse { value, headers })
    }

    async fn send_stream(
        &self,
        body: Vec<u8>,
        options: &RequestOptions,
    ) -> Result<ChatStream, Error> {
        let request = Request::post_json(PATH, body)
            .streaming(true)
            .options(options.transport.clone());
        ChatStream::from_response(self.client.http.send(&request).await?).await
    }
}

/// A raw body: an object, `stream` forced when streaming (or from `true` to `false`), extras merged.
fn raw_body(body: &Value, options: &RequestOptions, stream: bool) -> Result<Vec<u8>, Error> {
    options.check()?;
    let Some(map) = body.as_object() else {
        return Err(Error::Config("a request body must be a JSON object".into()));
    };
    let mut map = map.clone();
    if stream {
        map.insert("stream".into(), Value::Bool(true));
    } else if map.get("stream") == Some(&Value::Bool(true)) {
        map.insert("stream".into(), Value::Bool(false));
    }
    for (key, extra) in &options.extra_body {
        map.insert(key.clone(), extra.clone());
    }
    serde_json::to_vec(&map)
        .map_err(|e| Error::Config(format!("could not serialize the request: {e}")))
}

/// The request as JSON: the user's fields, `stream` set as the call demands, extra fields merged.
fn body(
    request: &CreateChatCompletionRequest,
    options: &RequestOptions,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    let mut value = serde_json::to_value(request)
        .map_err(|e| Error::Config(format!("could not serialize the request: {e}")))?;
    if !stream {
        // stream_options is refused without a stream.
        if let Some(map) = value.as_object_mut() {
            map.remove("stream_options");
        }
    }
    raw_body(&value, options, stream)
}

/// A decoded answer with its response headers.
#[derive(Debug, Clone)]
pub struct WithResponse<T> {
    /// The decoded body.
    pub value: T,
    /// The response headers.
    pub headers: HeaderMap,
}

impl<T> WithResponse<T> {
    /// The request id the server gave (`x-request-id`, `X-Oneapi-Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        quickrouter_transport::client::request_id_header(&self.headers)
    }
}

/// The chunks of a streamed answer: a plain `futures::Stream`.
///
/// It ends cleanly at `data: [DONE]`. An error event, a close before `[DONE]`, a reset, an idle
/// timeout or a chunk that is not valid JSON end it with one `Err(Error::Stream(..))` (or
/// `Error::Timeout`) after every chunk that arrived before.
#[derive(Debug)]
pub struct ChatStream {
    source: Source,
    headers: HeaderMap,
    finished: bool,
}

/// Where chunks come from: an event stream, or (from a relay that ignored `stream: true`) one
/// whole completion, cut into the chunks a stream would have carried.
#[derive(Debug)]
// The large variant is the common one: boxing it would cost an indirection per chunk.
#[allow(clippy::large_enum_variant)]
enum Source {
    Events(EventStream),
    Whole(std::vec::IntoIter<(ChatCompletionChunk, Bytes)>),
}

impl ChatStream {
    async fn from_response(response: quickrouter_transport::Response) -> Result<Self, Error> {
        let headers = response.headers.clone();
        let source = if response.is_event_stream() {
            Source::Events(response.events())
        } else {
            let bytes = response.bytes().await?;
            if EventStream::looks_like_sse(&bytes) {
                // An event stream labelled as JSON: read as what it is.
                Source::Events(EventStream::from_bytes(bytes))
            } else {
                let completion: ChatCompletion = crate::decode_json(&bytes)?;
                Source::Whole(chunks_of(completion).into_iter())
            }
        };
        Ok(ChatStream {
            source,
            headers,
            finished: false,
        })
    }
}

/// The chunks that carry `completion`: one per choice, then one with the usage.
fn chunks_of(completion: ChatCompletion) -> Vec<(ChatCompletionChunk, Bytes)> {
    let chunk = |choices: Vec<ChunkChoice>, usage: Option<Usage>| ChatCompletionChunk {
        id: completion.id.clone(),
        object: ObjectType::ChatCompletionChunk,
        created: completion.created,
        model: completion.model.clone(),
        system_fingerprint: completion.system_fingerprint.clone(),
        choices,
        usage,
    };
    let mut chunks: Vec<ChatCompletionChunk> = completion
        .choices
        .iter()
        .map(|choice| {
            let message = &choice.message;
            let tool_calls = message
                .tool_calls
                .iter()
                .enumerate()
                .map(|(i, call)| ToolCallDelta {
                    index: i as u32,
                    id: Some(call.id.clone()),
                    type_: Some(call.type_.to_string()),
                    function: Some(FunctionCallDelta {
                        name: Some(call.function.name.clone()),
                        arguments: Some(call.function.arguments.clone()),
                    }),
                })
                .collect();
            let delta = ChunkDelta {
                role: message.role.clone(),
                content: message.content.clone(),
                reasoning_content: message.reasoning_content.clone(),
                reasoning: None,
                refusal: message.refusal.clone(),
                tool_calls,
                extra: message.extra.clone(),
            };
            let finish_reason = choice.finish_reason.clone();
            chunk(
                vec![ChunkChoice {
                    index: choice.index,
                    delta,
                    finish_reason,
                }],
                None,
            )
        })
        .collect();
    if completion.usage.is_some() {
        chunks.push(chunk(Vec::new(), completion.usage.clone()));
    }
    chunks
        .into_iter()
        .map(|c| {
            let raw = Bytes::from(serde_json::to_vec(&c).unwrap_or_default());
            (c, raw)
        })
        .collect()
}

impl ChatStream {
    /// The request id the server gave (`x-request-id`, `X-Oneapi-Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        quickrouter_transport::client::request_id_header(&self.headers)
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The next chunk with the event data it was decoded from, byte for byte as received.
    pub async fn next_with_raw(&mut self) -> Option<Result<(ChatCompletionChunk, Bytes), Error>> {
        std::future::poll_fn(|cx| self.poll_raw(cx)).await
    }

    fn poll_raw(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(ChatCompletionChunk, Bytes), Error>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let events = match &mut self.source {
            Source::Events(events) => events,
            Source::Whole(chunks) => {
                let next = chunks.next();
                self.finished = next.is_none();
                return Poll::Ready(next.map(Ok));
            }
        };
        let item = ready!(Pin::new(events).poll_next(cx));
        let out = match item {
            Some(Ok(event)) => match serde_json::from_slice::<ChatCompletionChunk>(&event.data) {
                Ok(chunk) => return Poll::Ready(Some(Ok((chunk, event.data)))),
                Err(e) => Some(Err(Error::Stream(StreamError::InvalidEvent {
                    message: e.to_string(),
                    snippet: event.data_text().chars().take(200).collect(),
                }))),
            },
            Some(Err(error)) => Some(Err(error)),
            None => None,
        };
        self.finished = true;
        Poll::Ready(out)
    }

    /// Read the whole stream and fold it into one [`ChatCompletion`] (every choice, reasoning,
    /// complete tool calls, usage). Fails if the stream broke; see
    /// [`collect_partial`](Self::collect_partial) to keep what arrived before.
    pub async fn collect_completion(self) -> Result<ChatCompletion, Error> {
        match self.collect_partial().await {
            (completion, None) => Ok(completion),
            (_, Some(error)) => Err(error),
        }
    }

    /// Read the whole stream; return what arrived, folded, and the error that ended it, if any.
    pub async fn collect_partial(mut self) -> (ChatCompletion, Option<Error>) {
        let mut accumulator = CompletionAccumulator::new();
        let error = loop {
            match std::future::poll_fn(|cx| Pin::new(&mut self).poll_next(cx)).await {
                Some(Ok(chunk)) => accumulator.push(&chunk),
                Some(Err(error)) => break Some(error),
                None => break None,
            }
        };
        (accumulator.finish(), error)
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_raw(cx)
            .map(|item| item.map(|result| result.map(|(chunk, _)| chunk)))
    }
}
