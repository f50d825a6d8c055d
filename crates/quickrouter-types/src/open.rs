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
    fn escaped_strings_are_read_too() {
        // An owned (unescaped) string goes through visit_string -> visit_str.
        let role: Role = serde_json::from_str(r#""\u0075ser""#).unwrap();
        assert_eq!(role, Role::User);
        assert!(serde_json::from_str::<Role>("3").is_err());
    }
}
