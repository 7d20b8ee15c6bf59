//! Dead letters, listed, tried and sent back by the function they belong to.
//!
//! An operator invokes the deployed function with a replay command (`{"ponte_replay":
//! {"command": "list"}}`; `scripts/replay` does it with `aws lambda invoke`, or `cargo lambda
//! invoke` locally), so answering a dead-letter alarm needs the AWS CLI and nothing to compile.
//! The function reads its own dead-letter queue, tries the chosen letters with its current
//! secret and mapping through the same code the SQS trigger runs (a dry run: nothing is sent,
//! no key is claimed), or sends them back to its own queue, where they are delivered once. Only
//! a caller allowed `lambda:InvokeFunction` on the function can do this: no API Gateway or SQS
//! event has the command's shape.
//!
//! Letters are read with ReceiveMessage under a short visibility timeout and released again
//! (visibility 0) unless they are redriven: a redriven letter is sent to the function's own
//! queue and only then deleted from the dead-letter queue, so a failure between the two leaves
//! it in both places (delivered once all the same: its keys make the second a duplicate),
//! never in neither. SQS's own StartMessageMoveTask moves a whole queue without choosing;
//! this chooses by reason and count.

use crate::action::Action;
use crate::app::App;
use crate::dead_letters::SOURCE_MESSAGE_ID;
use crate::mask;
use crate::queue::Attribute;
use crate::received::Received;
use aws_sdk_sqs::Client;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The most letters one invocation reads: what it can read and release well within a
/// function's 30 seconds. A queue with more is listed as "at least" this many; a redrive takes
/// them in turns.
pub const MAX_LETTERS: usize = 1_000;

/// How long read letters stay hidden from others while a run looks at them.
const VISIBILITY_SECONDS: i32 = 120;

