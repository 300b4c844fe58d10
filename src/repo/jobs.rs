//! Leases that let one replica at a time run a SYSTEM job.

use chrono::{DateTime, Utc};
use entity::job_lease;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// Takes the lease on `name` until `until` if it is free or expired. One conditional statement
/// per attempt, so two runs never both win — not two replicas, and not two runs in one replica
/// (the timer and `runSystemJobs`): a lease this replica already holds is not taken again, or
/// both runs would send the same refund part to the gateway and race to record its answer.
pub async fn try_lease(
    db: &impl ConnectionTrait,
    name: &str,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    // Make sure the row exists; losing this race is fine.
    job_lease::Entity::insert(job_lease::ActiveModel {
        name: Set(name.to_owned()),
        owner: Set(String::new()),
        lease_until: Set(DateTime::<Utc>::UNIX_EPOCH),
        last_run_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(job_lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .do_nothing()
    .exec(db)
    .await?;
    let res = job_lease::Entity::update_many()
        .set(job_lease::ActiveModel {
            owner: Set(owner.to_owned()),
            lease_until: Set(until),
            last_run_at: Set(Some(now)),
            ..Default::default()
        })
        .filter(job_lease::Column::Name.eq(name))
        .filter(job_lease::Column::LeaseUntil.lt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Extends `owner`'s lease on `name` to `until`; false when another replica holds it now.
pub async fn renew(
    db: &impl ConnectionTrait,
    name: &str,
    owner: &str,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = job_lease::Entity::update_many()
        .set(job_lease::ActiveModel {
            lease_until: Set(until),
            ..Default::default()
        })
        .filter(job_lease::Column::Name.eq(name))
        .filter(job_lease::Column::Owner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives the lease back so the next run need not wait for it to expire.
pub async fn release(db: &impl ConnectionTrait, name: &str, owner: &str) -> Result<(), DbErr> {
    job_lease::Entity::update_many()
        .set(job_lease::ActiveModel {
            lease_until: Set(DateTime::<Utc>::UNIX_EPOCH),
            ..Default::default()
        })
        .filter(job_lease::Column::Name.eq(name))
        .filter(job_lease::Column::Owner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}
