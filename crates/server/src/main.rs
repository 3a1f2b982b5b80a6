//! `shiren-server`: the cloud's verification API over HTTP, wiring shiren's library
//! crates together — the top floor of the workspace. It holds no domain rule: the
//! flow's checks, codes, prices and bills are `shiren-verify`'s and the crates below;
//! durable state is `shiren-store`'s. This binary owns only the edge: HTTP (axum),
//! authentication plumbing, the worker pools, timers, configuration, logs and metrics.
//!
//! One request, start to end: `rpc::handle` authenticates it on the blocking pool
//! (`shiren-auth`), names the requester from the tenant table (`tenants`), applies the
//! QPS limit (`qps`), and runs the staged operation — `begin_*` on the blocking pool,
//! the needs (face scoring, identity) on the scoring pool (`scoring`), `commit` on the
//! blocking pool — then answers in the cloud's JSON (`wire`).
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the server is the I/O edge: it reads clocks, files and sockets, and hashes untrusted keys with a random seed"
)]

mod app;
mod config;
mod console;
mod demo;
mod device;
mod ids;
mod keys;
mod metrics;
mod pages;
mod qps;
mod rpc;
mod scoring;
mod tenants;
mod ticker;
mod wire;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::Utc;
use clap::Parser as _;
use shiren_auth::NonceLimits;
use shiren_catalog::ResidentId;
use shiren_face::{FaceModels, PhotoRules, Weights};
use shiren_records::DigestKey;
use shiren_store::{SqlStore, StoreOptions};
use shiren_verify::{
    FaceModelScorer, FaceScorer, FixedScorer, InMemoryAuthority, InMemoryPhotos, Plugins, Verifier,
    VerifierConfig,
};
use tokio::sync::watch;

use crate::app::App;
use crate::config::{Config, ScorerKind};
use crate::ids::RandomIds;
use crate::tenants::SharedTenants;

fn main() -> ExitCode {
    let config = Config::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log));
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.io_threads())
        .thread_name("shiren-http")
        .enable_all()
        .build();
    let outcome = runtime.context("starting the runtime").and_then(|rt| rt.block_on(serve(config)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "shiren-server stopped");
            eprintln!("shiren-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The face scorer the configuration asks for.
fn scorer(config: &Config) -> anyhow::Result<Box<dyn FaceScorer + Send + Sync>> {
    Ok(match config.scorer {
        ScorerKind::Fixed => Box::new(FixedScorer),
        ScorerKind::Face => {
            let read = |name: &str| {
                let path = config.models.join(name);
                std::fs::read(&path).with_context(|| {
                    format!(
                        "{}: run `bash scripts/fetch-models.sh` (or start with --scorer fixed)",
                        path.display()
                    )
                })
            };
            let load = |model: &str| -> anyhow::Result<Weights> {
                let manifest = read(&format!("{model}-weights_manifest.json"))?;
                let blob = read(&format!("{model}.bin"))?;
                Ok(Weights::from_tfjs(&manifest, &[&blob])?)
            };
            let models = FaceModels::new(
                load("tiny_face_detector_model")?,
                load("face_landmark_68_model")?,
                load("face_recognition_model")?,
            )?;
            Box::new(FaceModelScorer { models, rules: PhotoRules::default() })
        }
    })
}

/// The demo identity authority: one registered person (the README's example), with
/// the photo at `--authority-photo` when given.
fn authority(config: &Config) -> anyhow::Result<InMemoryAuthority> {
    let mut authority = InMemoryAuthority::default();
    let photo = match &config.authority_photo {
        Some(path) => Some(Bytes::from(
            std::fs::read(path).with_context(|| format!("--authority-photo {}", path.display()))?,
        )),
        None => None,
    };
    authority.register(&ResidentId::parse(config::DEMO_PERSON_ID)?, config::DEMO_PERSON_NAME, photo);
    Ok(authority)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let master = config.master_key()?;
    let options = StoreOptions {
        digest_key: DigestKey::new(master.digest_key()),
        max_connections: config.db_connections,
    };
    let url = config.database.clone();
    let store = tokio::task::spawn_blocking(move || SqlStore::open(&url, options))
        .await?
        .with_context(|| format!("opening the database {}", config.database_for_logs()))?;
    let now = Utc::now();
    if demo::ensure_account(&store, now)? {
        tracing::info!(account = demo::DEMO_ACCOUNT, "demo account created");
    }
    // The demo account's RAM directory lives in the store (created once); every
    // process loads it from there.
    let (account, directory) = demo::ensure_directory(&store, &master, now)?;
    let tenants = SharedTenants::default();
    {
        let mut table = tenants.0.write().map_err(|_| anyhow::anyhow!("tenant table poisoned"))?;
        table.insert(account, directory, &master);
    }
    let plugins = Plugins {
        permissions: Box::new(tenants.clone()),
        ids: Box::new(RandomIds),
        identities: Box::new(authority(&config)?),
        faces: scorer(&config)?,
        // No URL fetching: a URL photo source is refused (an open fetcher is an SSRF
        // hole; a deployment plugs in its own resolver with an allow-list).
        photos: Box::new(InMemoryPhotos::default()),
    };
    let verifier = Arc::new(Verifier::new(store, plugins, VerifierConfig::default()));
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| config.listen.to_string())?;
    let local = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let app = Arc::new(App {
        verifier,
        tenants: tenants.clone(),
        nonce_limits: NonceLimits::new(config.nonce_capacity),
        master,
        scoring: scoring::Scoring::new(config.face_workers(), config.face_queue),
        qps: qps::QpsLimits::new(config.qps_scale),
        metrics: metrics::Metrics::new(),
        public_url,
    });
    if let Some(path) = &config.demo_file {
        demo::write_file(path, &app.verifier.store, &app.master, &local.to_string())?;
    }
    let (stop, stopped) = watch::channel(false);
    let accounts = vec![shiren_catalog::AccountId::new(demo::DEMO_ACCOUNT)?];
    let ticker = tokio::spawn(ticker::run(Arc::clone(&app), config.billing_interval(), accounts, stopped));
    let router = app::router(Arc::clone(&app), config.request_timeout());
    println!("shiren-server listening on http://{local}");
    std::io::stdout().flush()?;
    tracing::info!(address = %local, database = %config.database_for_logs(), "serving");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // In-flight requests (and their completions) have finished: stop the timers.
    let _ = stop.send(true);
    let _ = ticker.await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
