//! Tools from Rust types: a function tool whose parameters schema is derived with schemars, and
//! a typed reading of the calls the model makes.
//!
//! ```
//! use quickrouter::tools::{function_tool, ToolCallExt};
//! use quickrouter::types::{FunctionCall, ToolCall, ToolKind};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! /// Look up the weather.
//! #[derive(Deserialize, JsonSchema)]
//! struct GetWeather {
//!     /// The city.
//!     city: String,
//! }
//!
//! let tool = function_tool::<GetWeather>("get_weather", "Look up the weather");
//! assert_eq!(tool.function.parameters["required"], serde_json::json!(["city"]));
//!
//! let call = ToolCall {
//!     id: "call_1".into(),
//!     type_: ToolKind::Function,
//!     function: FunctionCall { name: "get_weather".into(), arguments: r#"{"city":"Paris"}"#.into() },
//! };
//! let args: GetWeather = call.parse_arguments().unwrap();
//! assert_eq!(args.city, "Paris");
//! ```

use quickrouter_types::{Tool, ToolCall};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A function tool named `name` whose `parameters` is the JSON Schema of `T`.
pub fn function_tool<T: JsonSchema>(name: &str, description: &str) -> Tool {
    let schema =
        schemars::SchemaGenerator::new(schemars::generate::SchemaSettings::draft07().with(|s| {
            s.inline_subschemas = true;
        }))
        .into_root_schema_for::<T>();
    let mut parameters: Map<String, Value> = match schema.to_value() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    // Models want a plain object schema; the meta keys only confuse some providers.
    parameters.remove("$schema");
    parameters.remove("title");
    if !parameters.contains_key("type") {
        parameters.insert("type".into(), Value::String("object".into()));
    }
    Tool::function(name, description, parameters)
}

/// The model's arguments did not fit the type asked for.
#[derive(Debug)]
pub struct ToolArgumentsError {
    /// The tool call's function name.
    pub name: String,
    /// The arguments as the model wrote them.
    pub arguments: String,
    /// Why they did not fit.
    pub source: serde_json::Error,
}

impl std::fmt::Display for ToolArgumentsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = self.arguments.chars().take(200).collect();
        write!(
            f,
            "the arguments of tool call {:?} do not fit: {} (arguments: {shown:?})",
            self.name, self.source
        )
    }
}

impl std::error::Error for ToolArgumentsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Typed access to a tool call's arguments.
pub trait ToolCallExt {
    /// Parse the arguments into `T`, with a clear error when the model's JSON does not fit.
    fn parse_arguments<T: DeserializeOwned>(&self) -> Result<T, ToolArgumentsError>;
}

impl ToolCallExt for ToolCall {
    fn parse_arguments<T: DeserializeOwned>(&self) -> Result<T, ToolArgumentsError> {
        // An empty argument string is how some models say "no arguments".
        let text = if self.function.arguments.trim().is_empty() {
            "{}"
        } else {
            &self.function.arguments
        };
        serde_json::from_str(text).map_err(|source| ToolArgumentsError {
            name: self.function.name.clone(),
            arguments: self.function.arguments.clone(),
            source,
        })
    }
}
