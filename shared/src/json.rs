//! Bodies, read the same way by every trigger: how large they may be, and JSON.

use crate::failure::Failure;
use serde_json::Value;

/// The largest body accepted, decoded: far above any form submission or provider request,
/// far below what would strain a 128 MB function.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The largest SQS record body accepted: an intake record carries a body of up to
/// [`MAX_BODY_BYTES`] in base64 (a third larger), with a few kilobytes about it.
pub const MAX_RECORD_BYTES: usize = MAX_BODY_BYTES / 3 * 4 + 16 * 1024;

/// Parses a JSON body; the message says where it broke.
pub fn parse(bytes: &[u8]) -> Result<Value, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::InvalidJson("the body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Failure::InvalidJson(e.to_string()))
}
