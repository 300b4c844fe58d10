//! `oms seed --orders N`: fills an empty database with a marketplace at scale (10k to 1M orders
//! and more) for benchmarks, on SQLite or PostgreSQL. Nothing in the server depends on it.
//!
//! # How
//!
//! 1. **Two templates, made by the real services.** The demo marketplace (`crate::demo`: three
//!    sellers, four customers, about 90 orders in every line status with both tenders, claims
//!    in all 26 statuses) is seeded twice, each into a scratch SQLite file with its own manual
//!    clock:
//!    - *recent*: its history ends at the anchor (`--now`, default now) — orders awaiting
//!      payment, delivered lines, open claims: the marketplace in flight;
//!    - *settled*: its history ends 30 days before the anchor, then the SYSTEM jobs run 16 days
//!      later (purchase confirmation, cancellation of unpaid transfers, withdrawal of exchanges
//!      whose fee stayed unpaid, refunds), so nothing in it is due any more.
//! 2. **Transfer.** Both are copied row by row into the target (typed, through the entities):
//!    the catalogue once (both demos build the same one), the order-scoped rows of the settled
//!    template with their ids moved past the recent one's. Together they are *slot 0*.
//! 3. **Replicate.** Slot `n` is a copy of one template: one `INSERT … SELECT` per table and per
//!    batch of slots, every id and foreign key moved by `n × stride` (a table's stride is its
//!    largest template id), order numbers `YYYYMMDD-<new order id>` for the shifted day (claim
//!    numbers and refund idempotency keys follow them), tracking numbers suffixed, timestamps
//!    shifted by the slot's offset (text on SQLite, `timestamptz` on PostgreSQL). Customers are
//!    copied with their orders (about 18 orders each); the catalogue is copied into
//!    `--sellers / 3` groups (sellers, products, options) and slot `n` buys from group
//!    `n mod groups`. Settled copies are spread over the year before the anchor (their last
//!    SYSTEM step at least two weeks ago), recent copies (1 % of the orders) over its last 12
//!    hours: a server started on the result (within about 8 hours) finds nothing due, and
//!    later only the recent copies' deadlines come, as in a live marketplace.
//!    The last settled copy may be partial, to give exactly N orders: its points ledger is
//!    re-summed and its customers' balances follow.
//! 4. **Derived state.** `analytics_delivered_units` is recomputed from the lines, the order
//!    number counters are raised to every day's largest number, PostgreSQL sequences are set
//!    past the largest ids, `ANALYZE` runs.
//!
//! Not copied: outbox messages and deliveries, idempotency keys, job leases, courier events,
//! plugins and webhooks. A seeded database has no message waiting to be delivered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use entity::{
    claim, claim_event, claim_item, coupon, customer, order, order_coupon, order_line,
    order_shipping_group, points_ledger, product, product_option, refund, refund_part, seller,
    shipment, tender,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, ConnectionTrait, DatabaseBackend, DbErr,
    EntityTrait, IdenStatic, IntoActiveModel, Iterable, QueryOrder, Statement,
};

use crate::app::App;
use crate::auth::TokenKeys;
use crate::clock::ManualClock;
use crate::config::{JobArgs, LimitArgs};
use crate::db::Db;
use crate::error::ServiceError;
use crate::metrics::Metrics;
use crate::service::jobs::{self, Job};

/// Days before the anchor at which the settled template's history ends.
const SETTLED_DAYS_AGO: i64 = 30;
/// Days after its history when the SYSTEM jobs settle it (every deadline is at most 14 days).
const SETTLE_AFTER_DAYS: i64 = 16;
/// The earliest settled copy starts this many days before the anchor.
const YEAR_DAYS: i64 = 365;
/// Recent copies are spread over this many hours before the anchor.
const RECENT_SPREAD_HOURS: i64 = 12;
/// The share of orders in recent copies, in per mille.
const RECENT_PER_MILLE: usize = 10;
/// Orders per batch of copies (one transaction, one statement per table).
const ORDERS_PER_BATCH: usize = 20_000;
/// Sellers per catalogue group (the demo's).
const SELLERS_PER_GROUP: usize = 3;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Orders wanted in total (at least the two templates' orders, about 180).
    pub orders: usize,
    /// Sellers wanted (rounded up to a multiple of 3; at least 3).
    pub sellers: usize,
    /// The moment the data ends at (the recent template's "now").
    pub now: DateTime<Utc>,
}

/// Where the seeder is, for progress output.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Orders in the database so far (of this run).
    pub orders: usize,
    /// Orders wanted.
    pub total: usize,
    /// Rows written so far.
    pub rows: u64,
    /// Seconds since the start.
    pub seconds: f64,
    /// The phase, in words.
    pub phase: &'static str,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// Orders written.
    pub orders: usize,
    /// Claims written.
    pub claims: u64,
    /// Sellers in the catalogue.
    pub sellers: u64,
    /// Customers written.
    pub customers: u64,
    /// Rows written in every table (the derived ones included).
    pub rows: u64,
    /// Seconds building the two templates through the services.
    pub template_seconds: f64,
    /// Seconds copying.
    pub copy_seconds: f64,
    /// Seconds on derived state, sequences and `ANALYZE`.
    pub finish_seconds: f64,
    /// The whole run.
    pub seconds: f64,
    /// Database size afterwards, in bytes.
    pub database_bytes: u64,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The request cannot be met (a database with orders, too few orders).
    #[error("{0}")]
    Refused(String),
    /// A database failure.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// A service refused or failed while building a template.
    #[error("building the template failed: {0}")]
    Service(#[from] ServiceError),
    /// Anything else (scratch files, the plugin host).
    #[error("{0}")]
    Other(String),
}

