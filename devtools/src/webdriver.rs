//! Headless Chromium driven over WebDriver, for tests of pages served on loopback: Debian's
//! `chromium` and `chromium-driver` packages (no browser is downloaded), spoken to with plain
//! HTTP from reqwest.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser session.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Child,
    _profile: TempProfile,
}

/// A fresh user-data directory, removed when the browser goes.
struct TempProfile(std::path::PathBuf);

impl Drop for TempProfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Result<Self, String> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(program).exists() {
                return Err(format!(
                    "{program} is missing: install Debian's chromium and chromium-driver packages (apt-get install chromium chromium-driver); .ci/run does"
                ));
            }
        }
        let port = crate::moto::free_port().map_err(|e| e.to_string())?;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {CHROMEDRIVER}: {e}"))?;
        let base = format!("http://127.0.0.1:{port}");
        ponte::tls::install_crypto();
        let http = reqwest::Client::new();
        let ready = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            if Instant::now() > ready {
                return Err("chromedriver did not start within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("ponte-chromium-{}", fastrand::u64(..)));
        // The flags of a quiet headless run on a machine without a network: no background
        // connections, no sandbox (CI runs as root), a profile of its own.
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let session: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
            }}}))
            .send()
            .await
            .map_err(|e| format!("new session: {e}"))?
            .json()
            .await
            .map_err(|e| format!("new session: {e}"))?;
        let id = session["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {session}"))?
            .to_string();
        Ok(Self {
            http,
            session: format!("{base}/session/{id}"),
            _driver: driver,
            _profile: TempProfile(profile),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, String> {
        let request = self.http.request(method, format!("{}{path}", self.session));
        let request = if body.is_null() {
            request
        } else {
            request.json(&body)
        };
        let answer: Value = request
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        match answer["value"].get("error") {
            Some(error) => Err(format!(
                "{path}: {error}: {}",
                answer["value"]["message"].as_str().unwrap_or_default()
            )),
            None => Ok(answer["value"].clone()),
        }
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await
            .map(|_| ())
    }

    /// The element `css` finds, waiting up to ten seconds for it to appear.
    pub async fn find(&self, css: &str) -> Result<String, String> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .call(
                    reqwest::Method::POST,
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            match found {
                Ok(element) => {
                    return element[ELEMENT]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{css}: {element}"));
                }
                Err(_) if Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub async fn click(&self, css: &str) -> Result<(), String> {
        let element = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await
        .map(|_| ())
    }

    /// Empties a field and types `text` into it, key by key, as a person would.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let element = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            json!({}),
        )
        .await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await
        .map(|_| ())
    }

    /// The element's visible text.
    pub async fn text(&self, css: &str) -> Result<String, String> {
        let element = self.find(css).await?;
        let text = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                Value::Null,
            )
            .await?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// Waits until the text of `css` contains `wanted`; the text then.
    pub async fn wait_for_text(&self, css: &str, wanted: &str) -> Result<String, String> {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text(css).await.unwrap_or_default();
            if text.contains(wanted) {
                return Ok(text);
            }
            if Instant::now() > until {
                return Err(format!(
                    "{css} did not come to say {wanted:?}; it says:\n{text}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Result<Vec<u8>, String> {
        use base64::Engine;
        let png = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .map_err(|e| format!("screenshot: {e}"))
    }

    pub async fn quit(self) {
        let _ = self.call(reqwest::Method::DELETE, "", Value::Null).await;
    }
}
