//! The database connection: URL parsing (with the password kept out of every
//! message), the connection pool, and the schema migrations.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use postgres_native_tls::MakeTlsConnector;

use crate::schema::{Ident, TableSchema};
use crate::tls;

/// Bookkeeping migrations, in order: (version, SQL with `{rejects}` placeholders).
const MIGRATIONS: &[(i32, &str)] =
    &[(1, include_str!("../../sql/migrations/0001_bookkeeping.sql"))];

/// Longest a statement may run (unless the URL sets its own `options`): a
/// statement stuck behind a lock or a dead server fails into the retry
/// logic. One statement handles one chunk (a few thousand rows), so this is
/// generous.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);

/// What went wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "invalid database URL {url}: {reason}. Use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    Url { url: String, reason: String },
    #[error("cannot connect to the database at {url}: {detail}. {advice}")]
    Connect {
        url: String,
        detail: String,
        advice: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("the TLS handshake with the database at {url} failed: {detail}. Check sslmode and sslrootcert: \
             verify-full needs the certificate authority that signed the server's certificate (sslrootcert=PATH.pem) \
             and a host name in the URL that the certificate names; require encrypts without checking either")]
    Tls {
        url: String,
        detail: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("database error while {context}: {detail}")]
    Query {
        context: String,
        /// The server's own message (tokio-postgres alone prints "db error").
        detail: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(
        "the existing table {table} cannot take what sluice writes: {problems}. Alter it, drop \
         it, or configure the table to match"
    )]
    TableMismatch { table: String, problems: String },
    #[error(
        "the bookkeeping table sluice_batches holds something sluice did not write: {detail}. \
         Restore it from a backup, or ingest into a fresh table with a fresh --checkpoint folder"
    )]
    Ledger { detail: String },
    #[error(
        "checkpoint {checkpoint} is in use by another sluice process connected to the database \
         ({holder}): one process owns a checkpoint, even from another machine sharing the folder. \
         Stop that process first, or give this one its own --checkpoint folder"
    )]
    CheckpointInUse { checkpoint: String, holder: String },
    #[error("cannot get a database connection: {0}. Check that PostgreSQL is running and the URL is right")]
    Pool(String),
}

impl DbError {
    pub fn query(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let context = context.into();
        move |source| Self::Query {
            context,
            detail: describe(&source),
            source,
        }
    }

    /// Whether retrying later may help: the server is unreachable or went
    /// away, as opposed to a mistake that will fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            // Unreachable servers come back; wrong credentials or a missing
            // database do not.
            // A URL missing what the server asks for (a password) fails the
            // same way every time.
            Self::Connect { source, .. } => {
                !source.code().is_some_and(|code| {
                    code.code().starts_with("28") || code.code().starts_with("3D")
                }) && !source.to_string().starts_with("invalid configuration")
            }
            Self::Query { source, .. } => is_transient(source),
            Self::Pool(_) => true,
            Self::Url { .. }
            | Self::Tls { .. }
            | Self::TableMismatch { .. }
            | Self::Ledger { .. }
            | Self::CheckpointInUse { .. } => false,
        }
    }
}

