//! Policy plugin costs (`cargo bench --bench plugins`): what a seller's plugin adds over the
//! native default, from one hook evaluation up to a whole `requestReturn` through the router.
//!
//! 1. Warm evaluations of `claim_fees` and `exchange_rules` through every example plugin and
//!    the native default on the upload's sample inputs: p50/p99, instantiation, fuel.
//! 2. Cold: an upload's check (validate, compile, link, contract version, smoke evaluation)
//!    and the first evaluation after it, on modules made distinct by a custom section.
//! 3. Host overhead: a guest that returns a constant `FeeDecision` without reading its input,
//!    through the same path (encode, instantiate, alloc, write, call, read, decode).
//! 4. `requestReturn` on SQLite through the real router: the default-policy plugin active for
//!    one seller against the native default for another, interleaved.
//!
//! A custom harness (no criterion): the issue asks for p50 and p99 side by side with targets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/api/wasm.rs"]
mod wasm;

use std::fmt::Debug;
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use entity::{customer, product, product_option, seller};
use http_body_util::BodyExt;
use oms::app::App;
use oms::auth::TokenKeys;
use oms::clock::ManualClock;
use oms::config::{JobArgs, LimitArgs};
use oms::db::Db;
use oms::domain::actor::Role;
use oms::domain::policy::{defaults, PolicyHook};
use oms::metrics::Metrics;
use oms::plugin::{
    samples, CompiledPlugin, FailureReason, Output, PluginError, PluginHost, PluginLimits,
};
use oms::repo;
use oms_policy_sdk::{Document, ExchangeVerdict, FeeDecision, WindowVerdict};
use sea_orm::Set;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Warm evaluations measured per plugin and hook, after `WARMUP` unmeasured ones.
const ITERATIONS: usize = 20_000;
const WARMUP: usize = 2_000;
/// Native calls are timed in batches (a call is shorter than the timer's resolution).
const NATIVE_BATCH: usize = 100;
/// Distinct modules checked per plugin and hook for the cold figures.
const COLD_REPS: usize = 20;
/// `requestReturn` calls measured per seller, after `E2E_WARMUP` unmeasured ones.
const E2E_ORDERS: usize = 300;
const E2E_WARMUP: usize = 20;

/// Targets from the issue, in microseconds.
const TARGET_WARM_P50: f64 = 20.0;
const TARGET_INSTANTIATE_P50: f64 = 10.0;
const TARGET_OVERHEAD_P50: f64 = 5.0;
const TARGET_E2E_RATIO: f64 = 1.05;

// ---------------------------------------------------------------------------------------------
// Deadline misses.

/// Evaluations (upload smoke evaluations included) that ran past the 5 ms deadline: on a
/// 2-core machine under load the scheduler can take the CPU away from one for longer. They are
/// retried (upload checks) or timed and counted (evaluations), never fatal; the total is
/// printed.
static DEADLINE_MISSES: AtomicUsize = AtomicUsize::new(0);

fn missed_deadline() {
    DEADLINE_MISSES.fetch_add(1, Ordering::Relaxed);
}

/// `PluginHost::check`, again when its smoke evaluation ran past the deadline; returns the
/// compiled plugin and the time of the attempt that passed. A retry finds the module compiled:
/// cold timings use [`cold`]'s fresh bytes instead.
fn check(host: &PluginHost, bytes: &[u8], hook: PolicyHook) -> (Arc<CompiledPlugin>, Duration) {
    for _ in 0..10 {
        let started = Instant::now();
        match host.check(bytes, hook) {
            Ok(checked) => return (checked.plugin, started.elapsed()),
            Err(PluginError::SmokeFailed { failure: f, .. })
                if f.reason == FailureReason::Deadline =>
            {
                missed_deadline();
            }
            Err(e) => panic!("{}: {e}", hook.as_str()),
        }
    }
    panic!(
        "{}: the smoke evaluation ran past the deadline 10 times",
        hook.as_str()
    );
}

// ---------------------------------------------------------------------------------------------
// Statistics.

#[derive(Debug, Clone, Copy)]
struct Summary {
    p50: f64,
    p99: f64,
    mean: f64,
    min: f64,
    max: f64,
}

/// Nearest-rank percentiles of samples in microseconds.
fn summarize(samples: &[f64]) -> Summary {
    assert!(!samples.is_empty());
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let k = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[k.clamp(1, v.len()) - 1]
    };
    Summary {
        p50: rank(50.0),
        p99: rank(99.0),
        mean: v.iter().sum::<f64>() / v.len() as f64,
        min: v[0],
        max: v[v.len() - 1],
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// "met" when `value` is under `target`.
fn verdict(value: f64, target: f64) -> &'static str {
    if value < target {
        "met"
    } else {
        "MISSED"
    }
}

// ---------------------------------------------------------------------------------------------
// The modules.

/// A module under test and the hooks it exports.
struct Subject {
    name: &'static str,
    bytes: Vec<u8>,
    hooks: &'static [PolicyHook],
}

fn subjects() -> Vec<Subject> {
    use PolicyHook::{ClaimFees, ExchangeRules};
    vec![
        Subject {
            name: "default-policy",
            bytes: wasm::example("default-policy"),
            hooks: &[ClaimFees, ExchangeRules],
        },
        Subject {
            name: "free-size-exchange",
            bytes: wasm::example("free-size-exchange"),
            hooks: &[ClaimFees],
        },
        Subject {
            name: "whole-set-bulky",
            bytes: wasm::example("whole-set-bulky"),
            hooks: &[ClaimFees, ExchangeRules],
        },
        Subject {
            name: "wat-flat-fee",
            bytes: wasm::flat_fee(),
            hooks: &[ClaimFees],
        },
    ]
}

