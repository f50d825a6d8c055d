//! Hand-written constructors, builders and helpers for the generated types.
//!
//! Nothing here can fail at runtime: a request is built by value, each setter sets one field, and
//! fields never set are never sent.

use serde_json::{Map, Value};

use crate::generated::*;
use crate::open::FinishReason;

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<MessageContent>) -> Self {
        Self::System {
            content: content.into(),
            name: None,
        }
    }

    /// A developer message (the newer name of a system message).
    pub fn developer(content: impl Into<MessageContent>) -> Self {
        Self::Developer {
            content: content.into(),
            name: None,
        }
    }

    /// A user message: text, or parts (`Vec<ContentPart>`).
    pub fn user(content: impl Into<MessageContent>) -> Self {
        Self::User {
            content: content.into(),
            name: None,
        }
    }

    /// An earlier answer of the assistant, sent back as history.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::Assistant {
            content: Some(content.into()),
            name: None,
            reasoning_content: None,
            tool_calls: Vec::new(),
        }
    }

    /// An assistant message that called tools (send it back before the tools' results).
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Self {
        Self::Assistant {
            content: None,
            name: None,
            reasoning_content: None,
            tool_calls,
        }
    }

    /// The result of the tool call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::Tool {
            content: content.into(),
            tool_call_id: tool_call_id.into(),
        }
    }
}

impl From<&str> for MessageContent {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for MessageContent {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// An image by URL (http(s) or `data:`).
    pub fn image_url(url: impl Into<String>) -> Self {
        Self::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
            },
        }
    }
}

impl From<&str> for Stop {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for Stop {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl ToolChoice {
    /// The model must not call tools.
    pub const NONE: Self = Self::ToolChoiceMode(ToolChoiceMode::None);
    /// The model chooses.
    pub const AUTO: Self = Self::ToolChoiceMode(ToolChoiceMode::Auto);
    /// The model must call at least one tool.
    pub const REQUIRED: Self = Self::ToolChoiceMode(ToolChoiceMode::Required);

    /// The model must call the function `name`.
    pub fn function(name: impl Into<String>) -> Self {
        Self::NamedToolChoice(NamedToolChoice {
            type_: NamedToolChoiceType::Function,
            function: NamedToolChoiceFunction { name: name.into() },
        })
    }
}

impl Tool {
    /// A function tool. `parameters` is the JSON Schema of its arguments (an object schema).
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Map<String, Value>,
    ) -> Self {
        let description: String = description.into();
        Self {
            type_: ToolType::Function,
            function: FunctionDefinition {
                name: name.into(),
                description: (!description.is_empty()).then_some(description),
                parameters,
                strict: None,
            },
        }
    }
}

impl ResponseFormat {
    /// `{"type": "json_object"}`: the model answers with a JSON object.
    pub fn json_object() -> Self {
        Self {
            type_: ResponseFormatType::JsonObject,
            json_schema: Map::new(),
        }
    }
}

impl CreateChatCompletionRequest {
    /// A request for `model` with `messages`; every other field unset (and so not sent).
    pub fn new(model: impl Into<String>, messages: impl IntoIterator<Item = ChatMessage>) -> Self {
        Self {
            model: model.into(),
            messages: messages.into_iter().collect(),
            frequency_penalty: None,
            logit_bias: Default::default(),
            logprobs: None,
            max_completion_tokens: None,
            max_tokens: None,
            n: None,
            parallel_tool_calls: None,
            presence_penalty: None,
            response_format: None,
            seed: None,
            stop: None,
            stream: None,
            stream_options: None,
            temperature: None,
            tool_choice: None,
            tools: Vec::new(),
            top_logprobs: None,
            top_p: None,
            user: None,
            extra: Map::new(),
        }
    }

    /// Append a message.
    pub fn message(mut self, message: ChatMessage) -> Self {
        self.messages.push(message);
        self
    }

    /// Sampling temperature (0 to 2).
    pub fn temperature(mut self, value: f64) -> Self {
        self.temperature = Some(value);
        self
    }

    /// Nucleus sampling mass (0 to 1).
    pub fn top_p(mut self, value: f64) -> Self {
        self.top_p = Some(value);
        self
    }

    /// How many choices to generate.
    pub fn n(mut self, value: u32) -> Self {
        self.n = Some(value);
        self
    }

    /// The most tokens to generate.
    pub fn max_tokens(mut self, value: u32) -> Self {
        self.max_tokens = Some(value);
        self
    }

    /// Stop sequences (a string, or up to 4; more are the server's to refuse).
    pub fn stop(mut self, value: impl Into<Stop>) -> Self {
        self.stop = Some(value.into());
        self
    }

    /// Best-effort deterministic sampling.
    pub fn seed(mut self, value: i64) -> Self {
        self.seed = Some(value);
        self
    }

    /// Presence penalty (-2 to 2).
    pub fn presence_penalty(mut self, value: f64) -> Self {
        self.presence_penalty = Some(value);
        self
    }

    /// Frequency penalty (-2 to 2).
    pub fn frequency_penalty(mut self, value: f64) -> Self {
        self.frequency_penalty = Some(value);
        self
    }

    /// Bias one token id (-100 to 100).
    pub fn logit_bias(mut self, token: impl Into<String>, bias: i32) -> Self {
        self.logit_bias.insert(token.into(), bias);
        self
    }

    /// A stable identifier for your end user.
    pub fn user(mut self, value: impl Into<String>) -> Self {
        self.user = Some(value.into());
        self
    }

    /// Ask for a JSON object answer.
    pub fn json_object(mut self) -> Self {
        self.response_format = Some(ResponseFormat::json_object());
        self
    }

    /// Stream the answer. The client's streaming call sets this itself.
    pub fn stream(mut self, value: bool) -> Self {
        self.stream = Some(value);
        self
    }

    /// Ask for a last chunk with `usage` (and `choices: []`) on a stream.
    pub fn include_usage(mut self, value: bool) -> Self {
        self.stream_options = Some(StreamOptions {
            include_usage: Some(value),
        });
        self
    }

    /// Add a tool the model may call.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// How the model should use the tools.
    pub fn tool_choice(mut self, value: impl Into<ToolChoice>) -> Self {
        self.tool_choice = Some(value.into());
        self
    }

    /// Any other body field (a provider-specific parameter); it is sent as given.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

impl ChatCompletion {
    /// The first choice's content, if any.
    pub fn text(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }

    /// The first choice's finish reason, if any.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.choices.first()?.finish_reason.as_ref()
    }
}

impl ChunkDelta {
    /// Reasoning text under either spelling relays use (`reasoning_content`, `reasoning`).
    pub fn reasoning_text(&self) -> Option<&str> {
        self.reasoning_content
            .as_deref()
            .or(self.reasoning.as_deref())
    }
}
