//! `cloudchat-proactive-whatsapp` — Cloud Chat: start a WhatsApp conversation from a template.
//! Triggered by API Gateway and SQS; the connection comes from the secret named by `SECRET_ID`.

#[tokio::main]
async fn main() -> Result<(), ponte::Error> {
    ponte::run::<ponte::actions::CloudChatProactiveWhatsapp>().await
}
