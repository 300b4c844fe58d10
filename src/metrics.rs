//! Prometheus metrics: GraphQL requests and their latency per operation, in the text format
//! served at `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a GraphQL request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The operation name (`anonymous` when none; long or odd names are cut).
    pub operation: String,
    /// `ok`, `error` (GraphQL errors) or `refused` (HTTP 4xx).
    pub outcome: String,
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<OperationLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<OperationLabels, Counter>::default();
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ])
        });
        registry.register(
            "oms_graphql_requests",
            "GraphQL requests by operation and outcome",
            requests.clone(),
        );
        registry.register(
            "oms_graphql_request_duration_seconds",
            "GraphQL request latency by operation",
            latency.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            latency,
        }
    }

    /// Records one request.
    pub fn observe(&self, operation: Option<&str>, outcome: &str, seconds: f64) {
        let operation = match operation {
            Some(name)
                if !name.is_empty()
                    && name.len() <= 64
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                name.to_owned()
            }
            Some(_) => "invalid_name".to_owned(),
            None => "anonymous".to_owned(),
        };
        let labels = OperationLabels {
            operation,
            outcome: outcome.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
