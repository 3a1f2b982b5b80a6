//! The server as an operator sees it: a SIGTERM finishes in-flight completions before
//! the process exits (and the completion is there after a restart), the logs never
//! hold the person's name, ID number or an AccessKey secret, and `/healthz` and
//! `/metrics` answer. The server binary runs as a child process on 127.0.0.1 with a
//! temporary SQLite database and the real face pipeline (the pinned models from
//! `scripts/fetch-models.sh`; a missing model fails the test, naming the script).
#![allow(
    clippy::disallowed_methods,
    reason = "an integration test is edge code: it spawns the server, reads files and clocks, opens sockets"
)]
#![allow(
    clippy::indexing_slicing,
    reason = "serde_json's `Value[key]` gives Null for an absent key; it never panics"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use shiren_auth::{AccessKeySecret, signed_rpc_query};

/// The demo identity authority's person.
const PERSON: (&str, &str) = ("Barack Obama", "110101199003074477");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The server child; killed on drop.
struct Server {
    child: Child,
    demo: serde_json::Value,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path) -> anyhow::Result<Server> {
        let models = root().join(".cache/face/models");
        ensure!(models.is_dir(), "{}: run `bash scripts/fetch-models.sh` first", models.display());
        let log = dir.join("server.log");
        let demo_file = dir.join("demo.json");
        let _ = std::fs::remove_file(&demo_file);
        let mut child = Command::new(env!("CARGO_BIN_EXE_shiren-server"))
            .args(["--listen", "127.0.0.1:0", "--scorer", "face", "--log", "debug"])
            .arg("--database")
            .arg(format!("sqlite://{}", dir.join("shiren.db").display()))
            .arg("--demo-file")
            .arg(&demo_file)
            .arg("--models")
            .arg(&models)
            .arg("--authority-photo")
            .arg(root().join(".cache/face/photos/obama.jpg"))
            .stdout(Stdio::piped())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log)?)
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        ensure!(line.contains("listening on"), "the server did not start: {line:?}");
        let demo: serde_json::Value = serde_json::from_slice(&std::fs::read(&demo_file)?)?;
        Ok(Server { child, demo, log })
    }

    fn endpoint(&self) -> anyhow::Result<String> {
        Ok(self.demo["endpoint"].as_str().context("endpoint")?.to_owned())
    }

    /// One HTTP/1.1 request (connection closed after); (status, body).
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<(u16, String)> {
        let endpoint = self.endpoint()?;
        let mut stream = TcpStream::connect(&endpoint)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {endpoint}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response.split(' ').nth(1).context("status")?.parse()?;
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Ok((status, body))
    }

    /// A signed RPC call answered 200; the JSON answer.
    fn call(&self, action: &str, params: &[(&str, &str)]) -> anyhow::Result<serde_json::Value> {
        let (status, text) = self.signed(action, params)?;
        ensure!(status == 200, "{action}: HTTP {status}: {text}");
        Ok(serde_json::from_str(&text)?)
    }

    /// A signed RPC call; the HTTP status and body.
    fn signed(&self, action: &str, params: &[(&str, &str)]) -> anyhow::Result<(u16, String)> {
        let secret =
            AccessKeySecret::new(self.demo["access_key_secret"].as_str().context("secret")?.to_owned());
        let nonce = format!("{:032x}", rand::random::<u128>());
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let key = self.demo["access_key_id"].as_str().context("key")?;
        let mut all = vec![
            ("Action", action),
            ("Version", "2019-03-07"),
            ("Format", "JSON"),
            ("AccessKeyId", key),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", &nonce),
            ("Timestamp", &timestamp),
        ];
        all.extend_from_slice(params);
        let body = signed_rpc_query("POST", &all, &secret);
        self.send("POST", "/", &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes())
    }

    /// Starts an ID_PRO session; (certify ID, device token).
    fn init(&self) -> anyhow::Result<(String, String)> {
        let scene = self.demo["scenes"]["ID_PRO"].as_u64().context("scene")?.to_string();
        let order = format!("{:032x}", rand::random::<u128>());
        let r = self.call(
            "InitFaceVerify",
            &[
                ("SceneId", &scene),
                ("OuterOrderNo", &order),
                ("ProductCode", "ID_PRO"),
                ("Model", "LIVENESS"),
                ("CertType", "IDENTITY_CARD"),
                ("CertName", PERSON.0),
                ("CertNo", PERSON.1),
                ("MetaInfo", "{}"),
            ],
        )?;
        ensure!(r["Code"] == "200", "InitFaceVerify: {r}");
        let id = r["ResultObject"]["CertifyId"].as_str().context("CertifyId")?.to_owned();
        let url = r["ResultObject"]["CertifyUrl"].as_str().context("CertifyUrl")?;
        let token = url.rsplit("token=").next().context("token")?.to_owned();
        Ok((id, token))
    }

    fn describe(&self, id: &str) -> anyhow::Result<serde_json::Value> {
        let scene = self.demo["scenes"]["ID_PRO"].as_u64().context("scene")?.to_string();
        self.call("DescribeFaceVerify", &[("SceneId", &scene), ("CertifyId", id)])
    }
}

