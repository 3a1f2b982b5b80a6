//! Configuration by flags and environment (clap): where to listen, which database,
//! the master key, the scorer, the pools and limits. Every size and time has a
//! documented default; nothing here is a domain rule.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::keys::MasterKey;

/// The demo person the demo identity authority knows (a checksum-valid test number).
pub(crate) const DEMO_PERSON_ID: &str = "110101199003074477";
/// The demo person's name.
pub(crate) const DEMO_PERSON_NAME: &str = "Barack Obama";

/// How faces are scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScorerKind {
    /// The real face pipeline (`shiren-face`) with the fetched models.
    Face,
    /// A fixed passing score: load tests and demos without models.
    Fixed,
}

/// `shiren-server` flags (each also read from its `SHIREN_*` environment variable).
#[derive(Debug, clap::Parser)]
#[command(name = "shiren-server", version, about = "The verification API of shiren over HTTP")]
pub(crate) struct Config {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "SHIREN_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "SHIREN_DATABASE", default_value = "sqlite://shiren.db")]
    pub(crate) database: String,
    /// PostgreSQL connections (SQLite uses one writer).
    #[arg(long, env = "SHIREN_DB_CONNECTIONS", default_value_t = 8)]
    pub(crate) db_connections: u32,
    /// The master key, 64 hex characters (AccessKey secrets, device tokens and the
    /// records' ID-number digest derive from it). Prefer `--master-key-file`.
    #[arg(long, env = "SHIREN_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// A file holding the master key. With SQLite and neither option, the key is kept
    /// beside the database (`<file>.master-key`, created owner-only when missing).
    #[arg(long, env = "SHIREN_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Write the demo account's endpoint, AccessKeys and scene IDs here (owner-only).
    #[arg(long, env = "SHIREN_DEMO_FILE")]
    pub(crate) demo_file: Option<PathBuf>,
    /// The face scorer.
    #[arg(long, env = "SHIREN_SCORER", value_enum, default_value_t = ScorerKind::Face)]
    pub(crate) scorer: ScorerKind,
    /// Where `scripts/fetch-models.sh` put the face models.
    #[arg(long, env = "SHIREN_MODELS", default_value = ".cache/face/models")]
    pub(crate) models: PathBuf,
    /// The demo identity authority's photo of the demo person.
    #[arg(long, env = "SHIREN_AUTHORITY_PHOTO")]
    pub(crate) authority_photo: Option<PathBuf>,
    /// Face scorings at once (default: one per core).
    #[arg(long, env = "SHIREN_FACE_WORKERS")]
    face_workers: Option<usize>,
    /// Scorings that may wait for a worker before requests are refused (503).
    #[arg(long, env = "SHIREN_FACE_QUEUE", default_value_t = 64)]
    pub(crate) face_queue: usize,
    /// Async I/O threads (default: one per core).
    #[arg(long, env = "SHIREN_IO_THREADS")]
    io_threads: Option<usize>,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "SHIREN_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout_secs: u64,
    /// Seconds between billing ticks (bills due, session expiry).
    #[arg(long, env = "SHIREN_BILLING_INTERVAL", default_value_t = 60)]
    billing_interval_secs: u64,
    /// A factor on each account's QPS limit: 1/N with N processes sharing the
    /// accounts; above 1 for a contract with a higher limit (and for load tests).
    #[arg(long, env = "SHIREN_QPS_SCALE", default_value_t = 1.0)]
    pub(crate) qps_scale: f64,
    /// Nonces remembered for replay protection (about 320 bytes each).
    #[arg(long, env = "SHIREN_NONCE_CAPACITY", default_value_t = 1_000_000)]
    pub(crate) nonce_capacity: usize,
    /// The base URL devices reach this server at (default `http://<listen address>`).
    #[arg(long, env = "SHIREN_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Log filter (`RUST_LOG` wins when set).
    #[arg(long, env = "SHIREN_LOG", default_value = "info")]
    pub(crate) log: String,
    /// Logs as JSON lines.
    #[arg(long, env = "SHIREN_LOG_JSON")]
    pub(crate) log_json: bool,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Config {
    /// Face scorings at once.
    pub(crate) fn face_workers(&self) -> usize {
        self.face_workers.unwrap_or_else(cores).max(1)
    }

    /// Async I/O threads.
    pub(crate) fn io_threads(&self) -> usize {
        self.io_threads.unwrap_or_else(cores).max(1)
    }

    /// The request time limit.
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    /// The billing tick.
    pub(crate) fn billing_interval(&self) -> Duration {
        Duration::from_secs(self.billing_interval_secs.max(1))
    }

    /// The database URL without a password, for logs.
    pub(crate) fn database_for_logs(&self) -> String {
        match (self.database.find("://"), self.database.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let (head, tail) = self.database.split_at(at);
                let user = head.get(scheme + 3..).unwrap_or("").split(':').next().unwrap_or("");
                format!("{}{user}:…{tail}", head.get(..scheme + 3).unwrap_or(""))
            }
            _ => self.database.clone(),
        }
    }

    /// The master key: the flag, the file, or (SQLite only) the file beside the database.
    pub(crate) fn master_key(&self) -> anyhow::Result<MasterKey> {
        if let Some(hex) = &self.master_key {
            return Ok(MasterKey::from_hex(hex)?);
        }
        if let Some(path) = &self.master_key_file {
            return Ok(MasterKey::load_or_create(path)?);
        }
        let path = self.database.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap_or(p)).context(
            "set SHIREN_MASTER_KEY or --master-key-file: every process sharing a PostgreSQL database needs the same key",
        )?;
        Ok(MasterKey::load_or_create(&PathBuf::from(format!("{path}.master-key")))?)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn database_passwords_stay_out_of_logs() -> anyhow::Result<()> {
        let config =
            Config::try_parse_from(["shiren-server", "--database", "postgres://app:s3cret@db:5432/shiren"])?;
        let shown = config.database_for_logs();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("@db:5432/shiren"), "{shown}");
        Ok(())
    }
}
