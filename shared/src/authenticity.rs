//! Is a webhook genuine? HMAC-SHA256 signatures over the raw body for the sources that sign
//! (Typeform, Tally, the Google Forms forwarder), a secret token for the rest. Every comparison
//! takes the same time whatever the inputs share.

use crate::failure::Failure;
use crate::webhooks::SourceSettings;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How a request proved itself, or that it could not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It carried a good signature or token.
    Verified,
    /// Nothing is configured for its source: anyone who knows the URL can send it.
    Unprotected,
}

/// Checks a request against its source's settings. `signature_header` names the header a
/// signing source uses.
pub fn check(
    settings: Option<&SourceSettings>,
    signature_header: Option<&str>,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Verdict, Failure> {
    let Some(settings) = settings.filter(|s| s.is_protected()) else {
        return Ok(Verdict::Unprotected);
    };
    if let (Some(secret), Some(header)) = (&settings.signing_secret, signature_header) {
        let given = headers
            .get(header)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Failure::Unauthorized(format!("the {header} header is missing")))?;
        if !signature_matches(secret.expose().as_bytes(), body, given) {
            return Err(Failure::Unauthorized(format!(
                "the {header} header does not match the body"
            )));
        }
    }
    if let Some(expected) = &settings.token {
        let given = query
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.as_str())
            .or_else(|| headers.get("x-ponte-token").and_then(|v| v.to_str().ok()))
            .or_else(|| {
                headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
            })
            .ok_or_else(|| {
                Failure::Unauthorized(
                    "a token is required: add ?token=… to the webhook URL or send X-Ponte-Token"
                        .into(),
                )
            })?;
        if !bool::from(given.trim().as_bytes().ct_eq(expected.expose().as_bytes())) {
            return Err(Failure::Unauthorized("the token is wrong".into()));
        }
    }
    Ok(Verdict::Verified)
}

/// `given` is `sha256=<base64>` or `<base64>` of HMAC-SHA256(secret, body).
pub fn signature_matches(secret: &[u8], body: &[u8], given: &str) -> bool {
    let encoded = given.trim();
    let encoded = encoded.strip_prefix("sha256=").unwrap_or(encoded);
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// `sha256=<base64>` of HMAC-SHA256(secret, body): what a signing source sends.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    let signature = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(signature)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Token;

    fn settings(signing: Option<&str>, token: Option<&str>) -> SourceSettings {
        SourceSettings {
            signing_secret: signing.map(Token::new),
            token: token.map(Token::new),
            mapping: None,
        }
    }

    #[test]
    fn a_known_typeform_style_signature() {
        // HMAC-SHA256("secret", "{}"), computed independently with openssl.
        let expected = "sha256=dzJZAsrKgS3CWXM6rNBGtzgXNyx3e42VtAJkdHRRbhM=";
        assert_eq!(sign(b"secret", b"{}"), expected);
        assert!(signature_matches(b"secret", b"{}", expected));
        assert!(signature_matches(
            b"secret",
            b"{}",
            "dzJZAsrKgS3CWXM6rNBGtzgXNyx3e42VtAJkdHRRbhM="
        ));
        assert!(!signature_matches(b"secret", b"{ }", expected));
        assert!(!signature_matches(b"other", b"{}", expected));
        assert!(!signature_matches(b"secret", b"{}", "sha256=not base64"));
    }

    #[test]
    fn signatures_are_required_when_a_secret_is_set() {
        let s = settings(Some("k"), None);
        let body = br#"{"a":1}"#;
        let mut headers = HeaderMap::new();
        let missing = check(Some(&s), Some("tally-signature"), &headers, &[], body).unwrap_err();
        assert_eq!(
            (missing.http_status(), missing.kind()),
            (401, "unauthorized")
        );
        headers.insert("tally-signature", sign(b"k", body)[7..].parse().unwrap());
        assert_eq!(
            check(Some(&s), Some("tally-signature"), &headers, &[], body).unwrap(),
            Verdict::Verified
        );
        assert!(check(Some(&s), Some("tally-signature"), &headers, &[], b"{}").is_err());
    }

    #[test]
    fn tokens_come_from_the_query_or_a_header() {
        let s = settings(None, Some("t0k3n"));
        let query = vec![("token".to_string(), "t0k3n".to_string())];
        let empty = HeaderMap::new();
        assert_eq!(
            check(Some(&s), None, &empty, &query, b"").unwrap(),
            Verdict::Verified
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-ponte-token", "t0k3n".parse().unwrap());
        assert_eq!(
            check(Some(&s), None, &headers, &[], b"").unwrap(),
            Verdict::Verified
        );
        let wrong = vec![("token".to_string(), "t0k3m".to_string())];
        assert!(check(Some(&s), None, &empty, &wrong, b"").is_err());
        assert!(check(Some(&s), None, &empty, &[], b"").is_err());
    }

    #[test]
    fn nothing_configured_is_unprotected() {
        let empty = HeaderMap::new();
        assert_eq!(
            check(None, None, &empty, &[], b"").unwrap(),
            Verdict::Unprotected
        );
        let s = settings(None, None);
        assert_eq!(
            check(Some(&s), None, &empty, &[], b"").unwrap(),
            Verdict::Unprotected
        );
    }
}
