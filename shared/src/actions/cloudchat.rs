//! The Cloud Chat connection, shared by both Cloud Chat actions.
//!
//! Cloud Chat is a hosted Chatwoot: the account id goes in the path, the token in the
//! `api_access_token` header.

use crate::connection::{Connection, Token, base_url, required_token};
use crate::validate::{Fields, Problems};
use serde_json::Value;

pub const DEFAULT_BASE_URL: &str = "https://cloudchat.cloudhumans.com";

/// `{"api_access_token": "…", "account_id": "123", "base_url": "https://…"}`
#[derive(Debug, Clone)]
pub struct CloudChatConnection {
    pub api_access_token: Token,
    pub account_id: u64,
    pub base_url: String,
}

impl Connection for CloudChatConnection {
    const PROVIDER: &'static str = "Cloud Chat";

    fn from_secret(value: &Value) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        let Some(mut f) = Fields::object(value, "", &mut problems) else {
            return Err(problems);
        };
        let api_access_token = required_token(&mut f, "api_access_token", &mut problems);
        let account_id = f.required_id("account_id", &mut problems);
        let base_url = base_url(&mut f, "base_url", DEFAULT_BASE_URL, &mut problems);
        problems.into_result()?;
        Ok(Self {
            api_access_token,
            account_id,
            base_url,
        })
    }
}

impl CloudChatConnection {
    /// `{base}/api/v1/accounts/{account_id}{path}`
    pub fn account_url(&self, path: &str) -> String {
        format!(
            "{}/api/v1/accounts/{}{path}",
            self.base_url, self.account_id
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
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.account_id, 7);
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
