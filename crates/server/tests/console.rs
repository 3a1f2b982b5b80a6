//! The console JSON API (`/console/v1/…`) driven from outside (issue #16).
//!
//! Starts the `shiren-server` binary on a free loopback port with a fresh SQLite database and
//! `--scorer fixed`, makes the two virtualenvs (`crates/server/sdk/setup.sh`: the cloud's
//! SDKs; `crates/server/sdk/fuzz-setup.sh`: schemathesis; both pinned and hash-checked, the
//! first run needs PyPI), then runs
//! - `console_sdk.py`: the cloud's generic tea-openapi client calls every console operation
//!   (ACS3-signed, as the full-access and the read-only RAM user);
//! - `fuzz_console.py`: schemathesis generates derandomized valid and invalid cases for every
//!   operation of the served `/openapi.json`, signed by its own ACS3 signer; no 5xx, every
//!   answer as the document says, invalid input and malformed signatures refused with 4xx.
//!
//! The server must still be running afterwards and exit cleanly on SIGTERM. A missing Python
//! or package fails the test, naming what to do; nothing is skipped.
#![allow(
    clippy::disallowed_methods,
    reason = "an edge test: it reads clocks for timeouts and spawns the server and Python"
)]

use std::error::Error;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type TestResult = Result<(), Box<dyn Error>>;

/// How long the server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a setup script may take (the first run installs from PyPI).
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);
/// How long one Python driver may take (the fuzz run takes well under a minute).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a SIGTERM'd server may take to exit.
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
        let dir = std::env::temp_dir().join(format!("shiren-console-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) on drop, also when the test fails.
struct Guard(Option<Child>);

impl Guard {
    /// Whether the process is still running.
    fn alive(&mut self) -> Result<bool, Box<dyn Error>> {
        let Some(child) = self.0.as_mut() else { return Ok(false) };
        Ok(child.try_wait()?.is_none())
    }

    /// Waits up to `timeout` for the exit; kills it after that. With `term`, sends SIGTERM first.
    fn stop(&mut self, term: bool, timeout: Duration) -> Result<ExitStatus, Box<dyn Error>> {
        let Some(mut child) = self.0.take() else {
            return Err("the process was already stopped".into());
        };
        if term {
            let sent = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
            if !sent.success() {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`kill -TERM {}` failed: {sent}", child.id()).into());
            }
        }
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
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `command` with stdout and stderr into `log` (killed after `timeout`); its status and output.
fn run_logged(
    mut command: Command,
    log: &Path,
    timeout: Duration,
) -> Result<(ExitStatus, String), Box<dyn Error>> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    let described = format!("{command:?}");
    let mut guard = Guard(Some(command.stdout(out).stderr(err).stdin(Stdio::null()).spawn()?));
    let status = guard.stop(false, timeout).map_err(|e| {
        println!("{}", fs::read_to_string(log).unwrap_or_default());
        format!("{described}: {e}; output above")
    })?;
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

/// Runs a setup script (idempotent: fast when its virtualenv is up to date); the python it names.
fn venv_python(root: &Path, scratch: &Path, script: &str) -> Result<PathBuf, Box<dyn Error>> {
    let mut setup = Command::new("bash");
    setup.arg(root.join(script)).current_dir(root);
    let log = scratch.join(format!("{}.log", script.replace('/', "_")));
    let (status, output) = run_logged(setup, &log, SETUP_TIMEOUT)?;
    if !status.success() {
        println!("{output}");
        return Err(format!(
            "{script} failed ({status}), output above: it needs python3 (with venv) and, on the first run, PyPI"
        )
        .into());
    }
    let Some(python) = output.lines().last().map(PathBuf::from) else {
        return Err(format!("{script} printed nothing").into());
    };
    if !python.is_file() {
        return Err(format!("{script} named {python:?}, which is not a file").into());
    }
    Ok(python)
}

/// Starts the server (fixed scorer) on `scratch`/shiren.db; its guard and `host:port`.
fn start_server(root: &Path, scratch: &Path) -> Result<(Guard, String), Box<dyn Error>> {
    let stderr = File::create(scratch.join("server.log"))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_shiren-server"));
    command
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(format!("sqlite://{}", scratch.join("shiren.db").display()))
        .arg("--demo-file")
        .arg(scratch.join("demo.json"))
        .arg("--scorer")
        .arg("fixed");
    let mut child =
        command.current_dir(root).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr).spawn()?;
    let stdout = child.stdout.take();
    let guard = Guard(Some(child));
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
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some(addr) = line.trim().strip_prefix(prefix) {
                    return Ok((guard, addr.trim_end_matches('/').to_owned()));
                }
            }
            Err(e) => {
                println!("server log:\n{}", tail(&scratch.join("server.log"), 40));
                return Err(format!("no `{prefix}…` line within {START_TIMEOUT:?} ({e}); log above").into());
            }
        }
    }
}

/// Runs one Python driver against the demo file; fails with its output unless it exits 0
/// and prints `summary` (its closing line's start, so a driver that stopped early fails).
fn drive(python: &Path, root: &Path, scratch: &Path, script: &str, summary: &str) -> TestResult {
    let mut command = Command::new(python);
    command.arg(root.join(script)).arg("--demo-file").arg(scratch.join("demo.json")).current_dir(root);
    let log = scratch.join(format!("{}.log", script.replace('/', "_")));
    let started = Instant::now();
    let (status, output) = run_logged(command, &log, RUN_TIMEOUT)?;
    println!("{output}\n{script}: {status} after {:.1}s", started.elapsed().as_secs_f64());
    if !status.success() || !output.lines().any(|l| l.starts_with(summary)) {
        println!("server log:\n{}", tail(&scratch.join("server.log"), 40));
        return Err(format!("{script} failed ({status}); its output and the server's log are above").into());
    }
    Ok(())
}

#[test]
fn the_console_api_holds_to_its_openapi_document() -> TestResult {
    let root = repo_root();
    let scratch = Scratch::new()?;
    let sdk_python = venv_python(&root, &scratch.0, "crates/server/sdk/setup.sh")?;
    let fuzz_python = venv_python(&root, &scratch.0, "crates/server/sdk/fuzz-setup.sh")?;
    let (mut server, addr) = start_server(&root, &scratch.0)?;
    if !addr.starts_with("127.0.0.1:") {
        return Err(format!("the server listens on {addr}, not on 127.0.0.1").into());
    }

    // The SDK first: the fuzzer deletes whatever scenes it guesses, the demo's included.
    drive(&sdk_python, &root, &scratch.0, "crates/server/sdk/console_sdk.py", "console_sdk: 0 failed")?;
    drive(&fuzz_python, &root, &scratch.0, "crates/server/sdk/fuzz_console.py", "fuzz_console: ")?;

    if !server.alive()? {
        println!("server log:\n{}", tail(&scratch.0.join("server.log"), 40));
        return Err("the server is no longer running after the fuzz run; log above".into());
    }
    let status = server.stop(true, STOP_TIMEOUT)?;
    if !status.success() {
        println!("server log:\n{}", tail(&scratch.0.join("server.log"), 40));
        return Err(format!("the server exited with {status} on SIGTERM; log above").into());
    }
    Ok(())
}
