//! The secret no output may ever show.

/// The inline `docker login` token the tests' docker config holds: it must never appear in any output.
pub const FAKE_REGISTRY_TOKEN: &str = "QVdTOmVjci1kb2N0b3ItdGVzdC10b2tlbg==";
