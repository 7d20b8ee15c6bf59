//! A small Lambda runtime API: enough to drive a real function binary as Lambda does.
//!
//! The binary long-polls `GET /2018-06-01/runtime/invocation/next`, handles the event and posts
//! to `…/{id}/response` or `…/{id}/error`. [`RuntimeApi::invoke`] queues one event and waits for
//! that answer, so tests, the local runner and the benchmarks can call a function like Lambda.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, mpsc, oneshot};

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationResult {
    /// `…/response`: the handler's JSON.
    Response(Value),
    /// `…/error`: the error document the runtime posted.
    Error(Value),
}

impl InvocationResult {
    /// The ids of the SQS records to deliver again: those the answer lists in
    /// `batchItemFailures`, or every one of `records` when the invocation failed as a whole.
    pub fn records_to_retry(&self, records: impl IntoIterator<Item = String>) -> Vec<String> {
        match self {
            InvocationResult::Response(value) => value["batchItemFailures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                .collect(),
            InvocationResult::Error(_) => records.into_iter().collect(),
        }
    }

    /// The response, or a panic naming the error: for callers that expect success.
    pub fn expect_response(self) -> Value {
        match self {
            InvocationResult::Response(value) => value,
            InvocationResult::Error(error) => {
                panic!("the function answered with an error: {error}")
            }
        }
    }
}

struct Invocation {
    seq: u64,
    id: String,
    event: Value,
    deadline_ms: u64,
}

struct Shared {
    queue_rx: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<InvocationResult>>>,
    init_error: Mutex<Option<Value>>,
    polls: AtomicU64,
    first_poll: std::sync::Mutex<Option<std::time::Instant>>,
}

/// The emulator, serving on a loopback port until dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    queue_tx: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue_rx: Mutex::new(queue_rx),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            polls: AtomicU64::new(0),
            first_poll: std::sync::Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            queue_tx,
            shared,
            next_id: AtomicU64::new(1),
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API` for the function.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// How many times the function has asked for its next event: the first ask marks the end
    /// of its init.
    pub fn polls(&self) -> u64 {
        self.shared.polls.load(Ordering::SeqCst)
    }

    /// When the function first asked for an event: the end of its init.
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        self.shared.first_poll.lock().ok().and_then(|p| *p)
    }

    /// The error the function reported during init, if any.
    pub async fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().await.clone()
    }

    /// Sends one event with `budget` as the invocation's time limit and waits for the answer
    /// (a little longer than the budget, then gives up with an error).
    pub async fn invoke(&self, event: Value, budget: Duration) -> Result<InvocationResult, String> {
        let seq = self.next_id.fetch_add(1, Ordering::SeqCst);
        let id = format!("req-{seq:06}");
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().await.insert(id.clone(), tx);
        let deadline_ms = now_ms() + budget.as_millis() as u64;
        self.queue_tx
            .send(Invocation {
                seq,
                id: id.clone(),
                event,
                deadline_ms,
            })
            .map_err(|_| "the runtime API has stopped".to_string())?;
        match tokio::time::timeout(budget + Duration::from_secs(5), rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(format!("invocation {id} was dropped")),
            Err(_) => Err(format!("no answer to invocation {id} within {budget:?}")),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    if shared.polls.fetch_add(1, Ordering::SeqCst) == 0
        && let Ok(mut first) = shared.first_poll.lock()
    {
        *first = Some(std::time::Instant::now());
    }
    let invocation = shared.queue_rx.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return (StatusCode::GONE, HeaderMap::new(), Vec::new());
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", invocation.id.clone());
    set(
        "lambda-runtime-deadline-ms",
        invocation.deadline_ms.to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:ponte-local".into(),
    );
    set(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-00000000-{:0>24};Parent=0000000000000001;Sampled=0",
            invocation.seq
        ),
    );
    set("content-type", "application/json".into());
    (
        StatusCode::OK,
        headers,
        invocation.event.to_string().into_bytes(),
    )
}

async fn finish(shared: &Shared, id: &str, answer: InvocationResult) -> StatusCode {
    match shared.waiting.lock().await.remove(id) {
        Some(tx) => {
            let _ = tx.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

fn json_or_text(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(
        &shared,
        &id,
        InvocationResult::Response(json_or_text(&body)),
    )
    .await
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, InvocationResult::Error(json_or_text(&body))).await
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().await = Some(json_or_text(&body));
    StatusCode::ACCEPTED
}
