//! The cloud's own Python SDKs as clients of shiren-server (issue #16).
//!
//! Starts the `shiren-server` binary on a free loopback port with a fresh SQLite database,
//! the real face pipeline and `--demo-file`, makes the SDK virtualenv with
//! `crates/server/sdk/setup.sh` (pinned, hash-checked; a second run takes about a second,
//! the first needs PyPI), and runs `crates/server/sdk/run_sdk.py`: the tea-openapi SDK
//! (ACS3-HMAC-SHA256 and RPC HMAC-SHA1) and the older aliyun-python-sdk-core drive whole
//! sessions and the refusals. Then the server is stopped with SIGTERM and must exit cleanly.
//!
//! The second test puts the server (fixed scorer) under load from `restart_load.py`, kills it
//! with SIGKILL once completions are acknowledged, restarts it on the same database, and
//! checks that every acknowledged completion is still there, cannot complete again, and is
//! billed once (the store's audit: completed sessions = records = usage events = metered
//! units). The two tests share the virtualenv; setup.sh serializes on a lock file.
//!
//! Needs `python3` (>= 3.9, with venv), PyPI on the first run, and the face models and test
//! photos from `bash scripts/fetch-models.sh`. Anything missing fails the test, naming what
//! to do; nothing is skipped.
#![allow(
    clippy::disallowed_methods,
    reason = "an integration test is edge code: it spawns the server and Python, reads files and clocks"
)]

use std::error::Error;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shiren_records::DigestKey;
use shiren_store::{SqlStore, StoreOptions};

type TestResult = Result<(), Box<dyn Error>>;

/// How long the server may take to print its listening line (it loads the face models).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the whole SDK story may take.
const SDK_TIMEOUT: Duration = Duration::from_secs(900);
/// How long setup.sh may take (the first run installs from PyPI).
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a SIGTERM'd server may take to finish in-flight work and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The repository root (this crate is crates/server).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, Box<dyn Error>> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let dir = std::env::temp_dir().join(format!("shiren-sdk-clients-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A child process that is killed (and reaped) when dropped, also when the test fails.
struct Guard {
    child: Option<Child>,
}

impl Guard {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, Box<dyn Error>> {
        let Some(mut child) = self.child.take() else {
            return Err("the process was already stopped".into());
        };
        let sent = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                return match sent {
                    Ok(s) if s.success() => Ok(status),
                    _ => Err(format!("`kill -TERM` failed; the process exited with {status}").into()),
                };
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no exit within {timeout:?} of SIGTERM; killed").into());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Guard {
    /// SIGKILL, then reap.
    fn kill(&mut self) -> Result<ExitStatus, Box<dyn Error>> {
        let Some(mut child) = self.child.take() else {
            return Err("the process was already stopped".into());
        };
        child.kill()?;
        Ok(child.wait()?)
    }

