//! The event stream: every event also goes to NATS JetStream (with `--nats-url`), on a subject
//! per seller and event type, with the event id as `Nats-Msg-Id` so JetStream drops a
//! redelivered duplicate inside its window.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::Event;
use crate::tls::{explain, ClientIdentity, Tls};

/// The stream the server creates (if missing) and publishes to.
pub const STREAM: &str = "OMS_EVENTS";

/// How long JetStream remembers message ids for de-duplication.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A JetStream publisher.
#[derive(Clone)]
pub struct NatsStream {
    jetstream: jetstream::Context,
}

impl NatsStream {
    /// Connects and makes sure the stream exists (subjects `oms.>`). A `tls://` URL requires
    /// TLS, with the server's certificate checked against `tls` and `identity` presented when
    /// the server asks for a client certificate; a `nats://` URL speaks TLS only when the
    /// server demands it. User and password may be in the URL (`tls://user:pw@host:4222`).
    pub async fn connect(
        url: &str,
        tls: &Tls,
        identity: Option<&ClientIdentity>,
    ) -> Result<NatsStream, String> {
        let shown = crate::production::redacted_url(url);
        let config = tls
            .client_config(identity)
            .map_err(|e| format!("NATS at {shown}: {e}"))?;
        let client = async_nats::ConnectOptions::new()
            .tls_client_config(config)
            .require_tls(url.starts_with("tls://"))
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to NATS at {shown}: {}", explain(&e)))?;
        let jetstream = jetstream::new(client);
        jetstream
            .get_or_create_stream(stream::Config {
                name: STREAM.to_owned(),
                subjects: vec!["oms.>".to_owned()],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot create the JetStream stream {STREAM}: {e}"))?;
        Ok(NatsStream { jetstream })
    }

    /// The subject of an event: `oms.seller.7.claim.exchange_collected`, or
    /// `oms.marketplace.order.placed` for an order event of several sellers.
    pub fn subject(event: &Event) -> String {
        match event.seller_ids.as_slice() {
            [one] => format!("oms.seller.{one}.{}", event.event_type),
            _ => format!("oms.marketplace.{}", event.event_type),
        }
    }

    /// Publishes an event and waits for JetStream's acknowledgement.
    pub async fn publish(&self, subject: &str, event: &Event) -> Result<String, String> {
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, event.event_id.as_str());
        let ack = self
            .jetstream
            .publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .map_err(|e| format!("publish: {e}"))?
            .await
            .map_err(|e| format!("no acknowledgement: {e}"))?;
        Ok(if ack.duplicate {
            format!("duplicate of sequence {}", ack.sequence)
        } else {
            format!("sequence {}", ack.sequence)
        })
    }
}