/// A PostgreSQL error as a person needs it: the server's message, its
/// SQLSTATE, and its detail and hint when it gave them.
pub fn describe(error: &tokio_postgres::Error) -> String {
    let Some(db) = error.as_db_error() else {
        // tokio-postgres keeps the cause (an I/O or TLS error) out of its own message.
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        return text;
    };
    let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
    if let Some(detail) = db.detail() {
        text.push_str(&format!("; {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("; hint: {hint}"));
    }
    text
}

/// Whether a PostgreSQL error is worth a retry with back-off.
pub fn is_transient(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        // No SQLSTATE: an I/O error on the connection.
        None => true,
        Some(code) => {
            let class = &code.code()[..2];
            // 08 connection exception, 57P01..03 admin shutdown / crash / cannot connect now,
            // 40001/40P01 serialization failure / deadlock, 53 insufficient resources (except disk full).
            matches!(class, "08" | "40")
                || code.code().starts_with("57P")
                || (class == "53" && code.code() != "53100")
        }
    }
}

/// A parsed database URL and a form of it safe to print.
#[derive(Clone)]
pub struct DbTarget {
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
    /// The URL as given, password included: only ever handed to a child
    /// process through its environment.
    url: String,
    display: String,
}

impl std::fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl DbTarget {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let display = redact_url(url);
        let invalid = |reason: String| DbError::Url {
            url: display.clone(),
            reason: redact_in(&reason, url),
        };
        let (rest, tls_options) = tls::split_tls_options(url).map_err(invalid)?;
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|error: tokio_postgres::Error| invalid(error.to_string()))?;
        config.ssl_mode(tls_options.mode.negotiation());
        config.connect_timeout(Duration::from_secs(10));
        // A network partition must reach the retry logic instead of
        // stalling a batch forever: dead peers are noticed in about 30 s.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(15))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        #[cfg(target_os = "linux")]
        config.tcp_user_timeout(Duration::from_secs(30));
        if config.get_options().is_none() {
            config.options(format!(
                "-c statement_timeout={}s",
                STATEMENT_TIMEOUT.as_secs()
            ));
        }
        config.application_name("sluice");
        let tls = tls::connector(&tls_options).map_err(invalid)?;
        Ok(Self {
            config,
            tls,
            url: url.to_string(),
            display,
        })
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(database);
        Self {
            config,
            tls: self.tls.clone(),
            url: replace_database(&self.url, database),
            display: replace_database(&self.display, database),
        }
    }

    /// The URL with its password, for a child process's `DATABASE_URL`
    /// (never for arguments, logs or reports).
    pub fn secret_url(&self) -> &str {
        &self.url
    }

    /// libpq's environment for the same server, user, password and database
    /// (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), so a tool
    /// such as `psql` connects without the password on its command line.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if let Some(tokio_postgres::config::Host::Tcp(host)) = self.config.get_hosts().first() {
            env.push(("PGHOST", host.clone()));
        }
        if let Some(port) = self.config.get_ports().first() {
            env.push(("PGPORT", port.to_string()));
        }
        if let Some(user) = self.config.get_user() {
            env.push(("PGUSER", user.to_string()));
        }
        if let Some(password) = self.config.get_password() {
            env.push(("PGPASSWORD", String::from_utf8_lossy(password).into_owned()));
        }
        if let Some(database) = self.config.get_dbname() {
            env.push(("PGDATABASE", database.to_string()));
        }
        env
    }

    /// The URL with its password replaced by `***`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Whether the server runs on this machine (loopback or a Unix socket).
    pub fn is_local(&self) -> bool {
        self.config.get_hosts().iter().all(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => {
                matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        })
    }

    /// One plain connection, driven on the runtime.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, DbError> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|source| self.connect_error(source))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "database connection closed");
            }
        });
        Ok(client)
    }

    fn connect_error(&self, source: tokio_postgres::Error) -> DbError {
        let url = self.display.clone();
        let detail = describe(&source);
        if tls::is_handshake_failure(&source) {
            return DbError::Tls {
                url,
                detail,
                source,
            };
        }
        let advice = if source.code().is_some_and(|c| c.code().starts_with("28")) {
            "Check the user name and password in the URL, and the server's pg_hba.conf"
        } else {
            "Check that PostgreSQL is running and the URL is right"
        };
        DbError::Connect {
            url,
            detail,
            advice,
            source,
        }
    }

    /// A pool of up to `size` connections.
    pub fn pool(&self, size: usize) -> Pool {
        let manager = Manager::from_config(
            self.config.clone(),
            self.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(size)
            .build()
            .expect("a pool without runtime-specific timeouts always builds")
    }
}

/// `url` with another database: the path of a `postgres://` URL, or a
/// `dbname=` added to a key-value string (the last one wins).
fn replace_database(url: &str, database: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return format!("{url} dbname={database}");
    };
    let (head, rest) = url.split_at(scheme_end + 3);
    let query_at = rest.find('?').unwrap_or(rest.len());
    let path_at = rest[..query_at].find('/').unwrap_or(query_at);
    format!("{head}{}/{database}{}", &rest[..path_at], &rest[query_at..])
}

