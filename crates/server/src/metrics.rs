//! Prometheus metrics (`GET /metrics`, OpenMetrics text via `prometheus-client`):
//! requests and their latency by operation and code, completions by outcome, refusals
//! by code. Labels carry operations and codes only — never an account's personal data.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::Shared;

/// An operation and the code it answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Outcome {
    /// The Action (or `device`).
    pub(crate) operation: String,
    /// The call code or error code.
    pub(crate) code: String,
}

/// An operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Operation {
    /// The Action (or `device`).
    pub(crate) operation: String,
}

/// A completion's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Completed {
    /// `T` or `F`.
    pub(crate) passed: String,
    /// The sub code.
    pub(crate) sub_code: String,
}

/// How the store's committers wrote a batch.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BatchPath {
    /// `whole`, `each` (write by write) or `stale` (a whole attempt found an account
    /// changed by another process).
    pub(crate) path: String,
}

/// The registry and its metrics.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<Outcome, Counter>,
    pub(crate) latency: Family<Operation, Histogram>,
    pub(crate) completions: Family<Completed, Counter>,
    pub(crate) bills_issued: Counter,
    pub(crate) remaining_pack_units: Gauge,
    /// Read from the store at each scrape.
    store_batches: Family<BatchPath, Gauge>,
}

impl Metrics {
    /// Registers every metric.
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("shiren");
        let requests = Family::<Outcome, Counter>::default();
        let latency = Family::<Operation, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        let completions = Family::<Completed, Counter>::default();
        let bills_issued = Counter::default();
        let remaining_pack_units = Gauge::default();
        registry.register("requests", "Requests answered, by operation and code", requests.clone());
        registry.register("request_seconds", "Time to answer, by operation", latency.clone());
        registry.register("completions", "Verifications completed, by outcome", completions.clone());
        registry.register("bills_issued", "Daily bills issued by this process", bills_issued.clone());
        registry.register(
            "remaining_pack_units",
            "Units left in the served accounts' effective traffic packs (at the last billing tick)",
            remaining_pack_units.clone(),
        );
        let store_batches = Family::<BatchPath, Gauge>::default();
        registry.register(
            "store_batches",
            "Batches the store's committers wrote since this process started, by path (whole, each, stale)",
            store_batches.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            completions,
            bills_issued,
            remaining_pack_units,
            store_batches,
        }
    }

    /// Counts one answered request.
    pub(crate) fn answered(&self, operation: &str, code: &str, seconds: f64) {
        self.requests
            .get_or_create(&Outcome { operation: operation.to_owned(), code: code.to_owned() })
            .inc();
        self.latency.get_or_create(&Operation { operation: operation.to_owned() }).observe(seconds);
    }
}

/// `GET /metrics`.
pub(crate) async fn render(State(app): State<Shared>) -> impl IntoResponse {
    let batches = app.verifier.store.batches();
    for (path, n) in [("whole", batches.whole), ("each", batches.each), ("stale", batches.stale)] {
        let gauge = app.metrics.store_batches.get_or_create(&BatchPath { path: path.to_owned() });
        gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    let mut text = String::new();
    let status = match prometheus_client::encoding::text::encode(&mut text, &app.metrics.registry) {
        Ok(()) => axum::http::StatusCode::OK,
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}
