//! The document guard (`oms::graphql::guard`), from outside: the documents that aborted or
//! froze the server (issue 14's findings 1 and 2) are refused with a code and at once, over HTTP
//! and over a WebSocket, while `/healthz` keeps answering; limits at the limit and one past it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{graphql_socket, Backend, TestApp};
use crate::on_both;

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("-")
}

fn lists(n: usize) -> String {
    format!("{}1{}", "[".repeat(n), "]".repeat(n))
}

/// `F0 { __typename }`, `Fi { ...F(i-1) ...F(i-1) }`, `query { ...Fn }`: 2ⁿ selections when
/// expanded, a few hundred bytes written.
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

/// The documents of the findings, each with the code it must be refused with.
fn hostile_documents() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "lists in an argument, 2,000 levels",
            format!("{{ order(orderNumber: {}) {{ id }} }}", lists(2_000)),
            "DOCUMENT_TOO_NESTED",
        ),
        (
            "objects in an argument, 5,000 levels",
            format!(
                "{{ orders(filter: {}1{}) {{ totalCount }} }}",
                "{a: ".repeat(5_000),
                "}".repeat(5_000)
            ),
            "DOCUMENT_TOO_NESTED",
        ),
        (
            "lists in a variable's default",
            format!("query($v: [Int] = {}) {{ __typename }}", lists(2_000)),
            "DOCUMENT_TOO_NESTED",
        ),
        (
            "a list type 2,000 levels deep",
            format!(
                "query($v: {}Int{}) {{ __typename }}",
                "[".repeat(2_000),
                "]".repeat(2_000)
            ),
            "DOCUMENT_TOO_NESTED",
        ),
        (
            "selections 100,000 levels deep",
            format!("{}{}", "{ viewer ".repeat(100_000), "}".repeat(100_000)),
            "DOCUMENT_TOO_NESTED",
        ),
        (
            "fragment fan-out, 22 levels",
            fan_out(22),
            "DOCUMENT_TOO_LARGE",
        ),
        (
            "fragment fan-out, 24 levels",
            fan_out(24),
            "DOCUMENT_TOO_LARGE",
        ),
        (
            "fragment fan-out, 39 levels",
            fan_out(39),
            "DOCUMENT_TOO_LARGE",
        ),
    ]
}

/// Polls `/healthz` every 20 ms until `stop`; the slowest answer.
async fn time_healthz(t: &TestApp, stop: Arc<AtomicBool>) -> Duration {
    let mut worst = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let (status, _) = t
            .send(Request::get("/healthz").body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::OK);
        worst = worst.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worst
}

