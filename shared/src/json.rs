//! JSON bodies, read the same way by every trigger (their size limits: [`crate::limits`]).

use crate::failure::Failure;
use serde_json::Value;

/// Parses a JSON body; the message says where it broke.
pub fn parse(bytes: &[u8]) -> Result<Value, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::InvalidJson("the body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Failure::InvalidJson(e.to_string()))
}