/// The least a `claim_fees` guest can do: `oms_alloc` hands out a fixed buffer, the hook
/// returns a 32-byte `FeeDecision` (CUSTOMER, both flags, return fee 1000, no message) that
/// sits in a data segment, and never looks at its input.
fn trivial_guest() -> Vec<u8> {
    wasm::wat(
        r#"(module
  (memory (export "memory") 1)
  ;; fault 1 | flags 3 | return_fee 1000 | exchange_fee 0 | message (0, 0)
  (data (i32.const 512)
    "\01\00\00\00\03\00\00\00\e8\03\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (func (export "oms_contract_version") (result i32) (i32.const 1))
  (func (export "oms_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "claim_fees") (param i32 i32) (result i64)
    (i64.const 2199023255584)))"#, // (512 << 32) | 32
    )
}

// ---------------------------------------------------------------------------------------------
// Warm evaluations.

/// Per-evaluation figures of a warm run, in microseconds.
struct Warm {
    /// `PluginHost::evaluate`: encode, evaluate_bytes, decode.
    total: Summary,
    /// `EvaluationStats::elapsed` (evaluate_bytes: store, instantiate, alloc, write, call,
    /// read).
    inner: Summary,
    /// `EvaluationStats::instantiate` (store set-up and instantiation).
    instantiate: Summary,
    /// Fuel of the successful evaluations.
    fuel_min: u64,
    fuel_max: u64,
    /// Failed evaluations (timed all the same), by reason.
    failures: Vec<FailureReason>,
}

impl Warm {
    /// " (2 failed: DEADLINE 2)" or "".
    fn failed(&self) -> String {
        if self.failures.is_empty() {
            return String::new();
        }
        let mut by_reason = std::collections::BTreeMap::new();
        for r in &self.failures {
            *by_reason.entry(r.as_str()).or_insert(0) += 1;
        }
        let reasons: Vec<String> = by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        format!(" ({} failed: {})", self.failures.len(), reasons.join(", "))
    }
}

fn warm<I, O>(
    host: &PluginHost,
    plugin: &CompiledPlugin,
    hook: PolicyHook,
    input: &I,
    expected: Option<&O>,
) -> Warm
where
    I: Document,
    O: Output + PartialEq + Debug,
{
    let first = (0..10)
        .find_map(|_| match host.evaluate::<I, O>(plugin, hook, input).0 {
            Ok(out) => Some(out),
            Err(f) if f.reason == FailureReason::Deadline => {
                missed_deadline();
                None
            }
            Err(f) => panic!("{}: {f}", hook.as_str()),
        })
        .expect("an evaluation within the deadline");
    if let Some(expected) = expected {
        assert_eq!(&first, expected, "the plugin decides as the native default");
    }
    for _ in 0..WARMUP {
        let _ = black_box(host.evaluate::<I, O>(plugin, hook, input));
    }
    let mut total = Vec::with_capacity(ITERATIONS);
    let mut inner = Vec::with_capacity(ITERATIONS);
    let mut instantiate = Vec::with_capacity(ITERATIONS);
    let (mut fuel_min, mut fuel_max, mut failures) = (u64::MAX, 0, Vec::new());
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let (out, stats) = host.evaluate::<I, O>(plugin, hook, black_box(input));
        let elapsed = started.elapsed();
        match out {
            Ok(out) => {
                black_box(out);
                fuel_min = fuel_min.min(stats.fuel_used);
                fuel_max = fuel_max.max(stats.fuel_used);
            }
            Err(failure) => {
                if failure.reason == FailureReason::Deadline {
                    missed_deadline();
                }
                failures.push(failure.reason);
            }
        }
        total.push(us(elapsed));
        inner.push(us(stats.elapsed));
        instantiate.push(us(stats.instantiate));
    }
    Warm {
        total: summarize(&total),
        inner: summarize(&inner),
        instantiate: summarize(&instantiate),
        fuel_min,
        fuel_max,
        failures,
    }
}

/// The native default: per-call time from batches of `NATIVE_BATCH` calls (inputs cloned
/// before the clock starts; dropping the outputs is timed).
fn native<I: Clone, O>(input: &I, decide: fn(I) -> O) -> Summary {
    let batch = |inputs: Vec<I>| {
        let started = Instant::now();
        for i in inputs {
            black_box(decide(black_box(i)));
        }
        us(started.elapsed()) / NATIVE_BATCH as f64
    };
    for _ in 0..WARMUP / NATIVE_BATCH {
        batch(vec![input.clone(); NATIVE_BATCH]);
    }
    let per_call: Vec<f64> = (0..ITERATIONS / NATIVE_BATCH)
        .map(|_| batch(vec![input.clone(); NATIVE_BATCH]))
        .collect();
    summarize(&per_call)
}

/// The encode and decode the host does around a `claim_fees` evaluation, alone.
fn codec_costs() -> (Summary, Summary) {
    let input = samples::claim_fees();
    let output = defaults::claim_fees(input.clone()).encode();
    let mut encode = Vec::with_capacity(ITERATIONS);
    let mut decode = Vec::with_capacity(ITERATIONS);
    for _ in 0..WARMUP {
        black_box(black_box(&input).encode());
        black_box(FeeDecision::decode(black_box(&output)).ok());
    }
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        black_box(black_box(&input).encode());
        encode.push(us(started.elapsed()));
        let started = Instant::now();
        black_box(FeeDecision::decode(black_box(&output)).ok());
        decode.push(us(started.elapsed()));
    }
    (summarize(&encode), summarize(&decode))
}

