//! Policy plugins: uploaded modules, the active one per seller and hook, and failures.

use chrono::{DateTime, Utc};
use entity::{plugin, plugin_failure, policy_activation};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

/// A plugin without its bytes: what lists and decisions need.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct PluginRow {
    /// Its id.
    pub id: i64,
    /// Its seller.
    pub seller_id: i64,
    /// Its hook (`CLAIM_FEES`).
    pub hook: String,
    /// Its version among the seller's uploads for the hook.
    pub version: i32,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    pub size_bytes: i64,
    /// Who uploaded it (`SELLER:7`, `OPERATOR:ops`).
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
    /// Fuel its smoke evaluations used (the most of the samples).
    pub fuel_used_at_upload: i32,
    /// Failures in a row since its last success.
    pub consecutive_failures: i32,
    /// When the circuit breaker switched it off.
    pub switched_off_at: Option<DateTime<Utc>>,
}

fn rows() -> sea_orm::Select<plugin::Entity> {
    use plugin::Column as C;
    plugin::Entity::find().select_only().columns([
        C::Id,
        C::SellerId,
        C::Hook,
        C::Version,
        C::Sha256,
        C::SizeBytes,
        C::UploadedBy,
        C::UploadedAt,
        C::FuelUsedAtUpload,
        C::ConsecutiveFailures,
        C::SwitchedOffAt,
    ])
}

/// A new upload: the next version of the seller's hook.
pub struct NewPlugin<'a> {
    /// The seller.
    pub seller_id: i64,
    /// The hook.
    pub hook: &'a str,
    /// The module.
    pub wasm: &'a [u8],
    /// Its SHA-256.
    pub sha256: &'a str,
    /// Who uploads it.
    pub uploaded_by: &'a str,
    /// Fuel its smoke evaluations used (the most of the samples).
    pub fuel_used: u64,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Stores an upload as the next version of its seller's hook; returns its id.
pub async fn insert(db: &impl ConnectionTrait, new: NewPlugin<'_>) -> Result<i64, DbErr> {
    let latest: Option<i32> = plugin::Entity::find()
        .select_only()
        .column_as(plugin::Column::Version.max(), "v")
        .filter(plugin::Column::SellerId.eq(new.seller_id))
        .filter(plugin::Column::Hook.eq(new.hook))
        .into_tuple::<Option<i32>>()
        .one(db)
        .await?
        .flatten();
    let row = plugin::ActiveModel {
        seller_id: Set(new.seller_id),
        hook: Set(new.hook.to_owned()),
        version: Set(latest.unwrap_or(0) + 1),
        sha256: Set(new.sha256.to_owned()),
        size_bytes: Set(i64::try_from(new.wasm.len()).unwrap_or(i64::MAX)),
        wasm: Set(new.wasm.to_vec()),
        uploaded_by: Set(new.uploaded_by.to_owned()),
        uploaded_at: Set(new.now),
        fuel_used_at_upload: Set(i32::try_from(new.fuel_used).unwrap_or(i32::MAX)),
        consecutive_failures: Set(0),
        switched_off_at: Set(None),
        ..Default::default()
    };
    Ok(row.insert(db).await?.id)
}

/// A plugin by id (without its bytes).
pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<PluginRow>, DbErr> {
    rows()
        .filter(plugin::Column::Id.eq(id))
        .into_model::<PluginRow>()
        .one(db)
        .await
}

/// The bytes of a module.
pub async fn wasm_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<Vec<u8>>, DbErr> {
    plugin::Entity::find_by_id(id)
        .select_only()
        .column(plugin::Column::Wasm)
        .into_tuple::<Vec<u8>>()
        .one(db)
        .await
}

/// Plugins, newest first, optionally of one seller and hook.
pub async fn list(
    db: &impl ConnectionTrait,
    seller_id: Option<i64>,
    hook: Option<&str>,
    limit: u64,
) -> Result<Vec<PluginRow>, DbErr> {
    let mut q = rows();
    if let Some(s) = seller_id {
        q = q.filter(plugin::Column::SellerId.eq(s));
    }
    if let Some(h) = hook {
        q = q.filter(plugin::Column::Hook.eq(h));
    }
    q.order_by_desc(plugin::Column::Id)
        .limit(limit)
        .into_model::<PluginRow>()
        .all(db)
        .await
}

/// The activations of some sellers (`None`: all).
pub async fn activations(
    db: &impl ConnectionTrait,
    seller_ids: Option<&[i64]>,
) -> Result<Vec<policy_activation::Model>, DbErr> {
    let mut q = policy_activation::Entity::find();
    if let Some(ids) = seller_ids {
        q = q.filter(policy_activation::Column::SellerId.is_in(ids.iter().copied()));
    }
    q.all(db).await
}

/// The active plugins of one seller, in one statement (every claim request asks).
pub async fn active_of_seller(
    db: &impl ConnectionTrait,
    seller_id: i64,
) -> Result<Vec<PluginRow>, DbErr> {
    let active = sea_orm::sea_query::Query::select()
        .column(policy_activation::Column::PluginId)
        .from(policy_activation::Entity)
        .and_where(policy_activation::Column::SellerId.eq(seller_id))
        .to_owned();
    rows()
        .filter(plugin::Column::Id.in_subquery(active))
        .into_model::<PluginRow>()
        .all(db)
        .await
}

