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
//! Cost: input pieces are kept as [`Bytes`] (no copy when fed with [`SseDecoder::feed_bytes`]);
//! line ends are found with `memchr`; a one-line `data` event inside one piece (the common case)
//! is read in one step and handed out as a slice of that piece ([`SseDecoder::next_event`], one
//! reference-count increment) or as a plain borrow ([`SseDecoder::next_event_ref`], nothing at
//! all). Only a line that straddles two pieces is copied, into a buffer that is reused from line
//! to line. A line or event longer than [`SseDecoder::max_event_size`] is an error rather than
//! unbounded memory.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

/// The default limit on one event's size: 8 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 8 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line buffer that grew past this is given back once its line is done, so that one huge event
/// does not pin its memory for the rest of the stream.
const RETAINED: usize = 1 << 20;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field, if the event had one (`message` is implied otherwise).
    pub event: Option<String>,
    /// The `data` lines joined with `\n`, as raw bytes (relays send UTF-8 JSON).
    pub data: Bytes,
    /// The last event id seen so far in the stream (the `id` field persists across events).
    pub id: Option<Arc<str>>,
    /// A `retry` value (milliseconds) that arrived with this event.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The data as text, replacing invalid UTF-8 (as browsers do).
    pub fn data_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }
}

/// One dispatched event, borrowed from the decoder (valid until its next call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The `event` field, if the event had one.
    pub event: Option<&'a str>,
    /// The `data` lines joined with `\n`.
    pub data: &'a [u8],
    /// The last event id seen so far in the stream.
    pub id: Option<&'a str>,
    /// A `retry` value (milliseconds) that arrived with this event.
    pub retry: Option<u64>,
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

/// The data of the event being built.
#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line, in the current piece.
    Range(usize, usize),
    /// One line, kept from an earlier piece.
    One(Bytes),
    /// One line that straddled pieces: `held[start..]`.
    Held(usize),
    /// Several lines, joined.
    Many(BytesMut),
}

/// What the quick path found.
enum Quick {
    /// A one-line event: its value's range in the piece.
    Event(usize, usize),
    /// The rest of the piece is the start of a line.
    Partial,
    /// Anything else: the general path reads it.
    Other,
}

/// Where a complete line is: in the current piece, or assembled in `carry`.
#[derive(Clone, Copy)]
enum Line {
    Chunk(usize, usize),
    Carried,
}

/// Where the first line end (LF or CR) in `bytes` is. Short slices (tiny network pieces) are
/// scanned byte by byte: below 16 bytes `memchr`'s dispatch costs more than the scan (a word-at-a-
/// time scan up to 64 bytes measured slower still).
#[inline]
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    if bytes.len() <= 16 {
        bytes.iter().position(|b| matches!(b, b'\n' | b'\r'))
    } else {
        memchr::memchr2(b'\n', b'\r', bytes)
    }
}

/// The decoder. Feed it bytes with [`feed`](Self::feed) or [`feed_bytes`](Self::feed_bytes), then
/// take events with [`next_event`](Self::next_event) (owned) or
/// [`next_event_ref`](Self::next_event_ref) (borrowed) until it returns `Ok(None)`.
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
    /// The piece being read, and how far.
    chunk: Bytes,
    pos: usize,
    /// Pieces fed but not yet reached.
    queue: VecDeque<Bytes>,
    /// The start of a line that began in an earlier piece.
    carry: Vec<u8>,
    /// A completed straddling `data` line, whose value the event being built refers to
    /// (`Data::Held`). It swaps buffers with `carry`, so neither is allocated again.
    held: Vec<u8>,
    /// The previous piece ended in CR: an LF at the start of the next one belongs to it.
    skip_lf: bool,
    /// Nothing fed yet, or only the start of a BOM (kept here).
    at_start: bool,
    bom: Vec<u8>,
    data: Data,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<Arc<str>>,
    /// The event ready to hand out (borrowed until the next call).
    ready: Option<Ready>,
    /// Bytes in the event being built, to enforce the limit.
    event_size: usize,
    max_event_size: usize,
    /// Skip input up to the next blank line (after an oversized event).
    discarding: bool,
    /// The start of the current line was dropped; its end is not a blank line.
    in_dropped_line: bool,
    /// The length of the last line that straddled pieces: the room a new one starts with, so a
    /// stream of large events copies each once instead of regrowing the buffer.
    last_carried: usize,
}

