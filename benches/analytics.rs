//! Claim analytics at scale (`cargo bench --bench analytics`): `claimStats` grouped by seller
//! and day over 1,000,000 orders on PostgreSQL, target under one second, with a few other
//! groupings and scopes, the same figures end to end over HTTP (GraphQL and the CSV exports),
//! and the server's memory while it streams every claim as CSV.
//!
//! The database is `OMS_BENCH_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/oms_bench_analytics`). The bench creates it when it does
//! not exist, applies the migrations, and loads `benches/analytics_data.sql` (1,000,000 orders,
//! 1.5 million lines, about 105,000 claims; under a minute) when it has no orders; a second run
//! reuses the data. By hand, the same is:
//!
//! ```sh
//! psql postgres://postgres@127.0.0.1:5432/postgres -c 'CREATE DATABASE oms_bench_analytics'
//! cargo run --release -- migrate --database-url postgres://postgres@127.0.0.1:5432/oms_bench_analytics
//! psql postgres://postgres@127.0.0.1:5432/oms_bench_analytics -f benches/analytics_data.sql
//! psql postgres://postgres@127.0.0.1:5432/oms_bench_analytics -c 'VACUUM ANALYZE'
//! ```
//!
//! A custom harness (no criterion): the issue asks for one figure against a target.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use oms::auth::TokenKeys;
use oms::db::Db;
use oms::domain::actor::{Actor, Role};
use oms::domain::analytics::{scope, Dimension, Grouping, StatsFilter, StatsQuery};
use oms::repo;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{json, Value};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/oms_bench_analytics";
/// Orders the data set has.
const ORDERS: i64 = 1_000_000;
/// The issue's target for `claimStats` by seller and day over all of them.
const TARGET: Duration = Duration::from_secs(1);
/// Measured runs per case, after `WARMUP` unmeasured ones.
const RUNS: usize = 10;
const WARMUP: usize = 2;
/// Every row, whatever the grouping.
const ALL_ROWS: u64 = 10_000_000;
/// The data's last day is 2026-11-27 (KST); "the last 30 days" start here.
fn last_30_days() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 27, 15, 0, 0)
        .single()
        .unwrap()
}

#[derive(Debug, Clone, Copy)]
struct Summary {
    min: f64,
    median: f64,
    p90: f64,
    max: f64,
}

