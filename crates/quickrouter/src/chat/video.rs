//! Video generation through the chat endpoint: progress, media links, failures, for any model.
//!
//! Some relays serve video models through chat, streaming the job as chat chunks. What they
//! send, and what this module reads (the emulator reproduces each form):
//!
//! - **Queue**: `排队中`, `Queued`, `in queue`, often with `(task id: task_…)`, in
//!   `delta.reasoning_content` or `delta.content`.
//! - **Progress**: `🏃 进度 36..`, `进度: 36%`, `Progress 76%`, `progress: 76`, or a bare `76%`, in
//!   either field, one note per chunk; keep-alive comments and long silences in between.
//! - **Result**: the final `content` holds markdown links to the media, e.g.
//!   `[▶ 点击查看视频](https://…/video.mp4)` and `![thumbnail](https://…/thumb.webp)`; some relays
//!   send a bare URL or an HTML `<video src="…">`.
//! - **Failure with HTTP 200**: `❌ 生成失败`, `Failure reason: …`, `content policy` /
//!   `content policies`, `违反` / `审核` (moderation) in the content. (A failure sent as an
//!   in-band `data: {"error": …}` event is an `Error::Stream` instead.)
//!
//! ```
//! use quickrouter::chat::video::{self, MediaKind, VideoProgress};
//!
//! assert_eq!(video::parse_progress("🏃 进度 36.."), Some(VideoProgress::Percent { percent: 36.0, text: "🏃 进度 36..".into() }));
//! let media = video::media_links("[▶ 点击查看视频](https://x.test/v.mp4)\n![t](https://x.test/t.webp?sig=1)");
//! assert_eq!(media.len(), 2);
//! assert_eq!(media[0].kind, MediaKind::Video);
//! assert!(video::failure("❌ 生成失败\nFailure reason: content policy").is_some());
//! ```

use quickrouter_types::{ChatCompletion, ChatCompletionChunk};

/// One progress note of a video job.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VideoProgress {
    /// Waiting in the queue.
    Queued {
        /// The job's task id, when the note named it.
        task_id: Option<String>,
        /// The note.
        text: String,
    },
    /// A percentage.
    Percent {
        /// 0 to 100.
        percent: f32,
        /// The note.
        text: String,
    },
    /// Any other status line (e.g. `✅ 视频生成完成`).
    Status {
        /// The note.
        text: String,
    },
}

/// What kind of media a link points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// mp4, webm, mov.
    Video,
    /// png, jpg, jpeg, gif, webp.
    Image,
}

/// A media link found in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The URL, as written.
    pub url: String,
    /// Video or image.
    pub kind: MediaKind,
    /// The file extension, lower-case (`mp4`).
    pub extension: String,
}

/// Read a progress note. `None` for text that is not one (e.g. the final answer).
pub fn parse_progress(text: &str) -> Option<VideoProgress> {
    let note = text.trim();
    if note.is_empty() || !media_links(note).is_empty() {
        return None;
    }
    let lower = note.to_lowercase();
    if note.contains("排队") || lower.contains("queued") || lower.contains("in queue") {
        return Some(VideoProgress::Queued {
            task_id: task_id(note),
            text: note.to_owned(),
        });
    }
    if let Some(percent) = percent_in(note) {
        return Some(VideoProgress::Percent {
            percent,
            text: note.to_owned(),
        });
    }
    if failure(note).is_some() {
        return None;
    }
    Some(VideoProgress::Status {
        text: note.to_owned(),
    })
}

/// A percentage after `进度` or `progress`, or a bare `NN%`.
fn percent_in(note: &str) -> Option<f32> {
    let lower = note.to_lowercase();
    let after_keyword = ["进度", "progress"]
        .iter()
        .find_map(|k| lower.find(k).map(|at| &lower[at + k.len()..]))
        .and_then(|rest| leading_number(rest.trim_start_matches([' ', ':', '：', '\t'])));
    let bare = || {
        let at = lower.find('%')?;
        let start = lower[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .last()?
            .0;
        lower[start..at].parse::<f32>().ok()
    };
    after_keyword
        .or_else(bare)
        .filter(|p| (0.0..=100.0).contains(p))
}

fn leading_number(text: &str) -> Option<f32> {
    let end = text
        .char_indices()
        .find(|(i, c)| {
            !(c.is_ascii_digit()
                || (*c == '.' && text[i + 1..].starts_with(|d: char| d.is_ascii_digit())))
        })
        .map_or(text.len(), |(i, _)| i);
    text[..end].parse().ok()
}

/// A task id: `task id: X`, `task_id: X`, `任务ID: X`, or a word starting `task_`.
pub fn task_id(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    for key in ["task id:", "task_id:", "taskid:", "任务id:", "任务id："] {
        if let Some(at) = lower.find(key) {
            let rest = text[at + key.len()..].trim_start();
            let id: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || "-_".contains(*c))
                .collect();
            if !id.is_empty() {
                return Some(id);
            }
        }
    }
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .find(|w| w.starts_with("task_") && w.len() > 5)
        .map(str::to_owned)
}

