//! Decoding JSON bodies into the wire types, faster than `serde_json::from_slice`.
//!
//! `serde_json::from_slice` checks the UTF-8 of every string it reads, one call per key and per
//! value: a chat chunk has about fifteen of them, and those calls were the largest single cost
//! of decoding one (`benches/README.md`). [`from_slice`] checks the whole body once instead
//! (the standard library's check runs a word at a time over ASCII) and then parses it as text,
//! which serde_json does not check again. The result is the same; a body that is not UTF-8 is
//! handed to `serde_json::from_slice`, so its error is exactly serde_json's.

use serde::Deserialize;

/// Decode `bytes` as JSON into `T`: `serde_json::from_slice`, with one UTF-8 check for the whole
/// body rather than one per string.
///
/// ```
/// use quickrouter_types::ChatCompletionChunk;
///
/// let chunk: ChatCompletionChunk = quickrouter_types::json::from_slice(
///     br#"{"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}]}"#,
/// )
/// .unwrap();
/// assert_eq!(chunk.choices[0].delta.content.as_deref(), Some("hi"));
/// assert!(quickrouter_types::json::from_slice::<ChatCompletionChunk>(b"{\"id\":\"\xff\"}").is_err());
/// ```
pub fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatCompletionChunk;

    #[test]
    fn errors_are_serde_jsons_own() {
        for body in [
            &b"{\"id\": \"\xff\"}"[..],
            b"{\"id\": 1",
            b"{\"choices\": 3}",
            b"",
            b"\xef\xbb\xbf{}",
        ] {
            let ours = from_slice::<ChatCompletionChunk>(body)
                .unwrap_err()
                .to_string();
            let theirs = serde_json::from_slice::<ChatCompletionChunk>(body)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn escapes_and_non_ascii_text_decode_the_same() {
        let body = "{\"id\":\"c\\u00e9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"进度 36% ✅ \\\"q\\\"\"}}]}";
        let ours: ChatCompletionChunk = from_slice(body.as_bytes()).unwrap();
        let theirs: ChatCompletionChunk = serde_json::from_slice(body.as_bytes()).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.id, "cé");
    }
}
