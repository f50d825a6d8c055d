//! A sans-IO Server-Sent Events decoder: bytes in, events out.
//!
//! It follows the WHATWG "event stream interpretation" rules:
//! - lines end in LF, CR or CRLF, and a CR at the end of one piece followed by an LF at the start of
//!   the next is one line end;
//! - a leading UTF-8 BOM is skipped; a line starting with `:` is a comment;
//! - `field: value` with at most one space removed after the colon; a line with no colon is a field
//!   with an empty value;
//! - `data` lines are joined with `\n`; `event` sets the type; `id` sets the last event id unless it
//!   contains NUL; `retry` (ASCII digits only) sets the reconnection time; other fields are ignored;
//! - a blank line dispatches the event, unless no `data` line was seen (then it dispatches nothing);
//! - at the end of the input an event with no blank line after it is dropped.
//!
//! Cost: the input is copied once into the decoder's buffer; line ends are found with `memchr`; a
//! one-line `data` value (the common case) is handed out as a [`Bytes`] slice of that buffer, with
//! no allocation. A line or event longer than [`SseDecoder::max_event_size`] is an error rather
//! than unbounded memory.

use bytes::{Buf, Bytes, BytesMut};

/// The default limit on one event's size: 8 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 8 << 20;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field, if the event had one (`message` is implied otherwise).
    pub event: Option<String>,
    /// The `data` lines joined with `\n`, as raw bytes (relays send UTF-8 JSON).
    pub data: Bytes,
    /// The last event id seen so far in the stream (the `id` field persists across events).
    pub id: Option<String>,
    /// A `retry` value (milliseconds) that arrived with this event.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The data as text, replacing invalid UTF-8 (as browsers do).
    pub fn data_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }
}

/// The decoder refused the input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseError {
    /// One event (or one line) grew past the limit; the decoder discarded it.
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => {
                write!(f, "server-sent event larger than the {limit}-byte limit")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// The data of the event being built: none yet, one line (a zero-copy slice), or several.
#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    One(Bytes),
    Many(BytesMut),
}