/// Nearest-rank figures of samples in milliseconds.
fn summarize(samples: &mut [f64]) -> Summary {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at =
        |p: f64| samples[((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    Summary {
        min: samples[0],
        median: at(0.5),
        p90: at(0.9),
        max: samples[samples.len() - 1],
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let url = std::env::var("OMS_BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    ensure_database(&url).await;
    let db = Db::connect(&url, 4).await.expect("connect");
    db.migrate().await.expect("migrate");
    load_data(&db).await;
    let conn = db.conn();
    let count = |sql: &str| {
        let sql = sql.to_owned();
        async move {
            conn.query_one(Statement::from_string(DbBackend::Postgres, sql))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    println!(
        "data: {} orders, {} lines ({} delivered), {} claims, {} refunds; PostgreSQL {}",
        count("SELECT count(*) FROM orders").await,
        count("SELECT count(*) FROM order_lines").await,
        count("SELECT count(*) FROM order_lines WHERE delivered_at IS NOT NULL").await,
        count("SELECT count(*) FROM claims").await,
        count("SELECT count(*) FROM refunds").await,
        conn.query_one(Statement::from_string(
            DbBackend::Postgres,
            "SHOW server_version"
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap(),
    );

    println!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // 1. The statement, as the server runs it (repo::analytics::claim_stats).
    println!("\n1. claimStats in the database ({RUNS} runs after {WARMUP} warm-up; ms)\n");
    println!("| case | rows | min | median | p90 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    let all = StatsFilter::default();
    let month = StatsFilter {
        from: Some(last_30_days()),
        ..StatsFilter::default()
    };
    use Dimension as D;
    let cases: Vec<(&str, Actor, StatsFilter, Vec<Dimension>, bool)> = vec![
        (
            "SELLER × DAY, all 365 days (the target)",
            Actor::Analyst,
            all.clone(),
            vec![D::Seller, D::Day],
            false,
        ),
        (
            "SELLER × DAY, all, with ordered units (cancel rate)",
            Actor::Analyst,
            all.clone(),
            vec![D::Seller, D::Day],
            true,
        ),
        (
            "SELLER × DAY, last 30 days",
            Actor::Analyst,
            month.clone(),
            vec![D::Seller, D::Day],
            false,
        ),
        (
            "SELLER × MONTH, all",
            Actor::Analyst,
            all.clone(),
            vec![D::Seller, D::Month],
            false,
        ),
        (
            "REASON × WEEK, all",
            Actor::Analyst,
            all.clone(),
            vec![D::Reason, D::Week],
            false,
        ),
        (
            "PRODUCT, all",
            Actor::Analyst,
            all.clone(),
            vec![D::Product],
            false,
        ),
        (
            "PRODUCT × REASON, last 30 days",
            Actor::Analyst,
            month.clone(),
            vec![D::Product, D::Reason],
            false,
        ),
        (
            "no grouping, all",
            Actor::Analyst,
            all.clone(),
            vec![],
            false,
        ),
        (
            "one SELLER's DAYs, all (a seller's token)",
            Actor::Seller(42),
            all.clone(),
            vec![D::Day],
            false,
        ),
    ];
    let mut target_median = None;
    for (name, actor, filter, dims, with_ordered_units) in cases {
        let query = StatsQuery {
            filter: scope(actor, filter).unwrap(),
            grouping: Grouping::new(&dims).unwrap(),
            order: Vec::new(),
            with_ordered_units,
        };
        let mut rows = 0;
        let mut samples = Vec::new();
        for i in 0..WARMUP + RUNS {
            let started = Instant::now();
            let txn = repo::analytics::begin(conn).await.unwrap();
            let r = repo::analytics::claim_stats(&txn, &query, ALL_ROWS)
                .await
                .unwrap();
            txn.commit().await.unwrap();
            let took = started.elapsed();
            rows = r.len();
            if i >= WARMUP {
                samples.push(ms(took));
            }
        }
        let s = summarize(&mut samples);
        if target_median.is_none() {
            target_median = Some(s.median);
        }
        println!(
            "| {name} | {rows} | {:.0} | {:.0} | {:.0} | {:.0} |",
            s.min, s.median, s.p90, s.max
        );
    }

    if std::env::var_os("OMS_BENCH_EXPLAIN").is_some() {
        let query = StatsQuery {
            filter: scope(Actor::Analyst, StatsFilter::default()).unwrap(),
            grouping: Grouping::new(&[D::Seller, D::Day]).unwrap(),
            order: Vec::new(),
            with_ordered_units: false,
        };
        let stmt = repo::analytics::claim_stats_sql(DbBackend::Postgres, &query, None);
        println!("\n{}\n", stmt.sql);
        let explain = Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, BUFFERS) {}", stmt.sql),
            stmt.values.map(|v| v.0).unwrap_or_default(),
        );
        let txn = repo::analytics::begin(conn).await.unwrap();
        for row in txn.query_all(explain).await.unwrap() {
            println!("{}", row.try_get_by_index::<String>(0).unwrap());
        }
        txn.commit().await.unwrap();
    }

    // 2. End to end: the real server over HTTP.
    println!("\n2. Through the server (`oms serve`, release build, HTTP on loopback)\n");
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let mut server = Server::start(&url, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let token = TokenKeys::new("oms-bench-secret")
        .issue(Role::Analyst, "bench", chrono::Duration::hours(1))
        .unwrap();
    let http = oms::tls::Tls::default()
        .http_client(None)
        .expect("TLS")
        .build()
        .expect("http client");
    let graphql = |query: Value| {
        let http = http.clone();
        let token = token.clone();
        let base = base.clone();
        async move {
            let started = Instant::now();
            let resp = http
                .post(format!("{base}/graphql"))
                .bearer_auth(token)
                .json(&query)
                .send()
                .await
                .unwrap();
            let body: Value = resp.json().await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            (started.elapsed(), body)
        }
    };
    println!("| request | rows | bytes | min ms | median ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let q = json!({"query": "query($from: DateTime) { claimStats(filter: {from: $from}, groupBy: [SELLER, DAY], first: 10000) { truncated rows { period sellerId sellerName claims claimedUnits deliveredUnits claimRate refundedCash refundedPoints feesCharged medianHoursToComplete p90HoursToComplete onHold conversions rejections } } }", "variables": {"from": last_30_days().to_rfc3339()}});
    let mut samples = Vec::new();
    let mut rows = 0;
    for i in 0..WARMUP + RUNS {
        let (took, body) = graphql(q.clone()).await;
        rows = body["data"]["claimStats"]["rows"].as_array().unwrap().len();
        if i >= WARMUP {
            samples.push(ms(took));
        }
    }
    let s = summarize(&mut samples);
    println!(
        "| GraphQL claimStats SELLER × DAY, last 30 days | {rows} | {} | {:.0} | {:.0} | {:.0} |",
        serde_json::to_string(&graphql(q.clone()).await.1)
            .unwrap()
            .len(),
        s.min,
        s.median,
        s.max
    );
    let rss_before = server.memory();
    for (name, path) in [
        (
            "claim-stats.csv SELLER × DAY, all 365 days",
            "/export/claim-stats.csv?groupBy=SELLER,DAY",
        ),
        ("claims.csv, every claim", "/export/claims.csv"),
    ] {
        let mut samples = Vec::new();
        let (mut rows, mut bytes) = (0, 0);
        for _ in 0..3 {
            let started = Instant::now();
            let resp = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            let body = resp.bytes().await.unwrap();
            samples.push(ms(started.elapsed()));
            bytes = body.len();
            rows = body
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
                - 1;
        }
        let s = summarize(&mut samples);
        println!(
            "| {name} | {rows} | {bytes} | {:.0} | {:.0} | {:.0} |",
            s.min, s.median, s.max
        );
    }
    let rss_after = server.memory();
    println!(
        "\nserver memory: {} before the exports, {} after (peak {}): streaming keeps it flat",
        rss_before.0, rss_after.0, rss_after.1
    );
    server.stop();

    println!("load average at the end: {}", load_average());
    let median = target_median.unwrap();
    let ok = median < ms(TARGET);
    println!(
        "\ntarget: claimStats by seller and day over {ORDERS} orders in under {} ms: median {median:.0} ms — {}",
        ms(TARGET),
        if ok { "met" } else { "MISSED" }
    );
    if !ok {
        std::process::exit(1);
    }
}

/// The 1, 5 and 15 minute load averages (other processes share the cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// Creates the database when it does not exist (through the server's `postgres` database).
async fn ensure_database(url: &str) {
    if Database::connect(url).await.is_ok() {
        return;
    }
    let (server, name) = url.rsplit_once('/').expect("a database URL");
    let admin = Database::connect(format!("{server}/postgres"))
        .await
        .expect("connect to the server");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the bench database");
    println!("created {name}");
}

/// Loads the data set into an empty database, or checks the one there.
async fn load_data(db: &Db) {
    let conn = db.conn();
    let orders = conn
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) FROM orders",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    match orders {
        ORDERS => return,
        0 => {}
        n => {
            panic!("the bench database has {n} orders, not {ORDERS} or none: drop it and run again")
        }
    }
    println!("loading benches/analytics_data.sql ...");
    let started = Instant::now();
    conn.execute_unprepared(include_str!("analytics_data.sql"))
        .await
        .expect("load the data set");
    conn.execute_unprepared("VACUUM ANALYZE")
        .await
        .expect("vacuum");
    println!("loaded in {:.1} s", started.elapsed().as_secs_f64());
}

/// `oms serve` (this build) on the bench database.
struct Server {
    child: Child,
}

impl Server {
    async fn start(url: &str, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_oms"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                url,
            ])
            .env("OMS_JWT_SECRET", "oms-bench-secret")
            .env("OMS_JOB_INTERVAL_SECS", "0")
            .env("OMS_REQUEST_TIMEOUT_MS", "60000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start oms serve");
        let server = Server { child };
        let ready = format!("http://127.0.0.1:{port}/readyz");
        for _ in 0..100 {
            if reqwest::get(&ready)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the server did not become ready");
    }

    /// (resident, peak resident) memory, as /proc tells.
    fn memory(&self) -> (String, String) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l[name.len()..].trim().to_owned())
                .unwrap_or_else(|| "?".to_owned())
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
