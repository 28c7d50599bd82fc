//! The one rule engines apply to the names of containers, volumes and networks.

/// True when engines accept `name` as a container, volume or network name:
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (Docker's rule; libpod's is the same).
pub(crate) fn is_valid_engine_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}