/// Replaces the password of a `postgres://user:password@host/db` URL (or a
/// `password=` key-value) with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &rest[..colon],
                    &rest[at..]
                );
            }
        }
        if let Some(query) = rest.find('?') {
            let (head, tail) = rest.split_at(query);
            let tail: Vec<String> = tail[1..]
                .split('&')
                .map(|pair| {
                    if pair.starts_with("password=") {
                        "password=***".into()
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            return format!("{}{head}?{}", &url[..scheme_end + 3], tail.join("&"));
        }
        return url.to_string();
    }
    redact_key_values(url)
}

/// Redacts the `password` of a libpq `key = value` string, whatever its
/// spacing or quoting (`password=x`, `password = x`, `password='a b'`,
/// `'it\'s'`).
fn redact_key_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        // Copy whitespace, then read a key up to `=` or whitespace.
        let key_start = at;
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let name_start = at;
        while at < bytes.len() && bytes[at] != b'=' && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let key = &text[name_start..at];
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at >= bytes.len() || bytes[at] != b'=' {
            out.push_str(&text[key_start..at]);
            continue;
        }
        at += 1;
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        out.push_str(&text[key_start..at]);
        let value_start = at;
        if at < bytes.len() && bytes[at] == b'\'' {
            at += 1;
            while at < bytes.len() && bytes[at] != b'\'' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at = (at + 1).min(bytes.len());
        } else {
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
        }
        if key == "password" {
            out.push_str("***");
        } else {
            out.push_str(&text[value_start..at]);
        }
    }
    out
}

/// Removes any copy of the URL's password from a message.
fn redact_in(message: &str, url: &str) -> String {
    match password_of(url) {
        Some(password) if !password.is_empty() => message.replace(password, "***"),
        _ => message.to_string(),
    }
}

fn password_of(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let at = rest[..rest.find(['/', '?']).unwrap_or(rest.len())].rfind('@')?;
    rest[..at].split_once(':').map(|(_, password)| password)
}

/// The database half of "one owner per checkpoint": a session advisory lock
/// keyed by the checkpoint id, held on its own connection for the whole run.
/// It dies with the connection, so a killed process releases it; it catches
/// two machines sharing one checkpoint folder, which a file lock may not.
pub struct CheckpointLease {
    client: tokio_postgres::Client,
}

impl CheckpointLease {
    /// Takes the lock, or says who holds it.
    pub async fn acquire(db: &DbTarget, checkpoint_id: &str) -> Result<Self, DbError> {
        let client = db.connect().await?;
        let me = format!(
            "sluice pid {} on {}",
            std::process::id(),
            crate::checkpoint::host_name()
        );
        client
            .execute("SELECT set_config('application_name', $1, false)", &[&me])
            .await
            .map_err(DbError::query("naming the checkpoint lock's connection"))?;
        let taken: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended('sluice checkpoint ' || $1, 0))",
                &[&checkpoint_id],
            )
            .await
            .map_err(DbError::query("locking the checkpoint in the database"))?
            .get(0);
        if !taken {
            let holder = client
                .query_opt(
                    "SELECT format('%s, backend pid %s, from %s', a.application_name, a.pid,
                            coalesce(host(a.client_addr), 'a local socket'))
                     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                       AND ((l.classid::bigint << 32) | l.objid::bigint)
                           = hashtextextended('sluice checkpoint ' || $1, 0)",
                    &[&checkpoint_id],
                )
                .await
                .map_err(DbError::query("reading who holds the checkpoint lock"))?
                .map_or_else(|| "holder unknown".into(), |row| row.get(0));
            return Err(DbError::CheckpointInUse {
                checkpoint: checkpoint_id.to_string(),
                holder,
            });
        }
        Ok(Self { client })
    }

    /// Whether the lock's connection was lost (an outage): the lock went
    /// with it and must be taken again before the next batch.
    pub fn is_lost(&self) -> bool {
        self.client.is_closed()
    }
}

/// Creates or upgrades the bookkeeping tables and the target table, idempotently.
/// Concurrent callers serialise on an advisory lock.
pub async fn migrate(
    client: &mut tokio_postgres::Client,
    table: &TableSchema,
) -> Result<(), DbError> {
    let transaction = client
        .transaction()
        .await
        .map_err(DbError::query("starting the migration"))?;
    apply_migrations(&transaction, table).await?;
    transaction
        .commit()
        .await
        .map_err(DbError::query("committing the migration"))
}

