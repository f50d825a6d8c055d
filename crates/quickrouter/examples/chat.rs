//! `cargo run -p quickrouter --example chat -- [PROMPT]`

use quickrouter::{ChatMessage, Client, CreateChatCompletionRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let prompt = if prompt.is_empty() {
        "Say hello in three languages".to_owned()
    } else {
        prompt
    };
    let client = Client::from_env()?;
    let model = std::env::var("QUICKROUTER_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let request = CreateChatCompletionRequest::new(model, [ChatMessage::user(prompt)]);
    let answer = client.chat().create(&request).await?;
    println!("{}", answer.text().unwrap_or_default());
    if let Some(usage) = &answer.usage {
        eprintln!(
            "({} prompt + {} completion tokens)",
            usage.prompt_tokens, usage.completion_tokens
        );
    }
    Ok(())
}
