//! A function binary started as Lambda starts it: only the runtime's environment, a runtime API
//! to poll, and the settings it is given (its `SECRET_ID`, the AWS endpoint).

use crate::runtime_api::{InvocationResult, RuntimeApi};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// Where the function's own output goes.
pub enum Output {
    /// Kept in memory, returned by [`LocalFunction::stop`] (tests read it).
    Capture,
    /// Appended to a file (the local runner keeps the screen for its own report).
    File(std::fs::File),
}

pub struct LocalFunction {
    api: RuntimeApi,
    child: Child,
    /// The captured output, read as it comes: a pipe left unread would block a function that
    /// prints more than the pipe holds (64 KB), as a verbose log level does.
    captured: Option<tokio::task::JoinHandle<String>>,
}

impl LocalFunction {
    /// Starts `binary` as function `name`. `env` adds settings (SECRET_ID, AWS_ENDPOINT_URL…)
    /// to the runtime's own variables; nothing else from this process leaks in.
    pub async fn start(
        binary: &Path,
        name: &str,
        env: &[(&str, String)],
        output: Output,
    ) -> Result<Self, String> {
        Self::start_program(binary, &[], None, name, env, output).await
    }

    /// Starts any runtime client (`python -m awslambdaric app.handler`, say) the same way.
    pub async fn start_program(
        program: &Path,
        args: &[&str],
        dir: Option<&Path>,
        name: &str,
        env: &[(&str, String)],
        output: Output,
    ) -> Result<Self, String> {
        let api = RuntimeApi::start()
            .await
            .map_err(|e| format!("runtime API: {e}"))?;
        let mut command = Command::new(program);
        command.args(args);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        match output {
            Output::Capture => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Output::File(file) => {
                let copy = file.try_clone().map_err(|e| e.to_string())?;
                command.stdout(file).stderr(copy);
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let captured = match (child.stdout.take(), child.stderr.take()) {
            (Some(mut stdout), Some(mut stderr)) => Some(tokio::spawn(async move {
                let (mut out, mut err) = (String::new(), String::new());
                let _ = tokio::join!(
                    stdout.read_to_string(&mut out),
                    stderr.read_to_string(&mut err)
                );
                out + &err
            })),
            _ => None,
        };
        Ok(Self {
            api,
            child,
            captured,
        })
    }

    /// One invocation, as Lambda would make it, with `budget` as its time limit.
    pub async fn invoke(&self, event: Value, budget: Duration) -> Result<InvocationResult, String> {
        self.api.invoke(event, budget).await
    }

    /// The runtime API the function polls.
    pub fn runtime_api(&self) -> &RuntimeApi {
        &self.api
    }

    /// The process id, for measuring it.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the function; returns what it printed when its output was captured.
    pub async fn stop(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        match self.captured.take() {
            Some(captured) => captured.await.unwrap_or_default(),
            None => String::new(),
        }
    }
}
