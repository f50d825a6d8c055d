//! Media downloads: a video (or image) saved to a file, resumable, verified, never given the key.
//!
//! - The bytes go to `NAME.part` and are renamed to `NAME` only when complete (the length the
//!   server announced, when it announced one); a failed run may leave the `.part`, which the next
//!   run replaces.
//! - A cut mid-body is resumed with `Range: bytes=N-` (up to [`MAX_RESUMES`] times); a server that
//!   answers the range with a whole `200` is read again from the start.
//! - A media host gets no API key and none of the client's headers; only the API's own
//!   `/videos/{id}/content` is asked with them. That endpoint may answer JSON `{url}` or a
//!   redirect to a media host: both are followed, without credentials.
//! - A body that is not media (an HTML "link expired" page, a JSON error) is an error
//!   ([`Error::Media`]), and so is an error status from the media host: never one that blames
//!   the API key.
//! - Names are reduced to `[A-Za-z0-9._-]`, so nothing lands outside the directory; a name
//!   already taken gets `-1`, `-2`, ….

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use quickrouter_transport::reqwest::header::HeaderValue;
use quickrouter_transport::reqwest::header::{
    HeaderMap, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE,
};
use quickrouter_transport::{ByteStream, Expect, Request, RequestOptions};
use tokio::io::AsyncWriteExt;

use crate::client::Client;
use crate::Error;

/// How many times a cut download is resumed before it fails.
pub const MAX_RESUMES: u32 = 5;

/// Where a download's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A path of the API (sent with the key), e.g. `/videos/{id}/content`.
    Api {
        path: String,
        options: RequestOptions,
    },
    /// A media URL (sent with no key and no headers).
    Url(String),
}

/// How far a download has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes written so far.
    pub received: u64,
    /// The whole size, when the server said it.
    pub total: Option<u64>,
}

struct Opened {
    status: u16,
    headers: HeaderMap,
    body: ByteStream,
}