/// Every http(s) media link in `text` (markdown links and images, HTML `src`, bare URLs), in
/// order, without repeats.
pub fn media_links(text: &str) -> Vec<Media> {
    let mut out: Vec<Media> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let candidate = &rest[at..];
        if !(candidate.starts_with("http://") || candidate.starts_with("https://")) {
            rest = &rest[at + 4..];
            continue;
        }
        let end = candidate
            .find(|c: char| c.is_whitespace() || "()[]<>\"'`".contains(c))
            .unwrap_or(candidate.len());
        let url = &candidate[..end];
        if let Some(media) = classify(url) {
            if !out.iter().any(|m| m.url == media.url) {
                out.push(media);
            }
        }
        rest = &candidate[end..];
    }
    out
}

fn classify(url: &str) -> Option<Media> {
    let path = url.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    let extension = last.rsplit_once('.')?.1.to_ascii_lowercase();
    let kind = match extension.as_str() {
        "mp4" | "webm" | "mov" => MediaKind::Video,
        "png" | "jpg" | "jpeg" | "gif" | "webp" => MediaKind::Image,
        _ => return None,
    };
    Some(Media {
        url: url.to_owned(),
        kind,
        extension,
    })
}

/// The failure a relay reported as text (with HTTP 200), if `text` is one: the text, trimmed.
pub fn failure(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let markers = [
        "生成失败",
        "failure reason",
        "content policy",
        "content policies",
        "违反",
        "审核未通过",
        "generation failed",
    ];
    markers
        .iter()
        .any(|m| lower.contains(m))
        .then(|| text.trim().to_owned())
}

/// Follows a video job chunk by chunk: the progress notes as they come, the latest percentage,
/// the task id.
#[derive(Debug, Default, Clone)]
pub struct ProgressTracker {
    percent: Option<f32>,
    task_id: Option<String>,
}

impl ProgressTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read one chunk; returns the progress notes it carried (from `reasoning_content`,
    /// `reasoning` or `content`).
    pub fn push(&mut self, chunk: &ChatCompletionChunk) -> Vec<VideoProgress> {
        let mut notes = Vec::new();
        for choice in &chunk.choices {
            let delta = &choice.delta;
            for text in [delta.reasoning_text(), delta.content.as_deref()]
                .into_iter()
                .flatten()
            {
                for line in text.lines() {
                    if let Some(note) = parse_progress(line) {
                        match &note {
                            VideoProgress::Percent { percent, .. } => self.percent = Some(*percent),
                            VideoProgress::Queued {
                                task_id: Some(id), ..
                            } => self.task_id = Some(id.clone()),
                            _ => {}
                        }
                        if self.task_id.is_none() {
                            self.task_id = task_id(line);
                        }
                        notes.push(note);
                    }
                }
            }
        }
        notes
    }

    /// The latest percentage seen.
    pub fn percent(&self) -> Option<f32> {
        self.percent
    }

    /// The task id, once a note named it.
    pub fn task_id(&self) -> Option<&str> {
        self.task_id.as_deref()
    }
}

/// Finds media links and a failure note in text as it streams by, holding a bounded amount of it:
/// a tail (for a link split across chunks) and the answer's first few KiB (where a relay's failure
/// note is). Memory stays flat however long the answer.
#[derive(Debug, Default, Clone)]
pub struct MediaScanner {
    tail: String,
    head: String,
    media: Vec<Media>,
}

/// The most of an answer's start a [`MediaScanner`] keeps for its failure note.
const SCANNER_HEAD: usize = 8 * 1024;
/// The longest link a [`MediaScanner`] finds across chunks.
const SCANNER_TAIL: usize = 8 * 1024;

impl MediaScanner {
    /// A scanner that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read the next piece of text.
    pub fn push(&mut self, text: &str) {
        if self.head.len() < SCANNER_HEAD {
            let room = SCANNER_HEAD - self.head.len();
            let cut = floor_char_boundary(text, room);
            self.head.push_str(&text[..cut]);
        }
        self.tail.push_str(text);
        // Everything up to the last delimiter is complete: scan it, keep the rest.
        let Some(at) = self
            .tail
            .rfind(|c: char| c.is_whitespace() || "()[]<>\"'`".contains(c))
        else {
            self.trim();
            return;
        };
        let done = at + self.tail[at..].chars().next().map_or(1, char::len_utf8);
        collect_links(&mut self.media, &self.tail[..done]);
        self.tail.replace_range(..done, "");
        self.trim();
    }

    fn trim(&mut self) {
        if self.tail.len() > SCANNER_TAIL {
            let cut = floor_char_boundary(&self.tail, self.tail.len() - SCANNER_TAIL);
            self.tail.replace_range(..cut, "");
        }
    }

    /// The links found (in order, without repeats) and the failure note, if the answer was one.
    pub fn finish(mut self) -> (Vec<Media>, Option<String>) {
        collect_links(&mut self.media, &self.tail);
        let failure = if self.media.is_empty() {
            failure(&self.head)
        } else {
            None
        };
        (self.media, failure)
    }
}