#[derive(Debug)]
struct Ready {
    data: Data,
    event: Option<String>,
    retry: Option<u64>,
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
            chunk: Bytes::new(),
            pos: 0,
            queue: VecDeque::new(),
            carry: Vec::new(),
            held: Vec::new(),
            skip_lf: false,
            at_start: true,
            bom: Vec::new(),
            data: Data::None,
            event: None,
            retry: None,
            last_id: None,
            ready: None,
            event_size: 0,
            max_event_size: limit,
            discarding: false,
            in_dropped_line: false,
            last_carried: 0,
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

    /// Bytes held that are not yet part of a dispatched event (unread pieces, a partial line).
    pub fn buffered(&self) -> usize {
        self.chunk.len() - self.pos
            + self.queue.iter().map(Bytes::len).sum::<usize>()
            + self.carry.len()
    }

    /// Whether an event has started (a field was read) but not been dispatched yet. At the end
    /// of the input such an event is dropped, as the rules say; a caller may report it.
    pub fn has_partial_event(&self) -> bool {
        !matches!(self.data, Data::None) || self.buffered() > 0
    }

    /// Append input (copied once).
    pub fn feed(&mut self, input: &[u8]) {
        if !input.is_empty() {
            self.feed_bytes(Bytes::copy_from_slice(input));
        }
    }

    /// Append input without copying it.
    pub fn feed_bytes(&mut self, input: Bytes) {
        if input.is_empty() {
            return;
        }
        let mut input = input;
        if self.at_start {
            // The BOM may itself arrive split: hold up to three bytes until it is known.
            let held = self.bom.len();
            let mut head = self.bom.clone();
            head.extend_from_slice(&input[..input.len().min(3 - held)]);
            if BOM.starts_with(&head) {
                if head.len() < 3 {
                    self.bom = head;
                    return;
                }
                self.at_start = false;
                self.bom.clear();
                input = input.slice(3 - held..);
            } else {
                self.at_start = false;
                if held > 0 {
                    let mut joined = std::mem::take(&mut self.bom);
                    joined.extend_from_slice(&input);
                    input = Bytes::from(joined);
                }
            }
        }
        if input.is_empty() {
            return;
        }
        if self.pos == self.chunk.len() && self.queue.is_empty() {
            // The usual case: everything before was read.
            if !self.carry.is_empty()
                && !self.in_dropped_line
                && self.carry.len() + input.len() <= self.max_event_size
                && find_line_end(&input).is_none()
            {
                // A piece with no line end, inside a straddling line: all of it joins the line.
                self.carry.extend_from_slice(&input);
                return;
            }
            self.switch_to(input);
        } else {
            self.queue.push_back(input);
        }
    }

