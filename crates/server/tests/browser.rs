//! The console's web pages in a real browser (issue #19).
//!
//! Runs `crates/server/browser/setup.sh` (Debian's chromium, the pinned playwright-core;
//! idempotent), starts the `shiren-server` binary on a free loopback port with a fresh
//! SQLite database and `--scorer fixed`, completes verifications through the signed RPC
//! API (one passed, one failed ContrastFaceVerify of the demo person), reads the console
//! JSON API's statistics, bills and packs (ACS3-signed) and hands those numbers to
//! `crates/server/browser/console_test.mjs`, which drives chromium through every page and
//! compares. Screenshots land in `target/console/`. A missing chromium, node or package
//! fails the test, naming what to do; nothing is skipped.
#![allow(
    clippy::disallowed_methods,
    reason = "an edge test: it reads clocks, files and sockets and spawns the server, bash and node"
)]
#![allow(
    clippy::indexing_slicing,
    reason = "serde_json's `Value[key]` gives Null for an absent key; it never panics"
)]

use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use chrono::{Days, FixedOffset, NaiveDate, Utc};
use serde_json::{Value, json};
use shiren_auth::{AccessKeySecret, V3Request, sha256_hex, sign_v3, signed_rpc_query};

/// The demo identity authority's person.
const PERSON: (&str, &str) = ("Barack Obama", "110101199003074477");
/// How long the server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long setup may take (the first run installs chromium and playwright-core).
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);
/// How long the browser run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A child process killed (and reaped) on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` with its output into `log`, killed after `timeout`; (success, output).
fn run_logged(mut command: Command, log: &Path, timeout: Duration) -> anyhow::Result<(bool, String)> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    let mut child = Guard(command.stdout(out).stderr(err).stdin(Stdio::null()).spawn()?);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            bail!("{command:?} did not finish within {timeout:?}; output:\n{}", fs::read_to_string(log)?);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok((status.success(), fs::read_to_string(log)?))
}

