//! `cargo xtask ci`: the one command CI (and the README) runs.

use std::path::Path;

use anyhow::Result;

pub fn run(root: &Path) -> Result<()> {
    crate::codegen::run(root, true)
}
