//! Compressed answers (`Content-Encoding: gzip | br | zstd`), flushed after every written piece so a
//! stream can be decoded as it arrives.

use std::io::Write;

use bytes::Bytes;

use crate::scenario::{Answer, Step};

/// `answer` with its body encoded by `encoding`, each write flushed on its own.
pub fn encode(mut answer: Answer, encoding: &'static str) -> Answer {
    let mut encoder = Encoder::new(encoding);
    let mut steps = Vec::with_capacity(answer.steps.len() + 1);
    for step in answer.steps {
        match step {
            Step::Write(bytes) => steps.push(Step::Write(encoder.write(&bytes))),
            other => steps.push(other),
        }
    }
    steps.push(Step::Write(encoder.finish()));
    answer.steps = steps;
    answer
        .headers
        .push(("Content-Encoding".into(), encoding.into()));
    answer
}

enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(encoding: &str) -> Self {
        match encoding {
            "gzip" => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::fast(),
            )),
            "br" => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                5,
                22,
            ))),
            _ => Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd")),
        }
    }

    /// Compress `bytes` and flush: what is returned decodes to everything written so far.
    fn write(&mut self, bytes: &[u8]) -> Bytes {
        let out = match self {
            Encoder::Gzip(e) => {
                e.write_all(bytes).and_then(|()| e.flush()).expect("gzip");
                std::mem::take(e.get_mut())
            }
            Encoder::Brotli(e) => {
                e.write_all(bytes).and_then(|()| e.flush()).expect("brotli");
                std::mem::take(e.get_mut())
            }
            Encoder::Zstd(e) => {
                e.write_all(bytes).and_then(|()| e.flush()).expect("zstd");
                std::mem::take(e.get_mut())
            }
        };
        Bytes::from(out)
    }

    fn finish(self) -> Bytes {
        Bytes::from(match self {
            Encoder::Gzip(e) => e.finish().expect("gzip"),
            Encoder::Brotli(e) => e.into_inner(),
            Encoder::Zstd(e) => e.finish().expect("zstd"),
        })
    }
}
