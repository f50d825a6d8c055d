//! Fold streamed chunks into the [`ChatCompletion`] a non-stream call would have returned.

use std::collections::BTreeMap;

use quickrouter_types::{
    ChatCompletion, ChatCompletionChunk, Choice, FinishReason, FunctionCall, ObjectType,
    ResponseMessage, Role, ToolCall, ToolKind, Usage,
};
use serde_json::{Map, Value};

/// Folds chunks, from any source (a [`ChatStream`](crate::ChatStream), a file of recorded
/// chunks, another client), into one [`ChatCompletion`]:
/// - every choice, by `index` (`n > 1`);
/// - content, refusal and reasoning (`reasoning_content`, or the `reasoning` spelling) appended;
/// - tool-call pieces merged by their `index` into complete calls (id, name, whole arguments);
/// - the last finish reason of each choice, and usage from whichever chunk carried it;
/// - fields this crate does not know, from the deltas, kept in the message's `extra`.
///
/// ```
/// use quickrouter::CompletionAccumulator;
/// use quickrouter::types::ChatCompletionChunk;
///
/// let chunks = [
///     r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
///     r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
/// ];
/// let mut acc = CompletionAccumulator::new();
/// for text in chunks {
///     acc.push(&serde_json::from_str::<ChatCompletionChunk>(text).unwrap());
/// }
/// assert_eq!(acc.finish().text(), Some("Hello"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct CompletionAccumulator {
    id: String,
    created: i64,
    model: Option<String>,
    system_fingerprint: Option<String>,
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<Usage>,
    chunks: u64,
    /// Text (content, reasoning, refusal) is dropped: only the rest is assembled.
    drop_text: bool,
}

#[derive(Debug, Default, Clone)]
struct ChoiceState {
    content: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: BTreeMap<u32, ToolCallState>,
    finish_reason: Option<FinishReason>,
    extra: Map<String, Value>,
}

#[derive(Debug, Default, Clone)]
struct ToolCallState {
    id: String,
    kind: Option<String>,
    name: String,
    arguments: String,
}

fn append(slot: &mut Option<String>, piece: Option<&str>) {
    if let Some(piece) = piece {
        slot.get_or_insert_with(String::new).push_str(piece);
    }
}

impl CompletionAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// An accumulator that drops the text as it comes (content, reasoning, refusal) and keeps
    /// the rest: tool calls, finish reasons, usage, ids. For a caller that prints the text as it
    /// streams by and must not hold a long answer in memory.
    pub fn without_text() -> Self {
        Self {
            drop_text: true,
            ..Self::default()
        }
    }

    /// How many chunks were pushed.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Fold one chunk in.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        self.chunks += 1;
        if self.id.is_empty() && !chunk.id.is_empty() {
            self.id.clone_from(&chunk.id);
        }
        if self.created == 0 {
            self.created = chunk.created;
        }
        if self.model.is_none() {
            self.model.clone_from(&chunk.model);
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        for choice in &chunk.choices {
            let state = self.choices.entry(choice.index).or_default();
            let delta = &choice.delta;
            if !self.drop_text {
                append(&mut state.content, delta.content.as_deref());
                append(&mut state.reasoning, delta.reasoning_text());
                append(&mut state.refusal, delta.refusal.as_deref());
            }
            for piece in &delta.tool_calls {
                let call = state.tool_calls.entry(piece.index).or_default();
                if let Some(id) = piece.id.as_deref().filter(|id| !id.is_empty()) {
                    call.id = id.to_owned();
                }
                if let Some(kind) = &piece.type_ {
                    call.kind = Some(kind.clone());
                }
                if let Some(function) = &piece.function {
                    if let Some(name) = function.name.as_deref() {
                        // Names come whole in one piece; some relays repeat them: do not double.
                        if call.name != name {
                            call.name.push_str(name);
                        }
                    }
                    if let Some(arguments) = function.arguments.as_deref() {
                        call.arguments.push_str(arguments);
                    }
                }
            }
            for (key, value) in &delta.extra {
                if !value.is_null() {
                    state.extra.insert(key.clone(), value.clone());
                }
            }
            if choice.finish_reason.is_some() {
                state.finish_reason.clone_from(&choice.finish_reason);
            }
        }
    }

    /// The completion so far.
    pub fn snapshot(&self) -> ChatCompletion {
        self.clone().finish()
    }

    /// The completion.
    pub fn finish(self) -> ChatCompletion {
        let choices = self
            .choices
            .into_iter()
            .map(|(index, state)| Choice {
                index,
                finish_reason: state.finish_reason,
                logprobs: Map::new(),
                message: ResponseMessage {
                    // A completion's message is the assistant's, whatever role (or `""`) a
                    // relay's deltas carried.
                    role: Some(Role::Assistant),
                    content: state.content,
                    reasoning_content: state.reasoning,
                    refusal: state.refusal,
                    tool_calls: state
                        .tool_calls
                        .into_values()
                        .map(|call| ToolCall {
                            id: call.id,
                            type_: call
                                .kind
                                .as_deref()
                                .map(ToolKind::parse)
                                .unwrap_or_default(),
                            function: FunctionCall {
                                name: call.name,
                                arguments: call.arguments,
                            },
                        })
                        .collect(),
                    extra: state.extra,
                },
            })
            .collect();
        ChatCompletion {
            id: self.id,
            object: ObjectType::ChatCompletion,
            created: self.created,
            model: self.model,
            choices,
            usage: self.usage,
            system_fingerprint: self.system_fingerprint,
            extra: Map::new(),
        }
    }
}

