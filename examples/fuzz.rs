//! Fuzzes a running `oms serve` from outside, as an attacker would: generated hostile GraphQL
//! documents (nesting of every kind, fragment fan-out, long names, huge literals, every limit
//! at and one past its value), mutations of real documents and random bytes, sent over HTTP
//! (POST and GET) and over a WebSocket (graphql-transport-ws), with `/healthz` timed alongside.
//!
//! The server must never abort, never answer 5xx, and answer every request with a coded 4xx or
//! a response whose every error carries `extensions.code`; `/healthz` must keep answering (the
//! run fails when its slowest answer takes longer than `--max-health-ms`, 5,000 by default).
//!
//! ```sh
//! cargo build --release --bin oms --example fuzz
//! target/release/examples/fuzz --server target/release/oms --cases 3000
//! ```
//!
//! It starts the server itself (a fresh SQLite database in a temporary folder, a random port,
//! a secret of its own) and prints what it sent, what came back and the worst latencies.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The server's defaults the generator aims at (`oms serve --help`).
const MAX_NESTING: usize = 64;
const MAX_NODES: usize = 50_000;
const MAX_ALIASES: usize = 100;
const MAX_DEPTH: usize = 12;
const MAX_BODY: usize = 1536 * 1024;

struct Options {
    server: String,
    cases: u64,
    seed: u64,
    max_health: Duration,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        server: "target/release/oms".into(),
        cases: 3_000,
        seed: 0x5eed,
        max_health: Duration::from_millis(5_000),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--server" => o.server = value()?,
            "--cases" => o.cases = value()?.parse().map_err(|e| format!("--cases: {e}"))?,
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--max-health-ms" => {
                o.max_health = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--max-health-ms: {e}"))?,
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// splitmix64: small, seeded, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn around(&mut self, limit: usize) -> usize {
        (limit + self.below(5)).saturating_sub(2)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Real documents the mutations start from.
const SEEDS: &[&str] = &[
    "{ viewer { role } }",
    "query Orders($f: OrderFilterInput) { orders(first: 5, filter: $f) { edges { cursor node { orderNumber lines { id status quantity } } } pageInfo { hasNextPage } } }",
    "query($n: String!) { claim(claimNumber: $n) { claimNumber status availableActions refund { status } timeline { action toStatus } } }",
    "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { claim { claimNumber } userErrors { code field message } } }",
    "{ __schema { queryType { name } types { name kind fields { name type { name ofType { name ofType { name } } } } } } }",
    "fragment L on OrderLine { id status } query { orders(first: 1) { edges { node { lines { ...L } } } } }",
    "subscription { claimEvents { eventId status } }",
    "{ claimStats(filter: {from: \"2026-01-01T00:00:00Z\"}, groupBy: [SELLER, DAY]) { rows { claims } } }",
];

fn nest(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

fn fan_out(levels: usize) -> String {
    let mut q = String::from("fragment F0 on Query { __typename }\n");
    for i in 1..=levels {
        q.push_str(&format!(
            "fragment F{i} on Query {{ ...F{p} ...F{p} }}\n",
            p = i - 1
        ));
    }
    q.push_str(&format!("query {{ ...F{levels} }}"));
    q
}

/// One generated request: a GraphQL body (or raw bytes) and what kind it is, for the tally.
struct Case {
    kind: &'static str,
    body: Vec<u8>,
}

fn document(kind: &'static str, query: String) -> Case {
    Case {
        kind,
        body: json!({ "query": query }).to_string().into_bytes(),
    }
}

fn generate(rng: &mut Rng) -> Case {
    let huge = [2_000usize, 10_000, 100_000];
    match rng.below(16) {
        0 => {
            let n = if rng.below(2) == 0 {
                rng.around(MAX_NESTING - 2)
            } else {
                *rng.pick(&huge)
            };
            document(
                "nested lists",
                format!(
                    "{{ order(orderNumber: {}) {{ id }} }}",
                    nest("[", "1", "]", n)
                ),
            )
        }
        1 => {
            let n = if rng.below(2) == 0 {
                rng.around(MAX_NESTING - 2)
            } else {
                *rng.pick(&huge)
            };
            document(
                "nested objects",
                format!(
                    "{{ orders(filter: {}) {{ totalCount }} }}",
                    nest("{a: ", "1", "}", n)
                ),
            )
        }
        2 => {
            let n = if rng.below(2) == 0 {
                rng.around(MAX_NESTING)
            } else {
                *rng.pick(&huge)
            };
            document("nested selections", nest("{ viewer ", "", "}", n))
        }
        3 => {
            let n = rng.around(MAX_NESTING);
            let query = if rng.below(2) == 0 {
                format!("query($v: {}) {{ __typename }}", nest("[", "Int", "]", n))
            } else {
                format!(
                    "query($v: [Int] = {}) {{ __typename }}",
                    nest("[", "1", "]", n)
                )
            };
            document("nested types and defaults", query)
        }
        4 => document("fragment fan-out", fan_out(1 + rng.below(40))),
        5 => {
            let len = *rng.pick(&[255usize, 10_000, 500_000]);
            let name = format!("f{}", "x".repeat(len));
            let query = match rng.below(3) {
                0 => format!("{{ {name} }}"),
                1 => format!("{{ {name}: __typename }}"),
                _ => format!("query {name} {{ __typename }}"),
            };
            document("long names", query)
        }
        6 => {
            let len = *rng.pick(&[1_000usize, 100_000, MAX_BODY - 64, MAX_BODY + 1]);
            let literal = match rng.below(3) {
                0 => format!("\"{}\"", "가".repeat(len / 3)),
                1 => "9".repeat(len),
                _ => format!("\"\"\"{}\"\"\"", "x\n".repeat(len / 2)),
            };
            document(
                "huge literals",
                format!("{{ order(orderNumber: {literal}) {{ id }} }}"),
            )
        }
        7 => {
            let n = rng.around(MAX_ALIASES);
            let fields: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
            document("aliases at the limit", format!("{{ {fields} }}"))
        }
        8 => {
            let n = rng.around(MAX_NODES);
            document(
                "selections at the limit",
                format!("{{ {} }}", "__typename ".repeat(n)),
            )
        }
        9 => {
            let n = rng.around(MAX_DEPTH);
            document(
                "depth at the limit",
                format!(
                    "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
                    "ofType { ".repeat(n.saturating_sub(4)),
                    "} ".repeat(n.saturating_sub(4))
                ),
            )
        }
        10 => {
            let n = rng.around(MAX_BODY);
            let pad = "x".repeat(n.saturating_sub(40));
            document("body at the limit", format!("{{ __typename }} #{pad}"))
        }
        11 => {
            let n = 1 + rng.below(4_096);
            Case {
                kind: "random bytes",
                body: (0..n).map(|_| rng.next() as u8).collect(),
            }
        }
        12 => {
            // A real document with bytes flipped, dropped or repeated.
            let mut doc = rng.pick(SEEDS).as_bytes().to_vec();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(doc.len());
                match rng.below(3) {
                    0 => doc[at] = b"{}[]()\"#.:$@!,\\ a1"[rng.below(18)],
                    1 => {
                        doc.remove(at);
                    }
                    _ => {
                        let chunk: Vec<u8> = doc[at..].iter().take(8).copied().collect();
                        for _ in 0..rng.below(200) {
                            doc.splice(at..at, chunk.iter().copied());
                        }
                    }
                }
            }
            let query = String::from_utf8_lossy(&doc).into_owned();
            document("mutated documents", query)
        }
        13 => {
            // Variables of hostile shapes.
            let vars = match rng.below(4) {
                0 => {
                    json!({"f": serde_json::from_str::<Value>(&nest("[", "1", "]", 100)).unwrap_or(Value::Null)})
                }
                1 => json!({"f": {"status": "x".repeat(100_000)}}),
                2 => json!({"f": {"orderNumber": "\u{0}".repeat(10)}}),
                _ => json!({"f": [1, {"a": null}, "PAID"]}),
            };
            Case {
                kind: "hostile variables",
                body: json!({"query": SEEDS[1], "variables": vars})
                    .to_string()
                    .into_bytes(),
            }
        }
        14 => {
            // Request shapes: batches, wrong types, many operations.
            let body = match rng.below(4) {
                0 => Value::Array(vec![json!({"query": "{ __typename }"}); 100]),
                1 => json!({"query": 42}),
                2 => json!({"query": "{ __typename }", "operationName": "x".repeat(100_000)}),
                _ => {
                    json!({"query": (0..2_000).map(|i| format!("query Q{i} {{ __typename }} ")).collect::<String>(), "operationName": "Q7"})
                }
            };
            Case {
                kind: "request shapes",
                body: body.to_string().into_bytes(),
            }
        }
        _ => {
            // Directives and arguments in floods.
            let n = *rng.pick(&[15usize, 16, 17, 5_000]);
            let query = if rng.below(2) == 0 {
                format!("{{ viewer{} {{ role }} }}", " @include(if: true)".repeat(n))
            } else {
                format!(
                    "{{ orders({}) {{ totalCount }} }}",
                    (0..n).map(|i| format!("a{i}: 1 ")).collect::<String>()
                )
            };
            document("directive and argument floods", query)
        }
    }
}

/// What an answer says about the server: fine (coded), or a defect.
fn judge(status: u16, body: &[u8]) -> Result<String, String> {
    if status >= 500 {
        return Err(format!("HTTP {status}: {}", clip(body)));
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(format!(
            "HTTP {status} with a body that is not JSON: {}",
            clip(body)
        ));
    };
    let codes: Vec<&str> = v["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    if codes.iter().any(|c| c.is_empty()) {
        return Err(format!("an error without a code: {}", clip(body)));
    }
    if status >= 400 && codes.is_empty() {
        return Err(format!(
            "HTTP {status} without a coded error: {}",
            clip(body)
        ));
    }
    Ok(match codes.first() {
        Some(code) => format!("{status} {code}"),
        None => format!("{status} ok"),
    })
}

/// POSTs a body; a connection the server closed after refusing the previous request unread
/// (a 413 closes it: the body was not read) may be picked from the pool just before the close
/// is noticed, so a request that was never answered is sent once more on a new connection.
async fn post(
    client: &reqwest::Client,
    base: &str,
    body: &[u8],
    graphql_response: bool,
) -> Result<reqwest::Response, reqwest::Error> {
    let send = || {
        client
            .post(format!("{base}/graphql"))
            .header("content-type", "application/json")
            .header(
                "accept",
                if graphql_response {
                    "application/graphql-response+json"
                } else {
                    "application/json"
                },
            )
            .body(body.to_vec())
            .send()
    };
    match send().await {
        Err(e) if e.is_request() || e.is_connect() => send().await,
        other => other,
    }
}

/// Percent-encodes everything but the unreserved characters (a URL's query string).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn clip(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP client (rustls with ring, as the server's), with a timeout per request when given;
/// the run stops when none can be built.
fn http_client(timeout: Option<Duration>) -> reqwest::Client {
    let built = oms::tls::Tls::default()
        .http_client(None)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            let b = match timeout {
                Some(t) => b.timeout(t),
                None => b,
            };
            b.build().map_err(|e| e.to_string())
        });
    match built {
        Ok(client) => client,
        Err(e) => {
            eprintln!("fuzz: cannot build an HTTP client: {e}");
            std::process::exit(2);
        }
    }
}

