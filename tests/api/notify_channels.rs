//! The notification channels against the loopback sinks: a Korean mail through SMTP decoded
//! back to the same subject and body, 알림톡 posted to an HTTP gateway with the documented
//! JSON, failures reported with their cause, and the issue's example subject from the routing
//! table and the templates.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use oms::notify::channels::{Alimtalk, Mailer, Messenger};
use oms::notify::routing::notifications_for_event;
use oms::notify::templates::{render, template_name, Names, Rendered};
use oms::outbox::{Audience, Event};
use serde_json::json;

use crate::sinks::{HttpSink, SmtpSink};

/// `claim.exchange_collected` for order 20261124-000123, as the dispatcher would see it.
fn exchange_collected() -> Event {
    Event {
        id: 123,
        event_id: "evt_123".into(),
        event_type: "claim.exchange_collected".into(),
        occurred_at: Utc.with_ymd_and_hms(2026, 11, 24, 5, 30, 0).unwrap(),
        order_number: "20261124-000123".into(),
        claim_number: Some("C20261124-0007".into()),
        claim_type: Some("EXCHANGE".into()),
        status: Some("EXCHANGE_COLLECTED".into()),
        seller_ids: vec![7],
        customer_id: 3,
        data: json!({"action": "MARK_COLLECTED", "actor": "SYSTEM",
                     "fromStatus": "EXCHANGE_COLLECTING", "status": "EXCHANGE_COLLECTED"}),
    }
}

fn customer_message() -> Rendered {
    let names = Names {
        customer: "홍길동".into(),
        seller: None,
    };
    render(
        "claim.collected",
        Audience::Customer,
        &exchange_collected(),
        &names,
    )
    .unwrap()
}

#[tokio::test]
async fn the_issue_example_comes_from_the_table_and_the_template() {
    let event = exchange_collected();
    let notifications = notifications_for_event(&event);
    let to_customer = notifications
        .iter()
        .find(|n| n.audience == Audience::Customer)
        .expect("the customer hears about collected exchanges");
    let rendered = render(
        to_customer.template,
        Audience::Customer,
        &event,
        &Names {
            customer: "홍길동".into(),
            seller: None,
        },
    )
    .unwrap();
    assert_eq!(
        rendered.subject,
        "[주문번호 20261124-000123] 교환 상품이 수거 완료되었습니다"
    );
    assert!(rendered.body.contains("처리 상태: 교환 수거 완료"));
    assert!(notifications.iter().any(|n| n.audience == Audience::Seller));
}

#[tokio::test]
async fn a_korean_mail_survives_smtp() {
    let sink = SmtpSink::start().await;
    assert!(sink.addr().ip().is_loopback());
    let mailer = Mailer::from_url(
        Some(&sink.url()),
        "OMS 알림 <noreply@oms.test>",
        &Default::default(),
    )
    .unwrap();
    let rendered = customer_message();
    let receipt = mailer
        .send("홍길동 <customer@example.com>", &rendered)
        .await
        .unwrap();
    assert!(receipt.starts_with("250"), "{receipt}");

    let mails = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "noreply@oms.test");
    assert_eq!(mail.to, vec!["customer@example.com".to_owned()]);
    assert!(mail.received_at <= Utc::now());
    assert_eq!(mail.subject(), rendered.subject);
    assert_eq!(mail.text().trim_end(), rendered.body);
    assert!(mail
        .text()
        .contains("홍길동님, 교환 상품이 판매자에게 도착했습니다."));
    // The raw message is 7-bit: the Korean travels encoded.
    assert!(mail.data.is_ascii());
    assert!(mail.header("Content-Type").unwrap().contains("utf-8"));

    // A subject long enough to be folded over several encoded words.
    let long = Rendered {
        subject: format!(
            "[주문번호 20261124-000123] {}",
            "교환 상품이 수거 완료되었습니다 ".repeat(6).trim_end()
        ),
        body: "짧은 본문".into(),
    };
    mailer.send("customer@example.com", &long).await.unwrap();
    let mails = sink.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(mails[1].subject(), long.subject);
    assert_eq!(mails[1].text().trim_end(), "짧은 본문");
}

