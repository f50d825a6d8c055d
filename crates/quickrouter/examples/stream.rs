//! `cargo run -p quickrouter --example stream -- [PROMPT]`

use std::io::Write;

use futures_util::StreamExt;
use quickrouter::{ChatMessage, Client, CreateChatCompletionRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let prompt = if prompt.is_empty() {
        "Write a haiku about relays".to_owned()
    } else {
        prompt
    };
    let client = Client::from_env()?;
    let model = std::env::var("QUICKROUTER_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let request =
        CreateChatCompletionRequest::new(model, [ChatMessage::user(prompt)]).include_usage(true);
    let mut stream = client.chat().stream(&request).await?;
    let mut out = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        for choice in &chunk.choices {
            if let Some(text) = &choice.delta.content {
                write!(out, "{text}")?;
                out.flush()?;
            }
        }
        if let Some(usage) = chunk.usage {
            eprintln!("\n({} tokens)", usage.total_tokens);
        }
    }
    println!();
    Ok(())
}
