//! One HTTP request from its method to its reports: the path a fresh request takes on the HTTP
//! trigger, and the path a kept one ([`crate::intake`]) takes again from the queue.

use crate::action::Action;
use crate::app::App;
use crate::failure::Failure;
use crate::form_webhook::{self, FormRequest};
use crate::forms::Source;
use crate::intake::Proof;
use crate::received::{Received, SubmissionPreview, SubmissionReport};
use crate::report::DeliveryId;
use crate::trigger::HttpRequest;
use base64::Engine;
use lambda_http::http::HeaderMap;
use std::time::Instant;

/// A request and what is known of it besides its bytes.
pub struct Inbound<'a> {
    pub request: &'a HttpRequest,
    /// The body, decoded from API Gateway's encoding (signatures are over exactly these bytes).
    pub body: &'a [u8],
    pub proof: Proof<'a>,
    /// When it arrived, in seconds since the epoch (`None`: now).
    pub received_at: Option<u64>,
    pub dry_run: bool,
}

/// Runs one request through its route: a direct call when the URL names no source, else a
/// form webhook.
pub async fn receive<A: Action>(
    app: &App<A>,
    inbound: Inbound<'_>,
    deadline: Option<Instant>,
) -> Received {
    let request = inbound.request;
    let Some(name) = request.source.as_deref() else {
        return direct(app, &inbound, deadline).await;
    };
    let source = match name.parse::<Source>() {
        Ok(source) => source,
        Err(message) => return Received::Refused(Failure::UnknownSource(message)),
    };
    if ["GET", "HEAD"].contains(&request.method.to_ascii_uppercase().as_str()) {
        // A builder checking that the URL answers before it saves it.
        return Received::Test("a URL check: send submissions here with POST".into());
    }
    if let Err(failure) = require_post(request) {
        return Received::Refused(failure);
    }
    let form = FormRequest {
        source,
        headers: &request.headers,
        query: &request.query,
        body: inbound.body,
        dry_run: inbound.dry_run,
        proof: inbound.proof,
        received_at: inbound.received_at,
    };
    form_webhook::deliver(app, form, deadline).await
}

/// A direct call: the body is the provider's own request.
async fn direct<A: Action>(
    app: &App<A>,
    inbound: &Inbound<'_>,
    deadline: Option<Instant>,
) -> Received {
    let request = inbound.request;
    if let Err(failure) = require_post(request).and_then(|()| require_json(request)) {
        return Received::Refused(failure);
    }
    let route = crate::webhooks::DIRECT;
    let checked = form_webhook::authenticate(
        app,
        route,
        None,
        &request.headers,
        &request.query,
        &[],
        inbound.proof,
    )
    .await;
    if let Err(received) = checked {
        return received;
    }
    // A caller names a delivery with an Idempotency-Key header (as Stripe's API does).
    let parsed = idempotency_key(&request.headers)
        .and_then(|key| Ok((crate::json::parse(inbound.body)?, key)));
    let (payload, key) = match parsed {
        Ok(parsed) => parsed,
        Err(failure) => return Received::Failed(failure),
    };
    if inbound.dry_run {
        let result = app.preview(&payload).await;
        return Received::Previewed(vec![SubmissionPreview {
            submission_id: None,
            result,
        }]);
    }
    // As on form routes, the route's settings (its query) are part of a delivery's key.
    let scope = crate::idempotency::scope_of(&request.query);
    let id = key.as_deref().map(|value| DeliveryId {
        kind: "idempotency-key",
        value,
        scope: &scope,
    });
    let report = app.deliver(&payload, deadline, id).await;
    Received::Delivered(vec![SubmissionReport {
        submission_id: None,
        report,
    }])
}

/// The longest `Idempotency-Key` accepted: room for any UUID, hash or composed id.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The caller's `Idempotency-Key`, trimmed (none, or blank: the request identifies itself).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Failure> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Failure::InvalidIdempotencyKey("must be printable ASCII".into()))?
        .trim();
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(Failure::InvalidIdempotencyKey(format!(
            "is {} characters long; the most accepted is {MAX_IDEMPOTENCY_KEY}",
            key.len()
        )));
    }
    Ok(Some(key.to_string()).filter(|k| !k.is_empty()))
}

/// A direct call's body is the provider's JSON request: a Content-Type that says otherwise is
/// refused (none at all is accepted, as some callers send none).
fn require_json(request: &HttpRequest) -> Result<(), Failure> {
    let given = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = crate::forms::body::media_type(Some(given));
    if media.is_empty() || media == "application/json" || media.ends_with("+json") {
        Ok(())
    } else {
        Err(Failure::UnsupportedMediaType(given.to_string()))
    }
}

fn require_post(request: &HttpRequest) -> Result<(), Failure> {
    if request.method.eq_ignore_ascii_case("POST") {
        Ok(())
    } else {
        Err(Failure::MethodNotAllowed(request.method.clone()))
    }
}

/// The raw body bytes, base64-decoded when API Gateway encoded them (signatures are computed
/// over exactly these bytes).
pub fn body_of(request: &HttpRequest) -> Result<Vec<u8>, Failure> {
    let raw = request.body.as_deref().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        // Checked before decoding, too: base64 is a third larger than what it encodes.
        if raw.len() / 4 * 3 > crate::limits::MAX_BODY_BYTES {
            return Err(Failure::TooLarge(raw.len() / 4 * 3));
        }
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| {
                Failure::InvalidBody("isBase64Encoded is true but the body is not base64".into())
            })?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > crate::limits::MAX_BODY_BYTES {
        return Err(Failure::TooLarge(bytes.len()));
    }
    Ok(bytes)
}