/// Each hostile document over HTTP: a 400 with its code, fast, with `/healthz` timed alongside.
async fn http_documents(t: TestApp) {
    let t = Arc::new(t);
    let stop = Arc::new(AtomicBool::new(false));
    let health = tokio::spawn({
        let (t, stop) = (t.clone(), stop.clone());
        async move { time_healthz(&t, stop).await }
    });
    for (what, doc, expected) in hostile_documents() {
        let started = Instant::now();
        let (status, body) = t.post(None, &doc, json!({})).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(code(&body), expected, "{what}: {body}");
        assert!(took < Duration::from_secs(1), "{what}: {took:?}");
        // The refusal names the limit and does not quote the document back.
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.len() < 300, "{what}: {message}");
        assert!(message.contains("--max-"), "{what}: {message}");
    }
    stop.store(true, Ordering::Relaxed);
    let worst = health.await.unwrap();
    assert!(worst < Duration::from_secs(1), "/healthz took {worst:?}");

    // The server is still whole: an ordinary query answers.
    let (status, body) = t.post(None, "{ __typename }", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
on_both!(hostile_documents_over_http, http_documents);

/// Every limit at the limit and one past it.
async fn limits_at_the_edge(t: TestApp) {
    let limits = t.app.limits.clone();
    // `{ order(orderNumber: [...]) { id } }`: the brace and the parenthesis add two levels.
    let at = format!(
        "{{ order(orderNumber: {}) {{ id }} }}",
        lists(limits.max_nesting - 2)
    );
    let (status, body) = t.post(None, &at, json!({})).await;
    // Within the nesting limit it reaches validation, which refuses a list for a String.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    let past = format!(
        "{{ order(orderNumber: {}) {{ id }} }}",
        lists(limits.max_nesting - 1)
    );
    let (_, body) = t.post(None, &past, json!({})).await;
    assert_eq!(code(&body), "DOCUMENT_TOO_NESTED", "{body}");

    // The expanded size: `{ __typename … }` with as many selections as the limit allows.
    let fields = |n: u64| format!("{{ {} }}", "__typename ".repeat(n as usize));
    let (status, body) = t
        .post(None, &fields(limits.max_document_nodes), json!({}))
        .await;
    assert!(
        status == StatusCode::OK || code(&body) != "DOCUMENT_TOO_LARGE",
        "{status}"
    );
    let (status, body) = t
        .post(None, &fields(limits.max_document_nodes + 1), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DOCUMENT_TOO_LARGE")
    );

    // A syntax error in 200 KB on one line: a short message that says where.
    let (status, body) = t
        .post(
            None,
            &format!("{{ a(s: \"{}\") ", "x".repeat(200_000)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
    assert!(body.to_string().len() < 1_000, "{}", body.to_string().len());
    assert!(body.to_string().contains("line 1"), "{body}");
}
on_both!(document_limits_at_the_edge, limits_at_the_edge);

async fn socket(addr: std::net::SocketAddr) -> SocketStream {
    let mut ws = graphql_socket(addr).await;
    ws.send(text(json!({"type": "connection_init"})))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    ws
}

type SocketStream = crate::harness::GraphqlSocket;

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// The next JSON message, or `None` when the socket closed.
async fn next_json(ws: &mut SocketStream) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s");
        match m {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// The same documents over a WebSocket: each refused with its code on its subscription id, the
/// socket still answering afterwards; a message over the body limit closes the socket, not the
/// server.
async fn socket_documents(t: TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = t.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut ws = socket(addr).await;
    for (i, (what, doc, expected)) in hostile_documents().into_iter().enumerate() {
        let id = i.to_string();
        let started = Instant::now();
        ws.send(text(
            json!({"id": id, "type": "subscribe", "payload": {"query": doc}}),
        ))
        .await
        .unwrap();
        let m = next_json(&mut ws).await.expect("an answer");
        assert!(started.elapsed() < Duration::from_secs(1), "{what}");
        assert_eq!(m["id"], id.as_str(), "{what}: {m}");
        let errors = if m["type"] == "error" {
            &m["payload"]
        } else {
            &m["payload"]["errors"]
        };
        assert_eq!(errors[0]["extensions"]["code"], expected, "{what}: {m}");
        if m["type"] == "next" {
            assert_eq!(next_json(&mut ws).await.unwrap()["type"], "complete");
        }
    }
    ws.send(text(
        json!({"id": "ok", "type": "subscribe", "payload": {"query": "{ __typename }"}}),
    ))
    .await
    .unwrap();
    let m = next_json(&mut ws).await.unwrap();
    assert_eq!(m["payload"]["data"]["__typename"], "Query", "{m}");

    // One byte past the body limit: the socket closes (the limit itself is a POST's).
    let mut big = socket(addr).await;
    let pad = "x".repeat(t.app.limits.max_body_bytes);
    let _ = big
        .send(text(json!({"id": "big", "type": "subscribe", "payload": {"query": format!("{{ __typename }} #{pad}")}})))
        .await;
    assert_eq!(next_json(&mut big).await, None, "the socket closed");
    let (status, _) = t.post(None, "{ __typename }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}
on_both!(hostile_documents_over_a_socket, socket_documents);

/// The release of the whole process: the 2,000-level document sent to `oms serve` itself (an
/// abort there took every in-flight request with it), then `/healthz` and a query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_process_survives_the_crash_documents() {
    let t = TestApp::new(Backend::Sqlite).await.expect("sqlite");
    let (_server, base) = crate::replicas::start(&t.url).await;
    let client = crate::harness::http_client();
    for (what, doc, expected) in hostile_documents() {
        let body: Value = client
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": doc }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .json()
            .await
            .unwrap();
        assert_eq!(code(&body), expected, "{what}: {body}");
    }
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// Documents that are wrong in many places at once: variables and fragments beyond their
/// limits are refused before validation; a document within them that validation refuses in a
/// thousand places answers the first 99 errors and one that counts the rest, never megabytes.
async fn definitions_and_error_lists(t: TestApp) {
    let variables = |n: usize| {
        let defs: String = (0..n).map(|i| format!("$v{i}: Int ")).collect();
        format!("query({defs}) {{ __typename }}")
    };
    // At the limit: validation runs, and says that 500 variables are unused.
    let (status, body) = t.post(None, &variables(500), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100, "the list is cut");
    assert_eq!(
        errors[99]["extensions"]["code"], "TOO_MANY_ERRORS",
        "{}",
        errors[99]
    );
    assert_eq!(
        errors[99]["message"],
        "401 more errors left out; fix the ones above and send the document again"
    );
    assert!(errors[..99]
        .iter()
        .all(|e| e["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"));
    // One past: refused at once.
    let (status, body) = t.post(None, &variables(501), json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DOCUMENT_TOO_LARGE"),
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["message"],
        "the document defines 501 variables, more than the limit of 500"
    );
    // A refusal of the guard has no made-up location.
    assert!(body["errors"][0].get("locations").is_none(), "{body}");

    let fragments = |n: usize| {
        let defs: String = (0..n)
            .map(|i| format!("fragment F{i} on Query {{ __typename }} "))
            .collect();
        format!("{defs} query {{ ...F0 }}")
    };
    let (_, body) = t.post(None, &fragments(1_000), json!({})).await;
    assert_ne!(code(&body), "DOCUMENT_TOO_LARGE", "at the limit");
    let (_, body) = t.post(None, &fragments(1_001), json!({})).await;
    assert_eq!(code(&body), "DOCUMENT_TOO_LARGE", "{body}");

    // Thousands of unknown fields: 100 errors in a small answer.
    let unknown: String = (0..5_000).map(|i| format!("nope{i} ")).collect();
    let (status, body) = t.post(None, &format!("{{ {unknown} }}"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"].as_array().unwrap().len(), 100);
    assert!(
        body.to_string().len() < 30_000,
        "{}",
        body.to_string().len()
    );

    // A fan-out too large to count is said so in words, not as 18446744073709551615.
    let (_, body) = t.post(None, &fan_out(70), json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("18446744073709551615"), "{message}");
}
on_both!(
    definitions_and_error_lists_are_bounded,
    definitions_and_error_lists
);

/// Clients that connect and say nothing, or send half a body, are stopped by the request
/// timeout; a body declared larger than the limit is refused before it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_let_go() {
    let t = TestApp::with_limits(
        Backend::Sqlite,
        oms::config::LimitArgs {
            request_timeout_ms: 1_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let addr = t.serve_on_loopback().await;

    // A WebSocket that never sends `connection_init` is closed after the timeout.
    let mut ws = graphql_socket(addr).await;
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the silent socket is still open");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // Half a body: 408 after the timeout, not a connection held forever.
    let (sender, body) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender.send(Ok(b"{\"".to_vec())).await.unwrap();
    let stream = tokio_stream_from(body);
    let started = Instant::now();
    let (status, body) = t
        .send(
            Request::post("/graphql")
                .header("content-type", "application/json")
                .header("content-length", "100")
                .body(Body::from_stream(stream))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(sender);

    // A declared length past the limit: 413 before any of it is read.
    let (status, body) = t
        .send(
            Request::post("/graphql")
                .header("content-type", "application/json")
                .header("content-length", "999999999")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

/// A body stream fed from a channel (it ends when the sender goes).
fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}
