//! Connecting to the database: SQLite with the durability money needs (WAL,
//! `synchronous=FULL`, foreign keys) or PostgreSQL; migrations; a count of SQL statements;
//! write transactions that never collide on SQLite; and an optional read replica
//! (`--read-database-url`) for analytics and ANALYST requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

/// The database handle shared by every request.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// The read replica [`Db::reader`] reads from, if one is configured.
    replica: Option<DatabaseConnection>,
    /// SQLite allows one writer; taking this lock before `BEGIN` queues writers in the process
    /// instead of failing one of them with "database is locked".
    sqlite_writer: Arc<Mutex<()>>,
    statements: Arc<AtomicU64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.conn.get_database_backend())
    }
}

/// How long the first connection at start may take before the server gives up with a message
/// that says what to check (the pool would otherwise retry for its whole acquire timeout and
/// report only "pool timed out").
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Connects at start, for `oms serve`, `migrate` and `seed`: a PostgreSQL server that
    /// does not answer or refuses us is reported within [`FIRST_CONNECT_TIMEOUT`], with the
    /// reason and what to check, and the URL's password hidden.
    pub async fn open(url: &str, max_connections: u32) -> Result<Db, String> {
        if url.starts_with("postgres") {
            use sea_orm::sqlx::{Connection, PgConnection};
            let shown = crate::production::redacted_url(url);
            match tokio::time::timeout(FIRST_CONNECT_TIMEOUT, PgConnection::connect(url)).await {
                Err(_) => {
                    return Err(format!(
                        "the database at {shown} did not answer within {} s: check the host \
                         and port of --database-url (OMS_DATABASE_URL), and that PostgreSQL is \
                         running and reachable from here",
                        FIRST_CONNECT_TIMEOUT.as_secs()
                    ))
                }
                Ok(Err(e)) => {
                    return Err(format!(
                        "cannot connect to the database at {shown}: {}",
                        crate::tls::explain(&e)
                    ))
                }
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                }
            }
        }
        Db::connect(url, max_connections).await.map_err(|e| {
            format!(
                "cannot open the database {}: {e}",
                crate::production::redacted_url(url)
            )
        })
    }

    /// Connects to `url` (SQLite or PostgreSQL) with a pool of at most `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
        let statements = Arc::new(AtomicU64::new(0));
        let conn = open(url, max_connections, statements.clone()).await?;
        Ok(Db {
            conn,
            replica: None,
            sqlite_writer: Arc::new(Mutex::new(())),
            statements,
        })
    }

    /// This handle, with the reads of analytics and of ANALYST requests going to the replica
    /// at `url` (a PostgreSQL hot standby, say). Its statements count with this handle's.
    pub async fn with_read_replica(self, url: &str, max_connections: u32) -> Result<Db, DbErr> {
        let replica = open(url, max_connections, self.statements.clone()).await?;
        Ok(Db {
            replica: Some(replica),
            ..self
        })
    }

    /// The handle for reads that may lag a little behind the writes: the read replica when one
    /// is configured, else this very database. Never write through it (a replica refuses).
    pub fn reader(&self) -> Db {
        match &self.replica {
            Some(replica) => Db {
                conn: replica.clone(),
                replica: None,
                sqlite_writer: self.sqlite_writer.clone(),
                statements: self.statements.clone(),
            },
            None => self.clone(),
        }
    }

    /// True when reads may go to a separate replica.
    pub fn has_read_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// True when every migration is applied (for `/readyz`).
    pub async fn migrations_applied(&self) -> Result<bool, DbErr> {
        Ok(Migrator::get_pending_migrations(&self.conn)
            .await?
            .is_empty())
    }

    /// A cheap round trip (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// Whether the read replica answers a round trip; `None` without one (for `/readyz`).
    pub async fn ping_replica(&self) -> Option<bool> {
        match &self.replica {
            Some(replica) => Some(replica.ping().await.is_ok()),
            None => None,
        }
    }

    /// The connection for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// SQL statements executed through this handle since it was opened.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Begins a write transaction. Dropping it without [`WriteTxn::commit`] rolls it back.
    pub async fn write(&self) -> Result<WriteTxn<'_>, DbErr> {
        let guard = match self.backend() {
            DatabaseBackend::Sqlite => Some(self.sqlite_writer.lock().await),
            DatabaseBackend::Postgres | DatabaseBackend::MySql => None,
        };
        let txn = self.conn.begin().await?;
        Ok(WriteTxn { txn, _guard: guard })
    }
}

/// A write transaction (and, on SQLite, the process's writer lock).
pub struct WriteTxn<'a> {
    txn: DatabaseTransaction,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl WriteTxn<'_> {
    /// Commits.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl std::ops::Deref for WriteTxn<'_> {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// Opens a pool on `url` whose statements add to `statements`.
async fn open(
    url: &str,
    max_connections: u32,
    statements: Arc<AtomicU64>,
) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings a pooled connection before every use by default: one more round trip
        // per statement outside a transaction, 14 % of the server's time on the read path.
        // A connection that died while idle (the database restarted) fails its next query
        // instead, and the pool replaces it.
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    let mut conn = Database::connect(opts).await?;
    conn.set_metric_callback(move |info| {
        // `RUST_LOG=oms::sql=trace` lists every statement (how the counts were cut down).
        tracing::trace!(target: "oms::sql", "{}", info.statement.sql);
        statements.fetch_add(1, Ordering::Relaxed);
    });
    Ok(conn)
}
