//! `cargo run -p quickrouter --example tools`: a tool defined by a Rust type, called by the model.
//! Against the emulator, use model `tools` (`QUICKROUTER_MODEL=tools`).

use quickrouter::schemars::JsonSchema;
use quickrouter::tools::{function_tool, ToolCallExt};
use quickrouter::{ChatMessage, Client, CreateChatCompletionRequest};
use serde::Deserialize;

/// Arguments of `get_weather`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "quickrouter::schemars")]
struct GetWeather {
    /// The city, e.g. Paris.
    city: String,
    /// `celsius` or `fahrenheit`.
    unit: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let model = std::env::var("QUICKROUTER_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let request = CreateChatCompletionRequest::new(
        model,
        [ChatMessage::user("What's the weather in Paris?")],
    )
    .tool(function_tool::<GetWeather>(
        "get_weather",
        "Current weather of a city",
    ));
    let answer = client
        .chat()
        .stream(&request)
        .await?
        .collect_completion()
        .await?;
    let message = &answer.choices[0].message;
    if message.tool_calls.is_empty() {
        println!("{}", message.content.as_deref().unwrap_or_default());
    }
    for call in &message.tool_calls {
        if call.function.name == "get_weather" {
            let args: GetWeather = call.parse_arguments()?;
            println!(
                "{} -> get_weather(city: {}, unit: {:?})",
                call.id, args.city, args.unit
            );
        } else {
            println!(
                "{} -> {}({})",
                call.id, call.function.name, call.function.arguments
            );
        }
    }
    Ok(())
}
