//! The log subscriber: Lambda's level and format controls, as the runtime's default subscriber
//! reads them, with one difference. Libraries that log whole requests at debug or trace level
//! (the runtime logs every raw event at trace, with tokens, phones and e-mails in it; the HTTP
//! and AWS clients log bodies and headers) are held at `info` whatever level is asked for, so no
//! level ever puts personal data or credentials in the log. Ponte's own lines mask what they
//! carry.

use lambda_runtime::tracing::subscriber::EnvFilter;
use lambda_runtime::tracing::subscriber::filter::{Directive, LevelFilter};
use std::str::FromStr;

/// Crates whose debug and trace lines carry raw payloads, headers or bodies.
const QUIET_BELOW_INFO: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_config",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_secretsmanager",
    "aws_sdk_sqs",
    "aws_sdk_dynamodb",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (a plain level), else `info`.
fn requested_level(lookup: impl Fn(&str) -> Option<String>) -> LevelFilter {
    lookup("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| lookup("RUST_LOG"))
        .and_then(|level| LevelFilter::from_str(level.trim()).ok())
        .unwrap_or(LevelFilter::INFO)
}

/// The filter for `level`: that level for everything but [`QUIET_BELOW_INFO`], which never log
/// below `info`. Directives from the environment are not read, so none can open them up again.
pub fn filter(level: LevelFilter) -> EnvFilter {
    let quiet = level.min(LevelFilter::INFO);
    let mut filter = EnvFilter::default().add_directive(level.into());
    for target in QUIET_BELOW_INFO {
        if let Ok(directive) = Directive::from_str(&format!("{target}={quiet}")) {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the subscriber: JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON` (as the template
/// sets it), text otherwise; to stdout, which Lambda sends to CloudWatch Logs.
pub fn init() {
    let lookup = |name: &str| std::env::var(name).ok();
    let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(requested_level(lookup)));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_comes_from_lambda_first() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            requested_level(env(&[
                ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
                ("RUST_LOG", "warn")
            ])),
            LevelFilter::TRACE
        );
        assert_eq!(
            requested_level(env(&[("RUST_LOG", "debug")])),
            LevelFilter::DEBUG
        );
        assert_eq!(
            requested_level(env(&[("RUST_LOG", "lambda_runtime=trace")])),
            LevelFilter::INFO
        );
        assert_eq!(requested_level(env(&[])), LevelFilter::INFO);
    }

    #[test]
    fn payload_logging_crates_stay_at_info_at_any_level() {
        let text = filter(LevelFilter::TRACE).to_string();
        assert!(text.contains("lambda_runtime=info"), "{text}");
        assert!(text.contains("aws_smithy_runtime=info"), "{text}");
        let quiet = filter(LevelFilter::WARN).to_string();
        assert!(quiet.contains("lambda_runtime=warn"), "{quiet}");
    }
}
