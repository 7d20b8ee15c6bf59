//! Local stand-ins that let Ponte's functions run, be tested and be measured on one machine,
//! with no AWS account and no provider account.

pub mod examples;
pub mod function;
pub mod moto;
pub mod readme;
pub mod runtime_api;
pub mod sandbox;
pub mod sqs;
pub mod studio;
pub mod webdriver;

/// True when the tool was asked for its help (`-h` or `--help` anywhere in its arguments): it
/// then prints its usage and exits 0, before doing anything else.
pub fn help_requested() -> bool {
    std::env::args()
        .skip(1)
        .any(|arg| arg == "-h" || arg == "--help")
}

/// The exit status of a checking tool: 0 when everything it checked passed, 1 when something
/// failed, 2 (with the reason on stderr) when it could not run at all.
pub fn exit_code(tool: &str, outcome: Result<bool, String>) -> std::process::ExitCode {
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(message) => {
            eprintln!("{tool}: {message}");
            std::process::ExitCode::from(2)
        }
    }
}
