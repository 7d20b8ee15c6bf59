//! A small SQS for load runs: the calls Ponte's functions and the event source stand-in make
//! (SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage, DeleteMessageBatch,
//! ChangeMessageVisibility, GetQueueAttributes), over the JSON protocol the AWS SDK speaks, with
//! visibility timeouts, receive counts and a redrive policy.
//!
//! Why not moto's: its ReceiveMessage counts the whole queue for every message it looks at, so a
//! receive costs the square of the queue's length and a burst of thousands of leads measures
//! moto rather than Ponte. Tests keep using moto; `ponte-burst` points the functions here with
//! `AWS_ENDPOINT_URL_SQS` and leaves DynamoDB and Secrets Manager on moto.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Message {
    id: String,
    body: String,
    attributes: Value,
    receives: u32,
    visible_at: Instant,
    receipt: String,
    sent_at_ms: u64,
}

#[derive(Default)]
struct Queue {
    messages: VecDeque<Message>,
    visibility: Duration,
    /// (dead-letter queue URL, maxReceiveCount)
    redrive: Option<(String, u32)>,
    /// Messages ever sent to the queue.
    sent: u64,
    /// The most times one message was received.
    most_receives: u32,
}

#[derive(Default)]
struct Queues {
    queues: HashMap<String, Queue>,
    next: u64,
}

/// A running SQS stand-in; stops when dropped.
pub struct Sqs {
    addr: SocketAddr,
    state: Arc<Mutex<Queues>>,
    server: tokio::task::JoinHandle<()>,
}

