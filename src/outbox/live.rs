//! The live feed behind the `claimEvents` subscription: one poller per server reads newly
//! committed claim messages from the outbox and fans them out to every subscriber, which keeps
//! only what its scope admits. A subscription costs a channel receiver, not a poller of its
//! own, and subscriptions are capped per connection and per actor, so one client cannot crowd
//! out everyone else.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use entity::outbox_message;
use sea_orm::DbErr;
use tokio::sync::broadcast;

use super::{events, Event};
use crate::db::Db;
use crate::domain::actor::Actor;
use crate::metrics::{LiveSubscription, Metrics};
use crate::repo;
use crate::repo::outbox::EventScope;

/// How often the feed looks for new events.
const POLL: Duration = Duration::from_millis(100);

/// Events committed before the newest one seen that the feed still looks back for: a
/// transaction that took its id earlier may commit later.
const LOOK_BACK: i64 = 64;

/// Messages read per poll.
const BATCH: u64 = 500;

/// Events a subscriber may fall behind by before its subscription ends (it can subscribe
/// again; `Claim.timeline` has the history).
const BACKLOG: usize = 2_048;

/// A committed claim message with what scopes filter on.
#[derive(Debug)]
pub struct LiveMessage {
    /// The order the claim belongs to.
    pub order_id: i64,
    /// The claim.
    pub claim_id: Option<i64>,
    /// The claim's seller.
    pub seller_id: Option<i64>,
    /// The order's customer.
    pub customer_id: i64,
    /// The event as webhooks and the stream carry it.
    pub event: Event,
}

impl LiveMessage {
    /// Whether a subscriber with `scope` receives it.
    pub fn admitted_by(&self, scope: &EventScope) -> bool {
        scope.order_id.is_none_or(|o| o == self.order_id)
            && scope.claim_id.is_none_or(|c| Some(c) == self.claim_id)
            && scope.seller_id.is_none_or(|s| Some(s) == self.seller_id)
            && scope.customer_id.is_none_or(|c| c == self.customer_id)
    }
}

/// How many subscriptions may be open at once on this server.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionCaps {
    /// On one WebSocket.
    pub per_connection: usize,
    /// For one customer or seller (all OPERATORs count as one actor, all ANALYSTs as another).
    pub per_actor: usize,
}

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LiveRefusal {
    /// The WebSocket already carries its share.
    #[error(
        "this connection already has {0} subscriptions open, the limit \
         (--max-subscriptions-per-connection); complete one before starting another"
    )]
    PerConnection(usize),
    /// The actor already has its share on this server.
    #[error(
        "you already have {0} subscriptions open on this server, the limit \
         (--max-subscriptions-per-actor); complete one before starting another"
    )]
    PerActor(usize),
}

/// Subscriptions open on one WebSocket: the connection's data carries it.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSubscriptions(Arc<AtomicUsize>);

/// The server's one feed of claim events.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Hub>,
}

struct Hub {
    db: Db,
    sender: broadcast::Sender<Arc<LiveMessage>>,
    running: AtomicBool,
    position: tokio::sync::Mutex<Position>,
    per_actor: Mutex<HashMap<Actor, usize>>,
}

/// Where the feed has read up to.
struct Position {
    newest: i64,
    seen: HashSet<i64>,
    /// No one listened at the last poll: start again from "now" when someone does, so a new
    /// subscriber is not sent what committed while no one listened.
    idle: bool,
}