/// Seeds `db` (migrated) as `opts` says; `progress` hears about every batch.
pub async fn run(
    db: &Db,
    opts: &SeedOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let conn = db.conn();
    let existing = count(conn, "orders").await?;
    if existing > 0 || count(conn, "sellers").await? > 0 || count(conn, "customers").await? > 0 {
        return Err(SeedError::Refused(format!(
            "the database is not empty ({existing} orders); seed an empty database: a new \
             SQLite file, or CREATE DATABASE on PostgreSQL"
        )));
    }
    progress(&Progress {
        orders: 0,
        total: opts.orders,
        rows: 0,
        seconds: 0.0,
        phase: "building the two templates through the services",
    });

    // 1. The templates, each in a scratch SQLite file.
    let scratch = Scratch::new()?;
    let recent = scratch.app("recent", opts.now).await?;
    crate::demo::seed_if_empty(&recent).await?;
    let settled_end = opts.now - Duration::days(SETTLED_DAYS_AGO);
    let settled_clock = ManualClock::new(settled_end);
    let settled = App {
        clock: Arc::new(settled_clock.clone()),
        ..scratch.app("settled", settled_end).await?
    };
    crate::demo::seed_if_empty(&settled).await?;
    settled_clock.advance(Duration::days(SETTLE_AFTER_DAYS));
    jobs::run(&settled, &Job::ALL).await?;
    let template_seconds = started.elapsed().as_secs_f64();

    // 2. Both into the target: slot 0.
    let (mut rows, split) = transfer(recent.db.conn(), settled.db.conn(), db).await?;
    drop(recent);
    drop(settled);
    scratch.remove();
    let plan = Plan::new(conn, opts, &split).await?;
    progress(&Progress {
        orders: plan.recent.orders + plan.settled.orders,
        total: opts.orders,
        rows,
        seconds: started.elapsed().as_secs_f64(),
        phase: "templates in place",
    });

    // 3. Copies.
    let copy_started = Instant::now();
    rows += plan.copy_catalogue(db).await?;
    let mut done = plan.recent.orders + plan.settled.orders;
    for batch in plan.batches() {
        let txn = db.write().await?;
        for table in &TABLES {
            rows += plan.copy_table(&*txn, table, &batch).await?;
        }
        if batch.order_limit.is_some() {
            plan.rebalance_points(&*txn, &batch).await?;
        }
        txn.commit().await?;
        done += batch.orders;
        progress(&Progress {
            orders: done,
            total: opts.orders,
            rows,
            seconds: started.elapsed().as_secs_f64(),
            phase: "copying",
        });
    }
    let copy_seconds = copy_started.elapsed().as_secs_f64();

    // 4. Derived state, sequences, statistics.
    let finish_started = Instant::now();
    progress(&Progress {
        orders: done,
        total: opts.orders,
        rows,
        seconds: started.elapsed().as_secs_f64(),
        phase: "derived tables, sequences, ANALYZE",
    });
    rows += finish(db).await?;
    let finish_seconds = finish_started.elapsed().as_secs_f64();
    Ok(SeedReport {
        orders: count(conn, "orders").await? as usize,
        claims: count(conn, "claims").await?,
        sellers: count(conn, "sellers").await?,
        customers: count(conn, "customers").await?,
        rows,
        template_seconds,
        copy_seconds,
        finish_seconds,
        seconds: started.elapsed().as_secs_f64(),
        database_bytes: database_bytes(conn).await?,
    })
}

/// The scratch SQLite files the templates are built in; removed at the end.
struct Scratch {
    dir: std::path::PathBuf,
    plugins: Arc<crate::plugin::PluginHost>,
}