fn photo() -> anyhow::Result<Vec<u8>> {
    let path = root().join(".cache/face/photos/obama2.jpg");
    std::fs::read(&path)
        .with_context(|| format!("{}: run `bash scripts/fetch-models.sh` first", path.display()))
}

fn scratch(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("shiren-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn sigterm_finishes_in_flight_completions_and_logs_hold_nothing_personal() -> anyhow::Result<()> {
    let dir = scratch("shutdown")?;
    let server = Server::start(&dir)?;
    let (status, body) = server.send("GET", "/healthz", &[], b"")?;
    ensure!(status == 200 && body.trim() == "ok", "healthz: {status} {body}");

    let (id, token) = server.init()?;
    let selfie = photo()?;
    // The device's photo is in flight (the real face pipeline takes tens of
    // milliseconds at least) when the server is told to stop.
    let endpoint = server.endpoint()?;
    let submit = {
        let (id, token, selfie) = (id.clone(), token.clone(), selfie.clone());
        std::thread::spawn(move || -> anyhow::Result<(u16, String)> {
            let mut stream = TcpStream::connect(&endpoint)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            let head = format!(
                "POST /device/v1/sessions/{id}/photo HTTP/1.1\r\nHost: {endpoint}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                selfie.len()
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(&selfie)?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            let status = response.split(' ').nth(1).context("status")?.parse()?;
            Ok((status, response))
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let pid = server.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status()?;
    ensure!(term.success(), "kill -TERM failed");
    let (status, response) =
        submit.join().map_err(|_| anyhow::anyhow!("the submitting thread panicked"))??;
    ensure!(status == 200 && response.contains("\"Code\":\"200\""), "in-flight completion: {response}");
    let mut server = server;
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait()? {
            break exit;
        }
        if Instant::now() > deadline {
            bail!("the server did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ensure!(exit.success(), "the server exited with {exit}");
    drop(server);

    // After a restart on the same database, the completion is there.
    let server = Server::start(&dir)?;
    let described = server.describe(&id)?;
    ensure!(described["Code"] == "200", "describe after restart: {described}");
    ensure!(described["ResultObject"]["Passed"] == "T", "the genuine selfie passes: {described}");

    let (status, metrics) = server.send("GET", "/metrics", &[], b"")?;
    ensure!(status == 200, "metrics: {status}");
    for name in [
        "shiren_requests_total",
        "shiren_request_seconds",
        "# TYPE shiren_completions counter",
        "shiren_store_batches{path=\"whole\"}",
    ] {
        ensure!(metrics.contains(name), "metrics lack {name}");
    }

    // Nothing personal or secret in the logs, at debug level, across both runs.
    let log = std::fs::read_to_string(&server.log)?;
    ensure!(log.contains("answered"), "the log holds the requests: {log}");
    let secret = server.demo["access_key_secret"].as_str().context("secret")?;
    for (what, marker) in
        [("ID number", PERSON.1), ("name", PERSON.0), ("AccessKey secret", secret), ("device token", &token)]
    {
        ensure!(!log.contains(marker), "the server's log holds the {what}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The device's endpoint takes one photo per session: a wrong token is 401, the photo
/// completes the session, and a second photo is refused (409), never scored again.
#[test]
fn a_device_submits_one_photo_per_session() -> anyhow::Result<()> {
    let dir = scratch("device")?;
    let server = Server::start(&dir)?;
    let (id, token) = server.init()?;
    let path = format!("/device/v1/sessions/{id}/photo");
    let selfie = photo()?;
    let (status, body) = server.send("POST", &path, &[("Authorization", "Bearer not-the-token")], &selfie)?;
    ensure!(status == 401 && body.contains("\"Unauthorized\""), "a wrong token: {status} {body}");
    let bearer = format!("Bearer {token}");
    let (status, body) = server.send("POST", &path, &[("Authorization", &bearer)], &selfie)?;
    ensure!(status == 200 && body.contains("\"Code\":\"200\""), "the photo: {status} {body}");
    let (status, body) = server.send("POST", &path, &[("Authorization", &bearer)], &selfie)?;
    ensure!(status == 409 && body.contains("\"SessionCompleted\""), "a second photo: {status} {body}");
    let described = server.describe(&id)?;
    ensure!(described["ResultObject"]["Passed"] == "T", "completed once, passed: {described}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A caller's made-up action is refused (404, the cloud's code) and counted under one
/// `unknown` label: signed callers cannot grow the metrics without bound.
#[test]
fn made_up_actions_share_one_metrics_label() -> anyhow::Result<()> {
    let dir = scratch("actions")?;
    let server = Server::start(&dir)?;
    for action in ["NoSuchActionOne", "NoSuchActionTwo"] {
        let (status, body) = server.signed(action, &[])?;
        ensure!(status == 404 && body.contains("\"InvalidAction.NotFound\""), "{action}: {status} {body}");
    }
    let (status, metrics) = server.send("GET", "/metrics", &[], b"")?;
    ensure!(status == 200, "metrics: {status}");
    ensure!(
        metrics.contains("operation=\"unknown\",code=\"InvalidAction.NotFound\"} 2"),
        "both counted as unknown: {metrics}"
    );
    ensure!(!metrics.contains("NoSuchAction"), "a made-up action became a label: {metrics}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
