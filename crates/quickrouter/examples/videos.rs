//! `cargo run -p quickrouter --example videos -- [PROMPT]`: a video through the unified task API
//! (`QUICKROUTER_VIDEO_API=openai` for the OpenAI-format routes): progress on stderr, then the file
//! saved into `videos/` and its path on stdout.

use futures_util::StreamExt;
use quickrouter::videos::{VideoApi, VideoRequest, WaitOptions};
use quickrouter::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let prompt = if prompt.is_empty() {
        "a cat surfing at dawn".to_owned()
    } else {
        prompt
    };
    let model = std::env::var("QUICKROUTER_VIDEO_MODEL").unwrap_or_else(|_| "veo3.1-fast".into());
    let api: VideoApi = std::env::var("QUICKROUTER_VIDEO_API")
        .unwrap_or_else(|_| "unified".into())
        .parse()?;
    let client = Client::from_env()?;
    let videos = client.videos().api(api);
    let task = videos.create(&VideoRequest::new(model, prompt)).await?;
    eprintln!("task {} ({})", task.id, task.status_text);
    let mut updates = videos.wait(&task.id, WaitOptions::default());
    let mut last = task;
    while let Some(update) = updates.next().await {
        last = update?;
        eprintln!("{} {}%", last.status_text, last.progress.unwrap_or(0));
    }
    if !last.is_success() {
        return Err(format!("the video failed: {:?}", last.error).into());
    }
    let path = videos.download(&last, "videos".as_ref()).await?;
    println!("{}", path.display());
    Ok(())
}