impl Sqs {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(Queues::default()));
        let app = Router::new()
            .route("/", post(call))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// The endpoint to give the SDK (`AWS_ENDPOINT_URL_SQS`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates queue `name` with `visibility`, sending a message to `redrive`'s queue after
    /// that many receives; its URL.
    pub fn create_queue(
        &self,
        name: &str,
        visibility: Duration,
        redrive: Option<(&str, u32)>,
    ) -> String {
        let url = format!("{}/000000000000/{name}", self.endpoint());
        let queue = Queue {
            visibility,
            redrive: redrive.map(|(url, max)| (url.to_string(), max)),
            ..Queue::default()
        };
        self.lock().queues.insert(url.clone(), queue);
        url
    }

    /// Messages on the queue, visible or not.
    pub fn len(&self, url: &str) -> usize {
        self.lock().queues.get(url).map_or(0, |q| q.messages.len())
    }

    /// Messages ever sent to the queue.
    pub fn sent(&self, url: &str) -> u64 {
        self.lock().queues.get(url).map_or(0, |q| q.sent)
    }

    /// The most times one message of the queue was received.
    pub fn most_receives(&self, url: &str) -> u32 {
        self.lock().queues.get(url).map_or(0, |q| q.most_receives)
    }

    /// True when the queue holds nothing.
    pub fn is_empty(&self, url: &str) -> bool {
        self.len(url) == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Sqs {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn error(kind: &str, message: &str) -> Response {
    let body = json!({"__type": format!("com.amazonaws.sqs#{kind}"), "message": message});
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.0")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    (
        [("content-type", "application/x-amz-json-1.0")],
        body.to_string(),
    )
        .into_response()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn call(
    State(state): State<Arc<Mutex<Queues>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start_matches("AmazonSQS.")
        .to_string();
    let Ok(input) = serde_json::from_str::<Value>(&body) else {
        return error("InvalidParameterValue", "the body is not JSON");
    };
    let url = input["QueueUrl"].as_str().unwrap_or_default().to_string();
    if target == "ReceiveMessage" {
        // Long polling: look again until something is visible or the wait is over.
        let wait = Duration::from_secs(input["WaitTimeSeconds"].as_u64().unwrap_or(0).min(20));
        let until = Instant::now() + wait;
        loop {
            let answer = {
                let mut queues = state.lock().unwrap_or_else(|e| e.into_inner());
                receive(&mut queues, &url, &input)
            };
            match answer {
                Some(messages) if messages.is_empty() && Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(messages) => return ok(json!({"Messages": messages})),
                None => return error("QueueDoesNotExist", "The specified queue does not exist."),
            }
        }
    }
    let mut queues = state.lock().unwrap_or_else(|e| e.into_inner());
    let queues = &mut *queues;
    if !queues.queues.contains_key(&url) {
        return error("QueueDoesNotExist", "The specified queue does not exist.");
    }
    match target.as_str() {
        "SendMessage" => {
            let id = send(queues, &url, &input);
            ok(json!({"MessageId": id}))
        }
        "SendMessageBatch" => {
            let entries = input["Entries"].as_array().cloned().unwrap_or_default();
            let successful: Vec<Value> = entries
                .iter()
                .map(|entry| {
                    let id = send(queues, &url, entry);
                    json!({"Id": entry["Id"], "MessageId": id, "MD5OfMessageBody": ""})
                })
                .collect();
            ok(json!({"Successful": successful, "Failed": []}))
        }
        "DeleteMessage" => {
            let receipt = input["ReceiptHandle"].as_str().unwrap_or_default();
            delete(queues, &url, receipt);
            ok(json!({}))
        }
        "DeleteMessageBatch" => {
            let entries = input["Entries"].as_array().cloned().unwrap_or_default();
            for entry in &entries {
                delete(
                    queues,
                    &url,
                    entry["ReceiptHandle"].as_str().unwrap_or_default(),
                );
            }
            let successful: Vec<Value> = entries.iter().map(|e| json!({"Id": e["Id"]})).collect();
            ok(json!({"Successful": successful, "Failed": []}))
        }
        "ChangeMessageVisibility" => {
            let receipt = input["ReceiptHandle"].as_str().unwrap_or_default();
            let seconds = input["VisibilityTimeout"].as_u64().unwrap_or(0);
            let queue = queues.queues.get_mut(&url).expect("checked above");
            match queue.messages.iter_mut().find(|m| m.receipt == receipt) {
                Some(message) => {
                    message.visible_at = Instant::now() + Duration::from_secs(seconds);
                    ok(json!({}))
                }
                None => error("ReceiptHandleIsInvalid", "The receipt handle is not valid."),
            }
        }
        "GetQueueAttributes" => {
            let queue = &queues.queues[&url];
            let now = Instant::now();
            let visible = queue
                .messages
                .iter()
                .filter(|m| m.visible_at <= now)
                .count();
            let name = url.rsplit('/').next().unwrap_or_default();
            ok(json!({"Attributes": {
                "ApproximateNumberOfMessages": visible.to_string(),
                "ApproximateNumberOfMessagesNotVisible": (queue.messages.len() - visible).to_string(),
                "QueueArn": format!("arn:aws:sqs:us-east-1:000000000000:{name}"),
            }}))
        }
        other => error(
            "UnsupportedOperation",
            &format!("{other} is not played by this stand-in"),
        ),
    }
}

fn send(queues: &mut Queues, url: &str, input: &Value) -> String {
    queues.next += 1;
    let id = format!("00000000-0000-4000-8000-{:012}", queues.next);
    let delay = Duration::from_secs(input["DelaySeconds"].as_u64().unwrap_or(0));
    let message = Message {
        id: id.clone(),
        body: input["MessageBody"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        attributes: input.get("MessageAttributes").cloned().unwrap_or(json!({})),
        receives: 0,
        visible_at: Instant::now() + delay,
        receipt: String::new(),
        sent_at_ms: now_ms(),
    };
    if let Some(queue) = queues.queues.get_mut(url) {
        queue.sent += 1;
        queue.messages.push_back(message);
    }
    id
}

fn delete(queues: &mut Queues, url: &str, receipt: &str) {
    if let Some(queue) = queues.queues.get_mut(url) {
        queue.messages.retain(|m| m.receipt != receipt);
    }
}

/// Up to `MaxNumberOfMessages` visible messages, hidden for the queue's visibility (or the
/// call's); a message received more often than the redrive policy allows moves to its
/// dead-letter queue instead.
fn receive(queues: &mut Queues, url: &str, input: &Value) -> Option<Vec<Value>> {
    let max = input["MaxNumberOfMessages"]
        .as_u64()
        .unwrap_or(1)
        .clamp(1, 10) as usize;
    let queue = queues.queues.get_mut(url)?;
    let visibility = input["VisibilityTimeout"]
        .as_u64()
        .map_or(queue.visibility, Duration::from_secs);
    let now = Instant::now();
    let mut taken = Vec::new();
    let mut exhausted = Vec::new();
    for (index, message) in queue.messages.iter_mut().enumerate() {
        if taken.len() >= max {
            break;
        }
        if message.visible_at > now {
            continue;
        }
        if let Some((_, max_receives)) = &queue.redrive
            && message.receives >= *max_receives
        {
            exhausted.push(index);
            continue;
        }
        message.receives += 1;
        queue.most_receives = queue.most_receives.max(message.receives);
        message.visible_at = now + visibility;
        message.receipt = format!("{}-{}", message.id, message.receives);
        taken.push(json!({
            "MessageId": message.id,
            "ReceiptHandle": message.receipt,
            "MD5OfBody": "",
            "Body": message.body,
            "Attributes": {
                "ApproximateReceiveCount": message.receives.to_string(),
                "SentTimestamp": message.sent_at_ms.to_string(),
                "ApproximateFirstReceiveTimestamp": message.sent_at_ms.to_string(),
                "SenderId": "000000000000",
            },
            "MessageAttributes": message.attributes,
        }));
    }
    if let Some((dead_letters, _)) = queue.redrive.clone() {
        for index in exhausted.into_iter().rev() {
            if let Some(mut message) = queues
                .queues
                .get_mut(url)
                .and_then(|q| q.messages.remove(index))
            {
                message.visible_at = now;
                if let Some(dlq) = queues.queues.get_mut(&dead_letters) {
                    dlq.messages.push_back(message);
                }
            }
        }
    }
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_come_back_after_their_visibility_and_move_to_the_dead_letters_at_the_limit() {
        let sqs = Sqs::start().await.unwrap();
        let dlq = sqs.create_queue("dlq", Duration::from_secs(30), None);
        let queue = sqs.create_queue("q", Duration::from_secs(30), Some((&dlq, 2)));
        let client = aws_sdk_sqs::Client::new(&crate::moto::sdk_config(&sqs.endpoint()).await);
        client
            .send_message()
            .queue_url(&queue)
            .message_body("lead")
            .send()
            .await
            .unwrap();
        let receive = || async {
            client
                .receive_message()
                .queue_url(&queue)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap()
                .messages()
                .to_vec()
        };
        let first = receive().await;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].body(), Some("lead"));
        assert!(
            receive().await.is_empty(),
            "hidden for the queue's visibility"
        );
        client
            .change_message_visibility()
            .queue_url(&queue)
            .receipt_handle(first[0].receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        let second = receive().await;
        assert_eq!(
            second[0]
                .attributes()
                .and_then(|a| a
                    .get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
                .map(String::as_str),
            Some("2")
        );
        client
            .change_message_visibility()
            .queue_url(&queue)
            .receipt_handle(second[0].receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        assert!(receive().await.is_empty(), "received twice: a dead letter");
        assert_eq!((sqs.len(&queue), sqs.len(&dlq)), (0, 1));
        client
            .delete_message()
            .queue_url(&dlq)
            .receipt_handle("unknown")
            .send()
            .await
            .unwrap();
        assert_eq!(sqs.len(&dlq), 1, "an unknown receipt deletes nothing");
    }
}