/// What [`migrate`] would find and do, without changing anything: the same
/// statements and checks in a transaction that is rolled back. Says whether
/// the target table exists already.
pub async fn check_target(
    client: &mut tokio_postgres::Client,
    table: &TableSchema,
) -> Result<bool, DbError> {
    let transaction = client
        .transaction()
        .await
        .map_err(DbError::query("starting the check"))?;
    let exists: bool = transaction
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&table.table.quoted()],
        )
        .await
        .map_err(DbError::query(format!(
            "looking for the table {}",
            table.table
        )))?
        .get(0);
    apply_migrations(&transaction, table).await?;
    transaction
        .rollback()
        .await
        .map_err(DbError::query("rolling the check back"))?;
    Ok(exists)
}

/// The migrations, the batch id sequence, the target table and the check of
/// its columns, in the caller's transaction.
async fn apply_migrations(
    transaction: &tokio_postgres::Transaction<'_>,
    table: &TableSchema,
) -> Result<(), DbError> {
    transaction
        .batch_execute(
            "SELECT pg_advisory_xact_lock(7250923411);
             CREATE TABLE IF NOT EXISTS sluice_migrations (
                 target text NOT NULL,
                 version integer NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                 PRIMARY KEY (target, version))",
        )
        .await
        .map_err(DbError::query("creating sluice_migrations"))?;
    let target = table.table.as_str();
    // Every migration is idempotent and runs at every start, so bookkeeping
    // tables dropped by hand come back instead of failing every batch.
    for (version, sql) in MIGRATIONS {
        let rejects = table.rejects_table();
        let sql = sql
            .replace(
                "{rejects_file_index}",
                &rejects.derived("_file_idx").quoted(),
            )
            .replace("{rejects}", &rejects.quoted());
        transaction
            .batch_execute(&sql)
            .await
            .map_err(DbError::query(format!("applying migration {version}")))?;
        transaction
            .execute(
                "INSERT INTO sluice_migrations (target, version) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&target, version],
            )
            .await
            .map_err(DbError::query("recording a migration"))?;
    }
    // Batch ids come from one sequence, so pipelines sharing the database
    // never collide; it starts after any id written before it existed.
    transaction
        .batch_execute(
            "CREATE SEQUENCE IF NOT EXISTS sluice_batch_ids;
             SELECT setval('sluice_batch_ids', m) FROM (SELECT max(batch_id) AS m FROM sluice_batches) b
             WHERE m >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
                         FROM sluice_batch_ids)",
        )
        .await
        .map_err(DbError::query("creating the batch id sequence"))?;
    transaction
        .batch_execute(&table.create_table_sql())
        .await
        .map_err(DbError::query(format!(
            "creating the table {}",
            table.table
        )))?;
    check_columns(transaction, table).await
}

/// Forgets a target table: drops it and its rejects table and deletes what
/// the bookkeeping tables record about it (its migrations, its batches and
/// their quarantine rows), in one transaction, so the next [`migrate`]
/// creates both tables afresh and no earlier batch of the same name counts.
/// Bookkeeping tables that do not exist yet are skipped.
pub async fn forget_target(
    client: &mut tokio_postgres::Client,
    table: &Ident,
) -> Result<(), DbError> {
    let name = table.as_str();
    let transaction = client
        .transaction()
        .await
        .map_err(DbError::query("starting to forget a table"))?;
    let row = transaction
        .query_one(
            "SELECT to_regclass('sluice_batches') IS NOT NULL, \
                    to_regclass('sluice_quarantine') IS NOT NULL, \
                    to_regclass('sluice_migrations') IS NOT NULL",
            &[],
        )
        .await
        .map_err(DbError::query("looking for the bookkeeping tables"))?;
    let (batches, quarantine, migrations): (bool, bool, bool) =
        (row.get(0), row.get(1), row.get(2));
    let mut statements = Vec::new();
    if batches && quarantine {
        statements.push(
            "DELETE FROM sluice_quarantine WHERE batch_id IN \
             (SELECT batch_id FROM sluice_batches WHERE target_table = $1)",
        );
    }
    if batches {
        statements.push("DELETE FROM sluice_batches WHERE target_table = $1");
    }
    if migrations {
        statements.push("DELETE FROM sluice_migrations WHERE target = $1");
    }
    for sql in statements {
        transaction
            .execute(sql, &[&name])
            .await
            .map_err(DbError::query(format!("forgetting the batches of {table}")))?;
    }
    transaction
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {}, {}",
            table.quoted(),
            table.derived("_rejects").quoted()
        ))
        .await
        .map_err(DbError::query(format!(
            "dropping {table} and its rejects table"
        )))?;
    transaction
        .commit()
        .await
        .map_err(DbError::query(format!("committing the removal of {table}")))
}