impl Extend<ChatCompletionChunk> for CompletionAccumulator {
    fn extend<T: IntoIterator<Item = ChatCompletionChunk>>(&mut self, iter: T) {
        for chunk in iter {
            self.push(&chunk);
        }
    }
}

impl FromIterator<ChatCompletionChunk> for CompletionAccumulator {
    fn from_iter<T: IntoIterator<Item = ChatCompletionChunk>>(iter: T) -> Self {
        let mut acc = Self::new();
        acc.extend(iter);
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(value: Value) -> ChatCompletionChunk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn merges_choices_reasoning_tool_calls_and_usage() {
        let chunks = [
            json!({"id": "c1", "created": 5, "model": "m", "choices": [{"index": 1, "delta": {"role": "assistant", "content": "B"}}]}),
            json!({"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "reasoning": "think "}}]}),
            json!({"id": "c1", "choices": [{"index": 0, "delta": {"reasoning_content": "more", "tool_calls": [
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "b", "arguments": ""}},
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "a", "arguments": "{\"x\""}}]}}]}),
            json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": ": 1}"}}, {"index": 1, "function": {"arguments": "{}"}}]}}]}),
            json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}, {"index": 1, "delta": {"content": "!"}, "finish_reason": "STOP"}]}),
            json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}),
        ];
        let completion: ChatCompletion = chunks
            .into_iter()
            .map(chunk)
            .collect::<CompletionAccumulator>()
            .finish();
        assert_eq!(completion.id, "c1");
        assert_eq!(completion.created, 5);
        assert_eq!(completion.choices.len(), 2);
        let first = &completion.choices[0].message;
        assert_eq!(first.reasoning_content.as_deref(), Some("think more"));
        assert_eq!(first.content, None);
        let calls: Vec<_> = first
            .tool_calls
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.function.name.as_str(),
                    c.function.arguments.as_str(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [("call_a", "a", "{\"x\": 1}"), ("call_b", "b", "{}")]
        );
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        assert_eq!(completion.choices[1].message.content.as_deref(), Some("B!"));
        assert_eq!(
            completion.choices[1].finish_reason,
            Some(FinishReason::Stop)
        );
        assert_eq!(completion.usage.unwrap().total_tokens, 3);
    }
}