#[tokio::test]
async fn smtp_failures_are_errors_with_the_cause() {
    let sink = SmtpSink::start().await;
    let mailer =
        Mailer::from_url(Some(&sink.url()), "noreply@oms.test", &Default::default()).unwrap();
    sink.fail_next(1);
    let error = mailer
        .send("customer@example.com", &customer_message())
        .await
        .unwrap_err();
    assert!(error.contains("SMTP relay"), "{error}");
    assert!(sink.mails().is_empty());
    mailer
        .send("customer@example.com", &customer_message())
        .await
        .unwrap();
    assert_eq!(sink.mails().len(), 1);

    let error = mailer
        .send("not an address", &customer_message())
        .await
        .unwrap_err();
    assert!(error.contains("recipient"), "{error}");

    // Nobody listens on a port that was just freed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nowhere = Mailer::from_url(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "noreply@oms.test",
        &Default::default(),
    )
    .unwrap();
    assert!(nowhere
        .send("customer@example.com", &customer_message())
        .await
        .is_err());
}

#[tokio::test]
async fn alimtalk_posts_the_documented_json() {
    let sink = HttpSink::start().await;
    let gateway = Alimtalk::new(
        &sink.url("/alimtalk/send"),
        "sender-key-1",
        Duration::from_secs(5),
        &Default::default(),
    )
    .unwrap();
    let rendered = customer_message();
    let code = template_name("claim.collected", Audience::Customer);
    let receipt = Messenger::Alimtalk(gateway)
        .send("010-1234-5678", &code, &rendered)
        .await
        .unwrap();
    assert_eq!(receipt, "sink-1");

    let requests = sink.wait_for(1, Duration::from_secs(5)).await;
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/alimtalk/send");
    assert_eq!(request.status, 200);
    assert!(request.received_at <= Utc::now());
    assert!(request
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert!(request.headers.contains_key("content-length"));
    assert_eq!(
        request.json(),
        json!({
            "senderKey": "sender-key-1",
            "templateCode": "claim.collected:CUSTOMER",
            "recipientNo": "01012345678",
            "content": format!("{}\n\n{}", rendered.subject, rendered.body),
        })
    );
    assert!(std::str::from_utf8(&request.body)
        .unwrap()
        .contains("교환 상품이 수거 완료되었습니다"));
}

#[tokio::test]
async fn alimtalk_failures_name_the_status() {
    let sink = HttpSink::start().await;
    let gateway = Alimtalk::new(
        &sink.url("/send"),
        "key",
        Duration::from_millis(300),
        &Default::default(),
    )
    .unwrap();
    let message = customer_message();

    sink.fail_next(1);
    let error = gateway
        .send("01012345678", "t", &message)
        .await
        .unwrap_err();
    assert!(
        error.contains("500") && error.contains("test sink failure"),
        "{error}"
    );

    sink.fail_next_with(1, StatusCode::BAD_GATEWAY);
    let error = gateway
        .send("01012345678", "t", &message)
        .await
        .unwrap_err();
    assert!(error.contains("502"), "{error}");

    sink.set_status(StatusCode::GONE);
    let error = gateway
        .send("01012345678", "t", &message)
        .await
        .unwrap_err();
    assert!(error.contains("410"), "{error}");
    sink.set_status(StatusCode::OK);

    sink.set_delay(Duration::from_millis(1500));
    let error = gateway
        .send("01012345678", "t", &message)
        .await
        .unwrap_err();
    assert!(error.contains("timed out"), "{error}");
    sink.set_delay(Duration::ZERO);

    assert_eq!(
        gateway.send("01012345678", "t", &message).await.unwrap(),
        "sink-5"
    );
    let statuses: Vec<u16> = sink.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![500, 502, 410, 200, 200]);

    // A bad number never reaches the gateway.
    assert!(gateway.send("12-34", "t", &message).await.is_err());
    assert_eq!(sink.requests().len(), 5);
}
