//! wrk runs: one [`Load`] describes what to send (URL, connections, headers, an optional Lua
//! script) and what every answer must be; [`Load::run`] measures it, [`Load::spawn`] runs it
//! in the background (a flood).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use super::client::block_on;

/// wrk threads, for every load: the machine has few cores and wrk shares them.
const THREADS: u32 = 2;

/// What every answer of a load must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// This status, checked once before the run; wrk must then count no error (a 4xx/5xx
    /// load must count only errors).
    Status(u16),
    /// Whatever comes (floods).
    Anything,
}

/// What to send, how hard, and what must come back.
#[derive(Clone)]
pub struct Load {
    pub label: String,
    url: String,
    connections: u32,
    headers: Vec<(String, String)>,
    script: Option<Arc<tempfile::NamedTempFile>>,
    expect: Expect,
    timeout_secs: u32,
}

/// One wrk run's figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub rps: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Answers with a status of 400 or more.
    pub errors: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

impl Load {
    /// `GET url` over 64 connections, expecting 200.
    pub fn get(label: &str, url: String) -> Self {
        Self {
            label: label.to_owned(),
            url,
            connections: 64,
            headers: Vec::new(),
            script: None,
            expect: Expect::Status(200),
            timeout_secs: 2,
        }
    }

    pub fn connections(mut self, n: u32) -> Self {
        self.connections = n.max(THREADS);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn bearer(self, key: &str) -> Self {
        self.header("Authorization", &format!("Bearer {key}"))
    }

    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    /// Seconds before wrk counts a request as timed out (default 2).
    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Drive the requests with a wrk Lua script (see [`random_clients`]).
    pub fn script(mut self, lua: &str) -> Self {
        let mut file = tempfile::Builder::new()
            .suffix(".lua")
            .tempfile()
            .expect("script file");
        std::io::Write::write_all(&mut file, lua.as_bytes()).expect("write the script");
        self.script = Some(Arc::new(file));
        self
    }

    fn command(&self, secs: u32) -> Command {
        let mut cmd = Command::new("wrk");
        cmd.arg(format!("-t{THREADS}"))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", secs.max(1)))
            .arg(format!("--timeout={}s", self.timeout_secs))
            .arg("--latency");
        for (name, value) in &self.headers {
            cmd.arg("-H").arg(format!("{name}: {value}"));
        }
        if let Some(script) = &self.script {
            cmd.arg("-s").arg(script.path());
        }
        cmd.arg(&self.url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Measure for `secs` seconds.
    pub fn run(&self, secs: u32) -> Stats {
        let out = self
            .command(secs)
            .output()
            .expect("wrk is needed: apt-get install wrk");
        self.judge(&String::from_utf8_lossy(&out.stdout))
    }

    /// Start a run of `secs` seconds in the background.
    pub fn spawn(&self, secs: u32) -> Running {
        let child = self
            .command(secs)
            .spawn()
            .expect("wrk is needed: apt-get install wrk");
        Running {
            child: Some(child),
            load: self.clone(),
        }
    }

    fn judge(&self, output: &str) -> Stats {
        let stats = parse(output);
        assert!(
            stats.requests > 0,
            "{}: wrk sent nothing:\n{output}",
            self.label
        );
        if let Expect::Status(status) = self.expect {
            let all_errors = status >= 400;
            let wrong = if all_errors {
                stats.requests - stats.errors.min(stats.requests)
            } else {
                stats.errors
            };
            assert!(
                wrong == 0,
                "{}: {wrong} answer(s) were not {status}:\n{output}",
                self.label
            );
        }
        if stats.socket_errors > 0 {
            eprintln!(
                "note: {}: {} socket error(s)/timeout(s)",
                self.label, stats.socket_errors
            );
        }
        stats
    }

    /// Send the load's request once and check its status, so that a run never measures
    /// the wrong answer (a 401 instead of a redirect, say). Scripted loads are not checked.
    pub fn preflight(&self) {
        let Expect::Status(status) = self.expect else {
            return;
        };
        if self.script.is_some() {
            return;
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut req = client.get(&self.url);
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let (got, body) = block_on(async {
            let res = req.send().await.expect("preflight request");
            let got = res.status().as_u16();
            (got, res.text().await.unwrap_or_default())
        });
        assert_eq!(got, status, "{}: preflight answer: {body}", self.label);
    }
}

/// A wrk run in the background; dropping it stops wrk.
pub struct Running {
    child: Option<Child>,
    load: Load,
}

impl Running {
    /// Wait for the run to end and read its figures.
    pub fn finish(mut self) -> Stats {
        let child = self.child.take().expect("running");
        let out = child.wait_with_output().expect("wrk output");
        self.load.judge(&String::from_utf8_lossy(&out.stdout))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A wrk script that sends every request from a random client address in 10.0.0.0/8, named in
/// `X-Forwarded-For` (believed when the server trusts 127.0.0.1 as a proxy); with `json`, the
/// request is a POST of that body.
pub fn random_clients(json: Option<&str>) -> String {
    let mut lua = String::from(
        r#"local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end
function request()
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
    math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format()
end
"#,
    );
    if let Some(body) = json {
        lua.push_str(&format!(
            "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ));
    }
    lua
}

/// Read wrk's summary. Latencies are in milliseconds.
pub fn parse(text: &str) -> Stats {
    let after = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let number = |prefix: &str| after(prefix).and_then(|v| v.parse::<f64>().ok());
    let socket_errors = after("Socket errors:").map_or(0, |v| {
        v.split(',')
            .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
            .sum()
    });
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Stats {
        rps: number("Requests/sec:").unwrap_or(0.0),
        p99_ms: after("99%").map_or(f64::NAN, latency_ms),
        requests,
        errors: number("Non-2xx or 3xx responses:").map_or(0, |n| n as u64),
        socket_errors,
    }
}

/// `512.00us`, `3.37ms`, `1.02s`, `2.00m` → milliseconds.
fn latency_ms(v: &str) -> f64 {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => f64::NAN,
    };
    n * scale
}

/// wrk must be installed.
pub fn check_installed() -> Result<(), String> {
    match Command::new("wrk").arg("-v").output() {
        Ok(_) => Ok(()),
        Err(_) => Err("wrk not found: apt-get install wrk".into()),
    }
}
