//! Is a webhook genuine? HMAC-SHA256 signatures over the raw body for the sources that sign
//! (Typeform, Tally, the Google Forms forwarder), a secret token for the rest. Every comparison
//! takes the same time whatever the inputs share.

use crate::failure::Failure;
use crate::webhooks::Protection;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How a request got through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It carried a good signature or token.
    Verified,
    /// The endpoint is public by the operator's choice: it proved nothing.
    Public,
}

/// Checks a request to endpoint `endpoint` (`direct` or a source name) against its protection.
/// `signature_header` names the header a signing source uses. An endpoint with no protection is
/// closed: 401, naming what the operator can set.
pub fn check(
    protection: Protection<'_>,
    endpoint: &str,
    signature_header: Option<&str>,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Verdict, Failure> {
    let token = presented_token(headers, query).map(GivenToken::Plain);
    check_given(protection, endpoint, signature_header, headers, token, body)
}

/// A token as the request presents it, or as a kept request remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GivenToken<'a> {
    /// As presented: `?token=`, `X-Ponte-Token` or `Authorization: Bearer`.
    Plain(&'a str),
    /// The [`token_digest`] of what was presented, under the stack's record key: an intake
    /// record kept before its check could run carries this, never the token itself, and without
    /// the key it cannot be checked against guesses of a short token.
    Keyed { digest: &'a str, key: &'a [u8] },
}

/// The token a request presents: `?token=…`, else `X-Ponte-Token`, else a bearer token.
pub fn presented_token<'a>(
    headers: &'a HeaderMap,
    query: &'a [(String, String)],
) -> Option<&'a str> {
    query
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
        .map(str::trim)
}

/// Hex HMAC-SHA256 of a token under `key`: lets a kept request be checked later without keeping
/// its token, or anything a guess could be checked against without the key.
pub fn token_digest(key: &[u8], token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(token.trim().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// [`check`], with the token given rather than read from the request.
pub fn check_given(
    protection: Protection<'_>,
    endpoint: &str,
    signature_header: Option<&str>,
    headers: &HeaderMap,
    token: Option<GivenToken<'_>>,
    body: &[u8],
) -> Result<Verdict, Failure> {
    if protection.signing_secret.is_none() && protection.token.is_none() {
        if protection.public {
            return Ok(Verdict::Public);
        }
        return Err(Failure::Unauthorized(format!(
            "this endpoint is closed: the connection secret sets no webhooks.{endpoint}.token{}, no webhook_token, and not webhooks.{endpoint}.public",
            if signature_header.is_some() {
                format!(" or webhooks.{endpoint}.signing_secret")
            } else {
                String::new()
            }
        )));
    }
    if let Some(secret) = protection.signing_secret {
        // Settings are checked when the secret is read; this keeps a secret for a source that
        // signs nothing from ever passing as a check.
        let header = signature_header.ok_or_else(|| {
            Failure::Configuration(format!("{endpoint} does not sign its requests"))
        })?;
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
    if let Some(expected) = protection.token {
        let given = token.ok_or_else(|| {
            Failure::Unauthorized(
                "a token is required: add ?token=… to the webhook URL or send X-Ponte-Token".into(),
            )
        })?;
        let matches = match given {
            GivenToken::Plain(given) => given.trim().as_bytes().ct_eq(expected.expose().as_bytes()),
            GivenToken::Keyed { digest, key } => digest
                .as_bytes()
                .ct_eq(token_digest(key, expected.expose()).as_bytes()),
        };
        if !bool::from(matches) {
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

    fn protection<'a>(signing: Option<&'a Token>, token: Option<&'a Token>) -> Protection<'a> {
        Protection {
            signing_secret: signing,
            token,
            public: false,
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
        let key = Token::new("k");
        let s = protection(Some(&key), None);
        let body = br#"{"a":1}"#;
        let mut headers = HeaderMap::new();
        let header = Some("tally-signature");
        let missing = check(s, "tally", header, &headers, &[], body).unwrap_err();
        assert_eq!(
            (missing.http_status(), missing.kind()),
            (401, "unauthorized")
        );
        headers.insert("tally-signature", sign(b"k", body)[7..].parse().unwrap());
        assert_eq!(
            check(s, "tally", header, &headers, &[], body).unwrap(),
            Verdict::Verified
        );
        assert!(check(s, "tally", header, &headers, &[], b"{}").is_err());
        let unsigned = check(s, "direct", None, &headers, &[], body).unwrap_err();
        assert_eq!(
            unsigned.kind(),
            "configuration",
            "a secret that checks nothing"
        );
    }

    #[test]
    fn tokens_come_from_the_query_or_a_header() {
        let token = Token::new("t0k3n");
        let s = protection(None, Some(&token));
        let query = vec![("token".to_string(), "t0k3n".to_string())];
        let empty = HeaderMap::new();
        assert_eq!(
            check(s, "jotform", None, &empty, &query, b"").unwrap(),
            Verdict::Verified
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-ponte-token", "t0k3n".parse().unwrap());
        assert_eq!(
            check(s, "jotform", None, &headers, &[], b"").unwrap(),
            Verdict::Verified
        );
        let mut bearer = HeaderMap::new();
        bearer.insert("authorization", "Bearer t0k3n".parse().unwrap());
        assert_eq!(
            check(s, "direct", None, &bearer, &[], b"").unwrap(),
            Verdict::Verified
        );
        let wrong = vec![("token".to_string(), "t0k3m".to_string())];
        assert!(check(s, "jotform", None, &empty, &wrong, b"").is_err());
        assert!(check(s, "jotform", None, &empty, &[], b"").is_err());
    }

    #[test]
    fn an_endpoint_without_protection_is_closed_unless_public() {
        let empty = HeaderMap::new();
        let closed =
            check(protection(None, None), "elementor", None, &empty, &[], b"").unwrap_err();
        assert_eq!((closed.http_status(), closed.kind()), (401, "unauthorized"));
        let message = closed.to_string();
        assert!(
            message.contains("webhooks.elementor.token") && message.contains("webhook_token"),
            "{message}"
        );
        let public = Protection {
            public: true,
            ..Protection::default()
        };
        assert_eq!(
            check(public, "elementor", None, &empty, &[], b"").unwrap(),
            Verdict::Public
        );
    }

    #[test]
    fn a_kept_request_is_checked_by_the_digest_of_its_token() {
        let token = Token::new("t0k3n");
        let s = protection(None, Some(&token));
        let empty = HeaderMap::new();
        let key = b"record-key";
        let digest = token_digest(key, " t0k3n ");
        assert_eq!(digest.len(), 64);
        assert!(!digest.contains("t0k3n"));
        assert_ne!(digest, token_digest(b"another key", "t0k3n"), "keyed");
        let given = Some(GivenToken::Keyed {
            digest: &digest,
            key,
        });
        assert_eq!(
            check_given(s, "elementor", None, &empty, given, b"").unwrap(),
            Verdict::Verified
        );
        let other = token_digest(key, "t0k3m");
        let wrong = check_given(
            s,
            "elementor",
            None,
            &empty,
            Some(GivenToken::Keyed {
                digest: &other,
                key,
            }),
            b"",
        );
        assert_eq!(wrong.unwrap_err().kind(), "unauthorized");
    }
}
