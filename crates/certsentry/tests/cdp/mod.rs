//! A small client of the Chrome DevTools Protocol over its websocket, to
//! drive Debian's headless Chromium through real pages: navigate, fill and
//! submit forms the way a person would (the page's own forms; the page
//! runs no script of ours), read the page, take screenshots.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `Runtime.evaluate`'s parameters for `expression`, its value returned
/// as JSON once any promise it gives settles.
fn evaluation(expression: &str) -> Value {
    json!({"expression": expression, "returnByValue": true, "awaitPromise": true})
}

pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

pub struct Browser {
    child: Child,
    socket: Socket,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium headless with a fresh profile and attaches to its
    /// first page.
    pub async fn launch(binary: &str) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1100,900",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut browser_ws = None;
        for line in stderr.lines() {
            let line = line.unwrap();
            if let Some(at) = line.find("ws://") {
                browser_ws = Some(line[at..].trim().to_string());
                break;
            }
        }
        let browser_ws = browser_ws.expect("chromium prints its DevTools address");
        let http = browser_ws
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let targets: Value = reqwest::get(format!("http://{http}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target");
        let url = page["webSocketDebuggerUrl"].as_str().unwrap();
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut browser = Self {
            child,
            socket,
            next_id: 1,
            _profile: profile,
        };
        browser.call("Page.enable", json!({})).await;
        browser
    }

    /// Sends one command and waits for its answer (events are skipped).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let answer = self.answer(method, params).await;
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Sends one command and returns its whole answer, an error included.
    async fn answer(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket.send(Message::text(message)).await.unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("chromium answers")
                .unwrap()
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["id"] == id {
                return value;
            }
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self.call("Runtime.evaluate", evaluation(expression)).await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` while the page may be navigating: an
    /// evaluation the navigation cut off ("Inspected target navigated or
    /// closed") reads as `null`, for the caller to ask again.
    async fn poll(&mut self, expression: &str) -> Value {
        let answer = self
            .answer("Runtime.evaluate", evaluation(expression))
            .await;
        if let Some(error) = answer.get("error") {
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("navigated") || message.contains("context"),
                "{expression}: {answer}"
            );
            return Value::Null;
        }
        answer["result"]["result"]["value"].clone()
    }

    /// Polls `expression` every 50 ms, for up to ten seconds, until it
    /// evaluates to `expected`; whether it did.
    async fn wait_until(&mut self, expression: &str, expected: Value) -> bool {
        for _ in 0..200 {
            if self.poll(expression).await == expected {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Waits until the page is loaded and its path is `path`.
    pub async fn wait_for_path(&mut self, path: &str) {
        let here = "document.readyState === 'complete' ? location.pathname : ''";
        if !self.wait_until(here, json!(path)).await {
            let body = self.text().await;
            panic!("never reached {path}; the page says: {body}");
        }
    }

    pub async fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        let path = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        let path = path.split('?').next().unwrap().to_string();
        self.wait_for_path(&path).await;
    }

    /// Types `value` into the field `selector`.
    pub async fn fill(&mut self, selector: &str, value: &str) {
        let script = format!(
            "(() => {{ const e = document.querySelector({}); e.value = {}; return !!e; }})()",
            json!(selector),
            json!(value)
        );
        assert_eq!(self.eval(&script).await, json!(true), "no field {selector}");
    }

    /// Clicks `selector` (a form's button) and waits for the page the
    /// submission loads: the old document is marked first, and the wait
    /// ends when a complete document without the mark is there, so a page
    /// answered at the same path is not mistaken for the old one.
    pub async fn submit(&mut self, selector: &str) {
        self.eval("window.__certsentry_old_page = true").await;
        self.click(selector).await;
        self.wait_for_new_page().await;
    }

    /// Waits for a new document after the old one was marked.
    pub async fn wait_for_new_page(&mut self) {
        let loaded = "document.readyState === 'complete' && !window.__certsentry_old_page";
        assert!(
            self.wait_until(loaded, json!(true)).await,
            "no new page loaded"
        );
    }

    /// Clicks the element `selector`.
    pub async fn click(&mut self, selector: &str) {
        let script = format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
            json!(selector)
        );
        assert_eq!(
            self.eval(&script).await,
            json!(true),
            "nothing to click at {selector}"
        );
    }

    pub async fn text(&mut self) -> String {
        self.eval("document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn value_of(&mut self, selector: &str) -> String {
        let script = format!("document.querySelector({}).value", json!(selector));
        self.eval(&script).await.as_str().unwrap().to_string()
    }

    pub async fn text_of(&mut self, selector: &str) -> String {
        let script = format!("document.querySelector({}).textContent", json!(selector));
        self.eval(&script).await.as_str().unwrap().to_string()
    }

    pub async fn exists(&mut self, selector: &str) -> bool {
        let script = format!("!!document.querySelector({})", json!(selector));
        self.eval(&script).await == json!(true)
    }

    /// Renders as a phone would: `width` CSS pixels wide, touch, scale 3.
    pub async fn as_phone(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 3, "mobile": true}),
        )
        .await;
    }

    /// Renders in the dark colour scheme, as a system set to dark would.
    pub async fn prefer_dark(&mut self) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
        )
        .await;
    }

    pub async fn clear_cookies(&mut self) {
        self.call("Network.clearBrowserCookies", json!({})).await;
    }

    /// Saves a PNG of the page.
    pub async fn screenshot(&mut self, file: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(file, png).unwrap();
    }
}
