//! `cargo run -p quickrouter --example chat_video -- [PROMPT]`: a video made through chat, progress on stderr,
//! the link on stdout.

use futures_util::StreamExt;
use quickrouter::chat::video::{ChatVideoResult, ProgressTracker, VideoProgress};
use quickrouter::{ChatMessage, Client, CompletionAccumulator, CreateChatCompletionRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let prompt = if prompt.is_empty() {
        "an astronaut golden retriever in a space station".to_owned()
    } else {
        prompt
    };
    let client = Client::from_env()?;
    // A model the relay serves through chat (the emulator calls one `video-chat`).
    let model = std::env::var("QUICKROUTER_VIDEO_MODEL").unwrap_or_else(|_| "video-chat".into());
    let request = CreateChatCompletionRequest::new(model, [ChatMessage::user(prompt)]);
    let mut stream = client.chat().stream(&request).await?;
    let mut tracker = ProgressTracker::new();
    let mut answer = CompletionAccumulator::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        for note in tracker.push(&chunk) {
            match note {
                VideoProgress::Queued { task_id, .. } => {
                    eprintln!("queued (task {})", task_id.unwrap_or_default())
                }
                VideoProgress::Percent { percent, .. } => eprintln!("progress {percent}%"),
                VideoProgress::Status { text } => eprintln!("{text}"),
                _ => {}
            }
        }
        answer.push(&chunk);
    }
    let result = ChatVideoResult::from_completion(&answer.finish());
    if let Some(failure) = &result.failure {
        return Err(format!("generation failed: {failure}").into());
    }
    for media in &result.media {
        println!("{:?}: {}", media.kind, media.url);
    }
    if result.video().is_none() {
        return Err("the answer held no video link".into());
    }
    Ok(())
}