    /// The next complete event, `Ok(None)` when more input is needed.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        if self.pos == self.chunk.len() && self.queue.is_empty() {
            return Ok(None);
        }
        match self.quick_event() {
            Quick::Event(a, b) => {
                return Ok(Some(SseEvent {
                    event: self.event.take(),
                    data: self.chunk.slice(a..b),
                    id: self.last_id.clone(),
                    retry: self.retry.take(),
                }))
            }
            Quick::Partial => {
                self.hold_partial_line()?;
                if self.queue.is_empty() {
                    return Ok(None);
                }
            }
            Quick::Other => {}
        }
        if !self.advance()? {
            return Ok(None);
        }
        let ready = self.ready.take().expect("advance made an event ready");
        let data = match ready.data {
            Data::None => Bytes::new(),
            Data::Range(a, b) => self.chunk.slice(a..b),
            Data::One(bytes) => bytes,
            Data::Held(start) => self.take_held(start),
            Data::Many(joined) => joined.freeze(),
        };
        Ok(Some(SseEvent {
            event: ready.event,
            data,
            id: self.last_id.clone(),
            retry: ready.retry,
        }))
    }

    /// The next complete event, borrowed from the decoder: no allocation, no reference counting.
    /// It is valid until the decoder's next call.
    #[inline]
    pub fn next_event_ref(&mut self) -> Result<Option<SseEventRef<'_>>, SseError> {
        let quick = self.quick_event();
        if let Quick::Partial = quick {
            self.hold_partial_line()?;
            if self.queue.is_empty() {
                return Ok(None);
            }
        }
        if let Quick::Event(a, b) = quick {
            if self.event.is_none() && self.retry.is_none() {
                return Ok(Some(SseEventRef {
                    event: None,
                    data: &self.chunk[a..b],
                    id: self.last_id.as_deref(),
                    retry: None,
                }));
            }
            // Kept until the next call, as a dispatched event's fields are.
            self.ready = Some(Ready {
                data: Data::Range(a, b),
                event: self.event.take(),
                retry: self.retry.take(),
            });
            let ready = self.ready.as_ref().expect("just set");
            return Ok(Some(SseEventRef {
                event: ready.event.as_deref(),
                data: &self.chunk[a..b],
                id: self.last_id.as_deref(),
                retry: ready.retry,
            }));
        }
        if !self.advance()? {
            return Ok(None);
        }
        let ready = self.ready.as_ref().expect("advance made an event ready");
        let data: &[u8] = match &ready.data {
            Data::None => &[],
            Data::Range(a, b) => &self.chunk[*a..*b],
            Data::One(bytes) => bytes,
            Data::Held(start) => &self.held[*start..],
            Data::Many(joined) => joined,
        };
        Ok(Some(SseEventRef {
            event: ready.event.as_deref(),
            data,
            id: self.last_id.as_deref(),
            retry: ready.retry,
        }))
    }

    /// The quick path, for a decoder with no line and no data held: skip keep-alive comments,
    /// then read a whole `data: VALUE` line and its blank line, all inside the current piece:
    /// nearly every event of a chat stream. The value's range in the piece (the event's type and
    /// retry, if fields before it set them, are still to be taken); or the rest of the piece is a
    /// line's start, to be held; or the input has another shape (the general path reads it).
    #[inline]
    fn quick_event(&mut self) -> Quick {
        if self.pos >= self.chunk.len()
            || !self.carry.is_empty()
            || self.in_dropped_line
            || self.discarding
            || !matches!(self.data, Data::None)
        {
            return Quick::Other;
        }
        if self.ready.is_some() {
            self.release();
        }
        loop {
            let rest = &self.chunk[self.pos..];
            let Some(i) = find_line_end(rest) else {
                return Quick::Partial;
            };
            // The line end, and the blank line after it, both inside this piece.
            let terminator = match &rest[i..] {
                [b'\n', b'\n', ..] => 2,
                [b'\r', b'\n', b'\r', b'\n', ..] => 4,
                _ => return Quick::Other,
            };
            if rest.starts_with(b"data:") {
                if i + 1 > self.max_event_size.saturating_sub(self.event_size) {
                    return Quick::Other;
                }
                let value_start = if rest.get(5) == Some(&b' ') { 6 } else { 5 };
                let start = self.pos;
                self.pos += i + terminator;
                self.event_size = 0;
                return Quick::Event(start + value_start.min(i), start + i);
            }
            if rest.first() != Some(&b':') || i > self.max_event_size {
                return Quick::Other;
            }
            // A comment and a blank line: the blank line dispatches nothing and ends the block.
            self.pos += i + terminator;
            self.event_size = 0;
            self.event = None;
            self.retry = None;
            if self.pos == self.chunk.len() {
                return Quick::Other;
            }
        }
    }

    /// Read lines until an event is ready (`true`) or the input runs out (`false`).
    fn advance(&mut self) -> Result<bool, SseError> {
        self.release();
        loop {
            if self.pos == self.chunk.len() && !self.next_chunk() {
                return Ok(false);
            }
            if !self.carry.is_empty() || self.in_dropped_line {
                // A line that began in an earlier piece.
                match find_line_end(&self.chunk[self.pos..]) {
                    None => {
                        self.hold_partial_line()?;
                        continue;
                    }
                    Some(i) => {
                        let end = self.pos + i;
                        if self.in_dropped_line {
                            self.in_dropped_line = false;
                            self.pos = end;
                            self.consume_terminator();
                            continue;
                        }
                        self.carry.extend_from_slice(&self.chunk[self.pos..end]);
                        self.last_carried = self.carry.len();
                        self.pos = end;
                        self.consume_terminator();
                        let dispatched = self.line(Line::Carried);
                        self.carry.clear();
                        if self.carry.capacity() > RETAINED {
                            self.carry = Vec::new();
                        }
                        if dispatched? {
                            return Ok(true);
                        }
                        continue;
                    }
                }
            }
            // Keep-alive comments, skipped in place.
            if self.chunk[self.pos] == b':' {
                let end = find_line_end(&self.chunk[self.pos..]);
                if let Some(i) = end.filter(|i| *i <= self.max_event_size) {
                    self.pos += i;
                    self.consume_terminator();
                    if self.pos < self.chunk.len() && matches!(self.chunk[self.pos], b'\n' | b'\r')
                    {
                        // The blank line after a comment-only block dispatches nothing, but it
                        // ends the block: let the general path see it.
                        let start = self.pos;
                        self.consume_terminator();
                        if self.line(Line::Chunk(start, start))? {
                            return Ok(true);
                        }
                    }
                    continue;
                }
            }
            // The fast path: whole lines inside the current piece.
            let start = self.pos;
            match find_line_end(&self.chunk[start..]) {
                None => self.hold_partial_line()?,
                Some(i) => {
                    let end = start + i;
                    self.pos = end;
                    self.consume_terminator();
                    if self.line(Line::Chunk(start, end))? {
                        return Ok(true);
                    }
                }
            }
        }
    }

    /// Drop the event handed out last; give back a large line buffer no event refers to.
    fn release(&mut self) {
        self.ready = None;
        if self.held.capacity() > RETAINED && !matches!(self.data, Data::Held(_)) {
            self.held = Vec::new();
        }
    }

    /// The value of a straddling line, owned: a small one is copied (the buffer stays for the
    /// next line); a large one takes the buffer itself rather than copying it a second time.
    fn take_held(&mut self, start: usize) -> Bytes {
        if self.held.len() - start <= 4096 {
            Bytes::copy_from_slice(&self.held[start..])
        } else {
            Bytes::from(std::mem::take(&mut self.held)).slice(start..)
        }
    }

    /// Move to the next fed piece; a one-line data value in the old piece is kept by reference.
    fn next_chunk(&mut self) -> bool {
        match self.queue.pop_front() {
            Some(next) => {
                self.switch_to(next);
                true
            }
            None => false,
        }
    }

    /// Make `next` (not empty) the current piece.
    #[inline]
    fn switch_to(&mut self, next: Bytes) {
        if let Data::Range(a, b) = self.data {
            self.data = Data::One(self.chunk.slice(a..b));
        }
        self.chunk = next;
        self.pos = 0;
        if self.skip_lf {
            self.skip_lf = false;
            if self.chunk[0] == b'\n' {
                self.pos = 1;
            }
        }
    }

    /// The rest of the piece is the start of a line: keep it (or drop it, if too long).
    #[inline]
    fn hold_partial_line(&mut self) -> Result<(), SseError> {
        let rest = &self.chunk[self.pos..];
        self.pos = self.chunk.len();
        if self.discarding || self.in_dropped_line {
            self.in_dropped_line |= !rest.is_empty() || !self.carry.is_empty();
            self.carry.clear();
            return Ok(());
        }
        if self.carry.len() + rest.len() > self.max_event_size {
            // A runaway line: drop what is held of it; the rest is skipped as it comes.
            self.carry.clear();
            self.in_dropped_line = true;
            return Err(self.overflow());
        }
        if self.carry.is_empty() {
            let room = self.last_carried.min(RETAINED);
            self.carry
                .reserve(rest.len().max(room).min(self.max_event_size));
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    /// Step over the line end at `pos` (CR, LF or CRLF; a CR at the end of the piece may have
    /// its LF in the next one).
    #[inline]
    fn consume_terminator(&mut self) {
        if self.chunk[self.pos] == b'\r' {
            self.pos += 1;
            if self.pos == self.chunk.len() {
                self.skip_lf = true;
            } else if self.chunk[self.pos] == b'\n' {
                self.pos += 1;
            }
        } else {
            self.pos += 1;
        }
    }

    /// Interpret one complete line; `true` when it dispatched an event. A carried line stays in
    /// `carry` for the caller to clear.
    #[inline]
    fn line(&mut self, line: Line) -> Result<bool, SseError> {
        let bytes: &[u8] = match line {
            Line::Chunk(a, b) => &self.chunk[a..b],
            Line::Carried => &self.carry,
        };
        let len = bytes.len();
        if len == 0 {
            if self.discarding {
                self.discarding = false;
                self.reset_event();
                return Ok(false);
            }
            return Ok(self.dispatch());
        }
        if self.discarding {
            return Ok(false);
        }
        if len > self.max_event_size {
            return Err(self.overflow());
        }
        if bytes[0] == b':' {
            // A comment: part of no event.
            return Ok(false);
        }
        self.event_size += len + 1;
        if self.event_size > self.max_event_size {
            return Err(self.overflow());
        }
        let (name_len, value_start) = match memchr::memchr(b':', bytes) {
            Some(colon) => (
                colon,
                if bytes.get(colon + 1) == Some(&b' ') {
                    colon + 2
                } else {
                    colon + 1
                },
            ),
            None => (len, len),
        };
        match &bytes[..name_len] {
            b"data" => self.push_data(line, value_start),
            b"event" => {
                self.event = Some(String::from_utf8_lossy(&bytes[value_start..]).into_owned())
            }
            b"id" => {
                let value = &bytes[value_start..];
                if !value.contains(&0) {
                    self.last_id = Some(Arc::from(String::from_utf8_lossy(value)));
                }
            }
            b"retry" => {
                let value = &bytes[value_start..];
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                }
            }
            _ => {}
        }
        Ok(false)
    }

    /// Add one `data` line's value (from `value_start` in the line) to the event.
    #[inline]
    fn push_data(&mut self, line: Line, value_start: usize) {
        if matches!(self.data, Data::None) {
            self.data = match line {
                Line::Chunk(a, b) => Data::Range(a + value_start, b),
                Line::Carried => {
                    // Keep the line where it is; `carry` takes the other buffer.
                    std::mem::swap(&mut self.carry, &mut self.held);
                    Data::Held(value_start)
                }
            };
            return;
        }
        let mut joined = match std::mem::take(&mut self.data) {
            Data::Range(a, b) => BytesMut::from(&self.chunk[a..b]),
            Data::One(bytes) => BytesMut::from(&bytes[..]),
            Data::Held(start) => BytesMut::from(&self.held[start..]),
            Data::Many(joined) => joined,
            Data::None => unreachable!("checked above"),
        };
        joined.extend_from_slice(b"\n");
        joined.extend_from_slice(match line {
            Line::Chunk(a, b) => &self.chunk[a + value_start..b],
            Line::Carried => &self.carry[value_start..],
        });
        self.data = Data::Many(joined);
    }

    /// A blank line: make the event ready, if it has data.
    #[inline]
    fn dispatch(&mut self) -> bool {
        self.event_size = 0;
        let data = std::mem::take(&mut self.data);
        if matches!(data, Data::None) {
            // No data line: nothing is dispatched, and the event type is reset.
            self.event = None;
            self.retry = None;
            return false;
        }
        self.ready = Some(Ready {
            data,
            event: self.event.take(),
            retry: self.retry.take(),
        });
        true
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

    /// An expected event: (event type, data, last id, retry).
    type Expected<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<u64>);

    /// Decode `input` fed in one piece, and byte by byte: both must give `expect`.
    fn check(input: &[u8], expect: &[Expected<'_>]) {
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
    fn line_ends_are_found_at_every_position_and_length() {
        // Fillers next to LF and CR in value (0x0b, 0x0c, 0x09, 0x0e), with their high bit set, and
        // 0x00/0x01; lengths on both sides of the switch to memchr.
        let fillers = [b'a', 0x0b, 0x0c, 0x09, 0x0e, 0x8a, 0x8d, 0x00, 0x01, 0xff];
        for len in 0..80 {
            for filler in fillers {
                let mut bytes = vec![filler; len];
                assert_eq!(find_line_end(&bytes), None, "{len} of {filler:#x}");
                for at in 0..len {
                    for end in [b'\n', b'\r'] {
                        bytes[at] = end;
                        if at + 1 < len {
                            bytes[at + 1] = b'\n';
                        }
                        assert_eq!(find_line_end(&bytes), Some(at), "{len} {at} {filler:#x}");
                        bytes.fill(filler);
                    }
                }
            }
        }
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
    fn large_lines_across_pieces_are_whole() {
        // Values above and below the size at which an owned value takes the line buffer.
        let big = "x".repeat(10_000);
        let small = "y".repeat(100);
        let input = format!(
            "data: {big}\n\ndata: {small}\n\ndata: {big}\ndata: {small}\n\ndata: {big}\n\n"
        );
        let joined = format!("{big}\n{small}");
        let expect = [big.as_str(), small.as_str(), joined.as_str(), big.as_str()];
        for piece in [1, 7, 1000, 4096, 9_999] {
            let events = decode_pieces(input.as_bytes().chunks(piece));
            let got: Vec<&[u8]> = events.iter().map(|e| &e.data[..]).collect();
            let want: Vec<&[u8]> = expect.iter().map(|e| e.as_bytes()).collect();
            assert_eq!(got, want, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn one_huge_event_does_not_pin_its_memory() {
        let huge = format!("data: {}\n\n", "z".repeat(3 * RETAINED));
        let small = "data: {\"ok\":true}\n\n".repeat(3);
        for borrowed in [false, true] {
            let mut decoder = SseDecoder::new();
            let mut sizes = Vec::new();
            for piece in huge
                .as_bytes()
                .chunks(16 * 1024)
                .chain(small.as_bytes().chunks(5))
            {
                decoder.feed(piece);
                loop {
                    let size = if borrowed {
                        decoder.next_event_ref().unwrap().map(|e| e.data.len())
                    } else {
                        decoder.next_event().unwrap().map(|e| e.data.len())
                    };
                    match size {
                        Some(size) => sizes.push(size),
                        None => break,
                    }
                }
            }
            assert_eq!(sizes, [3 * RETAINED, 11, 11, 11]);
            assert!(
                decoder.carry.capacity() <= RETAINED,
                "{}",
                decoder.carry.capacity()
            );
            assert!(
                decoder.held.capacity() <= RETAINED,
                "{}",
                decoder.held.capacity()
            );
        }
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
