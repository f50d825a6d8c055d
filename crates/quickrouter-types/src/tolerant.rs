//! Deserializers that let response types survive what relays send.
//!
//! The generator (`cargo xtask codegen`) puts `#[serde(default, deserialize_with =
//! "crate::tolerant::null_as_default")]` on every non-`Option` field of a response-side struct, so
//! `"tool_calls": null`, `"choices": null` or a missing `usage` field never fail a whole answer.

use serde::{Deserialize, Deserializer};

/// Deserialize `T`, reading `null` as `T::default()`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