// ---------------------------------------------------------------------------------------------
// Cold: upload check and first evaluation.

struct Cold {
    check: Summary,
    first: Summary,
    first_instantiate: Summary,
}

fn cold(host: &PluginHost, subject: &Subject, hook: PolicyHook) -> Cold {
    let (mut check, mut first, mut first_instantiate) = (Vec::new(), Vec::new(), Vec::new());
    let mut attempt = 0;
    while check.len() < COLD_REPS {
        attempt += 1;
        assert!(attempt <= 10 * COLD_REPS, "too many deadline misses");
        let bytes = wasm::distinct(
            &subject.bytes,
            &format!(
                "{}/{}/{attempt}/{:?}",
                subject.name,
                hook.as_str(),
                Instant::now()
            ),
        );
        let started = Instant::now();
        let plugin = match host.check(&bytes, hook) {
            Ok(checked) => checked.plugin,
            // Fresh bytes for a retry, so it is as cold as the first attempt.
            Err(PluginError::SmokeFailed { failure: f, .. })
                if f.reason == FailureReason::Deadline =>
            {
                missed_deadline();
                continue;
            }
            Err(e) => panic!("{} {}: {e}", subject.name, hook.as_str()),
        };
        check.push(us(started.elapsed()));
        let started = Instant::now();
        let (ok, stats) = match hook {
            PolicyHook::ExchangeRules => {
                let (out, stats) =
                    host.evaluate::<_, ExchangeVerdict>(&plugin, hook, &samples::exchange_rules());
                (black_box(out).map(drop), stats)
            }
            _ => {
                let (out, stats) =
                    host.evaluate::<_, FeeDecision>(&plugin, hook, &samples::claim_fees());
                (black_box(out).map(drop), stats)
            }
        };
        match ok {
            Ok(()) => {}
            Err(f) if f.reason == FailureReason::Deadline => missed_deadline(),
            Err(f) => panic!("{} {}: {f}", subject.name, hook.as_str()),
        }
        first.push(us(started.elapsed()));
        first_instantiate.push(us(stats.instantiate));
    }
    Cold {
        check: summarize(&check),
        first: summarize(&first),
        first_instantiate: summarize(&first_instantiate),
    }
}

// ---------------------------------------------------------------------------------------------
// Micro benchmarks: sections 1 to 5 of the report.

struct Row {
    name: String,
    hook: &'static str,
    warm: Option<Warm>,
    native: Option<Summary>,
    cold: Option<Cold>,
}

fn micro() -> (Vec<Row>, Warm) {
    let host = PluginHost::new(PluginLimits::default()).expect("plugin host");
    let cold_host = PluginHost::new(PluginLimits::default()).expect("plugin host");
    let fees = samples::claim_fees();
    let rules = samples::exchange_rules();
    let native_fees = defaults::claim_fees(fees.clone());
    let native_rules = defaults::exchange_rules(rules.clone());
    let mut rows = Vec::new();
    for subject in subjects() {
        for &hook in subject.hooks {
            eprintln!("  {} {}", subject.name, hook.export_name());
            let (plugin, _) = check(&host, &subject.bytes, hook);
            let same_as_native = subject.name == "default-policy";
            let warm = match hook {
                PolicyHook::ExchangeRules => warm(
                    &host,
                    &plugin,
                    hook,
                    &rules,
                    same_as_native.then_some(&native_rules),
                ),
                _ => warm(
                    &host,
                    &plugin,
                    hook,
                    &fees,
                    same_as_native.then_some(&native_fees),
                ),
            };
            rows.push(Row {
                name: format!("{} ({} B)", subject.name, subject.bytes.len()),
                hook: hook.export_name(),
                warm: Some(warm),
                native: None,
                cold: Some(cold(&cold_host, &subject, hook)),
            });
        }
    }
    eprintln!("  native default");
    rows.push(Row {
        name: "native default".into(),
        hook: "claim_fees",
        warm: None,
        native: Some(native(&fees, defaults::claim_fees)),
        cold: None,
    });
    rows.push(Row {
        name: "native default".into(),
        hook: "exchange_rules",
        warm: None,
        native: Some(native(&rules, defaults::exchange_rules)),
        cold: None,
    });
    eprintln!("  trivial guest");
    let trivial = trivial_guest();
    let (plugin, _) = check(&host, &trivial, PolicyHook::ClaimFees);
    let overhead = warm::<_, FeeDecision>(&host, &plugin, PolicyHook::ClaimFees, &fees, None);
    (rows, overhead)
}

