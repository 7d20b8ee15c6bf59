//! The Cloud Chat connection, shared by both Cloud Chat actions.
//!
//! Cloud Chat is a hosted Chatwoot: the account id goes in the path, the token in the
//! `api_access_token` header.

use crate::connection::{BaseUrl, Hosted, ProviderConnection, Token};
use crate::validate::Id;
use crate::validate::declared;
use serde_json::{Value, json};

/// `{"api_access_token": "…", "account_id": "123", "base_url": "https://…"}`; the secret's
/// other keys are webhook settings, read apart.
#[declared]
#[derive(Debug, Clone)]
pub struct CloudChatConnection {
    pub api_access_token: Token,
    pub account_id: Id,
    pub base_url: BaseUrl<CloudChatConnection>,
}

impl Hosted for CloudChatConnection {
    const DEFAULT_BASE_URL: &'static str = "https://cloudchat.cloudhumans.com";
}

impl ProviderConnection for CloudChatConnection {
    const PROVIDER: &'static str = "Cloud Chat";
    /// Cloud Chat runs on Chatwoot, whose rate limiter (rack-attack) allows 3,000 requests a
    /// minute by default.
    const REQUESTS_PER_SECOND: f64 = 50.0;
    const SECRET_SHAPE: &'static str = r#"{"api_access_token": "...", "account_id": "123", "base_url": "https://<your cloud chat domain>"}"#;

    fn example(base_url: &str) -> Value {
        json!({"api_access_token": "local-cloudchat-token", "account_id": "1", "base_url": base_url})
    }
}

impl CloudChatConnection {
    /// `{base}/api/v1/accounts/{account_id}{path}`
    pub fn account_url(&self, path: &str) -> String {
        format!(
            "{}/api/v1/accounts/{}{path}",
            self.base_url,
            self.account_id.get()
        )
    }

    pub fn auth_headers(&self) -> Vec<(&'static str, String)> {
        vec![(
            "api_access_token",
            self.api_access_token.expose().to_string(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Connection;
    use serde_json::json;

    #[test]
    fn reads_the_documented_secret() {
        let c = CloudChatConnection::from_secret(&json!({
            "api_access_token": "tok", "account_id": "123", "base_url": "https://chat.example.com/"
        }))
        .unwrap();
        assert_eq!(
            c.account_url("/conversations"),
            "https://chat.example.com/api/v1/accounts/123/conversations"
        );
        assert_eq!(
            c.auth_headers(),
            vec![("api_access_token", "tok".to_string())]
        );
    }

    #[test]
    fn base_url_defaults_and_account_id_may_be_a_number() {
        let c =
            CloudChatConnection::from_secret(&json!({"api_access_token": "t", "account_id": 7}))
                .unwrap();
        assert_eq!(c.base_url.as_str(), CloudChatConnection::DEFAULT_BASE_URL);
        assert_eq!(c.account_id.get(), 7);
    }

    #[test]
    fn problems_name_keys_not_values() {
        let err = CloudChatConnection::from_secret(&json!({"account_id": "abc"})).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("api_access_token: is required"), "{text}");
        assert!(
            text.contains("account_id: must be a positive whole number"),
            "{text}"
        );
    }
}
