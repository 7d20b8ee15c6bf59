//! `sacflow-send-message` — Sacflow: send a message (text, media, template…).
//! Triggered by API Gateway and SQS; the connection comes from the secret named by `SECRET_ID`.

#[tokio::main]
async fn main() -> Result<(), ponte::Error> {
    ponte::run::<ponte::actions::SacflowSendMessage>().await
}