fn print_micro(rows: &[Row], overhead: &Warm, codec: (Summary, Summary)) {
    println!();
    println!(
        "== 1. Warm evaluation: {ITERATIONS} iterations after {WARMUP} warm-up, sample inputs, \
         PluginLimits::default()"
    );
    println!(
        "   total = PluginHost::evaluate (encode + store + instantiate + alloc + write + call + \
         read + decode); µs"
    );
    println!("   native = defaults::* per call, from batches of {NATIVE_BATCH} (timer resolution)");
    println!(
        "{:<28} {:<15} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}  target p50 < {TARGET_WARM_P50} µs",
        "plugin", "hook", "p50", "p99", "mean", "inner p50", "inst p50", "inst p99"
    );
    for r in rows {
        if let Some(w) = &r.warm {
            println!(
                "{:<28} {:<15} {:>9.2} {:>9.2} {:>9.2} {:>10.2} {:>10.2} {:>10.2}  {}{}",
                r.name,
                r.hook,
                w.total.p50,
                w.total.p99,
                w.total.mean,
                w.inner.p50,
                w.instantiate.p50,
                w.instantiate.p99,
                verdict(w.total.p50, TARGET_WARM_P50),
                w.failed()
            );
        }
        if let Some(n) = &r.native {
            println!(
                "{:<28} {:<15} {:>9.3} {:>9.3} {:>9.3} {:>10} {:>10} {:>10}",
                r.name, r.hook, n.p50, n.p99, n.mean, "-", "-", "-"
            );
        }
    }

    println!();
    println!(
        "== 2. Instantiation alone (EvaluationStats::instantiate: Store::new with limiter, fuel \
         and epoch deadline, then InstancePre::instantiate); µs"
    );
    println!(
        "{:<28} {:<15} {:>9} {:>9}  target p50 < {TARGET_INSTANTIATE_P50} µs",
        "plugin", "hook", "p50", "p99"
    );
    for r in rows {
        if let Some(w) = &r.warm {
            println!(
                "{:<28} {:<15} {:>9.2} {:>9.2}  {}",
                r.name,
                r.hook,
                w.instantiate.p50,
                w.instantiate.p99,
                verdict(w.instantiate.p50, TARGET_INSTANTIATE_P50)
            );
        }
    }
    println!(
        "{:<28} {:<15} {:>9.2} {:>9.2}  {}",
        "trivial guest",
        "claim_fees",
        overhead.instantiate.p50,
        overhead.instantiate.p99,
        verdict(overhead.instantiate.p50, TARGET_INSTANTIATE_P50)
    );

    println!();
    println!(
        "== 3. Host overhead: a guest returning a constant 32-byte FeeDecision without reading \
         its input, same path; µs"
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9}  target p50 < {TARGET_OVERHEAD_P50} µs",
        "part", "p50", "p99", "mean", "max"
    );
    let line = |name: &str, s: &Summary, target: Option<f64>| {
        println!(
            "{:<28} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}",
            name,
            s.p50,
            s.p99,
            s.mean,
            s.max,
            target.map_or("", |t| verdict(s.p50, t))
        );
    };
    line(
        "total (evaluate)",
        &overhead.total,
        Some(TARGET_OVERHEAD_P50),
    );
    line("  evaluate_bytes", &overhead.inner, None);
    line("    of which instantiate", &overhead.instantiate, None);
    line("  encode input (alone)", &codec.0, None);
    line("  decode output (alone)", &codec.1, None);
    println!(
        "   fuel of the trivial guest: {}{}",
        overhead.fuel_min,
        overhead.failed()
    );

    println!();
    println!("== 4. Fuel per evaluation on the sample input (successful evaluations; stable when min = max)");
    println!("{:<28} {:<15} {:>9} {:>9}", "plugin", "hook", "min", "max");
    for r in rows {
        if let Some(w) = &r.warm {
            println!(
                "{:<28} {:<15} {:>9} {:>9}{}",
                r.name,
                r.hook,
                w.fuel_min,
                w.fuel_max,
                if w.fuel_min == w.fuel_max {
                    "  stable"
                } else {
                    "  UNSTABLE"
                }
            );
        }
    }

    println!();
    println!(
        "== 5. Cold: {COLD_REPS} distinct modules per row (custom section appended); check = \
         PluginHost::check (validate + compile + link + contract version + smoke evaluation); \
         first = the first evaluate after it"
    );
    println!(
        "{:<28} {:<15} {:>11} {:>11} {:>11} {:>11} {:>14}",
        "plugin", "hook", "check p50", "check p99", "first p50", "first p99", "first inst p50"
    );
    println!(
        "{:<28} {:<15} {:>11} {:>11} {:>11} {:>11} {:>14}",
        "", "", "ms", "ms", "µs", "µs", "µs"
    );
    for r in rows {
        if let Some(c) = &r.cold {
            println!(
                "{:<28} {:<15} {:>11.2} {:>11.2} {:>11.2} {:>11.2} {:>14.2}",
                r.name,
                r.hook,
                c.check.p50 / 1000.0,
                c.check.p99 / 1000.0,
                c.first.p50,
                c.first.p99,
                c.first_instantiate.p50
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// requestReturn through the router.

struct Server {
    app: App,
    router: Router,
}

impl Server {
    /// POSTs a GraphQL request; returns `data` and the time from the request to the last byte
    /// of the response.
    async fn gql(&self, token: &str, query: &str, variables: Value) -> (Value, Duration) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let started = Instant::now();
        let req = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/graphql-response+json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let elapsed = started.elapsed();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!("not JSON: {}", String::from_utf8_lossy(&bytes));
        });
        assert_eq!(status, StatusCode::OK, "{value}");
        assert!(value.get("errors").is_none(), "errors: {value}");
        (value["data"].clone(), elapsed)
    }

    fn token(&self, role: Role, subject: &str) -> String {
        self.app
            .keys
            .issue(role, subject, chrono::Duration::days(1))
            .unwrap()
    }

    async fn seller(&self, name: &str) -> i64 {
        repo::catalog::insert_seller(
            self.app.db.conn(),
            seller::ActiveModel {
                name: Set(name.to_owned()),
                base_shipping_fee: Set(3000),
                free_shipping_threshold: Set(50_000),
                return_fee: Set(3000),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    async fn option(&self, seller: i64, price: i64, stock: i64) -> i64 {
        let db = self.app.db.conn();
        let product = repo::catalog::insert_product(
            db,
            product::ActiveModel {
                seller_id: Set(seller),
                name: Set(format!("상품 {price}")),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        repo::catalog::insert_option(
            db,
            product_option::ActiveModel {
                product_id: Set(product),
                name: Set("기본".to_owned()),
                price: Set(price),
                stock: Set(stock),
                instant_discount: Set(0),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    async fn customer(&self) -> i64 {
        repo::catalog::insert_customer(
            self.app.db.conn(),
            customer::ActiveModel {
                name: Set("벤치 고객".to_owned()),
                email: Set("bench@example.com".to_owned()),
                points_balance: Set(0),
                refund_bank: Set(None),
                refund_account_number: Set(None),
                refund_account_holder: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }
}

fn gid(kind: &str, id: i64) -> String {
    format!("gid://oms/{kind}/{id}")
}

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { orderNumber lines { id } } userErrors { code message } } }";
const REQUEST_RETURN: &str = "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { claim { claimNumber status fault policyDecision { claimFees { policy fallback { reason } } claimWindow { policy fallback { reason } } } } userErrors { code message } } }";

/// One seller's side of the comparison.
struct Side {
    label: &'static str,
    customer: String,
    /// (order number, line id), one unit each, delivered.
    orders: Vec<(String, String)>,
    /// The policy every measured claim must name for both hooks.
    policy: &'static str,
    times: Vec<f64>,
    /// SQL statements per measured call.
    statements: Vec<f64>,
    fallbacks: usize,
}

async fn place_and_deliver(s: &Server, ops: &str, customer: &str, option: i64) -> (String, String) {
    let (d, _) = s
        .gql(
            customer,
            PLACE,
            json!({"input": {"lines": [{"optionId": gid("ProductOption", option), "quantity": 1}], "paymentMethod": "CARD"}}),
        )
        .await;
    assert_eq!(d["placeOrder"]["userErrors"], json!([]), "{d}");
    let order = &d["placeOrder"]["order"];
    let number = order["orderNumber"].as_str().unwrap().to_owned();
    let line = order["lines"][0]["id"].as_str().unwrap().to_owned();
    for (mutation, doc, vars) in [
        ("confirmOrder", "mutation($n: String!, $l: [ID!]) { confirmOrder(input: {orderNumber: $n, lineIds: $l}) { userErrors { code message } } }", json!({"n": number, "l": [line]})),
        ("shipLines", "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ대한통운\", trackingNumber: \"1\"}) { userErrors { code message } } }", json!({"l": [line]})),
        ("markDelivered", "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code message } } }", json!({"l": [line]})),
    ] {
        let (d, _) = s.gql(ops, doc, vars).await;
        assert_eq!(d[mutation]["userErrors"], json!([]), "{mutation}: {d}");
    }
    (number, line)
}

async fn request_return(s: &Server, side: &mut Side, i: usize, measured: bool) {
    let (number, line) = &side.orders[i];
    let input = json!({"orderNumber": number, "items": [{"lineId": line, "quantity": 1}], "reason": "CHANGE_OF_MIND"});
    let before = s.app.db.statement_count();
    let (d, elapsed) = s
        .gql(&side.customer, REQUEST_RETURN, json!({ "input": input }))
        .await;
    let statements = s.app.db.statement_count() - before;
    let payload = &d["requestReturn"];
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let decision = &payload["claim"]["policyDecision"];
    for hook in ["claimFees", "claimWindow"] {
        if decision[hook]["fallback"].is_null() {
            assert_eq!(
                decision[hook]["policy"], side.policy,
                "{}: {decision}",
                side.label
            );
        } else if measured {
            side.fallbacks += 1;
        }
    }
    if measured {
        side.times.push(us(elapsed));
        side.statements.push(statements as f64);
    }
}

async fn e2e(dir: &Path) -> (Side, Side, Breakdown) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let db = Db::connect(&url, 8).await.expect("connect");
    db.migrate().await.expect("migrate");
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .unwrap(),
    );
    let app = App {
        gateway: Arc::new(oms::gateway::SimulatedGateway::default()),
        courier_secret: "courier-secret".into(),
        courier: Arc::new(oms::courier::SimulatedCourier),
        live: oms::outbox::live::LiveHub::new(db.clone()),
        db,
        clock: Arc::new(clock.clone()),
        keys: TokenKeys::new("bench-secret"),
        limits: LimitArgs::default(),
        jobs: JobArgs::default(),
        metrics: Metrics::new(),
        instance_id: "bench".into(),
        // Production limits: the 5 ms deadline included.
        plugins: Arc::new(PluginHost::new(PluginLimits::default()).expect("plugin host")),
        // As the tests do: deliveries are only logged (no webhooks are registered).
        plugin_quota: Default::default(),
        outbox: Arc::new(oms::outbox::dispatch::Channels::log_only(
            oms::outbox::webhook_client::WebhookClient::new(
                Default::default(),
                &Default::default(),
            )
            .expect("webhook client"),
        )),
    };
    let router = oms::http::router(app.clone(), Path::new("web/node_modules"));
    let s = Server { app, router };
    let ops = s.token(Role::Operator, "ops");

    let with_plugin = s.seller("A (default-policy plugin)").await;
    let native = s.seller("B (native default)").await;
    let seller_token = s.token(Role::Seller, &with_plugin.to_string());
    let wasm = base64::engine::general_purpose::STANDARD.encode(wasm::example("default-policy"));
    // A return asks claim_fees and claim_window: the plugin takes both.
    for hook in ["CLAIM_FEES", "CLAIM_WINDOW"] {
        let mut id = Value::Null;
        for _ in 0..10 {
            let (d, _) = s
                .gql(
                    &seller_token,
                    "mutation($input: UploadPluginInput!) { uploadPlugin(input: $input) { plugin { id } userErrors { code message } } }",
                    json!({"input": {"hook": hook, "wasmBase64": wasm}}),
                )
                .await;
            let refusal = d["uploadPlugin"]["userErrors"][0]["message"].as_str();
            if refusal.is_some_and(|m| m.contains("DEADLINE")) {
                missed_deadline();
                continue;
            }
            assert_eq!(d["uploadPlugin"]["userErrors"], json!([]), "{d}");
            id = d["uploadPlugin"]["plugin"]["id"].clone();
            break;
        }
        assert!(!id.is_null(), "the upload ran past the deadline 10 times");
        let (d, _) = s
            .gql(
                &seller_token,
                "mutation($id: ID!) { activatePlugin(input: {pluginId: $id}) { plugin { state } userErrors { code message } } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(d["activatePlugin"]["plugin"]["state"], "ACTIVE", "{d}");
    }

    let total = E2E_WARMUP + E2E_ORDERS;
    let mut sides = Vec::new();
    for (label, seller, policy) in [
        ("plugin", with_plugin, "PLUGIN"),
        ("native", native, "DEFAULT"),
    ] {
        let option = s.option(seller, 29_000, 10 * total as i64).await;
        let customer = s.customer().await;
        sides.push((
            option,
            Side {
                label,
                customer: s.token(Role::Customer, &customer.to_string()),
                orders: Vec::with_capacity(total),
                policy,
                times: Vec::with_capacity(E2E_ORDERS),
                statements: Vec::with_capacity(E2E_ORDERS),
                fallbacks: 0,
            },
        ));
    }
    let started = Instant::now();
    for _ in 0..total {
        for (option, side) in &mut sides {
            let order = place_and_deliver(&s, &ops, &side.customer, *option).await;
            side.orders.push(order);
        }
    }
    eprintln!(
        "  {} orders placed and delivered in {:.1} s",
        2 * total,
        started.elapsed().as_secs_f64()
    );
    // A day after delivery: inside the 7-day window of a change of mind.
    clock.advance(chrono::Duration::days(1));
    let (_, mut a) = sides.remove(0);
    let (_, mut b) = sides.remove(0);
    for i in 0..total {
        let measured = i >= E2E_WARMUP;
        request_return(&s, &mut a, i, measured).await;
        request_return(&s, &mut b, i, measured).await;
    }
    let breakdown = breakdown(&s, with_plugin, native).await;
    (a, b, breakdown)
}

/// Where the plugin side's extra time goes, piece by piece on the same app and database.
struct Breakdown {
    /// `repo::plugins::active_of_seller` for the seller with plugins (two rows).
    lookup_plugin: Summary,
    /// The same for the seller without (no rows).
    lookup_native: Summary,
    /// The two plugin rows alone: columns on both sides of the `wasm` blob, as read.
    rows_all: Summary,
    /// The same rows, only the columns stored before the blob.
    rows_before_blob: Summary,
    /// `claim_fees` + `claim_window` through `PluginHost::evaluate`, back to back.
    direct_hot: Summary,
    /// The same between database calls, as in a request.
    direct: Summary,
    /// The same after the thread slept 1 ms (a request waits on SQLite's fsync).
    direct_idle: Summary,
    /// The two through `evaluate_blocking` (semaphore, blocking pool and back), as claims do,
    /// between database calls.
    blocking: Summary,
    /// The same after 1 ms asleep.
    blocking_idle: Summary,
    /// The same two hooks natively.
    native: Summary,
}

/// Counts an evaluation that ran past the deadline; any other failure is a bug.
fn count_deadline_misses(outcome: Result<(), oms::plugin::Failure>) {
    match outcome {
        Ok(()) => {}
        Err(f) if f.reason == FailureReason::Deadline => missed_deadline(),
        Err(f) => panic!("{f}"),
    }
}

/// `claim_fees` then `claim_window` through the blocking pool, as a return asks them.
async fn blocking_pair(host: &Arc<PluginHost>, plugin: &Arc<CompiledPlugin>) {
    let (a, _) = host
        .evaluate_blocking::<_, FeeDecision>(
            plugin.clone(),
            PolicyHook::ClaimFees,
            samples::claim_fees(),
        )
        .await;
    let (b, _) = host
        .evaluate_blocking::<_, WindowVerdict>(
            plugin.clone(),
            PolicyHook::ClaimWindow,
            samples::claim_window(),
        )
        .await;
    count_deadline_misses(a.map(drop).and(b.map(drop)));
}

async fn breakdown(s: &Server, with_plugin: i64, native: i64) -> Breakdown {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let host = &s.app.plugins;
    let plugin = host
        .cached(&PluginHost::sha256(&wasm::example("default-policy")))
        .expect("compiled at upload");
    let db = s.app.db.conn();
    let ids = repo::plugins::active_of_seller(db, with_plugin)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let all_columns = format!(
        "SELECT id, seller_id, hook, version, sha256, size_bytes, uploaded_by, uploaded_at, \
         fuel_used_at_upload, consecutive_failures, switched_off_at FROM plugins WHERE id IN ({ids})"
    );
    let before_blob = format!(
        "SELECT id, seller_id, hook, version, sha256, size_bytes FROM plugins WHERE id IN ({ids})"
    );
    let (fees, window) = (samples::claim_fees(), samples::claim_window());
    let evaluate_pair = || {
        let (a, _) = host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &fees);
        let (b, _) = host.evaluate::<_, WindowVerdict>(&plugin, PolicyHook::ClaimWindow, &window);
        count_deadline_misses(a.map(drop).and(b.map(drop)));
    };
    let idle = || tokio::time::sleep(Duration::from_millis(1));
    // Samples by piece, in the order of the struct's fields.
    let mut v: [Vec<f64>; 10] = Default::default();
    for i in 0..E2E_WARMUP + E2E_ORDERS {
        let mut sample = [0.0; 10];
        let started = Instant::now();
        black_box(
            repo::plugins::active_of_seller(db, with_plugin)
                .await
                .unwrap(),
        );
        sample[0] = us(started.elapsed());
        let started = Instant::now();
        black_box(repo::plugins::active_of_seller(db, native).await.unwrap());
        sample[1] = us(started.elapsed());
        for (k, sql) in [(2, &all_columns), (3, &before_blob)] {
            let started = Instant::now();
            let rows = db
                .query_all(Statement::from_string(DbBackend::Sqlite, sql.clone()))
                .await
                .unwrap();
            assert_eq!(rows.len(), 2);
            sample[k] = us(started.elapsed());
        }
        let started = Instant::now();
        evaluate_pair();
        sample[5] = us(started.elapsed());
        idle().await;
        let started = Instant::now();
        evaluate_pair();
        sample[6] = us(started.elapsed());
        black_box(repo::plugins::active_of_seller(db, native).await.unwrap());
        let started = Instant::now();
        blocking_pair(host, &plugin).await;
        sample[7] = us(started.elapsed());
        idle().await;
        let started = Instant::now();
        blocking_pair(host, &plugin).await;
        sample[8] = us(started.elapsed());
        let started = Instant::now();
        black_box((
            defaults::claim_fees(fees.clone()),
            defaults::claim_window(window.clone()),
        ));
        sample[9] = us(started.elapsed());
        if i >= E2E_WARMUP {
            for (samples, x) in v.iter_mut().zip(sample) {
                samples.push(x);
            }
        }
    }
    v[4] = (0..E2E_WARMUP + E2E_ORDERS)
        .map(|_| {
            let started = Instant::now();
            evaluate_pair();
            us(started.elapsed())
        })
        .skip(E2E_WARMUP)
        .collect();
    let [lookup_plugin, lookup_native, rows_all, rows_before_blob, direct_hot, direct, direct_idle, blocking, blocking_idle, native] =
        v.map(|samples| summarize(&samples));
    Breakdown {
        lookup_plugin,
        lookup_native,
        rows_all,
        rows_before_blob,
        direct_hot,
        direct,
        direct_idle,
        blocking,
        blocking_idle,
        native,
    }
}

fn print_e2e(a: &Side, b: &Side, d: &Breakdown) {
    let (sa, sb) = (summarize(&a.times), summarize(&b.times));
    println!();
    println!(
        "== 6. requestReturn on SQLite (temp-dir file, WAL, synchronous=FULL) through \
         oms::http::router in process; {E2E_ORDERS} calls per seller after {E2E_WARMUP} warm-up, \
         interleaved A,B,A,B; PluginLimits::default() (5 ms deadline); 1-unit orders, \
         CHANGE_OF_MIND a day after delivery"
    );
    println!(
        "   A: default-policy plugin active for CLAIM_FEES and CLAIM_WINDOW (the two hooks a \
         return asks: 2 evaluations per call); B: native default"
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>11}",
        "seller", "p50 µs", "p99 µs", "mean µs", "min µs", "max µs", "fallbacks", "SQL/call"
    );
    for (name, s, side) in [("A plugin", sa, a), ("B native", sb, b)] {
        println!(
            "{:<28} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>10} {:>11.1}",
            name,
            s.p50,
            s.p99,
            s.mean,
            s.min,
            s.max,
            side.fallbacks,
            summarize(&side.statements).mean
        );
    }
    let (ratio_p50, ratio_mean) = (sa.p50 / sb.p50, sa.mean / sb.mean);
    println!(
        "{:<28} {:>9.3} {:>9.3} {:>9.3}   target ratio < {TARGET_E2E_RATIO}: p50 {}, mean {}",
        "ratio A/B",
        ratio_p50,
        sa.p99 / sb.p99,
        ratio_mean,
        verdict(ratio_p50, TARGET_E2E_RATIO),
        verdict(ratio_mean, TARGET_E2E_RATIO),
    );
    println!(
        "{:<28} {:>9.0} {:>9.0} {:>9.0}",
        "difference A-B (µs)",
        sa.p50 - sb.p50,
        sa.p99 - sb.p99,
        sa.mean - sb.mean
    );
    println!();
    println!(
        "   Breakdown of the difference, same app and database after the run ({E2E_ORDERS} \
         interleaved samples each; µs)"
    );
    println!("{:<60} {:>9} {:>9} {:>9}", "piece", "p50", "p99", "mean");
    for (name, s) in [
        (
            "active_of_seller, seller A (2 plugin rows)",
            &d.lookup_plugin,
        ),
        ("active_of_seller, seller B (no rows)", &d.lookup_native),
        ("  the 2 plugin rows alone, columns as read", &d.rows_all),
        (
            "  the same, only the columns before the wasm blob",
            &d.rows_before_blob,
        ),
        (
            "2 evaluations (fees + window): evaluate, back to back",
            &d.direct_hot,
        ),
        ("2 evaluations: evaluate, between DB calls", &d.direct),
        ("2 evaluations: evaluate, after 1 ms asleep", &d.direct_idle),
        (
            "2 evaluations: evaluate_blocking, between DB calls",
            &d.blocking,
        ),
        (
            "2 evaluations: evaluate_blocking, after 1 ms asleep",
            &d.blocking_idle,
        ),
        ("2 native evaluations", &d.native),
    ] {
        println!("{:<60} {:>9.1} {:>9.1} {:>9.1}", name, s.p50, s.p99, s.mean);
    }
    println!(
        "{:<60} {:>9.1} {:>9} {:>9.1}",
        "sum: lookup A - B + evaluate_blocking after sleep - native",
        d.lookup_plugin.p50 - d.lookup_native.p50 + d.blocking_idle.p50 - d.native.p50,
        "-",
        d.lookup_plugin.mean - d.lookup_native.mean + d.blocking_idle.mean - d.native.mean,
    );
}

// ---------------------------------------------------------------------------------------------

/// Only when named (`-- profile`), for `perf record`: the trivial guest and the default-policy
/// `claim_fees`, 200,000 warm evaluations each and nothing else.
fn profile() {
    let host = PluginHost::new(PluginLimits::default()).expect("plugin host");
    let fees = samples::claim_fees();
    for (name, bytes) in [
        ("trivial guest", trivial_guest()),
        ("default-policy", wasm::example("default-policy")),
    ] {
        let (plugin, _) = check(&host, &bytes, PolicyHook::ClaimFees);
        let mut total = Vec::with_capacity(200_000);
        for _ in 0..200_000 {
            let started = Instant::now();
            let (out, _) = host.evaluate::<_, FeeDecision>(&plugin, PolicyHook::ClaimFees, &fees);
            black_box(out.ok());
            total.push(us(started.elapsed()));
        }
        let s = summarize(&total);
        println!("profile {name}: p50 {:.2} µs, p99 {:.2} µs", s.p50, s.p99);
    }
}

/// `cargo bench --bench plugins [-- micro|e2e|profile]`: sections 1-5 (`micro`) and 6
/// (`e2e`) unless some are named; `profile` only when named.
fn main() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("oms=warn")
        .try_init();
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |section: &str| wanted.is_empty() || wanted.iter().any(|w| w == section);
    let started = Instant::now();
    eprintln!("building the example plugins (nested cargo, release, wasm32)...");
    let _ = wasm::example("default-policy");
    println!(
        "oms plugin benchmark: {} logical CPUs; timings in µs unless marked",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let micro_results = run("micro").then(|| {
        eprintln!("micro benchmarks...");
        let (rows, overhead) = micro();
        let codec = codec_costs();
        print_micro(&rows, &overhead, codec);
        (rows, overhead)
    });

    let e2e_results = run("e2e").then(|| {
        eprintln!("requestReturn on SQLite...");
        let dir = std::env::temp_dir().join(format!("oms-bench-plugins-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (a, b, d) = runtime.block_on(e2e(&dir));
        drop(runtime);
        std::fs::remove_dir_all(&dir).ok();
        print_e2e(&a, &b, &d);
        (summarize(&a.times), summarize(&b.times))
    });

    if wanted.iter().any(|w| w == "profile") {
        profile();
    }

    println!();
    println!("== Targets");
    if let Some((rows, overhead)) = &micro_results {
        let warm: Vec<&Warm> = rows.iter().filter_map(|r| r.warm.as_ref()).collect();
        let warm_p50 = warm.iter().map(|w| w.total.p50).fold(0.0, f64::max);
        let inst_p50 = warm.iter().map(|w| w.instantiate.p50).fold(0.0, f64::max);
        println!(
            "warm evaluation p50 < {TARGET_WARM_P50} µs: worst plugin/hook {warm_p50:.2} µs: {}",
            verdict(warm_p50, TARGET_WARM_P50)
        );
        println!(
            "instantiation p50 < {TARGET_INSTANTIATE_P50} µs: worst plugin/hook {inst_p50:.2} µs: {}",
            verdict(inst_p50, TARGET_INSTANTIATE_P50)
        );
        println!(
            "host overhead p50 < {TARGET_OVERHEAD_P50} µs: {:.2} µs: {}",
            overhead.total.p50,
            verdict(overhead.total.p50, TARGET_OVERHEAD_P50)
        );
    }
    if let Some((sa, sb)) = &e2e_results {
        println!(
            "requestReturn plugin/native < {TARGET_E2E_RATIO}: p50 x{:.3}, mean x{:.3}: {}",
            sa.p50 / sb.p50,
            sa.mean / sb.mean,
            verdict(sa.p50 / sb.p50, TARGET_E2E_RATIO)
        );
    }
    println!(
        "evaluations past the 5 ms deadline (retried or counted above): {}",
        DEADLINE_MISSES.load(Ordering::Relaxed)
    );
    println!("total bench time {:.0} s", started.elapsed().as_secs_f64());
}