/// Checks that the target table can take what sluice writes: every
/// configured column with its type (text may be `varchar`), no NOT NULL
/// where the configuration allows empty values, no other required column
/// without a default, and a primary key or unique index on the key alone
/// (the upsert's conflict target).
async fn check_columns(
    client: &tokio_postgres::Transaction<'_>,
    table: &TableSchema,
) -> Result<(), DbError> {
    let rows = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
                    EXISTS (SELECT 1 FROM pg_index i
                            WHERE i.indrelid = a.attrelid AND (i.indisprimary OR i.indisunique)
                              AND i.indnatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL)
             FROM pg_attribute a
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table.table.quoted()],
        )
        .await
        .map_err(DbError::query("reading the target table's columns"))?;
    let present: Vec<ExistingColumn> = rows
        .iter()
        .map(|row| ExistingColumn {
            name: row.get(0),
            ty: row.get(1),
            not_null: row.get(2),
            has_default: row.get(3),
            unique: row.get(4),
        })
        .collect();
    let problems = table_problems(table, &present);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DbError::TableMismatch {
            table: table.table.to_string(),
            problems: problems.join("; "),
        })
    }
}

/// A column of the existing target table, as the catalog describes it.
#[derive(Debug, Clone)]
struct ExistingColumn {
    name: String,
    /// `format_type`: `numeric(12,2)`, `timestamp with time zone`, …
    ty: String,
    not_null: bool,
    has_default: bool,
    /// Alone under a primary key or a unique index.
    unique: bool,
}