/// Download `url` (a media host: no key, no headers) into `dir`, named after the URL.
pub async fn download_url(
    client: &Client,
    url: &str,
    dir: &Path,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PathBuf, Error> {
    let name = file_name_for_url(url);
    fetch(client, Source::Url(url.to_owned()), dir, &name, progress).await
}

/// Fetch `source` into `dir/NAME` (`name`'s extension kept when it is a media one; else one
/// from the `Content-Type`).
pub(crate) async fn fetch(
    client: &Client,
    mut source: Source,
    dir: &Path,
    name: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let mut offset: u64 = 0;
    let mut resumes = 0;
    let mut hops = 0;
    let mut target: Option<(PathBuf, PathBuf, tokio::fs::File)> = None;
    loop {
        let opened = match open(client, &source, offset).await {
            Ok(opened) => opened,
            Err(e) if offset > 0 && is_cut(&e) && resumes < MAX_RESUMES => {
                resumes += 1;
                continue;
            }
            Err(e) => return Err(cut_error(e)),
        };
        // A redirect (the API's to a media host), or JSON naming where the media is.
        if (300..400).contains(&opened.status) {
            let location = header(&opened.headers, LOCATION.as_str()).unwrap_or_default();
            source = Source::Url(resolve(&source, client, &location)?);
            hops += 1;
            if hops > 10 {
                return Err(Error::media("too many redirects fetching the media"));
            }
            continue;
        }
        let content_type = header(&opened.headers, CONTENT_TYPE.as_str()).unwrap_or_default();
        if content_type.contains("json") && matches!(source, Source::Api { .. }) {
            let body = collect(opened.body).await?;
            let link: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let url = ["url", "video_url", "/data/url", "/data/video_url"]
                .iter()
                .find_map(|k| {
                    if k.starts_with('/') {
                        link.pointer(k)
                    } else {
                        link.get(*k)
                    }
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                })
                .ok_or_else(|| {
                    Error::media(format!(
                        "the content endpoint answered JSON naming no media URL: {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    ))
                })?;
            source = Source::Url(url);
            hops += 1;
            if hops > 10 {
                return Err(Error::media("too many redirects fetching the media"));
            }
            continue;
        }
        let mut body = opened.body;
        let first = match body.next().await {
            Some(Ok(piece)) => piece,
            Some(Err(e)) if is_cut(&e) && resumes < MAX_RESUMES => {
                resumes += 1;
                continue;
            }
            Some(Err(e)) => return Err(cut_error(e)),
            None => bytes::Bytes::new(),
        };
        if let Some(what) = not_media(&content_type, &first) {
            return Err(Error::media(format!(
                "the media host sent {what}, not media: the link may have expired"
            )));
        }
        // A range asked for and honoured: append. Anything else: from the start.
        let resumed = offset > 0
            && opened.status == 206
            && content_range_start(&opened.headers) == Some(offset);
        if !resumed {
            offset = 0;
        }
        let total = content_range_total(&opened.headers).or_else(|| {
            header(&opened.headers, "content-length")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|len| len + offset)
        });
        if target.is_none() {
            let name = with_extension(name, &content_type);
            let path = unique_path(dir, &name);
            let part = part_path(&path);
            let file = tokio::fs::File::create(&part)
                .await
                .map_err(|e| write_error(&part, e))?;
            target = Some((path, part, file));
        }
        let (_, part, file) = target.as_mut().expect("set above");
        if !resumed {
            file.set_len(0).await.map_err(|e| write_error(part, e))?;
            use tokio::io::AsyncSeekExt;
            file.seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(|e| write_error(part, e))?;
        }
        let mut piece = Some(Ok(first));
        let mut cut = None;
        loop {
            let next = match piece.take() {
                Some(first) => first,
                None => match body.next().await {
                    Some(next) => next,
                    None => break,
                },
            };
            match next {
                Ok(bytes) => {
                    file.write_all(&bytes)
                        .await
                        .map_err(|e| write_error(part, e))?;
                    offset += bytes.len() as u64;
                    progress(Progress {
                        received: offset,
                        total,
                    });
                }
                Err(e) => {
                    cut = Some(e);
                    break;
                }
            }
        }
        file.flush().await.map_err(|e| write_error(part, e))?;
        let short = total.is_some_and(|t| offset < t);
        if cut.is_some() || short {
            if resumes < MAX_RESUMES && cut.as_ref().is_none_or(is_cut) {
                resumes += 1;
                tracing::warn!(
                    received = offset,
                    ?total,
                    "download cut; resuming with Range"
                );
                continue;
            }
            return Err(match cut {
                Some(e) => cut_error(e),
                None => Error::media(format!(
                    "the download ended at {offset} of {} bytes and could not be resumed",
                    total.unwrap_or_default()
                )),
            });
        }
        if total.is_some_and(|t| offset > t) {
            return Err(Error::media(format!(
                "the media host sent {offset} bytes where it announced {}",
                total.unwrap_or_default()
            )));
        }
        let (path, part, file) = target.take().expect("set above");
        file.sync_all().await.map_err(|e| write_error(&part, e))?;
        drop(file);
        std::fs::rename(&part, &path).map_err(|e| write_error(&path, e))?;
        return Ok(path);
    }
}

async fn open(client: &Client, source: &Source, offset: u64) -> Result<Opened, Error> {
    let range =
        (offset > 0).then(|| HeaderValue::from_str(&format!("bytes={offset}-")).expect("ascii"));
    match source {
        Source::Api { path, options } => {
            let mut options = options.clone();
            if let Some(range) = range {
                options.headers.insert(RANGE, range);
            }
            let request = Request::get(path.clone())
                .expect(Expect::Bytes)
                .options(options);
            let response = client.http.send(&request).await?;
            Ok(Opened {
                status: response.status,
                headers: response.headers.clone(),
                body: response.byte_stream(),
            })
        }
        Source::Url(url) => {
            let mut request = client.media()?.get(url);
            if let Some(range) = range {
                request = request.header(RANGE, range);
            }
            let response = request.send().await.map_err(transfer_error)?;
            let status = response.status().as_u16();
            if !(200..300).contains(&status) {
                let body = response.bytes().await.unwrap_or_default();
                let detail = quickrouter_transport::ApiError::from_body(Some(status), &body);
                return Err(Error::Media {
                    message: format!("the media host answered {status}: {}", detail.message),
                    status: Some(status),
                    source: None,
                });
            }
            let headers = response.headers().clone();
            let body: ByteStream =
                Box::pin(response.bytes_stream().map(|r| r.map_err(transfer_error)));
            Ok(Opened {
                status,
                headers,
                body,
            })
        }
    }
}

/// Whether an error broke a body that may be resumed.
fn is_cut(error: &Error) -> bool {
    matches!(
        error.inner(),
        Error::Stream(_) | Error::Network { .. } | Error::Timeout(_) | Error::Connect { .. }
    )
}

/// A media host's connection failing (before or during the body): a cut, resumed while tries
/// remain.
fn transfer_error(error: quickrouter_transport::reqwest::Error) -> Error {
    let error = error.without_url();
    Error::Network {
        message: error.to_string(),
        source: Some(Box::new(error)),
    }
}

/// The error a download ends with: a cut that was not resumed becomes a media error (exit 9 in
/// the CLI, never one that blames the API); the API's own errors stay what they are.
fn cut_error(error: Error) -> Error {
    if !is_cut(&error) {
        return error;
    }
    Error::Media {
        message: format!("the media download failed: {error}"),
        status: None,
        source: Some(Box::new(error)),
    }
}

async fn collect(mut body: ByteStream) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(piece) = body.next().await {
        out.extend_from_slice(&piece?);
        if out.len() > 1 << 20 {
            break;
        }
    }
    Ok(out)
}

fn resolve(source: &Source, client: &Client, location: &str) -> Result<String, Error> {
    let base = match source {
        Source::Api { path, .. } => client.http.url(path),
        Source::Url(url) => url.clone(),
    };
    quickrouter_transport::reqwest::Url::parse(&base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .map_err(|_| Error::media(format!("a redirect to an invalid location {location:?}")))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase())
}

/// `bytes START-END/TOTAL`
fn content_range_start(headers: &HeaderMap) -> Option<u64> {
    let value = header(headers, CONTENT_RANGE.as_str())?;
    let range = value.strip_prefix("bytes")?.trim();
    range.split('-').next()?.trim().parse().ok()
}

fn content_range_total(headers: &HeaderMap) -> Option<u64> {
    let value = header(headers, CONTENT_RANGE.as_str())?;
    value.rsplit('/').next()?.trim().parse().ok()
}

/// Why a body is not media, if it is not: markup or a JSON document.
fn not_media(content_type: &str, first: &[u8]) -> Option<&'static str> {
    // Binary bytes (a NUL, or not UTF-8) are media whatever the label: CDNs mislabel files.
    let head = &first[..first.len().min(512)];
    let binary =
        head.contains(&0) || std::str::from_utf8(head).is_err_and(|e| e.error_len().is_some());
    if binary {
        return None;
    }
    let start = first.trim_ascii_start();
    let lower: Vec<u8> = start.iter().take(16).map(u8::to_ascii_lowercase).collect();
    if content_type.starts_with("text/html")
        || lower.starts_with(b"<!doctype")
        || lower.starts_with(b"<html")
        || lower.starts_with(b"<?xml")
    {
        return Some("an HTML page");
    }
    if content_type.contains("json")
        || (start.starts_with(b"{\"") && content_type.starts_with("text/"))
    {
        return Some("a JSON document");
    }
    if content_type.starts_with("text/") {
        return Some("text");
    }
    None
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

fn write_error(path: &Path, error: std::io::Error) -> Error {
    Error::Media {
        message: format!("cannot write {}: {error}", path.display()),
        status: None,
        source: Some(Box::new(error)),
    }
}

const MEDIA_EXTENSIONS: &[&str] = &["mp4", "webm", "mov", "png", "jpg", "jpeg", "gif", "webp"];

fn with_extension(name: &str, content_type: &str) -> String {
    let has = name
        .rsplit_once('.')
        .is_some_and(|(_, ext)| MEDIA_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
    if has {
        return name.to_owned();
    }
    let ext = match content_type.split(';').next().unwrap_or_default().trim() {
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "mp4",
    };
    format!("{name}.{ext}")
}

/// `text` reduced to `[A-Za-z0-9._-]`, at most 120 characters, never empty, never starting with
/// a dot.
pub fn sanitize(text: &str) -> String {
    let mut name = safe_chars(text).trim_start_matches('.').to_owned();
    if name.trim_matches(['_', '.', '-']).is_empty() {
        name = "media".to_owned();
    }
    name
}

/// `text` with every character outside `[A-Za-z0-9._-]` replaced by `_`, at most 120 of them.
fn safe_chars(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect()
}

/// The stem of a URL's last path segment, sanitised, if it has a media extension.
pub(crate) fn stem_of_url(url: &str) -> Option<String> {
    let name = file_name_for_url(url);
    name.rsplit_once('.')
        .map(|(stem, _)| stem.to_owned())
        .filter(|s| s != "media")
}

/// A safe file name for a media URL: the path's last segment, reduced to `[A-Za-z0-9._-]`, never
/// empty, never starting with a dot, ending in a media extension (`mp4` when it has none).
pub fn file_name_for_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let segment = path
        .split_once('/')
        .map_or("", |(_, p)| p)
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let extension = segment
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| MEDIA_EXTENSIONS.contains(&e.as_str()))
        .unwrap_or_else(|| "mp4".to_owned());
    let suffix = format!(".{extension}");
    let stem_end = if segment.to_ascii_lowercase().ends_with(&suffix) {
        segment.len() - suffix.len()
    } else {
        segment.len()
    };
    let stem = &segment[..stem_end];
    let clean = safe_chars(stem);
    let clean = clean.trim_start_matches('.');
    let stem = if clean.trim_matches(['_', '.', '-']).is_empty() {
        "media"
    } else {
        clean
    };
    if stem_end < segment.len() {
        format!("{stem}{}", &segment[stem_end..])
    } else {
        format!("{stem}{suffix}")
    }
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

    #[test]
    fn names_never_escape_the_directory() {
        let name = file_name_for_url;
        assert_eq!(name("https://h/files/task_1.mp4"), "task_1.mp4");
        assert_eq!(name("https://h/files/../../x.mp4"), "x.mp4");
        assert_eq!(name("https://h/a/..%2F..%2Fx.mp4"), "_2F.._2Fx.mp4");
        assert_eq!(name("https://h/.mp4"), "media.mp4");
        assert_eq!(name("https://h/v/clip.MP4?sig=a/b"), "clip.MP4");
        assert_eq!(
            name("https://h/%E8%A7%86%E9%A2%91.webp"),
            "_E8_A7_86_E9_A2_91.webp"
        );
        assert_eq!(name("https://h/v/abc"), "abc.mp4");
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
        assert_eq!(
            sanitize("veo3.1-fast:1770350082-trii1OXZc3"),
            "veo3.1-fast_1770350082-trii1OXZc3"
        );
        assert_eq!(sanitize("../.."), "media");
    }

    #[test]
    fn html_and_json_are_not_media() {
        assert!(not_media("text/html; charset=utf-8", b"<p>").is_some());
        assert!(not_media("application/octet-stream", b"  <!DOCTYPE html>").is_some());
        assert!(not_media("application/json", b"{}").is_some());
        assert!(not_media("video/mp4", b"\x00\x00\x00\x18ftyp").is_none());
        assert!(
            not_media("text/plain", b"\x00\x00\x00\x18ftypmp42").is_none(),
            "mislabelled"
        );
        assert!(not_media("application/octet-stream", b"<html><title>expired").is_some());
    }
}
