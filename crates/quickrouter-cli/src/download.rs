//! `--download DIR`: fetch the media an answer links to.
//!
//! The media host gets no API key and none of the `-H` headers: only a User-Agent. File names
//! come from the URL's last path segment, reduced to `[A-Za-z0-9._-]`, so nothing can land
//! outside DIR; a name already taken gets `-1`, `-2`, …; bytes go to `NAME.part` and are renamed
//! when complete, so a failed download leaves no truncated file behind.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use quickrouter::sora::{self, Media};
use quickrouter::types::ChatCompletion;
use tokio::io::AsyncWriteExt;

use crate::args::Connection;
use crate::exit::{Code, Failure};
use crate::output::Ui;

/// Download every media link in the answer's content into `dir`.
pub async fn all(
    completion: &ChatCompletion,
    dir: &Path,
    connection: &Connection,
    ui: &Ui,
) -> Result<(), Failure> {
    let mut media: Vec<Media> = Vec::new();
    for choice in &completion.choices {
        for found in sora::media_links(choice.message.content.as_deref().unwrap_or_default()) {
            if !media.iter().any(|m| m.url == found.url) {
                media.push(found);
            }
        }
    }
    if media.is_empty() {
        let content = completion.text().unwrap_or_default();
        return match sora::failure(content) {
            Some(failure) => Err(Failure::new(
                Code::ServerError,
                format!("generation failed: {failure}"),
            )),
            None => {
                ui.note("warning: the answer holds no media links; nothing downloaded");
                Ok(())
            }
        };
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    let client = quickrouter::transport::client::plain_client_builder()
        .connect_timeout(connection.timeout.min(std::time::Duration::from_secs(30)))
        .read_timeout(connection.idle_timeout)
        .build()
        .map_err(|e| Failure::new(Code::Network, format!("could not set up downloads: {e}")))?;
    for item in &media {
        let path = unique_path(dir, &file_name(item));
        fetch(&client, item, &path, ui).await?;
        ui.note(&format!("saved {}", path.display()));
    }
    Ok(())
}

async fn fetch(
    client: &quickrouter::transport::reqwest::Client,
    media: &Media,
    path: &Path,
    ui: &Ui,
) -> Result<(), Failure> {
    let network = |e: quickrouter::transport::reqwest::Error| {
        Failure::new(
            Code::Network,
            format!("download of {} failed: {}", media.url, e.without_url()),
        )
    };
    let response = client.get(&media.url).send().await.map_err(network)?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(Failure::new(
            Failure::code_for_status(status),
            format!("download of {} failed (status {status})", media.url),
        ));
    }
    let total = response.content_length();
    let part = path.with_extension(format!(
        "{}.part",
        path.extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
    ));
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", part.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut body = response.bytes_stream();
    let mut received: u64 = 0;
    let result: Result<(), Failure> = async {
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(network)?;
            file.write_all(&piece)
                .await
                .map_err(|e| Failure::usage(format!("cannot write {}: {e}", part.display())))?;
            received += piece.len() as u64;
            ui.progress_line(&bar(&name, received, total));
        }
        file.flush()
            .await
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", part.display())))?;
        Ok(())
    }
    .await;
    drop(file);
    if let Err(failure) = result {
        let _ = std::fs::remove_file(&part);
        return Err(failure);
    }
    std::fs::rename(&part, path)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}

fn bar(name: &str, received: u64, total: Option<u64>) -> String {
    let kib = |b: u64| b as f64 / 1024.0;
    match total.filter(|t| *t > 0) {
        Some(total) => {
            let done = (received.min(total) * 20 / total) as usize;
            format!(
                "{name} [{}{}] {:>3}% {:.1}/{:.1} KiB",
                "#".repeat(done),
                " ".repeat(20 - done),
                received.min(total) * 100 / total,
                kib(received),
                kib(total)
            )
        }
        None => format!("{name} {:.1} KiB", kib(received)),
    }
}

/// A safe file name for a link: the URL path's last segment, reduced to `[A-Za-z0-9._-]`,
/// never empty, never starting with a dot, ending in the media's extension.
pub fn file_name(media: &Media) -> String {
    let path = media.url.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let segment = path
        .split_once('/')
        .map_or("", |(_, p)| p)
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let mut name: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(120);
    let suffix = format!(".{}", media.extension);
    let stem = match name.to_ascii_lowercase().strip_suffix(&suffix) {
        Some(stem) => stem.len(),
        None => name.len(),
    };
    if name[..stem].trim_matches(['_', '.', '-']).is_empty() {
        name = "media".to_owned();
    }
    name = name.trim_start_matches('.').to_owned();
    if !name.to_ascii_lowercase().ends_with(&suffix) {
        name.push_str(&suffix);
    }
    name
}

/// `dir/name`, or `dir/stem-N.ext` if that is taken.
fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let candidate = dir.join(name);
    if !candidate.exists() {
        return candidate;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    (1..)
        .map(|i| dir.join(format!("{stem}-{i}.{ext}")))
        .find(|p| !p.exists())
        .expect("some name is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickrouter::sora::media_links;

    fn name(url: &str) -> String {
        file_name(&media_links(url)[0])
    }

    #[test]
    fn names_never_escape_the_directory() {
        assert_eq!(name("https://h/files/task_1.mp4"), "task_1.mp4");
        assert_eq!(name("https://h/files/../../x.mp4"), "x.mp4");
        assert_eq!(name("https://h/a/..%2F..%2Fx.mp4"), "_2F.._2Fx.mp4");
        assert_eq!(name("https://h/.mp4"), "media.mp4");
        assert_eq!(name("https://h/v/clip.MP4?sig=a/b"), "clip.MP4");
        assert_eq!(
            name("https://h/%E8%A7%86%E9%A2%91.webp"),
            "_E8_A7_86_E9_A2_91.webp"
        );
        for url in [
            "https://h/../../../etc/passwd.png",
            "https://h/..\\..\\x.gif",
            "https://h/....mp4",
        ] {
            let n = name(url);
            assert!(
                !n.contains('/') && !n.contains('\\') && !n.starts_with('.'),
                "{url} -> {n}"
            );
        }
    }
}
