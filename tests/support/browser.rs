//! Browser test support: headless Chromium driven through chromedriver (WebDriver) with
//! fantoccini, signed in through the real sign-in form.
//!
//! ```ignore
//! let app = spawn_app().await;
//! let Some(b) = Browser::start(&app).await else { return }; // SKIPPED (only when CI is unset)
//! b.sign_in().await;
//! b.goto("/ui/links").await;
//! b.click("#new-link").await;
//! ```
//!
//! Chromium and chromedriver come from Debian's `chromium` and `chromium-driver` packages;
//! `CHROME_BIN` and `CHROMEDRIVER` override the paths. A test may skip itself only when the
//! environment variable `CI` is unset and chromedriver is missing; it then prints a loud
//! SKIPPED line. Under `CI` a missing browser is a failure.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::{eventually, TestApp, ADMIN_PASSWORD};

/// How long any wait for the page lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(WAIT_SECS);
pub const WAIT_SECS: u64 = 15;

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `POST /session/{id}/permissions` (W3C Permissions, supported by chromedriver).
#[derive(Debug)]
struct SetPermission {
    name: &'static str,
}

impl WebDriverCompatibleCommand for SetPermission {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/permissions",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"descriptor": {"name": self.name}, "state": "granted"});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// `POST /session/{id}/goog/cdp/execute`: a Chrome DevTools Protocol command (chromedriver).
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    /// Start chromedriver and a headless Chromium for `app`, or `None` (after printing a loud
    /// SKIPPED line) when chromedriver is missing and `CI` is unset.
    pub async fn start(app: &TestApp) -> Option<Browser> {
        let driver_bin = find_binary(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let Some(driver_bin) = driver_bin.filter(|p| p.exists()) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromedriver not found (install Debian's chromium-driver); CI is set, so this is a failure"
            );
            eprintln!("\n**************** SKIPPED: browser test — chromedriver not found (install chromium-driver) ****************\n");
            return None;
        };
        let chrome_bin = find_binary(
            "CHROME_BIN",
            &["/usr/bin/chromium", "/usr/lib/chromium/chromium"],
        )
        .expect("chromium not found (install Debian's chromium)");

        let port = free_port();
        // Its own process group, so that a failing test can stop chromedriver and the
        // Chromium it started together (see `Drop`).
        let driver = Command::new(&driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let wd = format!("http://127.0.0.1:{port}");

        let profile = tempfile::tempdir().expect("profile dir");
        let origin = app.base.clone();
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chrome_bin,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--no-default-browser-check", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "profile.content_settings.exceptions.clipboard": {
                        format!("{origin},*"): {"setting": 1}
                    }
                }
            }),
        );

        let client = eventually(30, || {
            let caps = caps.clone();
            let wd = wd.clone();
            async move {
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&wd)
                    .await
                    .map_err(|e| format!("could not start a WebDriver session: {e}"))
            }
        })
        .await;
        // axe-core over the manual with every group open takes seconds on an idle machine and
        // can pass WebDriver's default 30 s script limit on a loaded one: allow two minutes.
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(120)),
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(0)),
            ))
            .await
            .expect("set WebDriver timeouts");
        let b = Browser {
            client,
            base: app.base.clone(),
            driver,
            _profile: profile,
        };
        // Permissions apply to the current document's origin: open it first.
        b.goto("/healthz").await;
        for name in ["clipboard-read", "clipboard-write"] {
            b.client
                .issue_cmd(SetPermission { name })
                .await
                .expect("grant clipboard permission");
        }
        Some(b)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn goto(&self, path: &str) {
        self.client.goto(&self.url(path)).await.expect("navigate");
    }

    /// Sign in as the admin through the real sign-in form.
    pub async fn sign_in(&self) {
        self.sign_in_as("admin", ADMIN_PASSWORD).await;
    }

    pub async fn sign_in_as(&self, username: &str, password: &str) {
        self.goto("/ui/login").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click("form button[type=submit]").await;
        self.wait_for_path(|p| p.starts_with("/ui/") && !p.starts_with("/ui/login"))
            .await;
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    pub async fn wait_for_path(&self, ok: impl Fn(&str) -> bool) {
        eventually(WAIT_SECS, || async {
            let p = self.path().await;
            if ok(&p) {
                Ok(())
            } else {
                Err(format!("page stayed at {p}"))
            }
        })
        .await;
    }

    /// The first element matching `css`, waiting for it to exist.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Wait until `css` matches a displayed element, and return it.
    pub async fn visible(&self, css: &str) -> Element {
        eventually(WAIT_SECS, || async {
            for el in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                if el.is_displayed().await.unwrap_or(false) {
                    return Ok(el);
                }
            }
            Err(format!("{css} never became visible"))
        })
        .await
    }

    /// Wait until nothing displayed matches `css`.
    pub async fn hidden(&self, css: &str) {
        eventually(WAIT_SECS, || async {
            for el in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                if el.is_displayed().await.unwrap_or(false) {
                    return Err(format!("{css} stayed visible"));
                }
            }
            Ok(())
        })
        .await;
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    pub async fn click(&self, css: &str) {
        self.visible(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Click at a point of the viewport, as a mouse would (e.g. on a modal's backdrop).
    pub async fn click_at(&self, x: f64, y: f64) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo {
                duration: None,
                x,
                y,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client
            .perform_actions(mouse)
            .await
            .unwrap_or_else(|e| panic!("click at {x},{y}: {e}"));
    }

    /// Click the displayed button (or link) whose text is exactly `label`, inside `scope`.
    pub async fn click_button(&self, scope: &str, label: &str) {
        let button = eventually(WAIT_SECS, || async {
            for el in self
                .client
                .find_all(Locator::Css(&format!("{scope} button, {scope} a")))
                .await
                .expect("find")
            {
                if el.is_displayed().await.unwrap_or(false)
                    && el.text().await.unwrap_or_default().trim() == label
                {
                    return Ok(el);
                }
            }
            Err(format!("no visible button {label:?} in {scope}"))
        })
        .await;
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {label:?}: {e}"));
    }

    /// Clear a field and type `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.visible(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn checked(&self, css: &str) -> bool {
        self.find(css)
            .await
            .prop("checked")
            .await
            .expect("checked")
            .as_deref()
            == Some("true")
    }

    /// Wait until the text of `css` contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        eventually(WAIT_SECS, || async {
            let mut last = String::new();
            for el in self.client.find_all(Locator::Css(css)).await.expect("find") {
                last = el.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            Err(format!("{css} never contained {needle:?} (last: {last:?})"))
        })
        .await
    }

    /// The checks every page passes at every size and scheme: the theme follows the system,
    /// no sideways scrolling, no inline script or style (the CSP would block it), every form
    /// control labelled.
    pub async fn assert_page_hygiene(&self, what: &str, width: u32, scheme: &str) {
        let bg = self
            .eval(
                "return getComputedStyle(document.body).backgroundColor;",
                vec![],
            )
            .await;
        assert_eq!(
            bg == serde_json::json!("rgb(17, 20, 24)"),
            scheme == "dark",
            "{what} background {bg} in {scheme}"
        );
        let overflow = self
            .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![])
            .await;
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "{what} scrolls sideways at {width}px by {overflow}"
        );
        let inline = self
            .eval(
                "return document.querySelectorAll('script:not([src]), [style], style').length;",
                vec![],
            )
            .await;
        assert_eq!(
            inline,
            serde_json::json!(0),
            "{what} has inline script or style"
        );
        let unlabelled = self
            .eval(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                   .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map(c => c.id || c.name);",
                vec![],
            )
            .await;
        assert_eq!(
            unlabelled,
            serde_json::json!([]),
            "{what} has unlabelled controls"
        );
    }

    /// Run axe-core (vendored in `tests/fixtures/axe-core`) on the page as it is now and fail
    /// on any violation of impact "serious" or "critical" (and on headings that skip a level,
    /// which axe rates moderate), listing each with its elements.
    /// WebDriver's script execution is not subject to the page's CSP, so nothing in linkdock
    /// has to allow it.
    pub async fn assert_accessible(&self, what: &str) {
        self.assert_axe(what, true).await;
    }

    /// For Swagger UI, whose markup is not ours: serious and critical violations only (its
    /// heading levels skip one, which no setting or stylesheet can change).
    pub async fn assert_no_serious_violations(&self, what: &str) {
        self.assert_axe(what, false).await;
    }

    async fn assert_axe(&self, what: &str, heading_order: bool) {
        static AXE: &str = include_str!("../fixtures/axe-core/axe.min.js");
        let loaded = self.eval("return typeof axe === 'object';", vec![]).await;
        if loaded != json!(true) {
            self.client
                .execute(AXE, vec![])
                .await
                .unwrap_or_else(|e| panic!("inject axe-core into {what}: {e}"));
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const headingOrder = arguments[0];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical' || (headingOrder && v.id === 'heading-order'))
                     .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                  nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary.replace(/\\s+/g, ' ')) }))),
                         e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![json!(heading_order)],
            )
            .await
            .unwrap_or_else(|e| panic!("run axe-core on {what}: {e}"));
        let list = found.as_array().cloned().unwrap_or_default();
        if !list.is_empty() {
            let text: Vec<String> = list
                .iter()
                .map(|v| {
                    let nodes: Vec<String> = v["nodes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .take(5)
                        .map(|n| format!("      {}", n.as_str().unwrap_or_default()))
                        .collect();
                    format!(
                        "  [{}] {}: {}\n{}",
                        v["impact"].as_str().unwrap_or_default(),
                        v["id"].as_str().unwrap_or_default(),
                        v["help"].as_str().unwrap_or_default(),
                        nodes.join("\n")
                    )
                })
                .collect();
            panic!(
                "axe-core: {} serious or critical accessibility violation(s) on {what}:\n{}",
                list.len(),
                text.join("\n")
            );
        }
    }

    /// Run a script in the page; `arguments[i]` are `args`.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The text on the system clipboard, as the page reads it.
    pub async fn clipboard(&self) -> String {
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 navigator.clipboard.readText().then(done, e => done('ERROR: ' + e));",
                vec![],
            )
            .await
            .expect("read clipboard");
        let s = v.as_str().unwrap_or_default().to_owned();
        assert!(!s.starts_with("ERROR: "), "clipboard unreadable: {s}");
        s
    }

    /// Wait for a `confirm()`/`alert()` prompt; return its text.
    pub async fn prompt_text(&self) -> String {
        eventually(WAIT_SECS, || async {
            self.client
                .get_alert_text()
                .await
                .map_err(|e| format!("no prompt appeared: {e}"))
        })
        .await
    }

    /// Press "OK" on the open prompt.
    pub async fn accept_prompt(&self) {
        self.client.accept_alert().await.expect("accept prompt");
    }

    /// Press "Cancel" on the open prompt.
    pub async fn dismiss_prompt(&self) {
        self.client.dismiss_alert().await.expect("dismiss prompt");
    }

    /// The element that has focus, as `tag#id`.
    pub async fn focused(&self) -> String {
        self.eval(
            "const a = document.activeElement; return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Run a Chrome DevTools Protocol command, e.g. `Emulation.setEmulatedMedia`.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// Emulate the system's light or dark colour scheme.
    pub async fn color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
    }

    /// Save a screenshot as `<name>.png` in `$UI_SCREENSHOTS`, when that is set (for a human look).
    pub async fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("UI_SCREENSHOTS") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
        }
    }

    /// Resize the window (e.g. 390 wide for the phone layout).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
    }

    /// End the WebDriver session and stop chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // `Drop` stops chromedriver.
    }
}

impl Drop for Browser {
    /// Also on a failed assertion: stop chromedriver's process group (chromedriver and the
    /// Chromium it launched), so no browser outlives its test.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--"])
            .arg(format!("-{}", self.driver.id()))
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