impl LiveHub {
    /// A feed reading the outbox of `db` (the primary: a replica would lag).
    pub fn new(db: Db) -> LiveHub {
        let (sender, _) = broadcast::channel(BACKLOG);
        LiveHub {
            inner: Arc::new(Hub {
                db,
                sender,
                running: AtomicBool::new(false),
                position: tokio::sync::Mutex::new(Position {
                    newest: 0,
                    seen: HashSet::new(),
                    idle: true,
                }),
                per_actor: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A place for `actor`'s new subscription within the caps, held until the ticket drops.
    pub fn admit(
        &self,
        actor: Actor,
        connection: Option<&ConnectionSubscriptions>,
        caps: SubscriptionCaps,
        metrics: &Metrics,
    ) -> Result<Ticket, LiveRefusal> {
        let mut per_actor = self
            .inner
            .per_actor
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let open = per_actor.get(&actor).copied().unwrap_or(0);
        if open >= caps.per_actor {
            return Err(LiveRefusal::PerActor(caps.per_actor));
        }
        if let Some(c) = connection {
            let taken = c.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < caps.per_connection).then_some(n + 1)
            });
            if taken.is_err() {
                return Err(LiveRefusal::PerConnection(caps.per_connection));
            }
        }
        per_actor.insert(actor, open + 1);
        Ok(Ticket {
            hub: Arc::downgrade(&self.inner),
            actor,
            connection: connection.cloned(),
            _open: metrics.subscription_opened(),
        })
    }

    /// A receiver of every claim event committed from now on, starting the feed if it is not
    /// running.
    pub async fn receiver(&self) -> Result<broadcast::Receiver<Arc<LiveMessage>>, DbErr> {
        let receiver = self.inner.sender.subscribe();
        let mut position = self.inner.position.lock().await;
        if position.idle {
            position.restart(&self.inner.db).await?;
        }
        if !self.inner.running.swap(true, Ordering::SeqCst) {
            tokio::spawn(run(Arc::downgrade(&self.inner)));
        }
        Ok(receiver)
    }
}

/// A subscription's place under the caps.
pub struct Ticket {
    hub: Weak<Hub>,
    actor: Actor,
    connection: Option<ConnectionSubscriptions>,
    _open: LiveSubscription,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(c) = &self.connection {
            c.0.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(hub) = self.hub.upgrade() {
            let mut per_actor = hub.per_actor.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = per_actor.get_mut(&self.actor) {
                *n -= 1;
                if *n == 0 {
                    per_actor.remove(&self.actor);
                }
            }
        }
    }
}

/// The poller: runs while the server does (it ends when the hub is dropped), reading only
/// while someone listens.
async fn run(hub: Weak<Hub>) {
    loop {
        tokio::time::sleep(POLL).await;
        let Some(hub) = hub.upgrade() else { return };
        let mut position = hub.position.lock().await;
        if hub.sender.receiver_count() == 0 {
            position.idle = true;
            continue;
        }
        if let Err(e) = position.poll(&hub).await {
            tracing::warn!("claimEvents feed: {e}");
        }
    }
}

impl Position {
    async fn restart(&mut self, db: &Db) -> Result<(), DbErr> {
        let db = db.conn();
        let newest = repo::outbox::latest_id(db).await?;
        // What committed before now is history, not news.
        let recent = repo::outbox::claim_messages_after(
            db,
            newest - LOOK_BACK,
            &EventScope::default(),
            LOOK_BACK as u64 + 1,
        )
        .await?;
        self.newest = newest;
        self.seen = recent.into_iter().map(|m| m.id).collect();
        self.idle = false;
        Ok(())
    }

    async fn poll(&mut self, hub: &Hub) -> Result<(), DbErr> {
        let db = hub.db.conn();
        let fresh: Vec<outbox_message::Model> = repo::outbox::claim_messages_after(
            db,
            self.newest - LOOK_BACK,
            &EventScope::default(),
            BATCH,
        )
        .await?
        .into_iter()
        .filter(|m| !self.seen.contains(&m.id))
        .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        for m in &fresh {
            self.seen.insert(m.id);
            self.newest = self.newest.max(m.id);
        }
        let low = self.newest - LOOK_BACK;
        self.seen.retain(|id| *id > low);
        let keys: HashMap<i64, &outbox_message::Model> = fresh.iter().map(|m| (m.id, m)).collect();
        let mut fanned: Vec<Event> = events(db, &fresh).await?;
        fanned.sort_by_key(|e| e.id);
        for event in fanned {
            let Some(m) = keys.get(&event.id) else {
                continue;
            };
            // No receivers left is not an error: the next poll sees it and idles.
            let _ = hub.sender.send(Arc::new(LiveMessage {
                order_id: m.order_id,
                claim_id: m.claim_id,
                seller_id: m.seller_id,
                customer_id: m.customer_id,
                event,
            }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(order: i64, claim: i64, seller: i64, customer: i64) -> LiveMessage {
        LiveMessage {
            order_id: order,
            claim_id: Some(claim),
            seller_id: Some(seller),
            customer_id: customer,
            event: Event {
                id: 1,
                event_id: "evt_1".into(),
                event_type: "claim.requested".into(),
                occurred_at: chrono::Utc::now(),
                order_number: "O1".into(),
                claim_number: Some("C1".into()),
                claim_type: Some("RETURN".into()),
                status: Some("REQUESTED".into()),
                seller_ids: vec![seller],
                customer_id: customer,
                data: serde_json::Value::Null,
            },
        }
    }

    #[test]
    fn scopes_admit_only_their_own() {
        let m = message(1, 2, 3, 4);
        assert!(m.admitted_by(&EventScope::default()));
        let own = EventScope {
            customer_id: Some(4),
            order_id: Some(1),
            ..Default::default()
        };
        assert!(m.admitted_by(&own));
        for other in [
            EventScope {
                customer_id: Some(5),
                ..Default::default()
            },
            EventScope {
                seller_id: Some(9),
                ..Default::default()
            },
            EventScope {
                claim_id: Some(7),
                ..Default::default()
            },
            EventScope {
                customer_id: Some(4),
                order_id: Some(8),
                ..Default::default()
            },
        ] {
            assert!(!m.admitted_by(&other), "{other:?}");
        }
    }
}
