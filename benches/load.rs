//! Load benchmarks (`cargo bench --bench load`, issue 9): the server as a separate process
//! (`oms serve`, release build) under HTTP load, with its peak resident memory.
//!
//! 1. **Read path** (`read`): on each seeded database of `OMS_BENCH_READ_DBS`
//!    (`label=url,…`; by default the ones `oms seed` left in `/tmp/oms-seed/` and the
//!    `oms_seed_*` PostgreSQL databases that exist), `wrk` drives at fixed concurrency
//!    `orders(first: 50)` and `claims(first: 50, filter: {type: RETURN})` with nested lines,
//!    tenders, claims, refunds and timelines, and — in the same run, on the same database — a
//!    hand-written axum + SeaORM JSON endpoint in this process serving the same data with the
//!    same batched queries. SQL statements per request come from the server's
//!    `oms_sql_statements_total`, for a page of 5 and of 50.
//! 2. **Write path** (`write`): on a fresh SQLite file and a fresh PostgreSQL database, return
//!    flows (requestReturn → approveClaim → markCollected → completeReturn, then the refund
//!    paid by the server's job) by `OMS_BENCH_CONCURRENCY` clients over HTTP; next to it
//!    `pgbench -b tpcb-like` on the same PostgreSQL with as many clients, and on SQLite a
//!    plain loop of 5-statement transactions through the same `Db` (WAL, `synchronous=FULL`).
//!    Statements per claim mutation are counted one flow at a time.
//! 3. **Plugins in the loop** (`plugins`): the write path with the `default-policy` Wasm
//!    plugin active for every seller and hook, interleaved with native runs.
//! 4. **Memory** (`memory`): peak resident memory (VmHWM) of the server after each load, and
//!    with 100 distinct plugins uploaded (compiled and cached).
//!
//! `OMS_BENCH_LOAD` picks the parts (default `read,write,plugins,memory`);
//! `OMS_BENCH_CONCURRENCY` (16), `OMS_BENCH_SECS` (wrk duration, 15) and `OMS_BENCH_FLOWS`
//! (flows per write run, 600) size them. Needs `wrk` (Debian: `apt-get install wrk`) and, for
//! the PostgreSQL parts, `pgbench` and a server at `OMS_BENCH_POSTGRES_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/api/wasm.rs"]
mod wasm;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use chrono::Utc;
use entity::{
    claim, claim_event, claim_item, customer, order, order_line, product, product_option, refund,
    refund_part, seller, tender,
};
use oms::auth::TokenKeys;
use oms::db::Db;
use oms::domain::actor::Role;
use oms::repo;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{json, Value};

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn postgres_url() -> String {
    std::env::var("OMS_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `base` with its database name replaced by `name`.
fn database_url(base: &str, name: &str) -> String {
    let cut = base.rfind('/').expect("a database URL");
    format!("{}/{name}", &base[..cut])
}

fn token(role: Role, subject: &str) -> String {
    TokenKeys::new(SECRET)
        .issue(role, subject, chrono::Duration::hours(12))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The server process

/// `oms serve` as a child process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts `oms serve` on `url` and waits until it is ready (migrations can take a while
    /// on a big database).
    async fn start(url: &str, extra: &[&str]) -> Server {
        let port = free_port();
        // Warnings and errors (the server logs to stdout) go to a file named here.
        let log = std::env::temp_dir().join(format!("oms-bench-server-{port}.log"));
        eprintln!("server on {url}: log in {}", log.display());
        let child = Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", url, "--jwt-secret", SECRET])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start oms serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = oms::tls::Tls::default()
            .http_client(None)
            .expect("TLS")
            .build()
            .expect("http client");
        for _ in 0..1200 {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("oms serve on {url} did not become ready");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak and current resident memory in MiB (VmHWM, VmRSS).
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// A client of this server.
    fn api(&self) -> Api {
        Api {
            http: oms::tls::Tls::default()
                .http_client(None)
                .expect("TLS")
                .build()
                .expect("http client"),
            base: self.base.clone(),
        }
    }
}

/// A GraphQL client of one server, with its statement counter.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// The server's `oms_sql_statements_total`.
    async fn statements(&self) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("oms_sql_statements_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("oms_sql_statements_total in /metrics")
    }

    async fn gql(&self, token: &str, query: &str, vars: Value) -> Value {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": vars}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }
}

// ---------------------------------------------------------------------------------------------
// wrk

/// What one `wrk` run measured.
#[derive(Debug, Clone, Copy, Default)]
struct WrkFigures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn parse_duration_ms(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// Runs `wrk` against `url` (a POST of `body` with `token` when given) for `secs` seconds
/// with `connections` connections on 2 threads.
fn wrk(url: &str, body: Option<&str>, token: &str, connections: usize, secs: u64) -> WrkFigures {
    let script = std::env::temp_dir().join(format!("oms-wrk-{}.lua", std::process::id()));
    let mut lua = format!(
        "wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n"
    );
    if let Some(body) = body {
        lua.push_str(&format!(
            "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\n"
        ));
    }
    std::fs::write(&script, lua).unwrap();
    let out = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{secs}s")])
        .args(["--latency", "--timeout", "10s", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut f = WrkFigures::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => f.p50_ms = parse_duration_ms(v),
            ["99%", v] => f.p99_ms = parse_duration_ms(v),
            ["Requests/sec:", v] => f.rps = v.parse().unwrap_or(0.0),
            ["Non-2xx", "or", "3xx", "responses:", n] => f.errors += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                f.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    assert!(f.rps > 0.0, "wrk printed no figures:\n{text}");
    f
}

// ---------------------------------------------------------------------------------------------
// 1. Read path

const ORDERS_QUERY: &str = "query($n: Int!) { orders(first: $n) { edges { node { orderNumber status paymentMethod placedAt totalAmount lines { lineNumber productName optionName quantity net status claimedQuantity } tenders { method amount status refundedAmount } claims { claimNumber type status refund { cash points status } timeline { version action toStatus at } } } } } }";
const CLAIMS_QUERY: &str = "query($n: Int!) { claims(first: $n, filter: {type: RETURN}) { edges { node { claimNumber type status reason fault requestedAt order { orderNumber placedAt } items { quantity line { productName unitPrice } } refund { cash points status } timeline { version action toStatus at } } } } }";
/// Field depth of both queries as async-graphql counts it (`orders.edges.node.claims.refund.cash`,
/// `claims.edges.node.items.line.productName`).
const QUERY_DEPTH: u64 = 6;

/// The hand-written endpoint: the same data as the two queries, from the same tables, with one
/// batched statement per relation (what a careful engineer writes without GraphQL).
#[derive(Clone)]
struct Handwritten {
    db: DatabaseConnection,
}

#[derive(serde::Deserialize)]
struct Page {
    first: Option<u64>,
}

fn refund_status(parts: &[&refund_part::Model]) -> &'static str {
    if parts.iter().all(|p| p.status == "SUCCEEDED") {
        return "SUCCEEDED";
    }
    for s in ["FAILED", "ACCOUNT_REQUIRED"] {
        if parts.iter().any(|p| p.status == s) {
            return s;
        }
    }
    "PENDING"
}

impl Handwritten {
    /// Refunds (with their status from the parts) and timelines of `claims`, by claim id.
    async fn claim_details(&self, ids: &[i64]) -> (HashMap<i64, Value>, HashMap<i64, Vec<Value>>) {
        let refunds = refund::Entity::find()
            .filter(refund::Column::ClaimId.is_in(ids.iter().copied()))
            .all(&self.db)
            .await
            .unwrap();
        let parts = refund_part::Entity::find()
            .filter(refund_part::Column::ClaimId.is_in(ids.iter().copied()))
            .all(&self.db)
            .await
            .unwrap();
        let events = claim_event::Entity::find()
            .filter(claim_event::Column::ClaimId.is_in(ids.iter().copied()))
            .order_by_asc(claim_event::Column::ClaimId)
            .order_by_asc(claim_event::Column::Version)
            .all(&self.db)
            .await
            .unwrap();
        let refunds = refunds
            .iter()
            .map(|r| {
                let mine: Vec<&refund_part::Model> =
                    parts.iter().filter(|p| p.refund_id == r.id).collect();
                (
                    r.claim_id,
                    json!({"cash": r.cash, "points": r.points, "status": refund_status(&mine)}),
                )
            })
            .collect();
        let mut timelines: HashMap<i64, Vec<Value>> = HashMap::new();
        for e in events {
            timelines.entry(e.claim_id).or_default().push(json!({
                "version": e.version, "action": e.action, "toStatus": e.to_status,
                "at": e.created_at.to_rfc3339(),
            }));
        }
        (refunds, timelines)
    }
}

async fn handwritten_orders(State(h): State<Handwritten>, Query(p): Query<Page>) -> Json<Value> {
    let orders = order::Entity::find()
        .order_by_desc(order::Column::PlacedAt)
        .order_by_desc(order::Column::Id)
        .limit(p.first.unwrap_or(50))
        .all(&h.db)
        .await
        .unwrap();
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(order_line::Column::Id)
        .all(&h.db)
        .await
        .unwrap();
    let tenders = tender::Entity::find()
        .filter(tender::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(tender::Column::Id)
        .all(&h.db)
        .await
        .unwrap();
    let claims = claim::Entity::find()
        .filter(claim::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(claim::Column::Id)
        .all(&h.db)
        .await
        .unwrap();
    let claim_ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    let (refunds, timelines) = h.claim_details(&claim_ids).await;
    let nodes: Vec<Value> = orders
        .iter()
        .map(|o| {
            json!({
                "orderNumber": o.order_number, "status": o.status,
                "paymentMethod": o.payment_method, "placedAt": o.placed_at.to_rfc3339(),
                "totalAmount": o.items_net - o.coupon_amount + o.shipping_total,
                "lines": lines.iter().filter(|l| l.order_id == o.id).map(|l| json!({
                    "lineNumber": l.line_no, "productName": l.product_name,
                    "optionName": l.option_name, "quantity": l.quantity, "net": l.net,
                    "status": l.status, "claimedQuantity": l.claimed_quantity,
                })).collect::<Vec<_>>(),
                "tenders": tenders.iter().filter(|t| t.order_id == o.id).map(|t| json!({
                    "method": t.method, "amount": t.amount, "status": t.status,
                    "refundedAmount": t.refunded_amount,
                })).collect::<Vec<_>>(),
                "claims": claims.iter().filter(|c| c.order_id == o.id).map(|c| json!({
                    "claimNumber": c.claim_number, "type": c.claim_type, "status": c.status,
                    "refund": refunds.get(&c.id), "timeline": timelines.get(&c.id),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "orders": nodes }))
}

async fn handwritten_claims(State(h): State<Handwritten>, Query(p): Query<Page>) -> Json<Value> {
    let claims = claim::Entity::find()
        .filter(claim::Column::ClaimType.eq("RETURN"))
        .order_by_desc(claim::Column::Id)
        .limit(p.first.unwrap_or(50))
        .all(&h.db)
        .await
        .unwrap();
    let ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    let orders = order::Entity::find()
        .filter(order::Column::Id.is_in(claims.iter().map(|c| c.order_id)))
        .all(&h.db)
        .await
        .unwrap();
    let items = claim_item::Entity::find()
        .filter(claim_item::Column::ClaimId.is_in(ids.iter().copied()))
        .order_by_asc(claim_item::Column::Id)
        .all(&h.db)
        .await
        .unwrap();
    let lines = order_line::Entity::find()
        .filter(order_line::Column::Id.is_in(items.iter().map(|i| i.line_id)))
        .all(&h.db)
        .await
        .unwrap();
    let (refunds, timelines) = h.claim_details(&ids).await;
    let nodes: Vec<Value> = claims
        .iter()
        .map(|c| {
            let o = orders.iter().find(|o| o.id == c.order_id);
            json!({
                "claimNumber": c.claim_number, "type": c.claim_type, "status": c.status,
                "reason": c.reason, "fault": c.fault, "requestedAt": c.requested_at.to_rfc3339(),
                "order": o.map(|o| json!({"orderNumber": o.order_number, "placedAt": o.placed_at.to_rfc3339()})),
                "items": items.iter().filter(|i| i.claim_id == c.id).map(|i| {
                    let l = lines.iter().find(|l| l.id == i.line_id);
                    json!({"quantity": i.quantity, "line": l.map(|l| json!({"productName": l.product_name, "unitPrice": l.unit_price}))})
                }).collect::<Vec<_>>(),
                "refund": refunds.get(&c.id), "timeline": timelines.get(&c.id),
            })
        })
        .collect();
    Json(json!({ "claims": nodes }))
}

/// Serves the hand-written endpoint on a free port of this process; returns its address.
async fn start_handwritten(url: &str) -> SocketAddr {
    // The same pool size and SQLite settings as the server's (`Db::connect`).
    let db = Db::connect(url, 16).await.unwrap();
    let router = Router::new()
        .route("/orders", get(handwritten_orders))
        .route("/claims", get(handwritten_claims))
        .with_state(Handwritten {
            db: db.conn().clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// The seeded databases to read from: `OMS_BENCH_READ_DBS`, else what `oms seed` leaves.
async fn read_databases() -> Vec<(String, String)> {
    if let Ok(list) = std::env::var("OMS_BENCH_READ_DBS") {
        return list
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    }
    let mut out = Vec::new();
    for size in ["10k", "100k", "1m"] {
        let file = format!("/tmp/oms-seed/{size}.db");
        if std::path::Path::new(&file).exists() {
            out.push((
                format!("SQLite {size}"),
                format!("sqlite://{file}?mode=rwc"),
            ));
        }
    }
    for size in ["10k", "100k", "1m"] {
        let url = database_url(&postgres_url(), &format!("oms_seed_{size}"));
        if sea_orm::Database::connect(&url).await.is_ok() {
            out.push((format!("PostgreSQL {size}"), url));
        }
    }
    out
}

async fn read_path(report: &mut Vec<String>, memory: &mut Vec<String>) {
    let c = env_or("OMS_BENCH_CONCURRENCY", 16usize);
    let secs = env_or("OMS_BENCH_SECS", 15u64);
    let dbs = read_databases().await;
    if dbs.is_empty() {
        report.push("read path: no seeded databases (run `oms seed` first)".into());
        return;
    }
    report.push(format!(
        "== Read path: wrk -t2 -c{c} -d{secs}s; GraphQL as OPERATOR vs the hand-written endpoint\n\
         {:<16} {:<22} {:>9} {:>9} {:>9} {:>8} {:>12}",
        "database", "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "statements"
    ));
    let ops = token(Role::Operator, "bench");
    for (label, url) in dbs {
        let server = Server::start(
            &url,
            &["--job-interval-secs", "0", "--outbox-poll-ms", "3600000"],
        )
        .await;
        let api = server.api();
        let hand = start_handwritten(&url).await;
        for (name, query, hand_path) in [
            ("orders(first: 50)", ORDERS_QUERY, "orders"),
            ("claims(first: 50)", CLAIMS_QUERY, "claims"),
        ] {
            // Warm up (caches, prepared statements), then count statements for a page of 5
            // and of 50, one request at a time: nothing else runs.
            for _ in 0..3 {
                api.gql(&ops, query, json!({"n": 50})).await;
            }
            let mut counts = Vec::new();
            for n in [5, 50] {
                let before = api.statements().await;
                let d = api.gql(&ops, query, json!({"n": n})).await;
                counts.push(api.statements().await - before);
                let root = d.as_object().unwrap().values().next().unwrap();
                assert_eq!(
                    root["edges"].as_array().unwrap().len(),
                    n,
                    "{label}: a full page"
                );
            }
            if counts.iter().any(|&s| s > 1 + QUERY_DEPTH) {
                report.push(format!(
                    "{label} {name}: {counts:?} statements exceed 1 + depth {QUERY_DEPTH}"
                ));
            }
            let body = json!({"query": query, "variables": {"n": 50}}).to_string();
            let g = tokio::task::spawn_blocking({
                let url = format!("{}/graphql", server.base);
                let ops = ops.clone();
                move || wrk(&url, Some(&body), &ops, c, secs)
            })
            .await
            .unwrap();
            let h = tokio::task::spawn_blocking(move || {
                wrk(
                    &format!("http://{hand}/{hand_path}?first=50"),
                    None,
                    "",
                    c,
                    secs,
                )
            })
            .await
            .unwrap();
            report.push(format!(
                "{label:<16} {:<22} {:>9.0} {:>9.2} {:>9.2} {:>8} {:>12}",
                format!("GraphQL {name}"),
                g.rps,
                g.p50_ms,
                g.p99_ms,
                g.errors,
                format!("{} / {}", counts[0], counts[1])
            ));
            report.push(format!(
                "{label:<16} {:<22} {:>9.0} {:>9.2} {:>9.2} {:>8} {:>12}   GraphQL/hand-written = {:.2}",
                format!("hand-written {hand_path}"),
                h.rps,
                h.p50_ms,
                h.p99_ms,
                h.errors,
                "7 / 7",
                g.rps / h.rps
            ));
        }
        let (peak, rss) = server.memory();
        memory.push(format!(
            "server after the read load on {label}: peak {peak:.0} MiB, now {rss:.0} MiB"
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Write path

/// Sellers, products and customers for the write path (inserted directly, as there is no
/// catalog API), then `orders` delivered orders placed through the API.
struct Shop {
    sellers: Vec<i64>,
    options: Vec<(i64, i64)>,
    customers: Vec<i64>,
}

async fn shop(url: &str) -> Shop {
    let db = Db::connect(url, 4).await.unwrap();
    db.migrate().await.unwrap();
    let conn = db.conn();
    let now = Utc::now();
    let mut shop = Shop {
        sellers: Vec::new(),
        options: Vec::new(),
        customers: Vec::new(),
    };
    for s in 0..10 {
        let seller_id = repo::catalog::insert_seller(
            conn,
            seller::ActiveModel {
                name: Set(format!("판매자 {s}")),
                base_shipping_fee: Set(3000),
                free_shipping_threshold: Set(50000),
                return_fee: Set(3000),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        shop.sellers.push(seller_id);
        for p in 0..5 {
            let product_id = repo::catalog::insert_product(
                conn,
                product::ActiveModel {
                    seller_id: Set(seller_id),
                    name: Set(format!("상품 {s}-{p}")),
                    created_at: Set(now),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            let option_id = repo::catalog::insert_option(
                conn,
                product_option::ActiveModel {
                    product_id: Set(product_id),
                    name: Set("기본".into()),
                    price: Set(12_900 + 1000 * p),
                    stock: Set(1_000_000),
                    instant_discount: Set(0),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            shop.options.push((seller_id, option_id));
        }
    }
    for c in 0..200 {
        shop.customers.push(
            repo::catalog::insert_customer(
                conn,
                customer::ActiveModel {
                    name: Set(format!("고객 {c}")),
                    email: Set(format!("c{c}@example.com")),
                    points_balance: Set(0),
                    refund_bank: Set(Some("국민은행".into())),
                    refund_account_number: Set(Some(format!("123-456-{c:06}"))),
                    refund_account_holder: Set(Some(format!("고객 {c}"))),
                    created_at: Set(now),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
    }
    conn.close_by_ref().await.ok();
    shop
}

/// A delivered order ready for a return.
#[derive(Clone)]
struct Delivered {
    number: String,
    line: String,
    customer: String,
    seller: String,
}

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { orderNumber lines { id } } userErrors { code message } } }";

fn gid(kind: &str, id: i64) -> String {
    format!("gid://oms/{kind}/{id}")
}

/// Places and delivers `n` orders over HTTP with `c` clients (half card, half bank transfer).
async fn delivered_orders(server: &Server, shop: &Shop, n: usize, c: usize) -> Vec<Delivered> {
    let queue: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new((0..n).collect()));
    let out = Arc::new(Mutex::new(Vec::new()));
    let ops = token(Role::Operator, "bench");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c {
        let queue = queue.clone();
        let out = out.clone();
        let ops = ops.clone();
        let base = server.base.clone();
        let options = shop.options.clone();
        let customers = shop.customers.clone();
        tasks.spawn(async move {
            let client = oms::tls::Tls::default()
            .http_client(None)
            .expect("TLS")
            .build()
            .expect("http client");
            let call = |tok: String, q: &'static str, v: Value| {
                let req = client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(tok)
                    .json(&json!({"query": q, "variables": v}));
                async move {
                    let b: Value = req.send().await.unwrap().json().await.unwrap();
                    assert!(b.get("errors").is_none(), "{q}: {b}");
                    b["data"].clone()
                }
            };
            loop {
                let Some(i) = queue.lock().unwrap().pop() else {
                    break;
                };
                let (seller, option) = options[i % options.len()];
                let customer = customers[i % customers.len()];
                let customer_token = token(Role::Customer, &customer.to_string());
                let method = if i % 2 == 0 { "CARD" } else { "BANK_TRANSFER" };
                let d = call(customer_token.clone(), PLACE, json!({"input": {"lines": [{"optionId": gid("ProductOption", option), "quantity": 2}], "paymentMethod": method}})).await;
                let o = &d["placeOrder"]["order"];
                let number = o["orderNumber"].as_str().unwrap().to_owned();
                let line = o["lines"][0]["id"].as_str().unwrap().to_owned();
                if method == "BANK_TRANSFER" {
                    call(ops.clone(), "mutation($n: String!) { confirmDeposit(input: {orderNumber: $n}) { userErrors { code } } }", json!({"n": number})).await;
                }
                call(ops.clone(), "mutation($n: String!) { confirmOrder(input: {orderNumber: $n}) { userErrors { code } } }", json!({"n": number})).await;
                call(ops.clone(), "mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: \"CJ대한통운\", trackingNumber: \"1\"}) { userErrors { code } } }", json!({"l": [line]})).await;
                let d = call(ops.clone(), "mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code } } }", json!({"l": [line]})).await;
                assert_eq!(d["markDelivered"]["userErrors"], json!([]), "{number}");
                out.lock().unwrap().push(Delivered {
                    number,
                    line,
                    customer: customer_token,
                    seller: token(Role::Seller, &seller.to_string()),
                });
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let v = out.lock().unwrap().clone();
    v
}

/// The four claim mutations of a return flow, in order.
const FLOW: [(&str, &str); 4] = [
    ("requestReturn", "mutation($i: RequestReturnInput!) { requestReturn(input: $i) { claim { claimNumber status } userErrors { code message } } }"),
    ("approveClaim", "mutation($i: ApproveClaimInput!) { approveClaim(input: $i) { claim { status } userErrors { code message } } }"),
    ("markCollected", "mutation($i: CourierInput!) { markCollected(input: $i) { claim { status } userErrors { code message } } }"),
    ("completeReturn", "mutation($i: CompleteReturnInput!) { completeReturn(input: $i) { claim { status refund { cash } } userErrors { code message } } }"),
];

/// Runs one return flow; returns each mutation's latency and statement count (statements
/// only when `count` — one flow at a time, nothing else running).
async fn return_flow(api: &Api, o: &Delivered, count: bool) -> [(Duration, u64); 4] {
    let mut out = [(Duration::ZERO, 0); 4];
    let mut number = String::new();
    for (k, (name, doc)) in FLOW.iter().enumerate() {
        let (tok, input) = match k {
            0 => (
                &o.customer,
                json!({"orderNumber": o.number, "items": [{"lineId": o.line, "quantity": 1}], "reason": "CHANGE_OF_MIND"}),
            ),
            2 => (
                &o.seller,
                json!({"claimNumber": number, "courier": "CJ대한통운", "trackingNumber": "R-1"}),
            ),
            _ => (&o.seller, json!({"claimNumber": number})),
        };
        let before = if count { api.statements().await } else { 0 };
        let start = Instant::now();
        let d = api.gql(tok, doc, json!({"i": input})).await;
        out[k].0 = start.elapsed();
        if count {
            out[k].1 = api.statements().await - before;
        }
        assert_eq!(d[name]["userErrors"], json!([]), "{name}: {d}");
        if k == 0 {
            number = d[name]["claim"]["claimNumber"].as_str().unwrap().to_owned();
        }
    }
    out
}

/// What a write run measured.
struct WriteFigures {
    flows_per_sec: f64,
    mutations_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    refunds_paid_secs: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Return flows over `orders` by `c` clients; then waits until the server's job has paid
/// every refund.
async fn write_load(server: &Server, orders: Vec<Delivered>, c: usize) -> WriteFigures {
    let n = orders.len();
    let queue = Arc::new(Mutex::new(orders));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c {
        let queue = queue.clone();
        let latencies = latencies.clone();
        let api = server.api();
        tasks.spawn(async move {
            loop {
                let Some(o) = queue.lock().unwrap().pop() else {
                    break;
                };
                let f = return_flow(&api, &o, false).await;
                latencies.lock().unwrap().extend(f.iter().map(|(d, _)| *d));
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let mutations_done = start.elapsed();
    // Refunds are paid by the server's SYSTEM job (every second here).
    let ops = token(Role::Operator, "bench");
    let api = server.api();
    loop {
        let d = api
            .gql(&ops, "{ claims(first: 1, filter: {status: RETURN_REFUNDING}) { edges { node { claimNumber } } } }", json!({}))
            .await;
        if d["claims"]["edges"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "refunds never paid"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_done = start.elapsed();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    WriteFigures {
        flows_per_sec: n as f64 / all_done.as_secs_f64(),
        mutations_per_sec: (4 * n) as f64 / mutations_done.as_secs_f64(),
        p50_ms: percentile(&l, 0.5),
        p99_ms: percentile(&l, 0.99),
        refunds_paid_secs: (all_done - mutations_done).as_secs_f64(),
    }
}

/// `pgbench -b tpcb-like` with `c` clients for `secs` on a fresh database next to `url`.
fn pgbench(url: &str, c: usize, secs: u64) -> f64 {
    let db = "oms_bench_pgbench";
    let admin = url.to_owned();
    let psql = |sql: &str| {
        Command::new("psql")
            .args([&admin, "-qc", sql])
            .output()
            .unwrap()
    };
    psql(&format!("drop database if exists {db}"));
    psql(&format!("create database {db}"));
    let target = database_url(url, db);
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &target])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = Command::new("pgbench")
        .args([
            "-b",
            "tpcb-like",
            &format!("-c{c}"),
            "-j2",
            &format!("-T{secs}"),
            &target,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    psql(&format!("drop database if exists {db}"));
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("pgbench printed no tps:\n{text}"))
}

/// Transactions per second of a plain loop of 5-statement transactions (tpcb-like: three
/// updates, a select, an insert) on a SQLite file opened by `Db::connect` (WAL,
/// `synchronous=FULL`), through `Db::write` as the server's writes go.
async fn sqlite_loop(secs: u64) -> f64 {
    let dir = tempdir("oms-bench-sqlite-loop");
    let db = Db::connect(&format!("sqlite://{dir}/loop.db?mode=rwc"), 16)
        .await
        .unwrap();
    for sql in [
        "create table accounts (id integer primary key, balance integer not null)",
        "create table tellers (id integer primary key, balance integer not null)",
        "create table branches (id integer primary key, balance integer not null)",
        "create table history (id integer primary key, account integer, delta integer, at text)",
        "insert into branches values (1, 0)",
    ] {
        db.conn().execute_unprepared(sql).await.unwrap();
    }
    for i in 0..10 {
        db.conn()
            .execute_unprepared(&format!("insert into tellers values ({i}, 0)"))
            .await
            .unwrap();
    }
    db.conn()
        .execute_unprepared("with recursive n(i) as (select 0 union all select i + 1 from n where i < 99999) insert into accounts select i, 0 from n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        let account = (n * 7919) % 100_000;
        let teller = n % 10;
        let delta = (n % 1000) as i64 - 500;
        let txn = db.write().await.unwrap();
        for sql in [
            format!("update accounts set balance = balance + {delta} where id = {account}"),
            format!("select balance from accounts where id = {account}"),
            format!("update tellers set balance = balance + {delta} where id = {teller}"),
            format!("update branches set balance = balance + {delta} where id = 1"),
            format!("insert into history (account, delta, at) values ({account}, {delta}, datetime('now'))"),
        ] {
            txn.execute_unprepared(&sql).await.unwrap();
        }
        txn.commit().await.unwrap();
        n += 1;
    }
    let tps = n as f64 / start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    tps
}

fn tempdir(prefix: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}

/// A fresh database per backend: a SQLite file, or a PostgreSQL database (dropped at exit by
/// the next run's `drop database if exists`).
async fn fresh_database(backend: &str, name: &str) -> String {
    match backend {
        "SQLite" => format!("sqlite://{}/oms.db?mode=rwc", tempdir(name)),
        _ => {
            let admin = sea_orm::Database::connect(postgres_url()).await.unwrap();
            admin
                .execute_unprepared(&format!("drop database if exists {name}"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("create database {name}"))
                .await
                .unwrap();
            database_url(&postgres_url(), name)
        }
    }
}

/// Uploads and activates the default-policy plugin for every seller and hook.
async fn activate_default_policy(server: &Server, shop: &Shop, wasm: &[u8]) {
    let api = server.api();
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    for s in &shop.sellers {
        let seller = token(Role::Seller, &s.to_string());
        for hook in ["CLAIM_FEES", "EXCHANGE_RULES", "CLAIM_WINDOW"] {
            let d = api
                .gql(&seller, "mutation($i: UploadPluginInput!) { uploadPlugin(input: $i) { plugin { id } userErrors { code message } } }", json!({"i": {"hook": hook, "wasmBase64": b64}}))
                .await;
            assert_eq!(d["uploadPlugin"]["userErrors"], json!([]), "{d}");
            let id = d["uploadPlugin"]["plugin"]["id"].clone();
            let d = api
                .gql(&seller, "mutation($id: ID!) { activatePlugin(input: {pluginId: $id}) { userErrors { code message } } }", json!({"id": id}))
                .await;
            assert_eq!(d["activatePlugin"]["userErrors"], json!([]), "{d}");
        }
    }
}

async fn write_path(parts: &[&str], report: &mut Vec<String>, memory: &mut Vec<String>) {
    let c = env_or("OMS_BENCH_CONCURRENCY", 16usize);
    let flows = env_or("OMS_BENCH_FLOWS", 600usize);
    let secs = env_or("OMS_BENCH_SECS", 15u64);
    let with_plugins = parts.contains(&"plugins");
    let pg_up = sea_orm::Database::connect(postgres_url()).await.is_ok();
    report.push(format!(
        "== Write path: {flows} return flows (requestReturn → approveClaim → markCollected → completeReturn → refund paid) by {c} clients"
    ));
    for backend in ["SQLite", "PostgreSQL"] {
        if backend == "PostgreSQL" && !pg_up {
            report.push("PostgreSQL: not reachable, skipped".into());
            continue;
        }
        let url = fresh_database(backend, "oms_bench_load").await;
        let shop = shop(&url).await;
        // Statements per mutation, one flow alone on a server whose jobs and outbox
        // dispatcher are idle (their statements would count too).
        {
            let quiet = Server::start(
                &url,
                &["--job-interval-secs", "0", "--outbox-poll-ms", "3600000"],
            )
            .await;
            let orders = delivered_orders(&quiet, &shop, 2, 1).await;
            let api = quiet.api();
            let mut counted = vec![("native", return_flow(&api, &orders[0], true).await)];
            if with_plugins {
                activate_default_policy(&quiet, &shop, &wasm::example("default-policy")).await;
                counted.push(("with plugin", return_flow(&api, &orders[1], true).await));
                deactivate_all(&quiet, &shop).await;
            }
            for (what, f) in counted {
                report.push(format!(
                    "{backend} {what}: statements per mutation: {}",
                    FLOW.iter()
                        .zip(f.iter())
                        .map(|((n, _), (_, s))| format!("{n} {s}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let server = Server::start(&url, &["--job-interval-secs", "1"]).await;
        // Rounds: native, then (with `plugins`) plugin, native, plugin — interleaved so drift
        // in the machine's load hits both.
        let rounds: Vec<bool> = if with_plugins {
            vec![false, true, false, true]
        } else {
            vec![false]
        };
        let mut native = Vec::new();
        let mut plugin = Vec::new();
        let mut active = false;
        for use_plugin in &rounds {
            if *use_plugin && !active {
                activate_default_policy(&server, &shop, &wasm::example("default-policy")).await;
                active = true;
            } else if !*use_plugin && active {
                deactivate_all(&server, &shop).await;
                active = false;
            }
            let orders = delivered_orders(&server, &shop, flows, c).await;
            let w = write_load(&server, orders, c).await;
            report.push(format!(
                "{backend}{}: {:.1} flows/s, {:.1} claim mutations/s, mutation p50 {:.1} ms p99 {:.1} ms, last refund paid {:.1} s after the last mutation",
                if *use_plugin { " with plugin" } else { " native" },
                w.flows_per_sec, w.mutations_per_sec, w.p50_ms, w.p99_ms, w.refunds_paid_secs
            ));
            if *use_plugin {
                plugin.push(w.mutations_per_sec);
            } else {
                native.push(w.mutations_per_sec);
            }
        }
        let (peak, rss) = server.memory();
        memory.push(format!(
            "server after the write load on {backend}: peak {peak:.0} MiB, now {rss:.0} MiB"
        ));
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        if with_plugins {
            report.push(format!(
                "{backend}: plugin/native claim mutations/s = {:.3} (mean of {} rounds each)",
                mean(&plugin) / mean(&native),
                plugin.len()
            ));
        }
        let reference = if backend == "PostgreSQL" {
            let tps = tokio::task::spawn_blocking(move || pgbench(&postgres_url(), c, secs))
                .await
                .unwrap();
            format!("pgbench -b tpcb-like -c{c} -T{secs}: {tps:.0} tps; claim mutations/s ÷ pgbench tps = {:.2} (target ≥ 0.5)", mean(&native) / tps)
        } else {
            let tps = sqlite_loop(secs).await;
            format!("plain loop of 5-statement transactions (WAL, synchronous=FULL): {tps:.0} tps; claim mutations/s ÷ loop tps = {:.2} (target ≥ 0.3)", mean(&native) / tps)
        };
        report.push(format!("{backend}: {reference}"));
    }
}

async fn deactivate_all(server: &Server, shop: &Shop) {
    let api = server.api();
    for s in &shop.sellers {
        let seller = token(Role::Seller, &s.to_string());
        for hook in ["CLAIM_FEES", "EXCHANGE_RULES", "CLAIM_WINDOW"] {
            let d = api
                .gql(&seller, "mutation($h: PolicyHook!) { deactivatePlugin(input: {hook: $h}) { userErrors { code message } } }", json!({"h": hook}))
                .await;
            assert_eq!(d["deactivatePlugin"]["userErrors"], json!([]), "{d}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Memory with 100 distinct plugins

async fn plugin_memory(memory: &mut Vec<String>) {
    let url = fresh_database("SQLite", "oms-bench-memory").await;
    let shop = shop(&url).await;
    let server = Server::start(&url, &["--job-interval-secs", "0"]).await;
    let (before, _) = server.memory();
    let api = server.api();
    let module = wasm::example("default-policy");
    let start = Instant::now();
    for i in 0..100 {
        let s = shop.sellers[i % shop.sellers.len()];
        let seller = token(Role::Seller, &s.to_string());
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(wasm::distinct(&module, &format!("module-{i}")));
        let d = api
            .gql(&seller, "mutation($i: UploadPluginInput!) { uploadPlugin(input: $i) { plugin { id sha256 } userErrors { code message } } }", json!({"i": {"hook": "CLAIM_FEES", "wasmBase64": b64}}))
            .await;
        assert_eq!(d["uploadPlugin"]["userErrors"], json!([]), "{d}");
    }
    let uploads = start.elapsed();
    let (peak, rss) = server.memory();
    memory.push(format!(
        "server with 100 distinct plugins uploaded (each compiled, smoke-tested and cached): \
         peak {peak:.0} MiB, now {rss:.0} MiB (idle before: {before:.0} MiB; uploads took {:.1} s)",
        uploads.as_secs_f64()
    ));
}

#[tokio::main]
async fn main() {
    let parts =
        std::env::var("OMS_BENCH_LOAD").unwrap_or_else(|_| "read,write,plugins,memory".into());
    let parts: Vec<&str> = parts.split(',').collect();
    let mut report = Vec::new();
    let mut memory = Vec::new();
    eprintln!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    if parts.contains(&"read") {
        read_path(&mut report, &mut memory).await;
        println!("{}", report.join("\n"));
        report.clear();
    }
    if parts.contains(&"write") || parts.contains(&"plugins") {
        write_path(&parts, &mut report, &mut memory).await;
        println!("{}", report.join("\n"));
        report.clear();
    }
    if parts.contains(&"memory") {
        plugin_memory(&mut memory).await;
    }
    println!(
        "== Memory (VmHWM of the server process)\n{}",
        memory.join("\n")
    );
    eprintln!(
        "load average at the end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
