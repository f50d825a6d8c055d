//! Open enums: the values this API documents, plus `Other` for whatever a relay sends instead.
//!
//! A closed enum makes one unexpected `finish_reason` fail a whole answer (async-openai's issue
//! #498). These types never fail: known values are matched without regard to ASCII case (relays
//! send `"STOP"`), anything else is kept verbatim in `Other`. Serializing writes the canonical
//! lower-case spelling of known values and `Other` as it came.

use std::fmt;

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident, default $default:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, as the server sent it.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(other) => other,
                }
            }

            /// Parse a wire value; never fails (unknown values become `Other`).
            pub fn parse(value: &str) -> Self {
                $(if value.eq_ignore_ascii_case($wire) {
                    return Self::$variant;
                })*
                Self::Other(value.to_owned())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(value))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::parse(value)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(OpenVisitor(Self::parse))
            }
        }
    };
}

/// Visits a string (borrowed or owned) without allocating for known values.
struct OpenVisitor<T>(fn(&str) -> T);

impl<T> serde::de::Visitor<'_> for OpenVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        Ok((self.0)(value))
    }
}

open_enum! {
    /// Why the model stopped.
    FinishReason, default Stop {
        /// A natural end, or a stop sequence.
        Stop = "stop",
        /// `max_tokens` reached.
        Length = "length",
        /// The model called tools.
        ToolCalls = "tool_calls",
        /// Content was filtered.
        ContentFilter = "content_filter",
        /// The model called a function (the deprecated form of tool calls).
        FunctionCall = "function_call",
    }
}

open_enum! {
    /// Who wrote a message.
    Role, default Assistant {
        /// Instructions.
        System = "system",
        /// Instructions (newer name).
        Developer = "developer",
        /// The user.
        User = "user",
        /// The model.
        Assistant = "assistant",
        /// A tool's result.
        Tool = "tool",
    }
}

open_enum! {
    /// What kind of object a response is.
    ObjectType, default ChatCompletion {
        /// A whole answer.
        ChatCompletion = "chat.completion",
        /// One streamed chunk.
        ChatCompletionChunk = "chat.completion.chunk",
        /// A list (of models).
        List = "list",
        /// A model.
        Model = "model",
    }
}

open_enum! {
    /// The kind of a tool call.
    ToolKind, default Function {
        /// A function call.
        Function = "function",
    }
}

open_enum! {
    /// A video task's status, whichever API reported it.
    VideoStatus, default Queued {
        /// Accepted, not started (the unified API's word).
        Pending = "pending",
        /// Waiting in a queue.
        Queued = "queued",
        /// Being generated (the unified API's word).
        Processing = "processing",
        /// Being generated (OpenAI's word).
        InProgress = "in_progress",
        /// Done: the video can be fetched.
        Completed = "completed",
        /// Done (another spelling some upstreams use).
        Succeeded = "succeeded",
        /// Failed: the relay's reason is in the task's error.
        Failed = "failed",
        /// Cancelled before it finished.
        Cancelled = "cancelled",
    }
}

impl VideoStatus {
    /// Whether the task is finished, well or not (an unknown status counts as still running).
    pub fn is_terminal(&self) -> bool {
        self.is_success() || self.is_failure()
    }

    /// Whether the video is ready.
    pub fn is_success(&self) -> bool {
        match self {
            Self::Completed | Self::Succeeded => true,
            Self::Other(other) => ["success", "succeed", "done", "finished", "complete"]
                .iter()
                .any(|w| other.eq_ignore_ascii_case(w)),
            _ => false,
        }
    }

    /// Whether the task ended without a video (failed or cancelled).
    pub fn is_failure(&self) -> bool {
        match self {
            Self::Failed | Self::Cancelled => true,
            Self::Other(other) => ["failure", "error", "canceled", "expired", "rejected"]
                .iter()
                .any(|w| other.eq_ignore_ascii_case(w)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_ignore_case_and_unknown_ones_are_kept() {
        let parsed: Vec<FinishReason> =
            serde_json::from_str(r#"["stop","STOP","Length","error","",  "tool_calls"]"#).unwrap();
        assert_eq!(
            parsed,
            [
                FinishReason::Stop,
                FinishReason::Stop,
                FinishReason::Length,
                FinishReason::Other("error".into()),
                FinishReason::Other(String::new()),
                FinishReason::ToolCalls,
            ]
        );
        assert_eq!(serde_json::to_string(&parsed[1]).unwrap(), r#""stop""#);
        assert_eq!(serde_json::to_string(&parsed[3]).unwrap(), r#""error""#);
    }

    #[test]
    fn video_statuses_of_every_relay() {
        for done in ["completed", "SUCCEEDED", "success"] {
            assert!(VideoStatus::parse(done).is_success(), "{done}");
        }
        for failed in ["failed", "cancelled", "canceled", "FAILURE"] {
            assert!(VideoStatus::parse(failed).is_failure(), "{failed}");
        }
        for running in [
            "pending",
            "queued",
            "processing",
            "in_progress",
            "rendering",
            "",
        ] {
            assert!(!VideoStatus::parse(running).is_terminal(), "{running}");
        }
    }

    #[test]
    fn escaped_strings_are_read_too() {
        // An owned (unescaped) string goes through visit_string -> visit_str.
        let role: Role = serde_json::from_str(r#""\u0075ser""#).unwrap();
        assert_eq!(role, Role::User);
        assert!(serde_json::from_str::<Role>("3").is_err());
    }
}
