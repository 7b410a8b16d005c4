//! A small blocking HTTP client over reqwest, for seeding and probing servers through their
//! public API (the timed load itself is wrk's job).

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// Run a future to completion on the harness's one runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
    .block_on(f)
}

/// A status and a body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The JSON body, after checking the status (`what` says what was being done).
    pub fn expect(self, status: u16, what: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{what}: unexpected status; body: {}",
            self.text()
        );
        self.json()
    }
}

/// A streamed download: how much came and how long it took to the last byte.
pub struct Download {
    pub status: u16,
    pub bytes: u64,
    pub lines: u64,
    pub elapsed: Duration,
}

enum Auth {
    None,
    Session { csrf: String },
    Key(String),
}

/// One caller of one server: anonymous, signed in (cookie + CSRF token) or with an API key.
pub struct Api {
    base: String,
    http: reqwest::Client,
    auth: Auth,
}

/// No idle connections are kept: between two calls a suite may load the server for longer
/// than its keep-alive, and a reused connection the server has just closed fails the call.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

impl Api {
    pub fn anonymous(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: http_client(),
            auth: Auth::None,
        }
    }

    /// Sign in; panics unless the server says 200.
    pub fn sign_in(base: &str, username: &str, password: &str) -> Self {
        let anonymous = Self::anonymous(base);
        let body = anonymous
            .post_json(
                "/api/v1/session",
                &json!({"username": username, "password": password}),
            )
            .expect(200, "sign in");
        Self {
            auth: Auth::Session {
                csrf: body["csrf_token"].as_str().unwrap_or_default().to_owned(),
            },
            ..anonymous
        }
    }

    pub fn with_key(base: &str, key: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: http_client(),
            auth: Auth::Key(key.to_owned()),
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let unsafe_method = method != Method::GET && method != Method::HEAD;
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => req,
            Auth::Session { csrf } if unsafe_method => req.header("X-CSRF-Token", csrf),
            Auth::Session { .. } => req,
            Auth::Key(key) => req.bearer_auth(key),
        }
    }

    fn send(req: RequestBuilder) -> Reply {
        block_on(async {
            let res = req.send().await.expect("request sent");
            let status = res.status().as_u16();
            let body = res.bytes().await.expect("response body").to_vec();
            Reply { status, body }
        })
    }

    pub fn get(&self, path: &str) -> Reply {
        Self::send(self.request(Method::GET, path))
    }

    /// GET with a time limit (for polling a server that may not answer yet).
    pub fn try_get(&self, path: &str, timeout: Duration) -> Option<Reply> {
        let req = self.request(Method::GET, path).timeout(timeout);
        block_on(async {
            let res = req.send().await.ok()?;
            let status = res.status().as_u16();
            let body = res.bytes().await.ok()?.to_vec();
            Some(Reply { status, body })
        })
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        Self::send(self.request(Method::POST, path).json(body))
    }

    /// `POST /api/v1/links/import` with `csv` as the multipart field `file`.
    pub fn import(&self, csv: Vec<u8>, default_domain: Option<&str>) -> Reply {
        let path = match default_domain {
            Some(d) => format!("/api/v1/links/import?domain={d}"),
            None => "/api/v1/links/import".to_owned(),
        };
        let part = reqwest::multipart::Part::bytes(csv)
            .file_name("links.csv")
            .mime_str("text/csv")
            .expect("mime type");
        let form = reqwest::multipart::Form::new().part("file", part);
        Self::send(self.request(Method::POST, &path).multipart(form))
    }

    /// GET `path` and read the body as it streams, counting bytes and lines.
    pub fn download(&self, path: &str) -> Download {
        let req = self.request(Method::GET, path);
        block_on(async {
            let started = Instant::now();
            let mut res = req.send().await.expect("request sent");
            let status = res.status().as_u16();
            let (mut bytes, mut lines) = (0u64, 0u64);
            while let Some(chunk) = res.chunk().await.expect("body chunk") {
                bytes += chunk.len() as u64;
                lines += memchr::memchr_iter(b'\n', &chunk).count() as u64;
            }
            Download {
                status,
                bytes,
                lines,
                elapsed: started.elapsed(),
            }
        })
    }
}