/// The server child, its demo file and log.
struct Server {
    _child: Guard,
    demo: Value,
    demo_file: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> anyhow::Result<Server> {
        let log = dir.join("server.log");
        let demo_file = dir.join("demo.json");
        // The fixed scorer reads no pixels: any bytes stand for the authority's photo.
        let authority = dir.join("authority.jpg");
        fs::write(&authority, b"authority photo")?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_shiren-server"))
            .args(["--listen", "127.0.0.1:0", "--scorer", "fixed"])
            .arg("--database")
            .arg(format!("sqlite://{}", dir.join("shiren.db").display()))
            .arg("--demo-file")
            .arg(&demo_file)
            .arg("--authority-photo")
            .arg(&authority)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log)?)
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let child = Guard(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(START_TIMEOUT).with_context(|| {
            format!("the server did not start; log:\n{}", fs::read_to_string(&log).unwrap_or_default())
        })?;
        ensure!(
            line.starts_with("shiren-server listening on http://127.0.0.1:"),
            "unexpected first line {line:?}"
        );
        let demo: Value = serde_json::from_slice(&fs::read(&demo_file)?)?;
        Ok(Server { _child: child, demo, demo_file, log })
    }

    fn endpoint(&self) -> anyhow::Result<&str> {
        self.demo["endpoint"].as_str().context("endpoint")
    }

    fn secret(&self, field: &str) -> anyhow::Result<AccessKeySecret> {
        Ok(AccessKeySecret::new(self.demo[field].as_str().context("secret")?.to_owned()))
    }

    /// One HTTP/1.1 request; (status, body).
    fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> anyhow::Result<(u16, String)> {
        let endpoint = self.endpoint()?;
        let mut stream = TcpStream::connect(endpoint)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {endpoint}\r\nConnection: close\r\nContent-Length: {}\r\n",
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

    /// A signed RPC call as the full-access user; the JSON answer.
    fn rpc(&self, action: &str, params: &[(&str, &str)]) -> anyhow::Result<Value> {
        let nonce = format!("{:032x}", rand::random::<u128>());
        let timestamp = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
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
        let body = signed_rpc_query("POST", &all, &self.secret("access_key_secret")?);
        let headers = [("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
        let (status, text) = self.send("POST", "/", &headers, body.as_bytes())?;
        ensure!(status == 200, "{action}: HTTP {status}: {text}");
        Ok(serde_json::from_str(&text)?)
    }

    /// A signed console JSON API GET as the read-only user; its `Data`.
    fn console(&self, action: &str, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let endpoint = self.endpoint()?.to_owned();
        let query: Vec<(String, String)> =
            query.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        let headers: Vec<(String, String)> = vec![
            ("host".into(), endpoint),
            ("x-acs-action".into(), action.into()),
            ("x-acs-version".into(), "2019-03-07".into()),
            ("x-acs-date".into(), Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("x-acs-signature-nonce".into(), format!("{:032x}", rand::random::<u128>())),
            ("x-acs-content-sha256".into(), sha256_hex(b"")),
        ];
        let request = V3Request { method: "GET", path, query: &query, headers: &headers };
        let key = self.demo["readonly_access_key_id"].as_str().context("key")?;
        let authorization = sign_v3(&request, key, &self.secret("readonly_access_key_secret")?)?;
        let mut sent: Vec<(String, String)> = headers.into_iter().filter(|(n, _)| n != "host").collect();
        sent.push(("Authorization".into(), authorization));
        let target = if query.is_empty() {
            path.to_owned()
        } else {
            let pairs: Vec<String> = query
                .iter()
                .map(|(n, v)| format!("{}={}", shiren_auth::pop_encode(n), shiren_auth::pop_encode(v)))
                .collect();
            format!("{path}?{}", pairs.join("&"))
        };
        let (status, text) = self.send("GET", &target, &sent, b"")?;
        ensure!(status == 200, "{action}: HTTP {status}: {text}");
        let answer: Value = serde_json::from_str(&text)?;
        Ok(answer["Data"].clone())
    }

    /// A completed ContrastFaceVerify (ID_MIN) of the demo person; its certify ID.
    fn contrast(&self, selfie: &[u8], passed: &str) -> anyhow::Result<String> {
        let scene = self.demo["scenes"]["ID_MIN"].as_u64().context("ID_MIN scene")?.to_string();
        let order = format!("{:032x}", rand::random::<u128>());
        let photo = base64::engine::general_purpose::STANDARD.encode(selfie);
        let r = self.rpc(
            "ContrastFaceVerify",
            &[
                ("SceneId", &scene),
                ("OuterOrderNo", &order),
                ("ProductCode", "ID_MIN"),
                ("CertType", "IDENTITY_CARD"),
                ("CertName", PERSON.0),
                ("CertNo", PERSON.1),
                ("FaceContrastPicture", &photo),
                ("Model", "FRONT_CAMERA_LIVENESS"),
            ],
        )?;
        ensure!(r["Code"] == "200" && r["ResultObject"]["Passed"] == passed, "ContrastFaceVerify: {r}");
        Ok(r["ResultObject"]["CertifyId"].as_str().context("CertifyId")?.to_owned())
    }
}

impl Server {
    /// An ID_PRO session completed by the device's photo (stored: the record keeps its
    /// path); its certify ID.
    fn app_session(&self) -> anyhow::Result<String> {
        let scene = self.demo["scenes"]["ID_PRO"].as_u64().context("ID_PRO scene")?.to_string();
        let order = format!("{:032x}", rand::random::<u128>());
        let r = self.rpc(
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
        let token = url.rsplit("token=").next().context("token")?;
        let headers = [
            ("Authorization".to_owned(), format!("Bearer {token}")),
            ("Content-Type".to_owned(), "image/jpeg".to_owned()),
        ];
        let (status, body) =
            self.send("POST", &format!("/device/v1/sessions/{id}/photo"), &headers, b"genuine selfie")?;
        ensure!(status == 200 && body.contains("\"Code\":\"200\""), "device photo: {status} {body}");
        Ok(id)
    }
}

/// The statistics the page must show for `page_query`, as the JSON API answers `api_query`.
fn expected_stats(
    server: &Server,
    label: &str,
    page_query: String,
    api_query: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let stats = server.console("DescribeStatistics", "/console/v1/statistics", api_query)?;
    let daily = stats["Daily"].as_array().or_else(|| stats["daily"].as_array()).context("daily")?;
    let to = stats["To"].as_str().or_else(|| stats["to"].as_str()).context("to")?;
    println!("{label}: totals {} from {} to {to}", stats["totals"], stats["from"]);
    let totals = if stats["Totals"].is_null() { &stats["totals"] } else { &stats["Totals"] };
    let field = |v: &Value, name: &str, alt: &str| v[name].as_u64().or_else(|| v[alt].as_u64());
    // The last day's submissions over every series (each day is `[date, {series: counts}]`).
    let today_submissions: u64 = daily
        .last()
        .and_then(|d| d[1].as_object())
        .map(|series| {
            series
                .values()
                .map(|c| {
                    field(c, "passed", "Passed").unwrap_or(0) + field(c, "failed", "Failed").unwrap_or(0)
                })
                .sum()
        })
        .unwrap_or(0);
    Ok(json!({
        "label": label,
        "query": page_query,
        "passed": field(totals, "passed", "Passed").context("passed")?,
        "failed": field(totals, "failed", "Failed").context("failed")?,
        "submissions": field(&stats, "submissions", "Submissions").context("submissions")?,
        "compare_count": field(&stats, "compare_count", "CompareCount").context("compare_count")?,
        "from": stats["From"].as_str().or_else(|| stats["from"].as_str()).context("from")?,
        "to": to,
        "days": daily.len(),
        "today_submissions": today_submissions,
    }))
}

/// Runs `console_test.mjs` on `config`; fails with its output and the server's log unless
/// every check passed.
fn run_browser(root: &Path, dir: &Path, server: &Server, config: &Value, phase: &str) -> anyhow::Result<()> {
    let config_file = dir.join(format!("console_test_{phase}.json"));
    fs::write(&config_file, serde_json::to_vec_pretty(config)?)?;
    let mut node = Command::new("node");
    node.arg(root.join("crates/server/browser/console_test.mjs"))
        .arg(&config_file)
        .current_dir(root.join("crates/server/browser"));
    let started = Instant::now();
    let (ok, output) = run_logged(node, &dir.join(format!("console_test_{phase}.log")), RUN_TIMEOUT)?;
    println!("{output}\nconsole_test.mjs ({phase}) took {:.1}s", started.elapsed().as_secs_f64());
    let summary = output.lines().any(|l| l.starts_with("console_test: ") && l.ends_with(" 0 failed"));
    if !ok || !summary {
        println!("server log:\n{}", fs::read_to_string(&server.log).unwrap_or_default());
        bail!("the browser test ({phase}) failed; its output and the server's log are above");
    }
    Ok(())
}

#[test]
fn the_console_pages_work_in_chromium() -> anyhow::Result<()> {
    let root = root();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let dir = std::env::temp_dir().join(format!("shiren-browser-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir)?;

    let mut setup = Command::new("bash");
    setup.arg(root.join("crates/server/browser/setup.sh")).current_dir(&root);
    let (ok, output) = run_logged(setup, &dir.join("setup.log"), SETUP_TIMEOUT)?;
    ensure!(
        ok,
        "crates/server/browser/setup.sh failed: it needs Debian's chromium (apt-get install chromium), node and npm; output:\n{output}"
    );
    ensure!(Path::new("/usr/bin/chromium").is_file(), "/usr/bin/chromium is missing after setup.sh");

    let server = Server::start(&dir)?;
    let scene = server.demo["scenes"]["ID_MIN"].as_u64().context("scene")?.to_string();
    let shots = root.join("target/console");

    // Before any verification: the pages show the API's empty numbers.
    let before = expected_stats(
        &server,
        "7 days",
        format!("scene={scene}&range=7d"),
        &[("SceneId", &scene), ("Range", "7d")],
    )?;
    ensure!(before["submissions"] == 0, "a fresh database has no submissions: {before}");
    let config = json!({
        "phase": "before",
        "demo_file": server.demo_file,
        "chromium": "/usr/bin/chromium",
        "screenshots": shots,
        "before": before,
    });
    run_browser(&root, &dir, &server, &config, "before")?;

    // Sessions through the API: one passed, one failed (the fixed scorer's "mismatch").
    let certify_id = server.contrast(b"genuine selfie", "T")?;
    server.contrast(b"mismatch", "F")?;
    let photo_certify_id = server.app_session()?;

    // The JSON API's numbers for the same ranges the browser opens.
    let china = FixedOffset::east_opt(8 * 3600).context("UTC+8")?;
    let today: NaiveDate = Utc::now().with_timezone(&china).date_naive();
    let from = today.checked_sub_days(Days::new(44)).context("from")?;
    let too_long = today.checked_sub_days(Days::new(180)).context("too long")?;
    let statistics = vec![
        expected_stats(
            &server,
            "7 days",
            format!("scene={scene}&range=7d"),
            &[("SceneId", &scene), ("Range", "7d")],
        )?,
        expected_stats(
            &server,
            "30 days",
            format!("scene={scene}&range=30d"),
            &[("SceneId", &scene), ("Range", "30d")],
        )?,
        expected_stats(
            &server,
            "custom 45 days",
            format!("scene={scene}&range=custom&from={from}&to={today}"),
            &[("SceneId", &scene), ("From", &from.to_string()), ("To", &today.to_string())],
        )?,
    ];
    let bills = server.console("DescribeDailyBills", "/console/v1/bills", &[])?;
    let month = today.format("%Y-%m").to_string();
    let statement =
        server.console("DescribeMonthlyStatement", &format!("/console/v1/statements/{month}"), &[])?;
    let packs = server.console("DescribePacks", "/console/v1/packs", &[])?;
    let failed = server.console("DescribeRecords", "/console/v1/records", &[("Passed", "F")])?;
    let all = server.console("DescribeRecords", "/console/v1/records", &[("Limit", "100")])?;
    let pick = |v: &Value, a: &str, b: &str| if v[a].is_null() { v[b].clone() } else { v[a].clone() };
    let config = json!({
        "phase": "after",
        "demo_file": server.demo_file,
        "chromium": "/usr/bin/chromium",
        "screenshots": shots,
        "certify_id": certify_id,
        "photo_certify_id": photo_certify_id,
        "account": server.demo["account"],
        "id_number": PERSON.1,
        "person_name": PERSON.0,
        "statistics": statistics,
        "too_long_query": format!("scene={scene}&range=custom&from={too_long}&to={today}"),
        "failed_records": failed["Records"].as_array().map_or(0, Vec::len),
        "total_records": all["Records"].as_array().map_or(0, Vec::len),
        "packs": packs["Packs"].as_array().map_or(0, Vec::len),
        "bills": {
            "count": bills["Bills"].as_array().map_or(0, Vec::len),
            "balance": bills["Balance"].as_str().map(str::to_owned).unwrap_or_else(|| bills["Balance"].to_string()),
            "statement_first_day": pick(&statement, "first_day", "FirstDay"),
            "statement_last_day": pick(&statement, "last_day", "LastDay"),
        },
    });
    ensure!(
        config["statistics"][0]["submissions"] == 2,
        "the statistics changed: {}",
        config["statistics"][0]
    );
    run_browser(&root, &dir, &server, &config, "after")?;
    // The server's log holds neither a console password nor the person's ID number.
    let log = fs::read_to_string(&server.log)?;
    for (who, login) in server.demo["console_logins"].as_object().context("logins")? {
        let password = login["password"].as_str().context("password")?;
        ensure!(!log.contains(password), "the server's log holds {who}'s console password");
    }
    ensure!(!log.contains(PERSON.1), "the server's log holds the ID number");
    drop(server);
    let _ = fs::remove_dir_all(&dir);
    Ok(())
}
