//! Which trigger an invocation came from, decided by the event's shape, never guessed.
//!
//! One binary serves both of its triggers: an SQS batch has `Records`; API Gateway HTTP APIs
//! and function URLs (payload 2.0) have `requestContext.http`; REST APIs (payload 1.0) have
//! `httpMethod`. Anything else is refused with a message that says what was expected.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::sqs::SqsEvent;
use lambda_http::http::HeaderMap;
use serde_json::Value;

/// The API Gateway payload version, which decides the shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpOrigin {
    /// REST API proxy integration (payload 1.0).
    RestV1,
    /// HTTP API (payload 2.0) or function URL.
    HttpV2,
}

/// An HTTP request as the function needs it; the body is still as API Gateway sent it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub origin: HttpOrigin,
    pub method: String,
    pub headers: HeaderMap,
    /// The query string's parameters (the first value of each).
    pub query: Vec<(String, String)>,
    /// The form source the URL names: the `{source}` path parameter, else `?source=`.
    pub source: Option<String>,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

fn query_pairs(query: &aws_lambda_events::query_map::QueryMap) -> Vec<(String, String)> {
    // The first value of each name, through a set: linear however long the query.
    let mut seen = std::collections::HashSet::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in query.iter() {
        if seen.insert(key) {
            pairs.push((key.to_string(), value.to_string()));
        }
    }
    pairs
}

/// The form source a request names: the `{source}` path parameter (API Gateway routes), else
/// `?source=`, else what follows the function in the path of a function URL (`cargo lambda
/// watch`'s `/lambda-url/<function>/<source>`, which has no route parameters: `…/elementor` is
/// the same webhook there as deployed). What follows the function there is a source whatever it
/// says, so a mistyped one is refused by name rather than taken for a direct call. Elsewhere,
/// the path's last segment is a source when it is a source's name.
fn source_of(
    path_parameters: &std::collections::HashMap<String, String>,
    query: &[(String, String)],
    path: Option<&str>,
) -> Option<String> {
    let last_segment = || {
        let segments: Vec<&str> = path?.trim_matches('/').split('/').collect();
        if let ["lambda-url", _function, after @ ..] = segments.as_slice() {
            return Some(after.join("/")).filter(|after| !after.is_empty());
        }
        let segment = *segments.last()?;
        segment.parse::<crate::forms::Source>().ok()?;
        Some(segment.to_string())
    };
    path_parameters
        .get("source")
        .cloned()
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "source")
                .map(|(_, v)| v.clone())
        })
        .or_else(last_segment)
        .filter(|s| !s.trim().is_empty())
}

#[derive(Debug)]
pub enum Trigger {
    Sqs(SqsEvent),
    Http(HttpRequest),
}

pub const EXPECTED: &str = "expected an SQS batch (Records) or an API Gateway REST (payload 1.0), HTTP API (payload 2.0) or function URL request";

/// Reads the event; the error explains what the event should have been.
pub fn classify(event: Value) -> Result<Trigger, String> {
    if event.get("Records").is_some() {
        return serde_json::from_value::<SqsEvent>(event)
            .map(Trigger::Sqs)
            .map_err(|e| {
                format!("the event has Records but is not an SQS batch ({e}); {EXPECTED}")
            });
    }
    let is_v2 = event
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some_and(Value::is_object);
    if is_v2 {
        let request: ApiGatewayV2httpRequest = serde_json::from_value(event).map_err(|e| {
            format!("the event looks like an HTTP API request but is not one ({e})")
        })?;
        let query = query_pairs(&request.query_string_parameters);
        return Ok(Trigger::Http(HttpRequest {
            origin: HttpOrigin::HttpV2,
            method: request.request_context.http.method.to_string(),
            headers: request.headers,
            source: source_of(
                &request.path_parameters,
                &query,
                request.raw_path.as_deref(),
            ),
            query,
            body: request.body,
            is_base64_encoded: request.is_base64_encoded,
        }));
    }
    if event.get("httpMethod").is_some() {
        let request: ApiGatewayProxyRequest = serde_json::from_value(event)
            .map_err(|e| format!("the event looks like a REST API request but is not one ({e})"))?;
        let query = query_pairs(&request.query_string_parameters);
        return Ok(Trigger::Http(HttpRequest {
            origin: HttpOrigin::RestV1,
            method: request.http_method.to_string(),
            headers: request.headers,
            source: source_of(&request.path_parameters, &query, request.path.as_deref()),
            query,
            body: request.body,
            is_base64_encoded: request.is_base64_encoded,
        }));
    }
    Err(format!("unrecognised event: {EXPECTED}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_shape_is_recognised() {
        let sqs = json!({"Records": [{"messageId": "1", "body": "{}"}]});
        assert!(matches!(classify(sqs), Ok(Trigger::Sqs(e)) if e.records.len() == 1));
        let v2 = json!({"version": "2.0", "rawPath": "/x", "requestContext": {"http": {"method": "POST"}}, "body": "{}", "isBase64Encoded": false});
        assert!(
            matches!(classify(v2), Ok(Trigger::Http(r)) if r.origin == HttpOrigin::HttpV2 && r.method == "POST")
        );
        let v1 = json!({"httpMethod": "POST", "path": "/x", "headers": {"Content-Type": "application/json"}, "body": "{}", "isBase64Encoded": false, "requestContext": {"httpMethod": "POST"}});
        let classified = classify(v1);
        assert!(
            matches!(classified, Ok(Trigger::Http(ref r)) if r.origin == HttpOrigin::RestV1),
            "{classified:?}"
        );
    }

    #[test]
    fn other_shapes_are_refused_with_what_was_expected() {
        for event in [
            json!({"inbox_id": "1"}),
            json!([1, 2]),
            json!("x"),
            json!(null),
        ] {
            let err = classify(event).unwrap_err();
            assert!(err.contains("expected an SQS batch"), "{err}");
        }
        assert!(classify(json!({"Records": "nope"})).is_err());
    }

    #[test]
    fn a_path_that_ends_in_a_source_names_it_where_there_are_no_route_parameters() {
        let event = |path: &str| json!({"version": "2.0", "rawPath": path, "requestContext": {"http": {"method": "POST"}}, "body": "", "isBase64Encoded": false});
        let source = |path: &str| match classify(event(path)) {
            Ok(Trigger::Http(request)) => request.source,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            source("/lambda-url/cloudchat-create-conversation/elementor").as_deref(),
            Some("elementor")
        );
        assert_eq!(
            source("/cloudchat/conversations/tally/").as_deref(),
            Some("tally")
        );
        assert_eq!(source("/cloudchat/conversations"), None, "a direct call");
        assert_eq!(source("/lambda-url/wegly-create-chat"), None);
        assert_eq!(source("/lambda-url/wegly-create-chat/"), None);
        // After the function on the local path, anything is a source: a typo is refused by name.
        assert_eq!(
            source("/lambda-url/cloudchat-create-conversation/elementer").as_deref(),
            Some("elementer")
        );
        assert_eq!(source("/cloudchat/conversations/elementer"), None);
        let rest = json!({"httpMethod": "POST", "path": "/wegly/chats/typeform", "requestContext": {"httpMethod": "POST"}, "body": "", "isBase64Encoded": false});
        match classify(rest) {
            Ok(Trigger::Http(request)) => assert_eq!(request.source.as_deref(), Some("typeform")),
            other => panic!("{other:?}"),
        }
    }
}
