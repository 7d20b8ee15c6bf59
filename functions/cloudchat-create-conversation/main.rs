//! `cloudchat-create-conversation` — Cloud Chat: open a ticket (conversation).
//! Triggered by API Gateway and SQS; the connection comes from the secret named by `SECRET_ID`.

#[tokio::main]
async fn main() -> Result<(), ponte::Error> {
    ponte::run::<ponte::actions::CloudChatCreateConversation>().await
}
