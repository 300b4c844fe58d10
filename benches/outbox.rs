//! Outbox costs (`cargo bench --bench outbox`, issue 7): how fast the dispatcher empties a
//! backlog, and how long a committed transition waits before its partner webhook arrives.
//!
//! 1. **Throughput**: one seller webhook subscribed to `*` on a loopback HTTP sink (an axum
//!    server in this file that answers 200 and records arrival times). `MESSAGES` order-step
//!    messages are written with `oms::outbox::record_order` in transactions of 500 (the same
//!    rows a transition writes, referencing real orders placed through the router, without
//!    the cost of the transitions themselves), then the dispatcher drains them with
//!    `dispatch_once` until a round finds nothing. On PostgreSQL a second backlog is drained by
//!    two dispatchers at once (each with its own pool and instance id, as two replicas).
//! 2. **Lag**: `run_forever` with the production idle poll (100 ms) and with 20 ms, while a
//!    load generator drives return flows through the real router at a fixed rate (place →
//!    confirm → ship → deliver → requestReturn → approveClaim → markCollected →
//!    completeReturn, one transition per tick). Lag = the sink's arrival time − the webhook
//!    body's `data.occurredAt` (the `created_at` the transition wrote), on the system clock.
//!
//! SQLite runs on a temporary file (WAL, `synchronous=FULL`, as `Db::connect` opens it);
//! PostgreSQL on a fresh database at `OMS_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) when it is reachable, dropped afterwards.
//! `OMS_BENCH_OUTBOX_MESSAGES`, `OMS_BENCH_OUTBOX_SECS` and `OMS_BENCH_OUTBOX_RATE` override
//! the backlog size, the length of each lag run and its rate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use entity::{customer, product, product_option, seller};
use http_body_util::BodyExt;
use oms::app::App;
use oms::auth::TokenKeys;
use oms::clock::SystemClock;
use oms::config::{JobArgs, LimitArgs};
use oms::db::Db;
use oms::domain::actor::Role;
use oms::metrics::Metrics;
use oms::outbox::dispatch::{dispatch_once, run_forever, Channels, Report};
use oms::outbox::webhook_client::{SystemLookup, Targets, WebhookClient};
use oms::outbox::{record_order, OrderRef, ORDER_EVENT_TYPES};
use oms::plugin::{PluginHost, PluginLimits};
use oms::repo;
use sea_orm::{ConnectionTrait, Database, Set};
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Messages in each throughput backlog.
const MESSAGES: usize = 5_000;
/// Messages written per transaction when building a backlog.
const INSERT_BATCH: usize = 500;
/// Real orders the backlog's messages refer to.
const SEED_ORDERS: usize = 20;
/// Length of each lag run, in seconds.
const LAG_SECS: f64 = 20.0;
/// Transitions per second during a lag run.
const LAG_RATE: f64 = 40.0;
/// The idle polls compared: the production default (`--outbox-poll-ms 100`) and a faster one.
const IDLE_POLLS: [u64; 2] = [100, 20];
/// Pool size of each app (the server's default, `--database-max-connections`).
const POOL: u32 = 16;
/// Single-message rounds timed.
const ROUNDS: usize = 60;
/// Customers the load generator orders as (round robin).
const CUSTOMERS: usize = 8;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// The sink: a partner endpoint on loopback.

#[derive(Default)]
struct SinkState {
    arrivals: Mutex<Vec<(DateTime<Utc>, Bytes)>>,
    count: AtomicUsize,
}

/// An HTTP server on `127.0.0.1` that answers every request with 200 and records when it
/// arrived and its body (parsed only after the run).
#[derive(Clone)]
struct Sink {
    addr: SocketAddr,
    state: Arc<SinkState>,
}

async fn record(State(state): State<Arc<SinkState>>, body: Bytes) -> StatusCode {
    let now = Utc::now();
    state.arrivals.lock().unwrap().push((now, body));
    state.count.fetch_add(1, Ordering::Release);
    StatusCode::OK
}