fn collect_links(media: &mut Vec<Media>, text: &str) {
    for found in media_links(text) {
        if !media.iter().any(|m| m.url == found.url) {
            media.push(found);
        }
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The outcome of a video job, read from the finished completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatVideoResult {
    /// The media links of the first choice's content (videos first, in order, then images).
    pub media: Vec<Media>,
    /// The failure text, if the relay reported one.
    pub failure: Option<String>,
    /// The task id, if any text named it.
    pub task_id: Option<String>,
}

impl ChatVideoResult {
    /// Read a finished completion (e.g. from [`ChatStream::collect_completion`](crate::chat::ChatStream::collect_completion)).
    pub fn from_completion(completion: &ChatCompletion) -> Self {
        let message = completion.choices.first().map(|c| &c.message);
        let content = message
            .and_then(|m| m.content.as_deref())
            .unwrap_or_default();
        let reasoning = message
            .and_then(|m| m.reasoning_content.as_deref())
            .unwrap_or_default();
        let mut media = media_links(content);
        media.sort_by_key(|m| m.kind != MediaKind::Video);
        let failure = if media.is_empty() {
            failure(content)
        } else {
            None
        };
        Self {
            media,
            failure,
            task_id: task_id(reasoning).or_else(|| task_id(content)),
        }
    }

    /// The first video link.
    pub fn video(&self) -> Option<&Media> {
        self.media.iter().find(|m| m.kind == MediaKind::Video)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_notes_in_every_form() {
        let cases = [
            ("🏃 进度 36..", Some(36.0)),
            ("进度: 42%", Some(42.0)),
            ("Progress 76%", Some(76.0)),
            ("progress: 12.5", Some(12.5)),
            ("生成中 88%", Some(88.0)),
        ];
        for (text, expect) in cases {
            match parse_progress(text) {
                Some(VideoProgress::Percent { percent, .. }) => {
                    assert_eq!(Some(percent), expect, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            parse_progress("排队中 (task id: task_abc123)"),
            Some(VideoProgress::Queued {
                task_id: Some("task_abc123".into()),
                text: "排队中 (task id: task_abc123)".into()
            })
        );
        assert!(matches!(
            parse_progress("✅ 视频生成完成"),
            Some(VideoProgress::Status { .. })
        ));
        assert_eq!(parse_progress("[v](https://x/v.mp4)"), None);
        assert_eq!(parse_progress("  "), None);
    }

    #[test]
    fn media_links_in_markdown_html_and_bare_text() {
        let text = r#"[▶ 点击查看视频](https://cdn.test/a/v.MP4?sig=1&x=2) ![thumb](http://cdn.test/t.webp) <video src="https://cdn.test/b.webm"></video> see https://cdn.test/page.html and https://cdn.test/v.mp4?sig=1"#;
        let links: Vec<_> = media_links(text)
            .into_iter()
            .map(|m| (m.url, m.kind, m.extension))
            .collect();
        assert_eq!(
            links,
            [
                (
                    "https://cdn.test/a/v.MP4?sig=1&x=2".to_owned(),
                    MediaKind::Video,
                    "mp4".to_owned()
                ),
                (
                    "http://cdn.test/t.webp".to_owned(),
                    MediaKind::Image,
                    "webp".to_owned()
                ),
                (
                    "https://cdn.test/b.webm".to_owned(),
                    MediaKind::Video,
                    "webm".to_owned()
                ),
                (
                    "https://cdn.test/v.mp4?sig=1".to_owned(),
                    MediaKind::Video,
                    "mp4".to_owned()
                ),
            ]
        );
        assert!(media_links("ftp://x/y.mp4 httpx://nope.mp4").is_empty());
    }

    #[test]
    fn the_scanner_finds_links_split_across_pieces_in_bounded_memory() {
        let text = "Here [▶ video](https://cdn.test/a/v.mp4) and ![t](https://cdn.test/t.webp) and https://cdn.test/v.mp4 again";
        let whole = media_links(text);
        for size in [1, 2, 3, 7, 64] {
            let mut scanner = MediaScanner::new();
            let mut piece = String::new();
            for c in text.chars() {
                piece.push(c);
                if piece.len() >= size {
                    scanner.push(&piece);
                    piece.clear();
                }
            }
            scanner.push(&piece);
            let (found, failure) = scanner.finish();
            assert_eq!(found, whole, "pieces of {size}");
            assert_eq!(failure, None);
        }
        let mut long = MediaScanner::new();
        for _ in 0..100_000 {
            long.push("lorem ipsum ");
        }
        assert!(long.tail.len() <= SCANNER_TAIL && long.head.len() <= SCANNER_HEAD);
        let mut failed = MediaScanner::new();
        failed.push("❌ 生成失败\nFailure reason: ");
        failed.push("content policy");
        assert!(failed.finish().1.unwrap().contains("content policy"));
    }

    #[test]
    fn failures_are_recognised_and_answers_are_not() {
        assert!(failure("This content may violate our content policies.").is_some());
        assert!(failure("视频生成失败").is_some());
        assert!(failure("Here is your video").is_none());
    }
}
