//! How large what an outsider sends may be: the bottom of the house, imported by the JSON
//! reader, the failures that name the limit and both triggers.

/// The largest body accepted, decoded: far above any form submission or provider request,
/// far below what would strain a 128 MB function.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The largest SQS record body accepted: an intake record carries a body of up to
/// [`MAX_BODY_BYTES`] in base64 (a third larger), with a few kilobytes about it.
pub const MAX_RECORD_BYTES: usize = MAX_BODY_BYTES / 3 * 4 + 16 * 1024;