/// Every seller's active plugins that the circuit breaker has not switched off: what each
/// replica keeps compiled.
pub async fn active_everywhere(db: &impl ConnectionTrait) -> Result<Vec<PluginRow>, DbErr> {
    let active = sea_orm::sea_query::Query::select()
        .column(policy_activation::Column::PluginId)
        .from(policy_activation::Entity)
        .to_owned();
    rows()
        .filter(plugin::Column::Id.in_subquery(active))
        .filter(plugin::Column::SwitchedOffAt.is_null())
        .into_model::<PluginRow>()
        .all(db)
        .await
}

/// Makes `plugin` the active one of its seller's hook, replacing any other, and closes its
/// circuit breaker.
pub async fn activate(
    db: &impl ConnectionTrait,
    p: &PluginRow,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    policy_activation::Entity::insert(policy_activation::ActiveModel {
        seller_id: Set(p.seller_id),
        hook: Set(p.hook.clone()),
        plugin_id: Set(p.id),
        activated_by: Set(by.to_owned()),
        activated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            policy_activation::Column::SellerId,
            policy_activation::Column::Hook,
        ])
        .update_columns([
            policy_activation::Column::PluginId,
            policy_activation::Column::ActivatedBy,
            policy_activation::Column::ActivatedAt,
        ])
        .to_owned(),
    )
    .exec(db)
    .await?;
    plugin::Entity::update_many()
        .col_expr(plugin::Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(
            plugin::Column::SwitchedOffAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(plugin::Column::Id.eq(p.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Returns a seller's hook to the built-in default; the plugin that was active, if any.
pub async fn deactivate(
    db: &impl ConnectionTrait,
    seller_id: i64,
    hook: &str,
) -> Result<Option<i64>, DbErr> {
    let Some(active) = policy_activation::Entity::find()
        .filter(policy_activation::Column::SellerId.eq(seller_id))
        .filter(policy_activation::Column::Hook.eq(hook))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    policy_activation::Entity::delete_by_id(active.id)
        .exec(db)
        .await?;
    Ok(Some(active.plugin_id))
}

/// A failed evaluation to record.
pub struct NewFailure<'a> {
    /// The plugin.
    pub plugin_id: i64,
    /// Its seller.
    pub seller_id: i64,
    /// The hook.
    pub hook: &'a str,
    /// The claim it was evaluated for.
    pub claim_id: Option<i64>,
    /// `OUT_OF_FUEL`, ...
    pub reason: &'a str,
    /// What happened.
    pub message: &'a str,
    /// Fuel used.
    pub fuel_used: u64,
}

/// Records a failure and, with `trip_after`, counts it against the plugin: at `trip_after`
/// failures in a row the circuit breaker switches it off. Without, the failure is kept but
/// not counted (it was not the plugin's doing). Returns true when this failure switched it off.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    f: NewFailure<'_>,
    trip_after: Option<i32>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    plugin_failure::ActiveModel {
        plugin_id: Set(f.plugin_id),
        seller_id: Set(f.seller_id),
        hook: Set(f.hook.to_owned()),
        claim_id: Set(f.claim_id),
        reason: Set(f.reason.to_owned()),
        message: Set(f.message.to_owned()),
        fuel_used: Set(i64::try_from(f.fuel_used).unwrap_or(i64::MAX)),
        occurred_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let Some(trip_after) = trip_after else {
        return Ok(false);
    };
    plugin::Entity::update_many()
        .col_expr(
            plugin::Column::ConsecutiveFailures,
            Expr::col(plugin::Column::ConsecutiveFailures).add(1),
        )
        .filter(plugin::Column::Id.eq(f.plugin_id))
        .exec(db)
        .await?;
    let tripped = plugin::Entity::update_many()
        .col_expr(plugin::Column::SwitchedOffAt, Expr::value(Some(now)))
        .filter(plugin::Column::Id.eq(f.plugin_id))
        .filter(plugin::Column::ConsecutiveFailures.gte(trip_after))
        .filter(plugin::Column::SwitchedOffAt.is_null())
        .exec(db)
        .await?;
    Ok(tripped.rows_affected > 0)
}

/// A success closes the count of failures in a row.
pub async fn record_success(db: &impl ConnectionTrait, plugin_id: i64) -> Result<(), DbErr> {
    plugin::Entity::update_many()
        .col_expr(plugin::Column::ConsecutiveFailures, Expr::value(0))
        .filter(plugin::Column::Id.eq(plugin_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Failures, newest first, optionally of one seller or plugin.
pub async fn failures(
    db: &impl ConnectionTrait,
    seller_id: Option<i64>,
    plugin_id: Option<i64>,
    limit: u64,
) -> Result<Vec<plugin_failure::Model>, DbErr> {
    let mut q = plugin_failure::Entity::find();
    if let Some(s) = seller_id {
        q = q.filter(plugin_failure::Column::SellerId.eq(s));
    }
    if let Some(p) = plugin_id {
        q = q.filter(plugin_failure::Column::PluginId.eq(p));
    }
    q.order_by_desc(plugin_failure::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
