//! Two server processes on one PostgreSQL database: concurrent requests over the same units,
//! sent to both, leave exactly one claim; the rest are clean refusals.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oms::domain::actor::Role;
use serde_json::{json, Value};

use crate::claims::deliver;
use crate::harness::{gid, Backend, TestApp};
use crate::orders::PLACE;

/// A server process, killed and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(url: &str) -> (Server, String) {
    start_with(url, &[], &[]).await
}

/// Starts `oms serve` on `url` with extra flags and environment variables.
pub async fn start_with(url: &str, args: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            url,
            "--jwt-secret",
            "test-secret",
            "--job-interval-secs",
            "0",
        ])
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oms");
    // Killed and reaped on drop, whatever happens next.
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on {base} did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_winner() {
    let Some(t) = TestApp::new(Backend::Postgres).await else {
        eprintln!("OMS_TEST_POSTGRES_URL not set: two-replica test skipped");
        return;
    };
    let s = t.seller("A", 3000, 50000, 3000).await;
    let opt = t.option(s, 10000, 10).await;
    let c = t.customer(0).await;
    let customer = t.token(Role::Customer, &c.to_string());
    let o = t.gql(&customer, PLACE, json!({"input": {"lines": [{"optionId": gid("ProductOption", opt), "quantity": 3}], "paymentMethod": "CARD"}})).await["placeOrder"]["order"].clone();
    let number = o["orderNumber"].as_str().unwrap().to_owned();
    let line = o["lines"][0]["id"].as_str().unwrap().to_owned();
    deliver(&t, &number, std::slice::from_ref(&line)).await;

    let (_a, base_a) = start(&t.url).await;
    let (_b, base_b) = start(&t.url).await;
    let client = reqwest::Client::new();
    let doc = "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { claim { claimNumber } userErrors { code } } }";
    let body = json!({"query": doc, "variables": {"input": {"orderNumber": number, "items": [{"lineId": line, "quantity": 2}], "reason": "CHANGE_OF_MIND"}}});
    let calls = (0..20).map(|i| {
        let url = format!("{}/graphql", if i % 2 == 0 { &base_a } else { &base_b });
        let req = client.post(url).bearer_auth(&customer).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    });
    let answers = futures_util::future::join_all(calls).await;
    let mut winners = 0;
    for a in &answers {
        assert!(a.get("errors").is_none(), "no request fails: {a}");
        match a["data"]["requestReturn"]["userErrors"][0]["code"].as_str() {
            None => winners += 1,
            Some(code) => assert!(
                code == "NOT_ENOUGH_UNITS" || code == "CLAIM_CONFLICT",
                "{a}"
            ),
        }
    }
    assert_eq!(winners, 1, "{answers:?}");
    let d = t.gql(&customer, "query($n: String!) { order(orderNumber: $n) { lines { claimedQuantity } claims { status } } }", json!({"n": number})).await;
    assert_eq!(d["order"]["lines"][0]["claimedQuantity"], 2);
    assert_eq!(d["order"]["claims"].as_array().unwrap().len(), 1);
}
