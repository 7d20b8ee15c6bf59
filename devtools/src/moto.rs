//! A moto server (a local AWS: Secrets Manager, SQS, DynamoDB…) on a loopback port.
//!
//! moto is a Python package (`pip install 'moto[server]'`). The server runs from
//! `moto_server.py` beside this crate and stops when its standard input closes, which happens
//! when the process holding [`Moto`] exits, however it exits.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl Moto {
    /// Starts a server with `python` (the `PONTE_PYTHON` variable, else `python3`).
    pub fn start() -> Result<Self, String> {
        let python = std::env::var("PONTE_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_server.py");
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {python}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("moto did not start: {e}"))?;
        if line.trim() != "ready" {
            let _ = child.kill();
            return Err(format!(
                "moto did not start (is it installed? pip install 'moto[server]'): {line:?}"
            ));
        }
        Ok(Self {
            child,
            _stdin: stdin,
            port,
        })
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