/// What keeps sluice from writing `existing` as `table` is configured (pure).
fn table_problems(table: &TableSchema, existing: &[ExistingColumn]) -> Vec<String> {
    use crate::schema::ColumnType;
    let mut problems = Vec::new();
    let find = |name: &str| existing.iter().find(|c| c.name == name);
    for column in &table.columns {
        let Some(found) = find(column.name.as_str()) else {
            problems.push(format!("column {} is missing", column.name));
            continue;
        };
        let expected = match column.ty {
            ColumnType::Timestamptz => "timestamp with time zone".to_string(),
            other => other.sql_type(),
        };
        let fits = found.ty == expected
            || (column.ty == ColumnType::Text && found.ty.starts_with("character varying"));
        if !fits {
            problems.push(format!(
                "column {} is {} in the database but {} in the configuration",
                column.name, found.ty, expected
            ));
        }
        if column.nullable && found.not_null {
            problems.push(format!(
                "column {} is NOT NULL in the database but nullable in the configuration                  (an empty field would be refused)",
                column.name
            ));
        }
    }
    for (name, ty) in [("source_file", "text"), ("batch_id", "bigint")] {
        match find(name) {
            None => problems.push(format!("column {name} is missing")),
            Some(found) if found.ty != ty => problems.push(format!(
                "column {name} is {} in the database; sluice writes {ty}",
                found.ty
            )),
            Some(_) => {}
        }
    }
    let written = |name: &str| {
        table.columns.iter().any(|c| c.name.as_str() == name)
            || ["source_file", "batch_id"].contains(&name)
    };
    for extra in existing
        .iter()
        .filter(|c| c.not_null && !c.has_default && !written(&c.name))
    {
        problems.push(format!(
            "column {} is NOT NULL without a default and sluice does not write it",
            extra.name
        ));
    }
    if find(table.key.as_str()).is_some_and(|key| !key.unique) {
        problems.push(format!(
            "the key {} has no primary key or unique index of its own (the upsert's conflict target)",
            table.key
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(name: &str, ty: &str, not_null: bool) -> ExistingColumn {
        ExistingColumn {
            name: name.into(),
            ty: ty.into(),
            not_null,
            has_default: false,
            unique: name == "event_id",
        }
    }

    fn events_as_created() -> Vec<ExistingColumn> {
        vec![
            existing("event_id", "text", true),
            existing("event_type", "text", true),
            existing("user_id", "bigint", true),
            existing("product_id", "bigint", true),
            existing("category", "text", false),
            existing("price", "numeric(12,2)", true),
            existing("quantity", "integer", true),
            existing("event_time", "timestamp with time zone", true),
            existing("source_file", "text", true),
            existing("batch_id", "bigint", true),
            ExistingColumn {
                has_default: true,
                ..existing("ingested_at", "timestamp with time zone", true)
            },
        ]
    }

    #[test]
    fn accepts_the_table_it_creates_and_names_each_mismatch() {
        let table = TableSchema::events();
        assert!(table_problems(&table, &events_as_created()).is_empty());
        let mut columns = events_as_created();
        columns[5].ty = "numeric(10,2)".into();
        columns[4].not_null = true;
        columns[0].unique = false;
        columns.push(existing("tenant", "text", true));
        columns.retain(|c| c.name != "quantity");
        let problems = table_problems(&table, &columns).join("\n");
        for expected in [
            "column price is numeric(10,2) in the database but numeric(12,2)",
            "column category is NOT NULL in the database but nullable",
            "column quantity is missing",
            "column tenant is NOT NULL without a default",
            "the key event_id has no primary key or unique index",
        ] {
            assert!(problems.contains(expected), "{expected}\n{problems}");
        }
        let mut varchar = events_as_created();
        varchar[1].ty = "character varying(20)".into();
        assert!(table_problems(&table, &varchar).is_empty());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cr:et@db.example:5432/x?sslmode=require"),
            "postgres://app:***@db.example:5432/x?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://app@h/x?password=hunter2&a=b"),
            "postgres://app@h/x?password=***&a=b"
        );
        assert_eq!(
            redact_url("host=h password=hunter2 user=u"),
            "host=h password=*** user=u"
        );
        assert_eq!(
            redact_url("host=h password = 'a b\\'c' user=u"),
            "host=h password = *** user=u"
        );
        assert_eq!(
            redact_url("password='hunter 2'  dbname=x"),
            "password=***  dbname=x"
        );
        assert_eq!(
            redact_url("postgres://app@h/x?sslmode=require&password=a%20b"),
            "postgres://app@h/x?sslmode=require&password=***"
        );
        assert_eq!(redact_url("postgres://h/x"), "postgres://h/x");
        let target = DbTarget::parse("postgres://app:hunter2@127.0.0.1:1/x").unwrap();
        assert!(!format!("{target:?}").contains("hunter2"));
        assert!(target.is_local());
    }

    #[test]
    fn another_database_keeps_host_credentials_and_options() {
        let target = DbTarget::parse("postgres://app:pw@db:5432/shop?sslmode=require")
            .unwrap()
            .with_database("bench");
        assert_eq!(
            target.secret_url(),
            "postgres://app:pw@db:5432/bench?sslmode=require"
        );
        assert_eq!(
            target.display(),
            "postgres://app:***@db:5432/bench?sslmode=require"
        );
        assert_eq!(
            replace_database("postgres://u@db/shop?sslrootcert=/etc/ca.pem", "x"),
            "postgres://u@db/x?sslrootcert=/etc/ca.pem"
        );
        assert_eq!(replace_database("postgres://db", "x"), "postgres://db/x");
        assert_eq!(
            replace_database("host=db user=u", "x"),
            "host=db user=u dbname=x"
        );
    }

    #[test]
    fn url_errors_are_permanent_and_keep_the_password_out() {
        let error = DbTarget::parse("postgres://app:pw@db/x?sslmode=sometimes").unwrap_err();
        assert!(!error.is_transient());
        assert!(error.to_string().contains("sslmode=sometimes"), "{error}");
        assert!(!error.to_string().contains("pw@"), "{error}");
        assert!(DbTarget::parse("postgres://app:pw@db/x?sslmode=verify-full").is_ok());
    }
}
