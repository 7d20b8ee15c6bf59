//! Property tests: every decoder Ponte runs on outside input returns `Ok` or `Err` for any
//! input — never panics — and the pieces that must keep a promise keep it. Inputs are arbitrary
//! bytes, arbitrary JSON, and mutations of the real samples (which reach deeper code).
//!
//! The default run is bounded (`PROPTEST_CASES`, 256 per property); raise it for a longer hunt:
//! `PROPTEST_CASES=100000 cargo test -p ponte --test fuzz`.

use ponte::action::{Action, ValidationContext};
use ponte::actions::{
    CloudChatCreateConversation, CloudChatProactiveWhatsapp, SacflowSendMessage, WeglyCreateChat,
};
use ponte::connection::Connection;
use ponte::forms::{self, Source};
use ponte::mapping::{Context, Mapping};
use ponte::{envelope, trigger, webhooks};
use proptest::prelude::*;
use serde_json::{Map, Value};

const SOURCES: [Source; 8] = [
    Source::Typeform,
    Source::Tally,
    Source::Jotform,
    Source::GoogleForms,
    Source::Elementor,
    Source::RdStation,
    Source::Cf7,
    Source::Generic,
];

const SAMPLES: [(&[u8], Option<&str>); 7] = [
    (
        include_bytes!("../../tests/fixtures/forms/typeform.json"),
        Some("application/json"),
    ),
    (
        include_bytes!("../../tests/fixtures/forms/tally.json"),
        Some("application/json"),
    ),
    (
        include_bytes!("../../tests/fixtures/forms/jotform.multipart.txt"),
        Some("multipart/form-data; boundary=------------------------J1JNT4vbVO4FCC1qLG4HSv"),
    ),
    (
        include_bytes!("../../tests/fixtures/forms/google-forms.json"),
        Some("application/json"),
    ),
    (
        include_bytes!("../../tests/fixtures/forms/elementor-simple.urlencoded.txt"),
        Some("application/x-www-form-urlencoded"),
    ),
    (
        include_bytes!("../../tests/fixtures/forms/rdstation-converted.json"),
        Some("application/json"),
    ),
    (
        include_bytes!("../../tests/fixtures/forms/elementor-both-modes.json"),
        None,
    ),
];

/// Arbitrary JSON, a few levels deep, with keys that Ponte looks for among random ones.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("inbox_id".to_string()),
        Just("contact_phone_number".to_string()),
        Just("message".to_string()),
        Just("type".to_string()),
        Just("Records".to_string()),
        Just("body".to_string()),
        Just("Message".to_string()),
        Just("detail".to_string()),
        Just("template_fields".to_string()),
        Just("base_url".to_string()),
        Just("token".to_string()),
        Just("webhooks".to_string()),
        "[a-zA-Z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "\\{\\{[a-z ?]{0,8}\\}?\\}?".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A sample with some bytes flipped, cut or repeated.
fn mutated_sample() -> impl Strategy<Value = (Vec<u8>, Option<&'static str>)> {
    (
        0..SAMPLES.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(which, flips, cut)| {
            let (sample, content_type) = SAMPLES[which];
            let mut bytes = sample.to_vec();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let keep = cut.index(bytes.len() + 1).max(bytes.len() / 2);
            bytes.truncate(keep);
            (bytes, content_type)
        })
}

fn validate_all(value: &Value) {
    let ctx = ValidationContext::default();
    let _ = CloudChatCreateConversation::validate(value, &ctx);
    let _ = CloudChatProactiveWhatsapp::validate(value, &ctx);
    let _ = WeglyCreateChat::validate(value, &ctx);
    let _ = SacflowSendMessage::validate(value, &ctx);
}