/// The SSE decoder. Feed it bytes with [`feed`](Self::feed), then take events with
/// [`next_event`](Self::next_event) until it returns `Ok(None)`.
///
/// ```
/// use quickrouter_transport::sse::SseDecoder;
///
/// let mut decoder = SseDecoder::new();
/// decoder.feed(b"data: hel");
/// assert_eq!(decoder.next_event().unwrap(), None);
/// decoder.feed(b"lo\r\n\r\n");
/// let event = decoder.next_event().unwrap().unwrap();
/// assert_eq!(&event.data[..], b"hello");
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    buf: BytesMut,
    /// How far into `buf` a line end has been searched for in vain (so tiny pieces stay linear).
    scanned: usize,
    /// The previous piece ended in CR: an LF at the start of the next one belongs to it.
    skip_lf: bool,
    /// No byte seen yet: a BOM may come.
    at_start: bool,
    data: Data,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<String>,
    /// Bytes in the event being built, to enforce the limit.
    event_size: usize,
    max_event_size: usize,
    /// Skip input up to the next blank line (after an oversized event).
    discarding: bool,
    /// The start of the current line was dropped; its end is not a blank line.
    in_dropped_line: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default event size limit.
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that refuses events (and lines) longer than `limit` bytes.
    pub fn with_max_event_size(limit: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanned: 0,
            skip_lf: false,
            at_start: true,
            data: Data::None,
            event: None,
            retry: None,
            last_id: None,
            event_size: 0,
            max_event_size: limit,
            discarding: false,
            in_dropped_line: false,
        }
    }

    /// The event size limit in bytes.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// The last event id the stream set (for a reconnect's `Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Bytes held that do not yet form a complete line.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether an event has started (a field was read) but not been dispatched yet. At the end
    /// of the input such an event is dropped, as the rules say; a caller may report it.
    pub fn has_partial_event(&self) -> bool {
        !matches!(self.data, Data::None) || !self.buf.is_empty()
    }

    /// Append input.
    pub fn feed(&mut self, mut input: &[u8]) {
        if self.skip_lf && !input.is_empty() {
            self.skip_lf = false;
            if input[0] == b'\n' {
                input = &input[1..];
            }
        }
        if self.at_start && !input.is_empty() {
            // The BOM may itself arrive split; wait for three bytes or a mismatch.
            let mut head = [0u8; 3];
            let have = self.buf.len().min(3);
            head[..have].copy_from_slice(&self.buf[..have]);
            let take = (3 - have).min(input.len());
            head[have..have + take].copy_from_slice(&input[..take]);
            let known = have + take;
            if head[..known] == b"\xEF\xBB\xBF"[..known] {
                if known < 3 {
                    self.buf.extend_from_slice(&input[..take]);
                    return;
                }
                self.buf.clear();
                input = &input[take..];
            }
            self.at_start = false;
        }
        self.buf.extend_from_slice(input);
    }

    /// The next complete event, `Ok(None)` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        if self.at_start {
            return Ok(None);
        }
        loop {
            let Some((len, term)) = self.find_line_end() else {
                if self.discarding {
                    // The rest of an oversized event: nothing in it is kept.
                    self.drop_partial_line();
                } else if self.buf.len() > self.max_event_size {
                    // A runaway line: drop what is held of it; the rest is skipped as it comes.
                    self.drop_partial_line();
                    return Err(self.overflow());
                }
                return Ok(None);
            };
            self.scanned = 0;
            if self.in_dropped_line {
                // The end of a line whose start was dropped: not a blank line.
                self.in_dropped_line = false;
                self.buf.advance(len);
                self.consume_terminator(term);
                continue;
            }
            if len == 0 {
                self.consume_terminator(term);
                if self.discarding {
                    self.discarding = false;
                    self.reset_event();
                    continue;
                }
                if let Some(event) = self.dispatch() {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.discarding {
                self.buf.advance(len);
                self.consume_terminator(term);
                continue;
            }
            self.event_size += len + 1;
            if self.event_size > self.max_event_size {
                self.buf.advance(len);
                self.consume_terminator(term);
                return Err(self.overflow());
            }
            self.field(len);
            self.consume_terminator(term);
        }
    }

    /// Find the end of the first line in `buf`: its length and its terminator's first byte.
    /// A CR as the very last byte counts as a line end (an LF after it is skipped later).
    #[inline]
    fn find_line_end(&mut self) -> Option<(usize, u8)> {
        let hay = &self.buf[self.scanned..];
        match memchr::memchr2(b'\n', b'\r', hay) {
            Some(i) => {
                let at = self.scanned + i;
                Some((at, self.buf[at]))
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }

    #[inline]
    fn consume_terminator(&mut self, term: u8) {
        // buf[0] is the terminator now.
        if term == b'\r' {
            if self.buf.len() >= 2 {
                if self.buf[1] == b'\n' {
                    self.buf.advance(2);
                } else {
                    self.buf.advance(1);
                }
            } else {
                self.buf.advance(1);
                self.skip_lf = true;
            }
        } else {
            self.buf.advance(1);
        }
    }

    /// Interpret the line `buf[..len]`, leaving the terminator in place.
    #[inline]
    fn field(&mut self, len: usize) {
        let line = &self.buf[..len];
        if line[0] == b':' {
            self.buf.advance(len);
            return;
        }
        let (name_len, value_start) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let start = if line.get(colon + 1) == Some(&b' ') {
                    colon + 2
                } else {
                    colon + 1
                };
                (colon, start)
            }
            None => (len, len),
        };
        match &line[..name_len] {
            b"data" => {
                let line = self.buf.split_to(len).freeze();
                let value = line.slice(value_start..);
                self.data = match std::mem::take(&mut self.data) {
                    Data::None => Data::One(value),
                    Data::One(first) => {
                        let mut joined = BytesMut::with_capacity(first.len() + 1 + value.len());
                        joined.extend_from_slice(&first);
                        joined.extend_from_slice(b"\n");
                        joined.extend_from_slice(&value);
                        Data::Many(joined)
                    }
                    Data::Many(mut joined) => {
                        joined.extend_from_slice(b"\n");
                        joined.extend_from_slice(&value);
                        Data::Many(joined)
                    }
                };
                return;
            }
            b"event" => {
                self.event = Some(String::from_utf8_lossy(&line[value_start..]).into_owned());
            }
            b"id" => {
                let value = &line[value_start..];
                if !value.contains(&0) {
                    self.last_id = Some(String::from_utf8_lossy(value).into_owned());
                }
            }
            b"retry" => {
                let value = &line[value_start..];
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                }
            }
            _ => {}
        }
        self.buf.advance(len);
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let data = match std::mem::take(&mut self.data) {
            Data::None => {
                // No data line: nothing is dispatched, and the event type is reset.
                self.event = None;
                self.retry = None;
                self.event_size = 0;
                return None;
            }
            Data::One(bytes) => bytes,
            Data::Many(joined) => joined.freeze(),
        };
        self.event_size = 0;
        Some(SseEvent {
            event: self.event.take(),
            data,
            id: self.last_id.clone(),
            retry: self.retry.take(),
        })
    }

    fn drop_partial_line(&mut self) {
        if !self.buf.is_empty() {
            self.buf.clear();
            self.scanned = 0;
            self.in_dropped_line = true;
        }
    }

    fn reset_event(&mut self) {
        self.data = Data::None;
        self.event = None;
        self.retry = None;
        self.event_size = 0;
    }

    fn overflow(&mut self) -> SseError {
        // Drop the event and skip the rest of it, up to the next blank line.
        self.reset_event();
        self.discarding = true;
        SseError::EventTooLarge {
            limit: self.max_event_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `input` fed in one piece, and byte by byte: both must give `expect`.
    fn check(input: &[u8], expect: &[(Option<&str>, &str, Option<&str>, Option<u64>)]) {
        let whole = decode_pieces(std::iter::once(input));
        let bytes = decode_pieces(input.chunks(1));
        assert_eq!(whole, bytes, "split changed the events");
        let got: Vec<_> = whole
            .iter()
            .map(|e| {
                (
                    e.event.as_deref(),
                    std::str::from_utf8(&e.data).unwrap(),
                    e.id.as_deref(),
                    e.retry,
                )
            })
            .collect();
        assert_eq!(got, expect);
    }

    fn decode_pieces<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for piece in pieces {
            decoder.feed(piece);
            while let Some(event) = decoder.next_event().unwrap() {
                out.push(event);
            }
        }
        out
    }

    #[test]
    fn line_endings() {
        let expect = [(None, "a", None, None), (None, "b", None, None)];
        check(b"data: a\n\ndata: b\n\n", &expect);
        check(b"data: a\r\n\r\ndata: b\r\n\r\n", &expect);
        check(b"data: a\r\rdata: b\r\r", &expect);
        check(b"data: a\r\n\ndata: b\n\r\n", &expect);
    }

    #[test]
    fn cr_then_lf_across_pieces_is_one_line_end() {
        let events = decode_pieces([&b"data: a\r"[..], b"\ndata: b\r", b"\n\r", b"\n"].into_iter());
        assert_eq!(events.len(), 1);
        assert_eq!(&events[0].data[..], b"a\nb");
    }

    #[test]
    fn bom_is_skipped_once() {
        check(b"\xEF\xBB\xBFdata: x\n\n", &[(None, "x", None, None)]);
        // A second BOM is not at the start: it makes an unknown field.
        check(
            b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
            &[(None, "y", None, None)],
        );
    }

    #[test]
    fn comments_and_blocks_without_data_dispatch_nothing() {
        check(b": keep-alive\n\n", &[]);
        check(b"retry: 3000\n\n", &[]);
        check(b"event: ping\n\ndata: x\n\n", &[(None, "x", None, None)]);
        check(b"id: 7\n\ndata: x\n\n", &[(None, "x", Some("7"), None)]);
    }

    #[test]
    fn data_lines_join_and_empty_data_dispatches() {
        check(
            b"data: a\ndata: b\ndata\n\n",
            &[(None, "a\nb\n", None, None)],
        );
        check(b"data:\n\n", &[(None, "", None, None)]);
        check(b"data\n\n", &[(None, "", None, None)]);
    }

    #[test]
    fn only_one_space_is_stripped() {
        check(
            b"data:no space\n\ndata:  two\n\n",
            &[(None, "no space", None, None), (None, " two", None, None)],
        );
    }

    #[test]
    fn event_id_and_retry() {
        check(
            b"event: add\nid: 42\nretry: 1500\ndata: x\n\ndata: y\n\n",
            &[
                (Some("add"), "x", Some("42"), Some(1500)),
                (None, "y", Some("42"), None),
            ],
        );
        check(b"id: a\0b\ndata: x\n\n", &[(None, "x", None, None)]);
        check(b"retry: 12a\ndata: x\n\n", &[(None, "x", None, None)]);
        check(b"id\ndata: x\n\n", &[(None, "x", Some(""), None)]);
    }

    #[test]
    fn unknown_fields_are_ignored_and_an_unterminated_event_is_dropped() {
        check(
            b"foo: bar\ndata: x\n\ndata: never",
            &[(None, "x", None, None)],
        );
    }

    #[test]
    fn an_oversized_event_is_an_error_and_the_stream_goes_on() {
        let mut decoder = SseDecoder::with_max_event_size(16);
        decoder.feed(b"data: 0123456789abcdefghij\n\ndata: ok\n\n");
        assert_eq!(
            decoder.next_event(),
            Err(SseError::EventTooLarge { limit: 16 })
        );
        assert_eq!(&decoder.next_event().unwrap().unwrap().data[..], b"ok");

        // A runaway line without an end is refused before it is complete.
        let mut decoder = SseDecoder::with_max_event_size(16);
        decoder.feed(&[b'x'; 40]);
        assert!(decoder.next_event().is_err());
        assert_eq!(decoder.buffered(), 0);
    }
}