impl Sink {
    async fn start() -> Sink {
        let state = Arc::new(SinkState::default());
        let app = Router::new().fallback(record).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Sink { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn count(&self) -> usize {
        self.state.count.load(Ordering::Acquire)
    }

    /// Everything recorded so far, emptying the record.
    fn take(&self) -> Vec<(DateTime<Utc>, Bytes)> {
        let taken = std::mem::take(&mut *self.state.arrivals.lock().unwrap());
        self.state.count.fetch_sub(taken.len(), Ordering::AcqRel);
        taken
    }

    /// Waits until at least `n` requests arrived, or `timeout` passed; returns the count.
    async fn wait_for(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        while self.count() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.count()
    }
}

// ---------------------------------------------------------------------------------------------
// The app under test.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// One app (a replica): its own pool and instance id, the system clock, log-only mail.
async fn app(url: &str, plugins: &Arc<PluginHost>, instance: &str) -> App {
    let db = Db::connect(url, POOL).await.expect("connect");
    App {
        live: oms::outbox::live::LiveHub::new(db.clone()),
        db,
        clock: Arc::new(SystemClock),
        keys: TokenKeys::new("bench-secret"),
        limits: LimitArgs::default(),
        jobs: JobArgs::default(),
        metrics: Metrics::new(),
        gateway: Arc::new(oms::gateway::SimulatedGateway::default()),
        courier_secret: "courier-secret".into(),
        courier: Arc::new(oms::courier::SimulatedCourier),
        instance_id: format!("bench-{}-{instance}", std::process::id()),
        plugins: plugins.clone(),
        // The sink is on loopback: let webhooks reach it, as a development server would.
        plugin_quota: Default::default(),
        outbox: Arc::new(Channels::log_only(
            WebhookClient::new(
                Targets::new(
                    "127.0.0.0/8".parse().expect("networks"),
                    Arc::new(SystemLookup),
                ),
                &Default::default(),
            )
            .expect("webhook client"),
        )),
    }
}

fn token(app: &App, role: Role, subject: &str) -> String {
    app.keys
        .issue(role, subject, chrono::Duration::days(1))
        .expect("token")
}

/// A GraphQL request through the router: the mutation's payload, or why it failed (an HTTP or
/// GraphQL error, or a user error).
async fn gql(router: &Router, token: &str, query: &str, variables: Value) -> Result<Value, String> {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| format!("{status}: {}", String::from_utf8_lossy(&bytes)))?;
    if status != StatusCode::OK || value.get("errors").is_some() {
        return Err(format!("{status}: {value}"));
    }
    let payload = value["data"]
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or(Value::Null);
    match payload["userErrors"].as_array() {
        Some(errors) if !errors.is_empty() => Err(format!("user errors: {payload}")),
        _ => Ok(payload),
    }
}

fn gid(kind: &str, id: i64) -> String {
    format!("gid://oms/{kind}/{id}")
}

fn gid_number(gid: &str) -> i64 {
    gid.rsplit('/').next().unwrap().parse().unwrap()
}

/// A seller with a webhook on `*` pointing at the sink, one product option with ample stock,
/// customers, and the tokens to act as each.
struct Shop {
    router: Router,
    seller: i64,
    option: i64,
    customers: Vec<(i64, String)>,
    seller_token: String,
    operator: String,
}

async fn shop(app: &App, sink: &Sink) -> Shop {
    let db = app.db.conn();
    let seller = repo::catalog::insert_seller(
        db,
        seller::ActiveModel {
            name: Set("벤치 셀러".to_owned()),
            base_shipping_fee: Set(3000),
            free_shipping_threshold: Set(50000),
            return_fee: Set(3000),
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    )
    .await
    .expect("seller");
    let product = repo::catalog::insert_product(
        db,
        product::ActiveModel {
            seller_id: Set(seller),
            name: Set("상품".to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    )
    .await
    .expect("product");
    let option = repo::catalog::insert_option(
        db,
        product_option::ActiveModel {
            product_id: Set(product),
            name: Set("기본".to_owned()),
            price: Set(10000),
            stock: Set(10_000_000),
            instant_discount: Set(0),
            ..Default::default()
        },
    )
    .await
    .expect("option");
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let id = repo::catalog::insert_customer(
            db,
            customer::ActiveModel {
                name: Set(format!("고객 {i}")),
                email: Set(format!("c{i}@example.com")),
                points_balance: Set(0),
                refund_bank: Set(None),
                refund_account_number: Set(None),
                refund_account_holder: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .expect("customer");
        customers.push((id, token(app, Role::Customer, &id.to_string())));
    }
    let router = oms::http::router(app.clone(), Path::new("web/node_modules"));
    let seller_token = token(app, Role::Seller, &seller.to_string());
    gql(
        &router,
        &seller_token,
        "mutation($url: String!) { registerWebhook(input: {url: $url, eventTypes: [\"*\"]}) { webhook { id } userErrors { code message } } }",
        json!({"url": sink.url()}),
    )
    .await
    .expect("registerWebhook");
    Shop {
        router,
        seller,
        option,
        customers,
        seller_token,
        operator: token(app, Role::Operator, "bench-ops"),
    }
}

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id orderNumber lines { id } } userErrors { code message } } }";

/// Places an order of one unit as the `i`-th customer; returns (order id, number, line gid).
async fn place(shop: &Shop, i: usize) -> Result<(i64, String, String), String> {
    let (_, token) = &shop.customers[i % shop.customers.len()];
    let input = json!({"input": {"lines": [{"optionId": gid("ProductOption", shop.option), "quantity": 1}], "paymentMethod": "CARD"}});
    let order = gql(&shop.router, token, PLACE, input).await?["order"].clone();
    Ok((
        gid_number(order["id"].as_str().unwrap()),
        order["orderNumber"].as_str().unwrap().to_owned(),
        order["lines"][0]["id"].as_str().unwrap().to_owned(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let k = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[k.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput.

struct Throughput {
    backend: Backend,
    dispatchers: usize,
    messages: usize,
    report: Report,
    webhooks: usize,
    rounds: usize,
    /// SQL statements the dispatchers executed.
    statements: u64,
    /// CPU time of this process (the dispatchers, the sink, the runtime) over the drain.
    cpu: Option<Duration>,
    elapsed: Duration,
}

/// This process's CPU time (user + system) from `/proc/self/stat`, on Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name,
    // in clock ticks (100 per second on Linux).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Writes `n` order-step messages (the six step types in turn, over the seed orders) in
/// transactions of `INSERT_BATCH`.
async fn backlog(app: &App, shop: &Shop, orders: &[(i64, i64, i64)], n: usize) {
    let mut written = 0;
    while written < n {
        let txn = app.db.write().await.unwrap();
        let now = Utc::now();
        for k in written..(written + INSERT_BATCH).min(n) {
            let (order, customer, line) = orders[k % orders.len()];
            record_order(
                &*txn,
                OrderRef {
                    id: order,
                    customer_id: customer,
                    status: "PAID",
                },
                ORDER_EVENT_TYPES[k % ORDER_EVENT_TYPES.len()],
                &[line],
                &[shop.seller],
                now,
            )
            .await
            .unwrap();
        }
        txn.commit().await.unwrap();
        written = (written + INSERT_BATCH).min(n);
    }
}

/// Rounds until one finds nothing to do.
async fn drain(app: App) -> (Report, usize) {
    let mut total = Report::default();
    let mut rounds = 0;
    loop {
        let r = dispatch_once(&app).await.expect("dispatch");
        rounds += 1;
        total.expanded += r.expanded;
        total.delivered += r.delivered;
        total.retried += r.retried;
        total.dead += r.dead;
        if !r.busy() {
            return (total, rounds);
        }
    }
}

async fn throughput(
    backend: Backend,
    apps: &[App],
    shop: &Shop,
    orders: &[(i64, i64, i64)],
    sink: &Sink,
    n: usize,
) -> Throughput {
    backlog(&apps[0], shop, orders, n).await;
    sink.take();
    let statements_before: u64 = apps.iter().map(|a| a.db.statement_count()).sum();
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut set = JoinSet::new();
    for a in apps {
        set.spawn(drain(a.clone()));
    }
    let mut report = Report::default();
    let mut rounds = 0;
    while let Some(done) = set.join_next().await {
        let (r, k) = done.unwrap();
        report.expanded += r.expanded;
        report.delivered += r.delivered;
        report.retried += r.retried;
        report.dead += r.dead;
        rounds += k;
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let statements = apps.iter().map(|a| a.db.statement_count()).sum::<u64>() - statements_before;
    let arrivals = sink.take();
    assert_eq!(report.expanded, n, "every message expanded: {report:?}");
    assert_eq!(report.retried + report.dead, 0, "{report:?}");
    let ids: HashSet<String> = arrivals
        .iter()
        .map(|(_, body)| {
            let v: Value = serde_json::from_slice(body).unwrap();
            v["data"]["eventId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(arrivals.len(), n, "one webhook per message");
    assert_eq!(ids.len(), n, "no message delivered twice");
    Throughput {
        backend,
        dispatchers: apps.len(),
        messages: n,
        report,
        webhooks: arrivals.len(),
        rounds,
        statements,
        cpu,
        elapsed,
    }
}

/// One message at a time: the latency of the round that expands and delivers it (what a
/// message waits for once the dispatcher wakes), and its statements.
struct Round {
    backend: Backend,
    /// Round times in milliseconds, sorted.
    times: Vec<f64>,
    statements: f64,
    deliveries: f64,
}

async fn single_rounds(
    backend: Backend,
    app: &App,
    shop: &Shop,
    orders: &[(i64, i64, i64)],
    sink: &Sink,
) -> Round {
    let (mut times, mut statements, mut deliveries) = (Vec::new(), 0, 0);
    for _ in 0..ROUNDS {
        backlog(app, shop, orders, 1).await;
        let before = app.db.statement_count();
        let started = Instant::now();
        let r = dispatch_once(app).await.expect("dispatch");
        times.push(started.elapsed().as_secs_f64() * 1e3);
        statements += app.db.statement_count() - before;
        deliveries += r.delivered;
        assert_eq!(r.expanded, 1, "{r:?}");
        assert!(!dispatch_once(app).await.expect("dispatch").busy());
    }
    assert_eq!(sink.take().len(), ROUNDS);
    times.sort_by(f64::total_cmp);
    Round {
        backend,
        times,
        statements: statements as f64 / ROUNDS as f64,
        deliveries: deliveries as f64 / ROUNDS as f64,
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Lag under a steady load of transitions.

/// Deliveries not yet recorded as delivered (or failed for good).
async fn pending(app: &App) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    entity::outbox_delivery::Entity::find()
        .filter(entity::outbox_delivery::Column::Status.eq("PENDING"))
        .count(app.db.conn())
        .await
        .unwrap()
}

/// A return flow in progress: the next step and what the earlier ones returned.
struct Flow {
    customer: usize,
    stage: usize,
    number: String,
    line: String,
    claim: String,
}

const STAGES: usize = 8;

/// Runs the flow's next step; on success the flow moves on.
async fn step(shop: &Shop, flow: &mut Flow) -> Result<(), String> {
    let ops = &shop.operator;
    let seller = &shop.seller_token;
    let r = &shop.router;
    match flow.stage {
        0 => {
            let (_, number, line) = place(shop, flow.customer).await?;
            flow.number = number;
            flow.line = line;
        }
        1 => {
            gql(r, ops, "mutation($n: String!, $l: [ID!]) { confirmOrder(input: {orderNumber: $n, lineIds: $l}) { userErrors { code message } } }", json!({"n": flow.number, "l": [flow.line]})).await?;
        }
        2 => {
            gql(r, ops, "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ대한통운\", trackingNumber: \"1\"}) { userErrors { code message } } }", json!({"l": [flow.line]})).await?;
        }
        3 => {
            gql(r, ops, "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code message } } }", json!({"l": [flow.line]})).await?;
        }
        4 => {
            let (_, customer) = &shop.customers[flow.customer % shop.customers.len()];
            let d = gql(r, customer, "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { claim { claimNumber } userErrors { code message } } }", json!({"input": {"orderNumber": flow.number, "items": [{"lineId": flow.line, "quantity": 1}], "reason": "CHANGE_OF_MIND"}})).await?;
            flow.claim = d["claim"]["claimNumber"].as_str().unwrap().to_owned();
        }
        5 => {
            gql(r, seller, "mutation($input: ApproveClaimInput!) { approveClaim(input: $input) { userErrors { code message } } }", json!({"input": {"claimNumber": flow.claim}})).await?;
        }
        6 => {
            gql(r, seller, "mutation($input: CourierInput!) { markCollected(input: $input) { userErrors { code message } } }", json!({"input": {"claimNumber": flow.claim, "courier": "CJ대한통운", "trackingNumber": "R-1"}})).await?;
        }
        _ => {
            gql(r, seller, "mutation($input: CompleteReturnInput!) { completeReturn(input: $input) { userErrors { code message } } }", json!({"input": {"claimNumber": flow.claim}})).await?;
        }
    }
    flow.stage += 1;
    Ok(())
}

struct Lag {
    backend: Backend,
    idle: Duration,
    transitions: usize,
    failed: usize,
    first_error: Option<String>,
    rate: f64,
    messages: usize,
    webhooks: usize,
    /// Lags in milliseconds, sorted.
    lags: Vec<f64>,
    /// Mutation latencies in milliseconds, sorted.
    mutations: Vec<f64>,
}

async fn lag(
    backend: Backend,
    app: &App,
    shop: &Arc<Shop>,
    sink: &Sink,
    idle: Duration,
    secs: f64,
    rate: f64,
) -> Lag {
    let db = app.db.conn();
    let before = repo::outbox::latest_id(db).await.unwrap();
    sink.take();
    let dispatcher = tokio::spawn(run_forever(app.clone(), idle));

    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<Flow>();
    let mut steps: JoinSet<(f64, Result<(), String>)> = JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let window = Duration::from_secs_f64(secs);
    let mut new_flows = 0;
    let mut mutations = Vec::new();
    let (mut ok, mut failed, mut first_error) = (0, 0, None);
    let mut settle = |outcome: (f64, Result<(), String>)| {
        mutations.push(outcome.0);
        match outcome.1 {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    };
    while started.elapsed() < window {
        ticker.tick().await;
        // The next step of a flow waiting for one, else a new flow.
        let mut flow = ready_rx.try_recv().unwrap_or_else(|_| {
            new_flows += 1;
            Flow {
                customer: new_flows,
                stage: 0,
                number: String::new(),
                line: String::new(),
                claim: String::new(),
            }
        });
        let shop = shop.clone();
        let ready = ready_tx.clone();
        steps.spawn(async move {
            let t = Instant::now();
            let result = step(&shop, &mut flow).await;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if result.is_ok() && flow.stage < STAGES {
                let _ = ready.send(flow);
            }
            (ms, result)
        });
        while let Some(done) = steps.try_join_next() {
            settle(done.unwrap());
        }
    }
    while let Some(done) = steps.join_next().await {
        settle(done.unwrap());
    }
    let load_elapsed = started.elapsed();

    // Every message written during the run reaches the sink (one webhook each), then the
    // dispatcher stops.
    let after = repo::outbox::latest_id(db).await.unwrap();
    let messages = usize::try_from(after - before).unwrap();
    let arrived = sink.wait_for(messages, Duration::from_secs(30)).await;
    // ... and is recorded, so no lease is left behind for the next run to redeliver.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pending(app).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    dispatcher.abort();
    let _ = dispatcher.await;
    assert_eq!(arrived, messages, "every message of the run delivered");
    let arrivals = sink.take();
    let mut lags: Vec<f64> = arrivals
        .iter()
        .map(|(at, body)| {
            let v: Value = serde_json::from_slice(body).unwrap();
            let occurred: DateTime<Utc> =
                v["data"]["occurredAt"].as_str().unwrap().parse().unwrap();
            (*at - occurred).num_microseconds().unwrap() as f64 / 1e3
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    mutations.sort_by(f64::total_cmp);
    Lag {
        backend,
        idle,
        transitions: ok,
        failed,
        first_error,
        rate: ok as f64 / load_elapsed.as_secs_f64(),
        messages,
        webhooks: arrivals.len(),
        lags,
        mutations,
    }
}

// ---------------------------------------------------------------------------------------------
// One backend.

struct Results {
    throughput: Vec<Throughput>,
    round: Round,
    lag: Vec<Lag>,
}

async fn bench_backend(backend: Backend, url: &str, plugins: &Arc<PluginHost>) -> Results {
    let n = env_or("OMS_BENCH_OUTBOX_MESSAGES", MESSAGES);
    let secs = env_or("OMS_BENCH_OUTBOX_SECS", LAG_SECS);
    let rate = env_or("OMS_BENCH_OUTBOX_RATE", LAG_RATE);
    let first = app(url, plugins, "a").await;
    first.db.migrate().await.expect("migrate");
    let sink = Sink::start().await;
    let shop = Arc::new(shop(&first, &sink).await);

    // Real orders for the backlog's messages to name; their own messages are drained first.
    let mut orders = Vec::new();
    for i in 0..SEED_ORDERS {
        let (order, _, line) = place(&shop, i).await.expect("seed order");
        orders.push((order, shop.customers[i % CUSTOMERS].0, gid_number(&line)));
    }
    drain(first.clone()).await;
    sink.take();

    eprintln!("  {}: single-message rounds", backend.name());
    let mut results = Results {
        throughput: Vec::new(),
        round: single_rounds(backend, &first, &shop, &orders, &sink).await,
        lag: Vec::new(),
    };
    eprintln!("  {}: throughput, 1 dispatcher", backend.name());
    results.throughput.push(
        throughput(
            backend,
            std::slice::from_ref(&first),
            &shop,
            &orders,
            &sink,
            n,
        )
        .await,
    );
    if backend == Backend::Postgres {
        eprintln!("  {}: throughput, 2 dispatchers", backend.name());
        let second = app(url, plugins, "b").await;
        results.throughput.push(
            throughput(
                backend,
                &[first.clone(), second.clone()],
                &shop,
                &orders,
                &sink,
                n,
            )
            .await,
        );
        second.db.conn().clone().close().await.unwrap();
    }
    for idle in IDLE_POLLS {
        let idle = Duration::from_millis(idle);
        eprintln!(
            "  {}: lag, idle poll {} ms, {rate}/s for {secs} s",
            backend.name(),
            idle.as_millis()
        );
        results
            .lag
            .push(lag(backend, &first, &shop, &sink, idle, secs, rate).await);
    }
    drop(shop);
    first.db.conn().clone().close().await.unwrap();
    results
}

/// A fresh database on the PostgreSQL server, or `None` when none is reachable.
async fn postgres_database() -> Option<(String, String, String)> {
    let admin = std::env::var("OMS_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let conn = match tokio::time::timeout(Duration::from_secs(5), Database::connect(&admin)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            eprintln!("PostgreSQL at {admin} unreachable ({e}): skipped");
            return None;
        }
        Err(_) => {
            eprintln!("PostgreSQL at {admin} unreachable (timeout): skipped");
            return None;
        }
    };
    let name = format!("oms_bench_outbox_{}", std::process::id());
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the bench database");
    conn.close().await.unwrap();
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or_else(|| admin.clone());
    Some((admin, name.clone(), format!("{base}/{name}")))
}

// ---------------------------------------------------------------------------------------------
// The report.

fn print_throughput(rows: &[Throughput], n: usize) {
    println!();
    println!(
        "1. Dispatcher throughput: a backlog of {n} order-step messages (written with record_order), \
         one webhook on \"*\" to a loopback sink, drained with dispatch_once"
    );
    println!(
        "{:<11} {:>11} {:>9} {:>10} {:>9} {:>7} {:>10} {:>10} {:>10} {:>11} {:>13}",
        "backend",
        "dispatchers",
        "messages",
        "deliveries",
        "webhooks",
        "rounds",
        "stmts/msg",
        "oms cores",
        "elapsed s",
        "messages/s",
        "deliveries/s"
    );
    for r in rows {
        let s = r.elapsed.as_secs_f64();
        println!(
            "{:<11} {:>11} {:>9} {:>10} {:>9} {:>7} {:>10.1} {:>10} {:>10.2} {:>11.0} {:>13.0}",
            r.backend.name(),
            r.dispatchers,
            r.messages,
            r.report.delivered,
            r.webhooks,
            r.rounds,
            r.statements as f64 / r.messages as f64,
            r.cpu
                .map_or_else(|| "-".to_owned(), |c| format!("{:.2}", c.as_secs_f64() / s)),
            s,
            r.messages as f64 / s,
            r.report.delivered as f64 / s
        );
    }
    println!(
        "   deliveries = the webhooks plus the customers' notifications (mail written to the log); \
         oms cores = this process's CPU time / elapsed (PostgreSQL's own processes not included)"
    );
}

fn print_rounds(rows: &[Round]) {
    println!();
    println!(
        "   one message at a time ({ROUNDS} times): the dispatch_once round that expands and delivers it"
    );
    println!(
        "{:<11} {:>10} {:>10} {:>10} {:>11} {:>11}",
        "backend", "p50 ms", "p99 ms", "max ms", "statements", "deliveries"
    );
    for r in rows {
        println!(
            "{:<11} {:>10.2} {:>10.2} {:>10.2} {:>11.1} {:>11.1}",
            r.backend.name(),
            percentile(&r.times, 50.0),
            percentile(&r.times, 99.0),
            percentile(&r.times, 100.0),
            r.statements,
            r.deliveries
        );
    }
}

fn print_lag(rows: &[Lag], secs: f64, rate: f64) {
    println!();
    println!(
        "2. Lag from commit (data.occurredAt) to arrival at the sink, run_forever under return flows \
         through the router at {rate} transitions/s for {secs} s"
    );
    println!(
        "{:<11} {:>8} {:>11} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>13}",
        "backend",
        "idle ms",
        "transitions",
        "rate/s",
        "webhooks",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "mean ms",
        "mutation p50"
    );
    for r in rows {
        let mean = r.lags.iter().sum::<f64>() / r.lags.len() as f64;
        println!(
            "{:<11} {:>8} {:>11} {:>7.1} {:>9} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>10.1} ms",
            r.backend.name(),
            r.idle.as_millis(),
            r.transitions,
            r.rate,
            r.webhooks,
            percentile(&r.lags, 50.0),
            percentile(&r.lags, 90.0),
            percentile(&r.lags, 99.0),
            percentile(&r.lags, 100.0),
            mean,
            percentile(&r.mutations, 50.0),
        );
        if r.failed > 0 {
            println!(
                "   {} {} ms: {} transitions failed, first: {}",
                r.backend.name(),
                r.idle.as_millis(),
                r.failed,
                r.first_error.as_deref().unwrap_or_default()
            );
        }
        assert_eq!(r.webhooks, r.messages);
    }
}

#[tokio::main]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("oms=warn,oms::http::graphiql=error")
        .try_init();
    let started = Instant::now();
    let plugins = Arc::new(PluginHost::new(PluginLimits::default()).expect("plugin host"));
    let mut throughput = Vec::new();
    let mut rounds = Vec::new();
    let mut lags = Vec::new();

    let path = std::env::temp_dir().join(format!("oms_bench_outbox_{}.db", std::process::id()));
    let sqlite = bench_backend(
        Backend::Sqlite,
        &format!("sqlite://{}?mode=rwc", path.display()),
        &plugins,
    )
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    throughput.extend(sqlite.throughput);
    rounds.push(sqlite.round);
    lags.extend(sqlite.lag);

    if let Some((admin, name, url)) = postgres_database().await {
        let pg = bench_backend(Backend::Postgres, &url, &plugins).await;
        throughput.extend(pg.throughput);
        rounds.push(pg.round);
        lags.extend(pg.lag);
        let conn = Database::connect(&admin).await.unwrap();
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop the bench database");
    }

    print_throughput(&throughput, env_or("OMS_BENCH_OUTBOX_MESSAGES", MESSAGES));
    print_rounds(&rounds);
    print_lag(
        &lags,
        env_or("OMS_BENCH_OUTBOX_SECS", LAG_SECS),
        env_or("OMS_BENCH_OUTBOX_RATE", LAG_RATE),
    );
    println!();
    println!(
        "machine: {} cores; total {:.0} s",
        std::thread::available_parallelism().map_or(0, usize::from),
        started.elapsed().as_secs_f64()
    );
}