async fn start(o: &Options, dir: &std::path::Path) -> Result<(Server, String), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new(&o.server)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--job-interval-secs",
            "0",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}/fuzz.db?mode=rwc", dir.display()))
        .env("OMS_JWT_SECRET", "fuzz-secret-not-published")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", o.server))?;
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client(None);
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return Ok((server, base));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the server did not answer /healthz within 30 s".into())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(base: &str) -> Result<Socket, String> {
    let mut request = format!("{}/graphql", base.replacen("http", "ws", 1))
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().map_err(|_| "header")?,
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    ws.send(Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .map_err(|e| e.to_string())?;
    match next_json(&mut ws).await {
        Some(v) if v["type"] == "connection_ack" => Ok(ws),
        other => Err(format!("no connection_ack: {other:?}")),
    }
}

async fn next_json(ws: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
            _ => return None,
        }
    }
}

/// Sends one case over the socket; the socket is replaced when the server closed it (a message
/// over the limit, or bytes that are not a protocol message close it, as the protocol says).
async fn over_socket(
    ws: &mut Option<Socket>,
    base: &str,
    case: &Case,
    id: u64,
) -> Result<String, String> {
    if ws.is_none() {
        *ws = Some(socket(base).await?);
    }
    let Some(s) = ws.as_mut() else {
        return Err("no socket".into());
    };
    let payload = serde_json::from_slice::<Value>(&case.body).unwrap_or(Value::Null);
    let message = if payload.is_object() {
        json!({"id": id.to_string(), "type": "subscribe", "payload": payload}).to_string()
    } else {
        String::from_utf8_lossy(&case.body).into_owned()
    };
    if s.send(Message::Text(message.into())).await.is_err() {
        *ws = None;
        return Ok("socket closed".into());
    }
    match next_json(s).await {
        None => {
            *ws = None;
            Ok("socket closed".into())
        }
        Some(m) => {
            let errors = match m["type"].as_str() {
                Some("error") => m["payload"].clone(),
                Some("next") => m["payload"]["errors"].clone(),
                _ => Value::Null,
            };
            let codes: Vec<String> = errors
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            if codes.iter().any(String::is_empty) {
                return Err(format!("an error without a code over the socket: {m}"));
            }
            // Drain the `complete` of a `next`, so answers stay paired with their ids.
            if m["type"] == "next" {
                if let Some(s) = ws.as_mut() {
                    let _ = next_json(s).await;
                }
            }
            Ok(format!("ws {}", codes.first().map_or("ok", String::as_str)))
        }
    }
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "fuzz: {e}\nusage: fuzz --server PATH [--cases N] [--seed S] [--max-health-ms MS]"
            );
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("oms-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let (mut server, base) = match start(&o, &dir).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fuzz: {e}");
            std::process::exit(1);
        }
    };

    // /healthz every 50 ms, its slowest answer kept, for as long as the run lasts.
    let stop = Arc::new(AtomicBool::new(false));
    let worst_health = Arc::new(AtomicU64::new(0));
    let health = tokio::spawn({
        let (stop, worst, url) = (
            stop.clone(),
            worst_health.clone(),
            format!("{base}/healthz"),
        );
        async move {
            let client = http_client(None);
            let mut failures = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                match client
                    .get(&url)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {}
                    _ => failures += 1,
                }
                worst.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            failures
        }
    });

    let client = http_client(Some(Duration::from_secs(30)));
    let mut rng = Rng(o.seed);
    let mut ws: Option<Socket> = None;
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let mut defects: Vec<String> = Vec::new();
    let mut worst_request = (Duration::ZERO, String::new());
    let started = Instant::now();
    for i in 0..o.cases {
        let case = generate(&mut rng);
        let sent = Instant::now();
        let verdict = match i % 4 {
            // Every fourth case goes over the socket, one in eight of the rest by GET.
            3 => over_socket(&mut ws, &base, &case, i).await,
            2 if case.body.len() < 6_000 => {
                let query = serde_json::from_slice::<Value>(&case.body)
                    .ok()
                    .and_then(|v| v["query"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| String::from_utf8_lossy(&case.body).into_owned());
                let url = format!("{base}/graphql?query={}", percent(&query));
                let send = || client.get(&url).send();
                // The same pool race as for POST (see `post`): one more try on a new connection.
                let sent = match send().await {
                    Err(e) if e.is_request() || e.is_connect() => send().await,
                    other => other,
                };
                match sent {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body = r.bytes().await.unwrap_or_default();
                        // A GET that is not a query is refused before GraphQL (405 and such).
                        judge(status, &body)
                    }
                    Err(e) => Err(format!("GET failed: {e}")),
                }
            }
            _ => match post(&client, &base, &case.body, i % 2 == 0).await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.bytes().await.unwrap_or_default();
                    judge(status, &body)
                }
                // A body declared larger than the limit is refused with 413 before it is read,
                // and the connection closed: a client still writing it sees the close.
                Err(e) if case.body.len() > MAX_BODY && e.is_request() => {
                    Ok("413 refused unread".to_owned())
                }
                Err(e) => Err(format!("POST failed: {e:?}")),
            },
        };
        let took = sent.elapsed();
        if took > worst_request.0 {
            worst_request = (took, case.kind.to_owned());
        }
        match verdict {
            Ok(outcome) => {
                *tally
                    .entry(format!("{:<32} {outcome}", case.kind))
                    .or_default() += 1
            }
            Err(defect) => defects.push(format!("case {i} ({}): {defect}", case.kind)),
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            defects.push(format!(
                "the server exited ({status}) after case {i} ({})",
                case.kind
            ));
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let health_failures = health.await.unwrap_or(u64::MAX);
    let worst_health = Duration::from_micros(worst_health.load(Ordering::Relaxed));

    println!(
        "fuzz: {} cases in {:.1} s (seed {})",
        o.cases,
        started.elapsed().as_secs_f64(),
        o.seed
    );
    for (outcome, n) in &tally {
        println!("  {n:>6}  {outcome}");
    }
    println!(
        "slowest request: {} ms ({}); slowest /healthz: {} ms; /healthz failures: {health_failures}",
        worst_request.0.as_millis(),
        worst_request.1,
        worst_health.as_millis()
    );
    if worst_health > o.max_health {
        defects.push(format!(
            "/healthz took {} ms, more than {} ms",
            worst_health.as_millis(),
            o.max_health.as_millis()
        ));
    }
    if health_failures > 0 {
        defects.push(format!("/healthz failed {health_failures} times"));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    if defects.is_empty() {
        println!("fuzz: no defects");
    } else {
        for d in defects.iter().take(20) {
            eprintln!("DEFECT {d}");
        }
        eprintln!("fuzz: {} defects", defects.len());
        std::process::exit(1);
    }
}
