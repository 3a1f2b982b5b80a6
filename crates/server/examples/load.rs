//! A bounded load run against a running `shiren-server` on loopback: a fixed number of
//! signed requests (RPC HMAC-SHA1, a fresh nonce each, signed by `shiren-auth`) from
//! `--concurrency` keep-alive connections, then requests/s and p50/p99 latency. It stops
//! by itself after `--requests`.
//!
//! ```sh
//! cargo run --release -p shiren-server --example load -- --demo-file demo.json --scenario describe
//! ```
//!
//! Scenarios: `describe` (DescribeFaceVerify of one completed session), `session`
//! (InitFaceVerify, then the device's photo: one completed verification per
//! iteration; with `--scorer face` on the server, the real face pipeline).
#![allow(clippy::disallowed_methods, reason = "a load generator is edge code: clocks, files, sockets")]

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use shiren_auth::{AccessKeySecret, signed_rpc_query};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Deserialize)]
struct Demo {
    endpoint: String,
    access_key_id: String,
    access_key_secret: String,
    scenes: std::collections::BTreeMap<String, u64>,
}

/// The demo person of the server's demo identity authority.
const PERSON: (&str, &str) = ("Barack Obama", "110101199003074477");

struct Args {
    demo: std::path::PathBuf,
    scenario: String,
    requests: usize,
    concurrency: usize,
    photo: Option<std::path::PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        demo: "demo.json".into(),
        scenario: "describe".into(),
        requests: 20_000,
        concurrency: 32,
        photo: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--demo-file" => args.demo = value.into(),
            "--scenario" => args.scenario = value,
            "--requests" => args.requests = value.parse()?,
            "--concurrency" => args.concurrency = value.parse()?,
            "--photo" => args.photo = Some(value.into()),
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(host: &str) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream: BufReader::new(stream), host: host.to_owned() })
    }

    /// Sends one request and reads the response body.
    async fn send(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut head =
            format!("POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n", self.host, body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line.split(' ').nth(1).context("no status line")?.parse()?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

/// A signed RPC call of `action` with `params`; the JSON answer.
async fn call(
    conn: &mut Connection,
    demo: &Demo,
    secret: &AccessKeySecret,
    action: &str,
    params: &[(&str, &str)],
) -> anyhow::Result<serde_json::Value> {
    let nonce = format!("{:032x}", rand::random::<u128>());
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("Action", action),
        ("Version", "2019-03-07"),
        ("Format", "JSON"),
        ("AccessKeyId", &demo.access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", &nonce),
        ("Timestamp", &timestamp),
    ];
    all.extend_from_slice(params);
    let body = signed_rpc_query("POST", &all, secret);
    let (status, body) =
        conn.send("/", &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes()).await?;
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    if status != 200 {
        bail!("{action}: HTTP {status}: {json}");
    }
    Ok(json)
}

fn field<'a>(json: &'a serde_json::Value, path: &str) -> anyhow::Result<&'a str> {
    json.pointer(path).and_then(|v| v.as_str()).with_context(|| format!("no {path} in {json}"))
}

/// One completed verification: init, then the device's photo.
async fn session(
    conn: &mut Connection,
    demo: &Demo,
    secret: &AccessKeySecret,
    photo: &[u8],
) -> anyhow::Result<String> {
    let order = format!("{:032x}", rand::random::<u128>());
    let scene = demo.scenes.get("ID_PRO").context("no ID_PRO scene")?.to_string();
    let init = call(
        conn,
        demo,
        secret,
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
    )
    .await?;
    if field(&init, "/Code")? != "200" {
        bail!("InitFaceVerify: {init}");
    }
    let id = field(&init, "/ResultObject/CertifyId")?.to_owned();
    let url = field(&init, "/ResultObject/CertifyUrl")?;
    let token = url.rsplit("token=").next().context("no token")?;
    let (status, body) = conn
        .send(
            &format!("/device/v1/sessions/{id}/photo"),
            &[("Authorization", &format!("Bearer {token}")), ("Content-Type", "image/jpeg")],
            photo,
        )
        .await?;
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    if status != 200 || field(&json, "/Code")? != "200" {
        bail!("device photo: HTTP {status}: {json}");
    }
    Ok(id)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match runtime.map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args = args()?;
    let demo: Demo = serde_json::from_slice(&std::fs::read(&args.demo).context("--demo-file")?)?;
    let secret = AccessKeySecret::new(demo.access_key_secret.clone());
    let photo = match &args.photo {
        Some(path) => std::fs::read(path).with_context(|| path.display().to_string())?,
        None => b"\xff\xd8 fixed-scorer photo".to_vec(),
    };
    let demo = std::sync::Arc::new(demo);
    let (secret, photo) = (std::sync::Arc::new(secret), std::sync::Arc::new(photo));
    // The describe scenario reads one completed session.
    let target = if args.scenario == "describe" {
        let mut conn = Connection::open(&demo.endpoint).await?;
        Some(session(&mut conn, &demo, &secret, &photo).await?)
    } else {
        None
    };
    let per_worker = args.requests.div_ceil(args.concurrency.max(1));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (demo, secret, photo, target, scenario) =
            (demo.clone(), secret.clone(), photo.clone(), target.clone(), args.scenario.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = Connection::open(&demo.endpoint).await?;
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let t = Instant::now();
                match (scenario.as_str(), &target) {
                    ("describe", Some(id)) => {
                        let scene = demo.scenes.get("ID_PRO").context("scene")?.to_string();
                        let r = call(
                            &mut conn,
                            &demo,
                            &secret,
                            "DescribeFaceVerify",
                            &[("SceneId", &scene), ("CertifyId", id)],
                        )
                        .await?;
                        if field(&r, "/Code")? != "200" {
                            bail!("DescribeFaceVerify: {r}");
                        }
                    }
                    ("session", _) => {
                        session(&mut conn, &demo, &secret, &photo).await?;
                    }
                    (other, _) => bail!("unknown scenario {other}"),
                }
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "{}: {} in {:.2} s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms (concurrency {})",
        args.scenario,
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        args.concurrency
    );
    Ok(())
}
