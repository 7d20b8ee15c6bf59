//! `wegly-create-chat` — Wegly: create a chat with a WhatsApp template.
//! Triggered by API Gateway and SQS; the connection comes from the secret named by `SECRET_ID`.

#[tokio::main]
async fn main() -> Result<(), ponte::Error> {
    ponte::run::<ponte::actions::WeglyCreateChat>().await
}
