//! One module per command; `main` dispatches with one `match`.

pub mod batch;
pub mod chat;
pub mod completions;
pub mod models;
pub mod video;