    /// Waits up to `timeout` for the process to exit by itself; kills it after that.
    fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, Box<dyn Error>> {
        let Some(mut child) = self.child.take() else {
            return Err("the process was already stopped".into());
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no exit within {timeout:?}; killed").into());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `command` with stdout and stderr into `log`, killing it after `timeout`.
fn run_logged(
    mut command: Command,
    log: &Path,
    timeout: Duration,
) -> Result<(ExitStatus, String), Box<dyn Error>> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    let mut guard = Guard { child: Some(command.stdout(out).stderr(err).stdin(Stdio::null()).spawn()?) };
    let deadline = Instant::now() + timeout;
    let status = loop {
        let Some(child) = guard.child.as_mut() else {
            return Err("lost the child process".into());
        };
        if let Some(status) = child.try_wait()? {
            guard.child = None;
            break status;
        }
        if Instant::now() >= deadline {
            drop(guard);
            println!("{}", fs::read_to_string(log).unwrap_or_default());
            return Err(format!("{command:?} did not finish within {timeout:?}; output above").into());
        }
        thread::sleep(Duration::from_millis(100));
    };
    Ok((status, fs::read_to_string(log)?))
}

/// The last `n` lines of a file, for failure messages.
fn tail(path: &Path, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().skip(lines.len().saturating_sub(n)).copied().collect::<Vec<_>>().join("\n")
}

/// Makes (or reuses) the SDK virtualenv; returns its python.
fn sdk_python(root: &Path, scratch: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let mut setup = Command::new("bash");
    setup.arg(root.join("crates/server/sdk/setup.sh")).current_dir(root);
    let (status, output) = run_logged(setup, &scratch.join("setup.log"), SETUP_TIMEOUT)?;
    if !status.success() {
        println!("{output}");
        return Err(format!(
            "crates/server/sdk/setup.sh failed ({status}), output above: it needs python3 >= 3.9 \
             with venv and, on the first run, PyPI"
        )
        .into());
    }
    let Some(python) = output.lines().last().map(PathBuf::from) else {
        return Err("setup.sh printed nothing".into());
    };
    if !python.is_file() {
        return Err(format!("setup.sh named {python:?}, which is not a file").into());
    }
    Ok(python)
}

/// Starts the server on `scratch`/shiren.db with `--scorer scorer` and obama.jpg as the
/// demo identity authority's portrait of its one person, its stderr into
/// `scratch`/`log`; returns its guard and its `host:port` once it says it is listening.
fn start_server(
    root: &Path,
    scratch: &Path,
    scorer: &str,
    log: &str,
) -> Result<(Guard, String), Box<dyn Error>> {
    let db = scratch.join("shiren.db");
    let demo = scratch.join("demo.json");
    let stderr = File::create(scratch.join(log))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_shiren-server"));
    command
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(format!("sqlite://{}", db.display()))
        .arg("--demo-file")
        .arg(&demo)
        .arg("--scorer")
        .arg(scorer)
        .arg("--authority-photo")
        .arg(root.join(".cache/face/photos/obama.jpg"));
    if scorer == "face" {
        command.arg("--models").arg(root.join(".cache/face/models"));
    }
    let mut child =
        command.current_dir(root).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr).spawn()?;
    let stdout = child.stdout.take();
    let guard = Guard { child: Some(child) };
    let Some(stdout) = stdout else {
        return Err("no stdout pipe".into());
    };
    let (tx, rx) = mpsc::channel::<String>();
    // Reads stdout to its end, so the server never blocks on a full pipe.
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    let prefix = "shiren-server listening on http://";
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = line.trim().strip_prefix(prefix) {
                    return Ok((guard, addr.trim_end_matches('/').to_owned()));
                }
            }
            Err(e) => {
                println!("server log:\n{}", tail(&scratch.join(log), 40));
                return Err(format!("no `{prefix}…` line within {START_TIMEOUT:?} ({e}); log above").into());
            }
        }
    }
}

/// The test photos as a phone would send them: the public portraits are larger than
/// the service accepts (at most 1920×1080 in either orientation; `biden.jpg` is
/// 970×2204), so each is cut to its top 3:4 part and scaled to 480×640, JPEG quality 90.
fn phone_photos(from: &Path, scratch: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let to = scratch.join("photos");
    fs::create_dir_all(&to)?;
    for name in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
        let photo = image::open(from.join(name))?.to_rgb8();
        let (w, h) = photo.dimensions();
        let top = image::imageops::crop_imm(&photo, 0, 0, w, h.min(w * 4 / 3)).to_image();
        let phone = image::imageops::resize(&top, 480, 640, image::imageops::FilterType::Triangle);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&phone)?;
        fs::write(to.join(name), jpeg)?;
    }
    Ok(to)
}

#[test]
fn the_clouds_python_sdks_drive_a_whole_session() -> TestResult {
    let root = repo_root();
    let photos = root.join(".cache/face/photos");
    for needed in [
        photos.join("obama.jpg"),
        photos.join("obama2.jpg"),
        photos.join("biden.jpg"),
        root.join(".cache/face/models"),
    ] {
        if !needed.exists() {
            return Err(
                format!("missing {}: run `bash scripts/fetch-models.sh` first", needed.display()).into()
            );
        }
    }
    let scratch = Scratch::new()?;
    let photos = phone_photos(&photos, &scratch.0)?;
    let python = sdk_python(&root, &scratch.0)?;
    let (mut server, addr) = start_server(&root, &scratch.0, "face", "server.log")?;
    if !addr.starts_with("127.0.0.1:") {
        return Err(format!("the server listens on {addr}, not on 127.0.0.1").into());
    }

    let demo = scratch.0.join("demo.json");
    let text = fs::read_to_string(&demo).map_err(|e| format!("demo file {}: {e}", demo.display()))?;
    if !text.contains(&format!("\"{addr}\"")) {
        return Err(format!("the demo file does not name the endpoint {addr}").into());
    }

    let mut sdk = Command::new(&python);
    sdk.arg(root.join("crates/server/sdk/run_sdk.py"))
        .arg("--demo-file")
        .arg(&demo)
        .arg("--photos")
        .arg(&photos)
        .arg("--scorer")
        .arg("face")
        .current_dir(&root);
    let (status, output) = run_logged(sdk, &scratch.0.join("sdk.log"), SDK_TIMEOUT)?;
    println!("{output}");
    if !status.success() {
        println!("server log (pid {:?}):\n{}", server.pid(), tail(&scratch.0.join("server.log"), 40));
        return Err(format!("run_sdk.py failed ({status}); its lines and the server log are above").into());
    }
    let Some(summary) = output.lines().rev().find(|l| l.starts_with("sdk_clients: ")) else {
        return Err("run_sdk.py printed no summary line".into());
    };
    if !summary.ends_with(", 0 failed") || summary.starts_with("sdk_clients: 0 passed") {
        return Err(format!("unexpected summary: {summary}").into());
    }

    let stopped = server.terminate(STOP_TIMEOUT)?;
    if !stopped.success() {
        println!("server log:\n{}", tail(&scratch.0.join("server.log"), 40));
        return Err(format!("the server exited with {stopped} after SIGTERM; log above").into());
    }
    Ok(())
}