proptest! {
    /// Any Unicode text with HTML entities (whole, broken or unknown) among its characters, as
    /// JotForm answers carry them: unescaped without a panic, and text without `&` unchanged.
    #[test]
    fn html_unescape_takes_any_unicode(text in "(\\PC|&(amp|quot|#[0-9]{1,8}|#x[0-9a-fA-F]{1,7}|[a-zA-Z]{0,12});?)*") {
        let out = forms::jotform::unescape_html(&text);
        if !text.contains('&') {
            prop_assert_eq!(out, text);
        }
    }

    /// Urlencoded and multipart form bodies of arbitrary Unicode names and values, repeated or
    /// not, decode for every source that reads them, field by field.
    #[test]
    fn urlencoded_bodies_of_any_unicode_decode(pairs in prop::collection::vec(("\\PC{0,12}", "\\PC{0,24}"), 0..40)) {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        for source in [Source::Generic, Source::Elementor, Source::Jotform] {
            let _ = forms::decode(source, body.as_bytes(), Some("application/x-www-form-urlencoded"));
        }
        if let Ok(forms::Decoded::Submissions(s)) = forms::decode(Source::Generic, body.as_bytes(), Some("application/x-www-form-urlencoded")) {
            let distinct: std::collections::HashSet<&String> = pairs.iter().map(|(k, _)| k).collect();
            prop_assert_eq!(s[0].fields.len(), distinct.len());
        }
    }

    #[test]
    fn form_decoders_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512), content_type in prop::option::of("(application/json|multipart/form-data; boundary=x|application/x-www-form-urlencoded|text/plain)")) {
        for source in SOURCES {
            let _ = forms::decode(source, &body, content_type.as_deref());
        }
    }

    #[test]
    fn form_decoders_never_panic_on_mutated_samples((body, content_type) in mutated_sample()) {
        for source in SOURCES {
            if let Ok(forms::Decoded::Submissions(submissions)) = forms::decode(source, &body, content_type) {
                for submission in &submissions {
                    let _ = submission.readable();
                }
            }
        }
    }

    #[test]
    fn form_decoders_never_panic_on_json(value in json()) {
        let body = value.to_string();
        for source in SOURCES {
            let _ = forms::decode(source, body.as_bytes(), Some("application/json"));
        }
    }

    #[test]
    fn envelopes_and_triggers_never_panic(value in json()) {
        let _ = envelope::unwrap(value.clone());
        let _ = trigger::classify(value);
    }

    #[test]
    fn validation_never_panics_and_unknown_keys_are_named(value in json()) {
        validate_all(&value);
        if let Value::Object(map) = &value {
            let with_typo = map.clone().into_iter().chain([("inboxid".to_string(), Value::Null)]).collect::<Map<_, _>>();
            let mut typo = Value::Object(with_typo);
            typo["inboxid"] = Value::from(1);
            if let Err(problems) = CloudChatCreateConversation::validate(&typo, &ValidationContext::default()) {
                prop_assert!(problems.list().iter().any(|p| p.field == "inboxid") || problems.more() > 0);
            } else {
                prop_assert!(false, "a body with an unknown key must be refused");
            }
        }
    }

    /// Connection secrets are outside input too (an operator's typo): any JSON reads or names
    /// its problems, and a secret that reads sends its token only to https or this machine.
    #[test]
    fn connection_secrets_never_panic_and_keep_the_token_on_https(value in json(), url in prop_oneof![".{0,24}", "(https?|ftp)://[a-z0-9.:@\\[\\]]{0,16}(/.{0,6})?"]) {
        let mut secret = value;
        if let Value::Object(map) = &mut secret {
            map.insert("base_url".into(), Value::String(url));
        }
        let _ = <CloudChatCreateConversation as Action>::Connection::from_secret(&secret);
        let _ = <SacflowSendMessage as Action>::Connection::from_secret(&secret);
        let _ = webhooks::Webhooks::from_secret(&secret);
        if let Ok(wegly) = <WeglyCreateChat as Action>::Connection::from_secret(&secret) {
            let base = wegly.base_url.as_str().to_ascii_lowercase();
            prop_assert!(
                base.starts_with("https://") || base.starts_with("http://127.0.0.1")
                    || base.starts_with("http://localhost") || base.starts_with("http://[::1]"),
                "{base}"
            );
        }
    }

    #[test]
    fn mappings_never_panic_and_render_only_what_they_were_given(template in json(), body in json()) {
        let secret = serde_json::json!({"webhooks": {"generic": {"mapping": template.clone()}}});
        let _ = webhooks::Webhooks::from_secret(&secret);
        if let Ok(mapping) = Mapping::parse(&template, "mapping") {
            let text = body.to_string();
            if let Ok(forms::Decoded::Submissions(submissions)) = forms::decode(Source::Generic, text.as_bytes(), None) {
                let query = vec![("inbox_id".to_string(), "1".to_string())];
                let _ = mapping.render(&Context { submission: &submissions[0], query: &query, signed: false });
            }
        }
    }

    #[test]
    fn answers_are_sent_as_written_never_run(answer in "\\PC{1,64}|.*\\{\\{.{0,20}\\}\\}.*|\\{%.{0,20}%\\}") {
        // Whatever a visitor types, `{{ 7*7 }}` and `{% for %}` included, is data: printed
        // as written, whole, by a plain placeholder and by one with filters.
        let mut submission = forms::Submission::default();
        submission.field("msg", "Mensagem", "", forms::Answer::text(answer.clone()));
        let context = Context { submission: &submission, query: &[], signed: false };
        let mapping = Mapping::parse(
            &serde_json::json!({"a": "{{msg}}", "b": "{{ msg | trim | upper }}", "c": "{{ msg | default('x') | truncate(1000) }}"}),
            "m",
        ).unwrap();
        match mapping.render(&context) {
            Ok(out) => {
                if answer.trim().is_empty() {
                    prop_assert!(out.get("a").is_none());
                } else {
                    prop_assert_eq!(out["a"].as_str(), Some(answer.as_str()));
                    prop_assert_eq!(out["b"].as_str().map(str::to_string), Some(answer.trim().to_uppercase()));
                    prop_assert_eq!(out["c"].as_str(), Some(answer.as_str()));
                }
            }
            Err(problems) => prop_assert!(answer.trim().is_empty(), "{problems:?}"),
        }
    }

    #[test]
    fn expressions_never_panic_however_written(text in "\\PC{0,40}|\\{\\{[a-z_|~() '\"\\[\\].?0-9*-]{0,30}\\}\\}", answer in "\\PC{0,40}") {
        let mut submission = forms::Submission::default();
        submission.field("x", "X", "", forms::Answer::text(answer));
        let context = Context { submission: &submission, query: &[], signed: false };
        if let Ok(mapping) = Mapping::parse(&serde_json::json!({"v": text}), "m") {
            let _ = mapping.render(&context);
        }
    }

    #[test]
    fn phone_parsing_never_panics(raw in "[+0-9()\\- ]{0,24}|.{0,24}") {
        let _ = ponte::phone::Phone::parse(&raw, ponte::phone::PhoneRegion::default());
    }

    /// Queue messages and operator commands from anywhere: intake records, replay commands and
    /// the local path's route are read without a panic; a record of any content is checked
    /// without a panic and runs only under its own seal.
    #[test]
    fn kept_records_and_replay_commands_never_panic(value in json(), path in ".{0,40}") {
        let wrapped = serde_json::json!({"ponte_intake": value.clone()});
        if let Some(Ok(record)) = ponte::intake::IntakeRecord::from_message(&wrapped) {
            let key = ponte::intake::RecordKey(vec![9; 32]);
            // Whatever it says, a record nobody sealed under this key does not pass.
            prop_assert!(record.check_seal("cloudchat-create-conversation", &key).is_err());
            let sealed = record.sealed("cloudchat-create-conversation", &key);
            prop_assert!(sealed.check_seal("cloudchat-create-conversation", &key).is_ok());
            prop_assert!(sealed.check_seal("wegly-create-chat", &key).is_err());
        }
        let _ = ponte::replay::command_of(&serde_json::json!({"ponte_replay": value}));
        let event = serde_json::json!({"version": "2.0", "rawPath": format!("/lambda-url/f/{path}"),
            "requestContext": {"http": {"method": "POST", "path": "/"}}});
        let _ = trigger::classify(event);
    }

    /// What a replay dry run shows of a body of any content: never a run of eight digits or
    /// more written as a phone is, and never a whole e-mail address.
    #[test]
    fn a_masked_body_shows_no_phone_or_email(body in json(), phone in "[+]?[0-9]{8,14}", user in "[a-z]{2,8}") {
        let email = format!("{user}@example.com");
        let with = serde_json::json!({"body": body, "p": phone.clone(), "e": email.clone()});
        let shown = ponte::replay::masked(with).to_string();
        prop_assert!(!shown.contains(&phone), "{shown}");
        prop_assert!(!shown.contains(&email), "{shown}");
    }
}
