//! [`ChatStream`]: the chunks of a streamed answer.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use quickrouter_transport::reqwest::header::HeaderMap;
use quickrouter_transport::{EventStream, StreamError};
use quickrouter_types::{
    json, ChatCompletion, ChatCompletionChunk, ChunkChoice, ChunkDelta, FunctionCallDelta,
    ObjectType, ToolCallDelta, Usage,
};

use super::CompletionAccumulator;
use crate::Error;

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
    pub(crate) async fn from_response(
        response: quickrouter_transport::Response,
    ) -> Result<Self, Error> {
        let headers = response.headers.clone();
        // The transport decided, once, whether this is an event stream or one document.
        let source = if response.is_event_stream() {
            Source::Events(response.events())
        } else {
            let completion: ChatCompletion = crate::decode_json(&response.bytes().await?)?;
            Source::Whole(chunks_of(completion).into_iter())
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
        quickrouter_transport::request_id_header(&self.headers)
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The next chunk with the event data it was decoded from: byte for byte as received from an
    /// event stream; re-serialised when the relay answered with one document instead.
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
            Some(Ok(event)) => match json::from_slice::<ChatCompletionChunk>(&event.data) {
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
    pub async fn collect_partial(self) -> (ChatCompletion, Option<Error>) {
        let mut accumulator = CompletionAccumulator::new();
        let error = self.drain(|chunk, _| accumulator.push(chunk)).await;
        (accumulator.finish(), error)
    }

    /// Read the whole stream, calling `each` with every chunk and its event data; the error that
    /// ended it, if any. The one loop every consumer of a stream shares.
    pub async fn drain(
        mut self,
        mut each: impl FnMut(&ChatCompletionChunk, &Bytes),
    ) -> Option<Error> {
        loop {
            match self.next_with_raw().await {
                Some(Ok((chunk, raw))) => each(&chunk, &raw),
                Some(Err(error)) => return Some(error),
                None => return None,
            }
        }
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_raw(cx)
            .map(|item| item.map(|result| result.map(|(chunk, _)| chunk)))
    }
}
