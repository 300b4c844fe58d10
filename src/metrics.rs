//! Prometheus metrics: GraphQL requests and their latency per operation, policy plugin
//! evaluations, outbox deliveries and their lag, open subscriptions, in the text format served
//! at `/metrics` (with `oms_sql_statements_total`, added by `http::ops`). README, "Metrics",
//! lists every series, its labels and who may scrape it; keep it in step when adding one.

use std::collections::HashSet;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a GraphQL request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The operation name when it is one of `--metrics-operations`; `other` for any other
    /// name, `anonymous` for none.
    pub operation: String,
    /// `ok`, `error` (GraphQL errors) or `refused` (HTTP 4xx).
    pub outcome: String,
}

/// Labels of a plugin evaluation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// The hook (`CLAIM_FEES`).
    pub hook: String,
    /// `OK`, or the failure reason (`OUT_OF_FUEL`, ...): the default decided instead.
    pub outcome: String,
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<OperationLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    plugin_evaluations: Family<PluginLabels, Counter>,
    plugin_seconds: Family<PluginLabels, Histogram>,
    plugin_fuel: Family<PluginLabels, Histogram>,
    plugin_switched_off: Family<PluginLabels, Counter>,
    outbox_deliveries: Family<OutboxLabels, Counter>,
    outbox_lag: Family<OutboxLabels, Histogram>,
    live_subscriptions: Gauge,
    /// The operation names labelled as themselves; the rest are `other`.
    known_operations: Arc<HashSet<String>>,
}

/// Labels of an outbox delivery attempt.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboxLabels {
    /// EMAIL, ALIMTALK, WEBHOOK or NATS.
    pub destination: String,
    /// DELIVERED, RETRY or DEAD.
    pub outcome: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry that labels no operation by name.
    pub fn new() -> Self {
        Self::with_operations(&[])
    }

    /// A fresh registry that labels requests with these operation names as themselves (the
    /// names the marketplace's frontends send) and any other named request as `other`: a
    /// label per name a client makes up would let anyone grow `/metrics` without bound.
    pub fn with_operations(names: &[String]) -> Self {
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
        let plugin_evaluations = Family::<PluginLabels, Counter>::default();
        let plugin_seconds = Family::<PluginLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.00002, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01])
        });
        let plugin_fuel = Family::<PluginLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([1e3, 1e4, 1e5, 5e5, 1e6, 2e6, 1.1e7])
        });
        let plugin_switched_off = Family::<PluginLabels, Counter>::default();
        registry.register(
            "oms_plugin_evaluations",
            "Policy plugin evaluations by hook and outcome (OK or the failure reason)",
            plugin_evaluations.clone(),
        );
        registry.register(
            "oms_plugin_evaluation_seconds",
            "Policy plugin evaluation time (instantiate, call, read) by hook",
            plugin_seconds.clone(),
        );
        registry.register(
            "oms_plugin_fuel",
            "Fuel (instructions) used per policy plugin evaluation by hook",
            plugin_fuel.clone(),
        );
        registry.register(
            "oms_plugin_switched_off",
            "Plugins switched off by the circuit breaker, by hook",
            plugin_switched_off.clone(),
        );
        let outbox_deliveries = Family::<OutboxLabels, Counter>::default();
        let outbox_lag = Family::<OutboxLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0])
        });
        registry.register(
            "oms_outbox_deliveries",
            "Outbox delivery attempts by destination and outcome",
            outbox_deliveries.clone(),
        );
        registry.register(
            "oms_outbox_lag_seconds",
            "Seconds from a delivery's creation to its attempt, by destination and outcome",
            outbox_lag.clone(),
        );
        let live_subscriptions = Gauge::default();
        registry.register(
            "oms_live_subscriptions",
            "claimEvents subscriptions open on this server",
            live_subscriptions.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            latency,
            plugin_evaluations,
            plugin_seconds,
            plugin_fuel,
            plugin_switched_off,
            outbox_deliveries,
            outbox_lag,
            live_subscriptions,
            known_operations: Arc::new(
                names
                    .iter()
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect(),
            ),
        }
    }

    /// Records one request.
    pub fn observe(&self, operation: Option<&str>, outcome: &str, seconds: f64) {
        let operation = match operation {
            Some(name) if self.known_operations.contains(name) => name.to_owned(),
            Some(_) => "other".to_owned(),
            None => "anonymous".to_owned(),
        };
        let labels = OperationLabels {
            operation,
            outcome: outcome.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Records one plugin evaluation; a failure means the default decided.
    pub fn plugin_evaluated(
        &self,
        hook: &str,
        failure: Option<&crate::plugin::Failure>,
        stats: &crate::plugin::EvaluationStats,
    ) {
        let labels = PluginLabels {
            hook: hook.to_owned(),
            outcome: failure.map_or("OK", |f| f.reason.as_str()).to_owned(),
        };
        self.plugin_evaluations.get_or_create(&labels).inc();
        self.plugin_seconds
            .get_or_create(&labels)
            .observe(stats.elapsed.as_secs_f64());
        self.plugin_fuel
            .get_or_create(&labels)
            .observe(stats.fuel_used as f64);
    }

    /// Records a plugin the circuit breaker switched off.
    pub fn plugin_switched_off(&self, hook: &str) {
        self.plugin_switched_off
            .get_or_create(&PluginLabels {
                hook: hook.to_owned(),
                outcome: "SWITCHED_OFF".to_owned(),
            })
            .inc();
    }

    /// Records one outbox delivery attempt and its lag.
    pub fn outbox_delivery(&self, destination: &str, outcome: &str, lag_seconds: f64) {
        let labels = OutboxLabels {
            destination: destination.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.outbox_deliveries.get_or_create(&labels).inc();
        self.outbox_lag.get_or_create(&labels).observe(lag_seconds);
    }

    /// Counts a subscription as open until the returned guard is dropped.
    pub fn subscription_opened(&self) -> LiveSubscription {
        self.live_subscriptions.inc();
        LiveSubscription(self.live_subscriptions.clone())
    }

    /// Subscriptions open now.
    pub fn live_subscriptions(&self) -> i64 {
        self.live_subscriptions.get()
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

/// An open subscription, counted in `oms_live_subscriptions` while it lives.
pub struct LiveSubscription(Gauge);

impl Drop for LiveSubscription {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_operation_names_become_labels() {
        let metrics = Metrics::with_operations(&["ClaimQueue".to_owned(), " Orders ".to_owned()]);
        for i in 0..1_000 {
            metrics.observe(Some(&format!("made_up_{i}")), "ok", 0.001);
        }
        metrics.observe(Some("ClaimQueue"), "ok", 0.001);
        metrics.observe(Some("Orders"), "ok", 0.001);
        metrics.observe(None, "refused", 0.001);
        let text = metrics.render();
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("oms_graphql_requests_total{"))
            .collect();
        assert_eq!(series.len(), 4, "{series:?}");
        assert!(text.contains(r#"oms_graphql_requests_total{operation="other",outcome="ok"} 1000"#));
        assert!(text.contains(r#"operation="ClaimQueue""#));
        assert!(text.contains(r#"operation="Orders""#));
        assert!(!text.contains("made_up"));
    }
}