/// Acknowledged completions the load has written so far.
fn acknowledged(path: &Path) -> usize {
    fs::read_to_string(path).map(|t| t.lines().filter(|l| !l.trim().is_empty()).count()).unwrap_or(0)
}

#[test]
fn a_sigkilled_server_keeps_every_acknowledged_completion_billed_once() -> TestResult {
    let root = repo_root();
    let photos = root.join(".cache/face/photos");
    if !photos.join("obama2.jpg").is_file() {
        return Err(format!("missing {}: run `bash scripts/fetch-models.sh` first", photos.display()).into());
    }
    let scratch = Scratch::new()?;
    let python = sdk_python(&root, &scratch.0)?;
    let script = root.join("crates/server/sdk/restart_load.py");
    let demo = scratch.0.join("demo.json");
    let acked = scratch.0.join("acked.txt");

    // Load: whole sessions from six workers, bounded in count and time.
    let (mut server, _) = start_server(&root, &scratch.0, "fixed", "server-1.log")?;
    let load_log = File::create(scratch.0.join("load.log"))?;
    let mut load = Guard {
        child: Some(
            Command::new(&python)
                .arg(&script)
                .arg("load")
                .arg("--demo-file")
                .arg(&demo)
                .arg("--acked")
                .arg(&acked)
                .arg("--photos")
                .arg(&photos)
                .args(["--workers", "6", "--max-sessions", "3000", "--seconds", "60"])
                .current_dir(&root)
                .stdin(Stdio::null())
                .stdout(load_log.try_clone()?)
                .stderr(load_log)
                .spawn()?,
        ),
    };
    // SIGKILL once some completions are acknowledged, with more in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged(&acked) < 40 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    server.kill()?;
    let load_status = load.wait(Duration::from_secs(90))?;
    let load_output = fs::read_to_string(scratch.0.join("load.log"))?;
    println!("{load_output}");
    if !load_status.success() {
        return Err(format!("restart_load.py load failed ({load_status}); output above").into());
    }
    let before = acknowledged(&acked);
    if before == 0 {
        println!("server log:\n{}", tail(&scratch.0.join("server-1.log"), 40));
        return Err("no completion was acknowledged before the kill".into());
    }

    // Restart on the same database; every acknowledged completion is there, once.
    let (mut server, _) = start_server(&root, &scratch.0, "fixed", "server-2.log")?;
    let mut verify = Command::new(&python);
    verify
        .arg(&script)
        .arg("verify")
        .arg("--demo-file")
        .arg(&demo)
        .arg("--acked")
        .arg(&acked)
        .arg("--photos")
        .arg(&photos)
        .current_dir(&root);
    let (status, output) = run_logged(verify, &scratch.0.join("verify.log"), SDK_TIMEOUT)?;
    println!("{output}");
    if !status.success() {
        println!("server log:\n{}", tail(&scratch.0.join("server-2.log"), 40));
        return Err(format!("restart_load.py verify failed ({status}); output above").into());
    }
    let stopped = server.terminate(STOP_TIMEOUT)?;
    if !stopped.success() {
        return Err(format!("the restarted server exited with {stopped} after SIGTERM").into());
    }

    // Billed once: completed sessions = records = usage events = metered units, as stored.
    let options = StoreOptions { digest_key: DigestKey::new([0; 32]), max_connections: 1 };
    let store = SqlStore::open(&format!("sqlite://{}", scratch.0.join("shiren.db").display()), options)?;
    let audit = store.audit()?;
    println!("{before} acknowledged before the kill; audit after the restart: {audit:?}");
    let completed = audit.completed_sessions;
    if audit.rows.records != completed
        || audit.rows.usage_events != completed
        || audit.metered_units != completed
    {
        return Err(format!("not billed exactly once per completion: {audit:?}").into());
    }
    if completed < u64::try_from(before)? {
        return Err(format!("{before} acknowledged but only {completed} completed sessions stored").into());
    }
    Ok(())
}