impl Scratch {
    fn new() -> Result<Scratch, SeedError> {
        let dir = std::env::temp_dir().join(format!(
            "oms-seed-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| SeedError::Other(format!("cannot create {}: {e}", dir.display())))?;
        let plugins = Arc::new(
            crate::plugin::PluginHost::new(crate::plugin::PluginLimits::default())
                .map_err(SeedError::Other)?,
        );
        Ok(Scratch { dir, plugins })
    }

    /// An app on a fresh, migrated scratch database, its clock at `now`, with the simulated
    /// gateway and courier and log-only notifications.
    async fn app(&self, name: &str, now: DateTime<Utc>) -> Result<App, SeedError> {
        let url = format!("sqlite://{}?mode=rwc", self.dir.join(name).display());
        let db = Db::connect(&url, 4).await?;
        db.migrate().await?;
        Ok(App {
            live: crate::outbox::live::LiveHub::new(db.clone()),
            db,
            clock: Arc::new(ManualClock::new(now)),
            keys: TokenKeys::new("oms-seed"),
            limits: LimitArgs::default(),
            jobs: JobArgs::default(),
            metrics: Metrics::new(),
            gateway: Arc::new(crate::gateway::SimulatedGateway::default()),
            courier: Arc::new(crate::courier::SimulatedCourier),
            courier_secret: String::new(),
            instance_id: format!("oms-seed-{name}"),
            plugins: self.plugins.clone(),
            plugin_quota: Default::default(),
            outbox: Arc::new(crate::outbox::dispatch::Channels::log_only(
                crate::outbox::webhook_client::WebhookClient::new(
                    Default::default(),
                    &Default::default(),
                )
                .map_err(SeedError::Other)?,
            )),
        })
    }

    fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn count(db: &impl ConnectionTrait, table: &str) -> Result<u64, DbErr> {
    scalar(db, &format!("SELECT COUNT(*) FROM {table}")).await
}

async fn max_id(db: &impl ConnectionTrait, table: &str) -> Result<i64, DbErr> {
    Ok(scalar(db, &format!("SELECT COALESCE(MAX(id), 0) FROM {table}")).await? as i64)
}

/// The first column of the first row, as a non-negative integer.
async fn scalar(db: &impl ConnectionTrait, sql: &str) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?;
    let v: i64 = row.try_get_by_index(0)?;
    Ok(v.max(0) as u64)
}

async fn exec(db: &impl ConnectionTrait, sql: &str) -> Result<u64, DbErr> {
    Ok(db.execute_unprepared(sql).await?.rows_affected())
}

// ---------------------------------------------------------------------------------------------
// 2. Transfer: the templates into the target, typed.

/// Inserts `models` into the target in chunks, every column set; returns the rows written.
async fn insert_all<A>(
    db: &impl ConnectionTrait,
    models: Vec<<A::Entity as EntityTrait>::Model>,
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send + Clone,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let n = models.len() as u64;
    let rows: Vec<A> = models
        .into_iter()
        .map(|m| m.into_active_model().reset_all())
        .collect();
    for chunk in rows.chunks(50) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(n)
}

/// Every row of an entity, by primary key.
async fn all<E: EntityTrait>(
    db: &impl ConnectionTrait,
    key: impl ColumnTrait,
) -> Result<Vec<E::Model>, DbErr> {
    E::find().order_by_asc(key).all(db).await
}

/// Per order-scoped table, the largest id of the recent template: the settled template's ids
/// move past it.
type Offsets = HashMap<&'static str, i64>;

/// Copies the catalogue of `recent`, and the order-scoped rows of `recent` and (ids moved) of
/// `settled`, into `target`. Returns the rows written.
async fn transfer(
    recent: &impl ConnectionTrait,
    settled: &impl ConnectionTrait,
    target: &Db,
) -> Result<(u64, Offsets), SeedError> {
    // The demo builds the same catalogue each time; the settled orders refer to it as is.
    for table in ["sellers", "products", "product_options"] {
        if count(recent, table).await? != count(settled, table).await? {
            return Err(SeedError::Other(format!(
                "the two templates' {table} differ"
            )));
        }
    }
    let mut o = Offsets::new();
    for t in &TABLES {
        o.insert(t.name, max_id(recent, t.name).await?);
    }
    let txn = target.write().await?;
    let db = &*txn;
    let mut rows = 0;
    rows += insert_all::<seller::ActiveModel>(
        db,
        all::<seller::Entity>(recent, seller::Column::Id).await?,
    )
    .await?;
    rows += insert_all::<product::ActiveModel>(
        db,
        all::<product::Entity>(recent, product::Column::Id).await?,
    )
    .await?;
    rows += insert_all::<product_option::ActiveModel>(
        db,
        all::<product_option::Entity>(recent, product_option::Column::Id).await?,
    )
    .await?;
    rows += insert_all::<coupon::ActiveModel>(
        db,
        all::<coupon::Entity>(recent, coupon::Column::Code).await?,
    )
    .await?;
    rows += transfer_orders(recent, db, None).await?;
    rows += transfer_orders(settled, db, Some(&o)).await?;
    txn.commit().await?;
    Ok((rows, o))
}

/// One template's id moves, per table.
struct Moves {
    customers: i64,
    orders: i64,
    groups: i64,
    shipments: i64,
    lines: i64,
    tenders: i64,
    coupons: i64,
    ledger: i64,
    claims: i64,
    items: i64,
    events: i64,
    refunds: i64,
    parts: i64,
}

/// The order-scoped rows of one template; with `offsets`, ids moved and tracking numbers
/// marked (the two demos make the same ones).
async fn transfer_orders(
    src: &impl ConnectionTrait,
    db: &impl ConnectionTrait,
    offsets: Option<&Offsets>,
) -> Result<u64, SeedError> {
    let off = |table: &str| offsets.and_then(|o| o.get(table).copied()).unwrap_or(0);
    let o = Moves {
        customers: off("customers"),
        orders: off("orders"),
        groups: off("order_shipping_groups"),
        shipments: off("shipments"),
        lines: off("order_lines"),
        tenders: off("tenders"),
        coupons: off("order_coupons"),
        ledger: off("points_ledger"),
        claims: off("claims"),
        items: off("claim_items"),
        events: off("claim_events"),
        refunds: off("refunds"),
        parts: off("refund_parts"),
    };
    let mark = |s: String| {
        if offsets.is_some() {
            format!("{s}-s")
        } else {
            s
        }
    };
    let mut rows = 0;

    let mut v = all::<customer::Entity>(src, customer::Column::Id).await?;
    for m in &mut v {
        m.id += o.customers;
    }
    rows += insert_all::<customer::ActiveModel>(db, v).await?;

    let mut v = all::<order::Entity>(src, order::Column::Id).await?;
    for m in &mut v {
        m.id += o.orders;
        m.customer_id += o.customers;
    }
    rows += insert_all::<order::ActiveModel>(db, v).await?;

    let mut v = all::<order_shipping_group::Entity>(src, order_shipping_group::Column::Id).await?;
    for m in &mut v {
        m.id += o.groups;
        m.order_id += o.orders;
    }
    rows += insert_all::<order_shipping_group::ActiveModel>(db, v).await?;

    let mut v = all::<shipment::Entity>(src, shipment::Column::Id).await?;
    for m in &mut v {
        m.id += o.shipments;
        m.order_id += o.orders;
        m.tracking_number = mark(std::mem::take(&mut m.tracking_number));
    }
    rows += insert_all::<shipment::ActiveModel>(db, v).await?;

    let mut v = all::<order_line::Entity>(src, order_line::Column::Id).await?;
    for m in &mut v {
        m.id += o.lines;
        m.order_id += o.orders;
        m.shipment_id = m.shipment_id.map(|s| s + o.shipments);
    }
    rows += insert_all::<order_line::ActiveModel>(db, v).await?;

    let mut v = all::<tender::Entity>(src, tender::Column::Id).await?;
    for m in &mut v {
        m.id += o.tenders;
        m.order_id += o.orders;
        m.claim_id = m.claim_id.map(|c| c + o.claims);
    }
    rows += insert_all::<tender::ActiveModel>(db, v).await?;

    let mut v = all::<order_coupon::Entity>(src, order_coupon::Column::Id).await?;
    for m in &mut v {
        m.id += o.coupons;
        m.order_id += o.orders;
    }
    rows += insert_all::<order_coupon::ActiveModel>(db, v).await?;

    let mut v = all::<points_ledger::Entity>(src, points_ledger::Column::Id).await?;
    for m in &mut v {
        m.id += o.ledger;
        m.customer_id += o.customers;
        m.order_id = m.order_id.map(|x| x + o.orders);
    }
    rows += insert_all::<points_ledger::ActiveModel>(db, v).await?;

    let mut v = all::<claim::Entity>(src, claim::Column::Id).await?;
    for m in &mut v {
        m.id += o.claims;
        m.order_id += o.orders;
        m.customer_id += o.customers;
        m.converted_from_id = m.converted_from_id.map(|x| x + o.claims);
        m.converted_to_id = m.converted_to_id.map(|x| x + o.claims);
        m.collection_tracking = m.collection_tracking.take().map(mark);
        m.reship_tracking = m.reship_tracking.take().map(mark);
        m.redelivery_tracking = m.redelivery_tracking.take().map(mark);
    }
    // A conversion's timeline names the claim it made.
    let converted: HashMap<i64, i64> = v
        .iter()
        .filter_map(|c| c.converted_to_id.map(|to| (c.id, to)))
        .collect();
    rows += insert_all::<claim::ActiveModel>(db, v).await?;

    let mut v = all::<claim_item::Entity>(src, claim_item::Column::Id).await?;
    for m in &mut v {
        m.id += o.items;
        m.claim_id += o.claims;
        m.line_id += o.lines;
    }
    rows += insert_all::<claim_item::ActiveModel>(db, v).await?;

    let mut v = all::<claim_event::Entity>(src, claim_event::Column::Id).await?;
    for m in &mut v {
        m.id += o.events;
        m.claim_id += o.claims;
        if m.actor_role == "CUSTOMER" {
            m.actor_id = m.actor_id.map(|x| x + o.customers);
        }
        if let Some(to) = converted.get(&m.claim_id).filter(|_| o.claims != 0) {
            m.payload = m.payload.replace(
                &format!("\"convertedTo\":{}", to - o.claims),
                &format!("\"convertedTo\":{to}"),
            );
        }
    }
    rows += insert_all::<claim_event::ActiveModel>(db, v).await?;

    let mut v = all::<refund::Entity>(src, refund::Column::Id).await?;
    for m in &mut v {
        m.id += o.refunds;
        m.claim_id += o.claims;
        m.order_id += o.orders;
    }
    rows += insert_all::<refund::ActiveModel>(db, v).await?;

    let mut v = all::<refund_part::Entity>(src, refund_part::Column::Id).await?;
    for m in &mut v {
        m.id += o.parts;
        m.refund_id += o.refunds;
        m.claim_id += o.claims;
        m.tender_id = m.tender_id.map(|x| x + o.tenders);
    }
    rows += insert_all::<refund_part::ActiveModel>(db, v).await?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// 3. Replication.

/// An order-scoped table: its columns (from the entity), how template rows are read, and the
/// expression of the template order a row belongs to (for a partial copy).
struct Table {
    name: &'static str,
    columns: fn() -> Vec<(String, bool)>,
    from: &'static str,
    order_of_row: &'static str,
}

/// The columns of an entity, and whether each holds a timestamp.
fn columns<E: EntityTrait>() -> Vec<(String, bool)> {
    E::Column::iter()
        .map(|c| {
            (
                c.as_str().to_owned(),
                matches!(
                    c.def().get_column_type(),
                    ColumnType::TimestampWithTimeZone
                        | ColumnType::DateTime
                        | ColumnType::Timestamp
                ),
            )
        })
        .collect()
}

/// The order-scoped tables, parents first (foreign keys are checked as rows go in).
const TABLES: [Table; 13] = [
    Table {
        name: "customers",
        columns: columns::<customer::Entity>,
        from: "customers t",
        order_of_row: "",
    },
    Table {
        name: "orders",
        columns: columns::<order::Entity>,
        from: "orders t",
        order_of_row: "t.id",
    },
    Table {
        name: "order_shipping_groups",
        columns: columns::<order_shipping_group::Entity>,
        from: "order_shipping_groups t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "shipments",
        columns: columns::<shipment::Entity>,
        from: "shipments t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "order_lines",
        columns: columns::<order_line::Entity>,
        from: "order_lines t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "tenders",
        columns: columns::<tender::Entity>,
        from: "tenders t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "order_coupons",
        columns: columns::<order_coupon::Entity>,
        from: "order_coupons t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "points_ledger",
        columns: columns::<points_ledger::Entity>,
        from: "points_ledger t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "claims",
        columns: columns::<claim::Entity>,
        from: "claims t JOIN orders o ON o.id = t.order_id",
        order_of_row: "t.order_id",
    },
    Table {
        name: "claim_items",
        columns: columns::<claim_item::Entity>,
        from: "claim_items t JOIN claims c ON c.id = t.claim_id",
        order_of_row: "c.order_id",
    },
    Table {
        name: "claim_events",
        columns: columns::<claim_event::Entity>,
        from: "claim_events t JOIN claims c ON c.id = t.claim_id",
        order_of_row: "c.order_id",
    },
    Table {
        name: "refunds",
        columns: columns::<refund::Entity>,
        from: "refunds t",
        order_of_row: "t.order_id",
    },
    Table {
        name: "refund_parts",
        columns: columns::<refund_part::Entity>,
        from:
            "refund_parts t JOIN claims c ON c.id = t.claim_id JOIN orders o ON o.id = c.order_id",
        order_of_row: "c.order_id",
    },
];

/// Which template a copy is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recent,
    Settled,
}

/// One template in the target: per table, its ids are `(lo, hi]`.
#[derive(Debug, Clone, Default)]
struct TemplateRange {
    ids: HashMap<&'static str, (i64, i64)>,
    orders: usize,
    /// Its order ids, ascending (for a partial copy).
    order_ids: Vec<i64>,
}

/// A batch of consecutive slots of one template, one transaction.
#[derive(Debug, Clone)]
struct Batch {
    kind: Kind,
    first: i64,
    last: i64,
    /// The shift of slot `first`, and the step per slot, in seconds.
    shift: i64,
    step: i64,
    /// A partial copy takes the template's orders up to this id only.
    order_limit: Option<i64>,
    orders: usize,
}

/// The layout: strides, templates, the catalogue groups and the copies.
struct Plan {
    backend: DatabaseBackend,
    /// Per table, the id distance between two slots (the largest template id).
    stride: HashMap<&'static str, i64>,
    recent: TemplateRange,
    settled: TemplateRange,
    groups: i64,
    sellers: i64,
    products: i64,
    options: i64,
    /// Full settled copies, orders of the partial one (0: none), recent copies.
    settled_copies: usize,
    partial_orders: usize,
    recent_copies: usize,
    /// The settled template's earliest order and its SYSTEM settling, relative to the anchor.
    settled_start: i64,
}

impl Plan {
    async fn new(
        db: &impl ConnectionTrait,
        opts: &SeedOptions,
        split: &Offsets,
    ) -> Result<Plan, SeedError> {
        let backend = db.get_database_backend();
        let mut stride = HashMap::new();
        let mut recent = TemplateRange::default();
        let mut settled = TemplateRange::default();
        for t in &TABLES {
            let hi = max_id(db, t.name).await?;
            let cut = split.get(t.name).copied().unwrap_or(0);
            recent.ids.insert(t.name, (0, cut));
            settled.ids.insert(t.name, (cut, hi));
            stride.insert(t.name, hi.max(1));
        }
        let cut = split.get("orders").copied().unwrap_or(0);
        let recent_orders = ids_where(db, "orders", "id", &format!("id <= {cut}")).await?;
        let settled_orders = ids_where(db, "orders", "id", &format!("id > {cut}")).await?;
        recent.orders = recent_orders.len();
        recent.order_ids = recent_orders;
        settled.orders = settled_orders.len();
        settled.order_ids = settled_orders;
        let template_orders = recent.orders + settled.orders;
        if recent.orders == 0 || settled.orders == 0 {
            return Err(SeedError::Other("a template has no orders".into()));
        }
        if opts.orders < template_orders {
            return Err(SeedError::Refused(format!(
                "--orders must be at least {template_orders} (the two templates' orders)"
            )));
        }
        let rest = opts.orders - template_orders;
        let recent_copies = (rest * RECENT_PER_MILLE / 1000) / recent.orders;
        let settled_rest = rest - recent_copies * recent.orders;
        let groups = opts.sellers.div_ceil(SELLERS_PER_GROUP).max(1) as i64;
        let settled_start =
            ((scalar_ts(db, "SELECT MIN(placed_at) FROM orders", &settled).await? - opts.now)
                .num_seconds())
            .min(0);
        Ok(Plan {
            backend,
            stride,
            groups,
            sellers: max_id(db, "sellers").await?,
            products: max_id(db, "products").await?,
            options: max_id(db, "product_options").await?,
            settled_copies: settled_rest / settled.orders,
            partial_orders: settled_rest % settled.orders,
            recent_copies,
            settled_start,
            recent,
            settled,
        })
    }

    /// The batches of copies, oldest first: settled copies over the year, the partial one, then
    /// the recent copies.
    fn batches(&self) -> Vec<Batch> {
        let mut out = Vec::new();
        let settled_slots = self.settled_copies + usize::from(self.partial_orders > 0);
        // A settled copy starts between a year and two weeks plus the template's span before
        // the anchor; its SYSTEM settling is then at least two days in the past.
        let earliest = -Duration::days(YEAR_DAYS).num_seconds() - self.settled_start;
        let latest = Duration::days(SETTLED_DAYS_AGO - SETTLE_AFTER_DAYS - 2).num_seconds();
        let step = if settled_slots > 0 {
            (latest - earliest) / settled_slots as i64
        } else {
            0
        };
        let per_batch = (ORDERS_PER_BATCH / self.settled.orders).max(1);
        let mut i = 0;
        while i < self.settled_copies {
            let n = per_batch.min(self.settled_copies - i);
            out.push(Batch {
                kind: Kind::Settled,
                first: 1 + i as i64,
                last: (i + n) as i64,
                shift: earliest + step * i as i64,
                step,
                order_limit: None,
                orders: n * self.settled.orders,
            });
            i += n;
        }
        if self.partial_orders > 0 {
            out.push(Batch {
                kind: Kind::Settled,
                first: 1 + i as i64,
                last: 1 + i as i64,
                shift: earliest + step * i as i64,
                step,
                order_limit: self.settled.order_ids.get(self.partial_orders - 1).copied(),
                orders: self.partial_orders,
            });
        }
        let base = 1 + settled_slots as i64;
        let spread = Duration::hours(RECENT_SPREAD_HOURS).num_seconds();
        let step = if self.recent_copies > 0 {
            spread / self.recent_copies as i64
        } else {
            0
        };
        let per_batch = (ORDERS_PER_BATCH / self.recent.orders).max(1);
        let mut j = 0;
        while j < self.recent_copies {
            let n = per_batch.min(self.recent_copies - j);
            out.push(Batch {
                kind: Kind::Recent,
                first: base + j as i64,
                last: base + (j + n) as i64 - 1,
                shift: -spread + step * j as i64,
                step,
                order_limit: None,
                orders: n * self.recent.orders,
            });
            j += n;
        }
        out
    }

    /// `WITH RECURSIVE k(n)` over `first..=last`.
    fn slots(first: i64, last: i64) -> String {
        format!(
            "WITH RECURSIVE k(n) AS (SELECT CAST({first} AS BIGINT) UNION ALL \
             SELECT n + 1 FROM k WHERE n < {last}) "
        )
    }

    /// Copies the catalogue (sellers, products, options) into groups 1.. of it.
    async fn copy_catalogue(&self, db: &Db) -> Result<u64, SeedError> {
        if self.groups < 2 {
            return Ok(0);
        }
        let (s, p, o) = (self.sellers, self.products, self.options);
        let g = "k.n";
        let txn = db.write().await?;
        let mut rows = 0;
        for (table, cols, rule) in [
            ("sellers", columns::<seller::Entity>(), 0),
            ("products", columns::<product::Entity>(), 1),
            ("product_options", columns::<product_option::Entity>(), 2),
        ] {
            let names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
            let exprs: Vec<String> = cols
                .iter()
                .map(|(c, _)| match (rule, c.as_str()) {
                    (0, "id") => format!("t.id + {g} * {s}"),
                    (0, "name") => format!("t.name || ' ' || CAST({g} + 1 AS TEXT)"),
                    (0, "email") => {
                        format!("REPLACE(t.email, '@', '+' || CAST({g} + 1 AS TEXT) || '@')")
                    }
                    (1, "id") => format!("t.id + {g} * {p}"),
                    (1, "seller_id") => format!("t.seller_id + {g} * {s}"),
                    (2, "id") => format!("t.id + {g} * {o}"),
                    (2, "product_id") => format!("t.product_id + {g} * {p}"),
                    (_, c) => format!("t.{c}"),
                })
                .collect();
            rows += exec(
                &*txn,
                &format!(
                    "{}INSERT INTO {table} ({}) SELECT {} FROM {table} t, k WHERE t.id <= {}",
                    Self::slots(1, self.groups - 1),
                    names.join(", "),
                    exprs.join(", "),
                    match rule {
                        0 => s,
                        1 => p,
                        _ => o,
                    }
                ),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(rows)
    }

    /// The shift of slot `k.n` of `b`, in seconds.
    fn shift(b: &Batch) -> String {
        format!("({} + (k.n - {}) * {})", b.shift, b.first, b.step)
    }

    /// A timestamp column moved by the slot's shift, in the backend's storage.
    fn ts(&self, col: &str, shift: &str) -> String {
        match self.backend {
            // sqlx stores RFC 3339 text (`2026-11-24T09:00:00.123456+00:00`): move the whole
            // seconds and keep the fraction and offset as written.
            DatabaseBackend::Sqlite | DatabaseBackend::MySql => format!(
                "(strftime('%Y-%m-%dT%H:%M:%S', substr({col}, 1, 19), CAST({shift} AS TEXT) || ' seconds') || substr({col}, 20))"
            ),
            DatabaseBackend::Postgres => format!("({col} + {shift} * INTERVAL '1 second')"),
        }
    }

    /// The new order number of template order `o` in slot `k.n`: its shifted day (UTC) and its
    /// new id, at least six digits.
    fn order_number(&self, o: &str, shift: &str) -> String {
        let placed = self.ts(&format!("{o}.placed_at"), shift);
        let id = format!("({o}.id + k.n * {})", self.stride["orders"]);
        match self.backend {
            DatabaseBackend::Sqlite | DatabaseBackend::MySql => format!(
                "(replace(substr({placed}, 1, 10), '-', '') || '-' || printf('%06d', {id}))"
            ),
            DatabaseBackend::Postgres => format!(
                "(to_char({placed} AT TIME ZONE 'UTC', 'YYYYMMDD') || '-' || \
                 lpad(CAST({id} AS TEXT), GREATEST(6, length(CAST({id} AS TEXT))), '0'))"
            ),
        }
    }

    /// The SELECT expression of column `col` of `table` in slot `k.n`.
    fn column(&self, table: &str, col: &str, is_ts: bool, b: &Batch) -> Result<String, SeedError> {
        let n = "k.n";
        let group = format!("({n} % {})", self.groups);
        let by = |t: &str| format!("t.{col} + {n} * {}", self.stride[t]);
        let shift = Self::shift(b);
        let suffix = |c: &str| format!("t.{c} || '-' || CAST({n} AS TEXT)");
        Ok(match (table, col) {
            (t, "id") => by(t),
            (_, "customer_id") => by("customers"),
            (_, "order_id") => by("orders"),
            (_, "claim_id" | "converted_from_id" | "converted_to_id") => by("claims"),
            (_, "line_id") => by("order_lines"),
            (_, "shipment_id") => by("shipments"),
            (_, "tender_id") => by("tenders"),
            (_, "refund_id") => by("refunds"),
            (_, "seller_id") => format!("t.seller_id + {group} * {}", self.sellers),
            (_, "product_id") => format!("t.product_id + {group} * {}", self.products),
            (_, "option_id" | "replacement_option_id") => {
                format!("t.{col} + {group} * {}", self.options)
            }
            ("customers", "email") => {
                format!("REPLACE(t.email, '@', '+' || CAST({n} AS TEXT) || '@')")
            }
            ("orders", "order_number") => self.order_number("t", &shift),
            ("claims", "claim_number") => format!(
                "({} || substr(t.claim_number, length(o.order_number) + 1))",
                self.order_number("o", &shift)
            ),
            ("refund_parts", "idempotency_key") => format!(
                "({} || substr(c.claim_number, length(o.order_number) + 1) || \
                 substr(t.idempotency_key, length(c.claim_number) + 1))",
                self.order_number("o", &shift)
            ),
            ("shipments", "tracking_number") => suffix("tracking_number"),
            // A payment key pays one thing (unique; NULL stays NULL).
            ("tenders", "gateway_reference") => suffix("gateway_reference"),
            ("claims", "collection_tracking" | "reship_tracking" | "redelivery_tracking") => {
                suffix(col)
            }
            ("claim_events", "actor_id") => format!(
                "CASE t.actor_role WHEN 'CUSTOMER' THEN t.actor_id + {n} * {} \
                 WHEN 'SELLER' THEN t.actor_id + {group} * {} ELSE t.actor_id END",
                self.stride["customers"], self.sellers
            ),
            ("claim_events", "payload") => format!(
                "CASE WHEN c.converted_to_id IS NULL THEN t.payload ELSE \
                 REPLACE(t.payload, '\"convertedTo\":' || CAST(c.converted_to_id AS TEXT), \
                 '\"convertedTo\":' || CAST(c.converted_to_id + {n} * {} AS TEXT)) END",
                self.stride["claims"]
            ),
            ("points_ledger", "balance_after") if b.order_limit.is_some() => {
                // A partial copy leaves some orders out: the balances are summed again from the
                // customer's balance before its first template entry.
                "(SELECT f.balance_after - f.delta FROM points_ledger f \
                  WHERE f.customer_id = t.customer_id ORDER BY f.id LIMIT 1) \
                 + SUM(t.delta) OVER (PARTITION BY k.n, t.customer_id ORDER BY t.id)"
                    .to_owned()
            }
            // A person's identity at the provider belongs to the template account only (and
            // is unique): copies are linked to no one.
            ("customers" | "sellers", "external_id") => "NULL".to_owned(),
            // A label the client gives lines of one bundle, scoped to its order: kept.
            ("order_lines", "bundle_id") => "t.bundle_id".to_owned(),
            (_, c) if is_ts => self.ts(&format!("t.{c}"), &shift),
            (_, c) if c.ends_with("_id") => {
                return Err(SeedError::Other(format!(
                    "no copy rule for {table}.{c}: say how its ids move in src/seed.rs"
                )))
            }
            (_, c) => format!("t.{c}"),
        })
    }

    /// Copies `table`'s template rows into the slots of `b`. Returns the rows written.
    async fn copy_table(
        &self,
        db: &impl ConnectionTrait,
        table: &Table,
        b: &Batch,
    ) -> Result<u64, SeedError> {
        let template = match b.kind {
            Kind::Recent => &self.recent,
            Kind::Settled => &self.settled,
        };
        let (lo, hi) = template.ids[table.name];
        if hi <= lo {
            return Ok(0);
        }
        let cols = (table.columns)();
        let names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        let exprs = cols
            .iter()
            .map(|(c, ts)| self.column(table.name, c, *ts, b))
            .collect::<Result<Vec<_>, _>>()?;
        let mut filter = format!("t.id > {lo} AND t.id <= {hi}");
        if let (Some(limit), false) = (b.order_limit, table.order_of_row.is_empty()) {
            filter.push_str(&format!(" AND {} <= {limit}", table.order_of_row));
        }
        let sql = format!(
            "{}INSERT INTO {} ({}) SELECT {} FROM {}, k WHERE {filter}",
            Self::slots(b.first, b.last),
            table.name,
            names.join(", "),
            exprs.join(", "),
            table.from,
        );
        Ok(exec(db, &sql).await?)
    }

    /// After a partial copy: each of its customers' balance is their last ledger entry's (or,
    /// with none, the balance before the template customer's first entry).
    async fn rebalance_points(
        &self,
        db: &impl ConnectionTrait,
        b: &Batch,
    ) -> Result<(), SeedError> {
        let (lo, hi) = self.settled.ids["customers"];
        let off = b.first * self.stride["customers"];
        exec(
            db,
            &format!(
                "UPDATE customers SET points_balance = COALESCE(\
                 (SELECT p.balance_after FROM points_ledger p WHERE p.customer_id = customers.id \
                  ORDER BY p.id DESC LIMIT 1), \
                 (SELECT f.balance_after - f.delta FROM points_ledger f \
                  WHERE f.customer_id = customers.id - {off} ORDER BY f.id LIMIT 1), \
                 points_balance) WHERE id > {} AND id <= {}",
                lo + off,
                hi + off
            ),
        )
        .await?;
        Ok(())
    }
}

async fn ids_where(
    db: &impl ConnectionTrait,
    table: &str,
    col: &str,
    cond: &str,
) -> Result<Vec<i64>, DbErr> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT {col} FROM {table} WHERE {cond} ORDER BY {col}"),
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect()
}

/// The earliest placing among the settled template's orders.
async fn scalar_ts(
    db: &impl ConnectionTrait,
    sql: &str,
    settled: &TemplateRange,
) -> Result<DateTime<Utc>, DbErr> {
    let (lo, hi) = settled.ids["orders"];
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("{sql} WHERE id > {lo} AND id <= {hi}"),
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("settled orders".into()))?;
    row.try_get_by_index::<DateTime<Utc>>(0)
}

// ---------------------------------------------------------------------------------------------
// 4. Derived state.

/// Recomputes the delivered units per KST day and seller and the order number counters, moves
/// PostgreSQL's sequences past the largest ids, and runs `ANALYZE`. Returns the rows written.
async fn finish(db: &Db) -> Result<u64, SeedError> {
    let backend = db.backend();
    let mut rows = 0;
    let txn = db.write().await?;
    // As migration m20261126_000005_analytics computes it (and markDelivered keeps it).
    let kst_day = match backend {
        DatabaseBackend::Postgres => {
            "CAST(((delivered_at AT TIME ZONE 'UTC') + INTERVAL '9 hours') AS DATE)"
        }
        DatabaseBackend::Sqlite | DatabaseBackend::MySql => "date(delivered_at, '+9 hours')",
    };
    exec(&*txn, "DELETE FROM analytics_delivered_units").await?;
    rows += exec(
        &*txn,
        &format!(
            "INSERT INTO analytics_delivered_units (day, seller_id, units) \
             SELECT {kst_day}, seller_id, SUM(quantity - cancelled_quantity) \
             FROM order_lines WHERE delivered_at IS NOT NULL GROUP BY 1, 2"
        ),
    )
    .await?;
    // Every day's counter at least its largest number, so new orders never take a seeded one.
    let seq = match backend {
        DatabaseBackend::Postgres => "MAX(CAST(substr(order_number, 10) AS BIGINT))",
        DatabaseBackend::Sqlite | DatabaseBackend::MySql => {
            "MAX(CAST(substr(order_number, 10) AS INTEGER))"
        }
    };
    rows += exec(
        &*txn,
        &format!(
            "INSERT INTO order_number_counters (day, last_value) \
             SELECT substr(order_number, 1, 8), {seq} FROM orders WHERE true GROUP BY 1 \
             ON CONFLICT (day) DO UPDATE SET last_value = CASE \
             WHEN excluded.last_value > order_number_counters.last_value \
             THEN excluded.last_value ELSE order_number_counters.last_value END"
        ),
    )
    .await?;
    if backend == DatabaseBackend::Postgres {
        let tables = ["sellers", "products", "product_options"]
            .into_iter()
            .chain(TABLES.iter().map(|t| t.name));
        for table in tables {
            exec(
                &*txn,
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     GREATEST((SELECT MAX(id) FROM {table}), 1))"
                ),
            )
            .await?;
        }
    }
    txn.commit().await?;
    exec(db.conn(), "ANALYZE").await?;
    if backend == DatabaseBackend::Sqlite {
        // Fold the write-ahead log into the file, so its size is the database's.
        exec(db.conn(), "PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(rows)
}

async fn database_bytes(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            scalar(db, "SELECT pg_database_size(current_database())").await
        }
        DatabaseBackend::Sqlite | DatabaseBackend::MySql => {
            let pages = scalar(db, "PRAGMA page_count").await?;
            let size = scalar(db, "PRAGMA page_size").await?;
            Ok(pages * size)
        }
    }
}