/// One dead letter as read from the queue.
#[derive(Debug, Clone)]
pub struct Letter {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ponte.error_kind`, or `unknown` for a letter SQS moved itself (after maxReceiveCount).
    pub kind: String,
    /// `ponte.error`, when Ponte wrote it.
    pub error: String,
    /// The message the letter was: `ponte.source_message_id` when Ponte wrote it, else the
    /// letter's own id (SQS keeps a message's id when it moves it after `maxReceiveCount`).
    pub source_message_id: String,
}

/// Reads up to `max` letters from `queue_url`; they stay hidden until released or deleted.
pub async fn read(sqs: &Client, queue_url: &str, max: usize) -> Result<Vec<Letter>, String> {
    let mut letters = Vec::new();
    while letters.len() < max {
        let batch = (max - letters.len()).min(10) as i32;
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(batch)
            .visibility_timeout(VISIBILITY_SECONDS)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| explain("ReceiveMessage", queue_url, e))?;
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let attribute = |name: &str| {
                message
                    .message_attributes()
                    .and_then(|a| a.get(name))
                    .and_then(|a| a.string_value())
                    .map(str::to_string)
            };
            letters.push(Letter {
                message_id: message.message_id().unwrap_or_default().to_string(),
                receipt_handle: message.receipt_handle().unwrap_or_default().to_string(),
                body: message.body().unwrap_or_default().to_string(),
                kind: attribute("ponte.error_kind").unwrap_or_else(|| "unknown".into()),
                error: attribute("ponte.error").unwrap_or_default(),
                source_message_id: attribute(SOURCE_MESSAGE_ID)
                    .filter(|id| !id.is_empty())
                    .or_else(|| message.message_id().map(str::to_string))
                    .unwrap_or_default(),
            });
        }
    }
    Ok(letters)
}

/// Makes letters visible again to the next reader.
pub async fn release(sqs: &Client, queue_url: &str, letters: &[Letter]) -> Result<(), String> {
    for letter in letters {
        sqs.change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(&letter.receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| explain("ChangeMessageVisibility", queue_url, e))?;
    }
    Ok(())
}

/// How many letters there are of each reason.
pub fn by_reason(letters: &[Letter]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for letter in letters {
        *counts.entry(letter.kind.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Splits letters into those chosen (of reason `reason`, if given; at most `limit`) and the rest.
pub fn choose(
    letters: Vec<Letter>,
    reason: Option<&str>,
    limit: Option<usize>,
) -> (Vec<Letter>, Vec<Letter>) {
    let limit = limit.unwrap_or(usize::MAX);
    let mut chosen = Vec::new();
    let mut rest = Vec::new();
    for letter in letters {
        if chosen.len() < limit && reason.is_none_or(|r| r == letter.kind) {
            chosen.push(letter);
        } else {
            rest.push(letter);
        }
    }
    (chosen, rest)
}

/// Sends each letter to the function's queue, then deletes it from the dead-letter queue; the
/// number sent. A letter that could not be sent is left where it was. Each goes back with the
/// id of the message it was, so that it is the same delivery as before (a lead delivered once
/// is a duplicate, not a second ticket).
pub async fn redrive(
    sqs: &Client,
    dead_letter_queue_url: &str,
    queue_url: &str,
    letters: &[Letter],
    force: bool,
) -> Result<usize, String> {
    let mut sent = 0;
    for letter in letters {
        let mut send = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(&letter.body);
        if !letter.source_message_id.is_empty() {
            let id = Attribute::Text(&letter.source_message_id)
                .to_sqs()
                .map_err(|e| format!("SendMessage: {e}"))?;
            send = send.message_attributes(SOURCE_MESSAGE_ID, id);
        }
        if force {
            let yes = Attribute::Text("true")
                .to_sqs()
                .map_err(|e| format!("SendMessage: {e}"))?;
            send = send.message_attributes(crate::sqs_batch::FORCE, yes);
        }
        send.send()
            .await
            .map_err(|e| explain("SendMessage", queue_url, e))?;
        sqs.delete_message()
            .queue_url(dead_letter_queue_url)
            .receipt_handle(&letter.receipt_handle)
            .send()
            .await
            .map_err(|e| explain("DeleteMessage", dead_letter_queue_url, e))?;
        sent += 1;
    }
    Ok(sent)
}

/// An SQS error in words an operator can act on: which call, which queue, and what to check.
fn explain<E, R>(call: &str, queue_url: &str, error: aws_sdk_sqs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sqs::error::SdkError;
    let hint = match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            "SQS could not be reached: check the region and the network".to_string()
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let message = service.err().message().unwrap_or_default();
            match code {
                "AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist" => {
                    "the queue does not exist: check the queue URL (and its region)".to_string()
                }
                "AccessDenied" | "AccessDeniedException" => format!(
                    "access denied: the function's role may not call {call} on this queue ({message})"
                ),
                "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "SignatureDoesNotMatch"
                | "ExpiredToken" => format!("the credentials were refused ({code}: {message})"),
                _ => format!("{code}: {message}"),
            }
        }
        other => format!("{other}"),
    };
    let queue = if queue_url.is_empty() {
        "(no queue URL)"
    } else {
        queue_url
    };
    format!("SQS {call} on {queue}: {hint}")
}

/// What an operator asks of the function.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub command: Verb,
    /// Only letters kept for this reason (`validation`, `configuration`, …).
    #[serde(default)]
    pub reason: Option<String>,
    /// At most this many letters.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Show e-mails and phones in what a dry run would send; masked otherwise.
    #[serde(default)]
    pub show_pii: bool,
    /// Redrive kept requests however old: one older than the function remembers deliveries
    /// (`RECORD_MAX_AGE_SECONDS`) is otherwise a dead letter `record_expired` again.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    /// The letters, counted by reason, and the chosen ones with their reason and error.
    List,
    /// What each chosen letter would send now, or why it would not: nothing is sent.
    DryRun,
    /// The chosen letters back to the function's queue, which delivers each once.
    Redrive,
}

/// The key of a replay command in an invocation's event.
pub const MARKER: &str = "ponte_replay";

/// The command in `event`, if the event is one: `Err` names what is wrong with it.
pub fn command_of(event: &Value) -> Option<Result<Command, String>> {
    let command = event.get(MARKER)?;
    Some(serde_json::from_value(command.clone()).map_err(|e| {
        format!("{MARKER}: {e}: send {{\"{MARKER}\": {{\"command\": \"list\" | \"dry_run\" | \"redrive\", \"reason\": \"…\", \"limit\": N, \"show_pii\": false}}}}")
    }))
}

/// Runs an operator's command against the function's own dead-letter queue; the answer says
/// what was found and done, or what stood in the way.
pub async fn run<A: Action>(app: &App<A>, command: Command) -> Value {
    match run_command(app, &command).await {
        Ok(answer) => answer,
        Err(message) => json!({"ok": false, "action": A::NAME, "error": message}),
    }
}

async fn run_command<A: Action>(app: &App<A>, command: &Command) -> Result<Value, String> {
    let queues = app.queues().ok_or(
        "DEAD_LETTER_QUEUE_URL is not set: this function keeps no dead letters (the stack sets it)",
    )?;
    let (sqs, dlq) = (queues.sqs.get(), queues.dead_letters.as_str());
    let letters = read(sqs, dlq, MAX_LETTERS).await?;
    let counted = letters.len();
    let counts: BTreeMap<String, usize> = by_reason(&letters)
        .into_iter()
        .map(|(reason, n)| (reason.to_string(), n))
        .collect();
    let (chosen, rest) = choose(letters, command.reason.as_deref(), command.limit);
    let mut answer = json!({
        "ok": true,
        "action": A::NAME,
        "command": command.command,
        "dead_letters": counted,
        "more_not_read": counted == MAX_LETTERS,
        "by_reason": counts,
        "chosen": chosen.len(),
    });
    match command.command {
        Verb::List => {
            answer["letters"] = chosen.iter().map(listed).collect();
            release(sqs, dlq, &chosen).await?;
        }
        Verb::DryRun => {
            let mut tried = Vec::with_capacity(chosen.len());
            for letter in &chosen {
                tried.push(dry_run(app, letter, command.show_pii).await);
            }
            answer["ok"] = json!(tried.iter().all(|t| t["would_send"].is_array()));
            answer["letters"] = Value::Array(tried);
            release(sqs, dlq, &chosen).await?;
        }
        Verb::Redrive => {
            let queue = queues.queue.as_deref().ok_or(
                "INTAKE_QUEUE_URL is not set: the function has no queue to send letters back to (the stack sets it)",
            )?;
            release(sqs, dlq, &rest).await?;
            let sent = redrive(sqs, dlq, queue, &chosen, command.force).await?;
            answer["redriven"] = json!(sent);
            answer["left"] = json!(counted - sent);
            return Ok(answer);
        }
    }
    release(sqs, dlq, &rest).await?;
    Ok(answer)
}

#[derive(serde::Serialize)]
struct Listed<'a> {
    message_id: &'a str,
    reason: &'a str,
    error: &'a str,
}

fn listed(letter: &Letter) -> Value {
    json!(Listed {
        message_id: &letter.message_id,
        reason: &letter.kind,
        error: &letter.error,
    })
}

/// What one letter would send now, or why not.
async fn dry_run<A: Action>(app: &App<A>, letter: &Letter, show_pii: bool) -> Value {
    let mut tried = listed(letter);
    let shown = |body: Value| if show_pii { body } else { masked(body) };
    match crate::sqs_batch::preview(app, &letter.body).await {
        Received::Previewed(previews) => {
            let handed: Vec<Value> = previews
                .iter()
                .flat_map(|p| &p.targets)
                .map(|(function, mapping)| json!({"function": function, "mapping": mapping}))
                .collect();
            let skipped: Vec<Value> = previews
                .iter()
                .filter(|p| p.skipped)
                .map(|p| json!({"submission_id": p.submission_id, "route": p.route}))
                .collect();
            let (sent, refused): (Vec<_>, Vec<_>) = previews
                .into_iter()
                .filter_map(|p| p.result)
                .partition(Result::is_ok);
            tried["would_send"] = sent
                .into_iter()
                .filter_map(Result::ok)
                .map(|r| json!({"url": r.url, "body": shown(r.body)}))
                .collect();
            if !handed.is_empty() {
                tried["would_hand_over"] = json!(handed);
            }
            if !skipped.is_empty() {
                tried["would_skip"] = json!(skipped);
            }
            if let Some(failure) = refused.into_iter().find_map(Result::err) {
                tried["would_send"] = Value::Null;
                tried["would_not"] = json!(failure.to_string());
            }
        }
        Received::Test(_) => tried["would_send"] = json!([]),
        Received::Refused(failure) | Received::Unchecked(failure) | Received::Failed(failure) => {
            tried["would_not"] = json!(failure.to_string());
        }
        Received::Attempted(_) => {
            tried["would_not"] = json!("a dry run answered with a delivery, which it never makes");
        }
    }
    tried
}

/// `body` with e-mail addresses and phone-like numbers masked, for an answer an operator may
/// paste anywhere: a value that is one of them, or each one inside a text (a message that
/// lists a form's answers), the rest of the text left readable.
pub fn masked(body: Value) -> Value {
    match body {
        Value::String(text) if looks_like_phone(&text) => Value::String(mask::phone(&text)),
        Value::String(text) => Value::String(masked_text(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, masked(v))).collect()),
        other => other,
    }
}

/// Each word with an `@` masked as an e-mail, then each phone number inside the text: a run of
/// the signs phone numbers are written with holding ten digits or more (a number with its area
/// code; an order number of eight digits stays readable). One pass each, linear in the text.
fn masked_text(text: &str) -> String {
    let words: String = text
        .split_inclusive(char::is_whitespace)
        .map(|piece| {
            let word = piece.trim_end();
            if word.contains('@') {
                format!("{}{}", mask::email(word), &piece[word.len()..])
            } else {
                piece.to_string()
            }
        })
        .collect();
    let mut out = String::with_capacity(words.len());
    let mut run = String::new();
    for c in words.chars() {
        let phone_sign = c.is_ascii_digit() || "+-().".contains(c);
        if phone_sign || (c == ' ' && !run.is_empty()) {
            run.push(c);
        } else {
            flush_run(&mut out, &mut run);
            out.push(c);
        }
    }
    flush_run(&mut out, &mut run);
    out
}

fn flush_run(out: &mut String, run: &mut String) {
    let number = run.trim_end();
    if number.chars().filter(char::is_ascii_digit).count() >= 10 {
        out.push_str(&mask::phone(number));
    } else {
        out.push_str(number);
    }
    out.push_str(&run[number.len()..]);
    run.clear();
}

/// Eight digits or more, written with only the signs phone numbers are written with.
fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 8
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(kind: &str) -> Letter {
        Letter {
            message_id: String::new(),
            receipt_handle: String::new(),
            body: String::new(),
            kind: kind.into(),
            error: String::new(),
            source_message_id: String::new(),
        }
    }

    #[test]
    fn letters_are_chosen_by_reason_and_count() {
        let letters = vec![
            letter("validation"),
            letter("configuration"),
            letter("validation"),
        ];
        assert_eq!(
            by_reason(&letters).into_iter().collect::<Vec<_>>(),
            [("configuration", 1), ("validation", 2)]
        );
        let (chosen, rest) = choose(letters.clone(), Some("validation"), Some(1));
        assert_eq!((chosen.len(), rest.len()), (1, 2));
        assert_eq!(chosen[0].kind, "validation");
        let (all, none) = choose(letters, None, None);
        assert_eq!((all.len(), none.len()), (3, 0));
    }

    #[test]
    fn a_dry_run_masks_emails_and_phones_but_not_ids_or_text() {
        let body = json!({
            "inbox_id": "12",
            "contact_email": "maria.souza@example.com",
            "contact_phone_number": "+5585987696383",
            "message": {"content": "Pedido 12345678 chegou?"},
            "template_fields": [{"value": "(85) 98769-6383"}]
        });
        let shown = masked(body);
        assert_eq!(shown["inbox_id"], "12");
        assert_eq!(shown["contact_email"], "m***@example.com");
        assert_eq!(shown["contact_phone_number"], "+55*********83");
        assert_eq!(shown["message"]["content"], "Pedido 12345678 chegou?");
        assert!(!shown.to_string().contains("98769"), "{shown}");
        let listed = json!(
            "Nome: Maria\nE-mail: maria.souza@example.com\nWhatsapp: (85) 98769-6383, à tarde"
        );
        assert_eq!(
            masked(listed),
            json!("Nome: Maria\nE-mail: m***@example.com\nWhatsapp: (85**********83, à tarde"),
            "each contact inside a text, the rest readable"
        );
    }

    #[test]
    fn commands_are_read_exactly() {
        let list = command_of(&json!({"ponte_replay": {"command": "list"}}))
            .unwrap()
            .unwrap();
        assert_eq!(list.command, Verb::List);
        let dry =
            json!({"ponte_replay": {"command": "dry_run", "reason": "validation", "limit": 5}});
        let dry = command_of(&dry).unwrap().unwrap();
        assert_eq!(
            (dry.reason.as_deref(), dry.limit),
            (Some("validation"), Some(5))
        );
        let typo = json!({"ponte_replay": {"command": "redrve"}});
        assert!(command_of(&typo).unwrap().unwrap_err().contains("redrive"));
        assert!(command_of(&json!({"Records": []})).is_none());
    }
}
