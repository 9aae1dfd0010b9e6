//! The database connection: URL parsing (with the password kept out of every
//! message), the connection pool, and the schema migrations.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use crate::tls;

mod migrate;
mod redact;
mod wire;

pub use migrate::{check_target, forget_target, migrate};
pub use redact::redact_url;
use redact::{redact_in, replace_database};
pub use wire::WireBytes;

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
    tls: tls::Connector,
    /// The URL as given, password included: only ever handed to a child
    /// process through its environment.
    url: String,
    display: String,
    /// What every connection opened through this target sent and received.
    wire: Arc<WireBytes>,
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
        let tls = tls::Connector::new(&tls_options).map_err(invalid)?;
        Ok(Self {
            config,
            tls,
            url: url.to_string(),
            display,
            wire: Arc::default(),
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
            wire: Arc::default(),
        }
    }

    /// The same target with its own byte counts, from zero: what a run
    /// sends and receives, apart from other users of the target.
    pub fn counted_anew(&self) -> Self {
        Self {
            wire: Arc::default(),
            ..self.clone()
        }
    }

    /// Bytes this target's connections have sent and received so far.
    pub fn wire(&self) -> &WireBytes {
        &self.wire
    }

    fn connector(&self) -> wire::CountingConnect {
        wire::CountingConnect {
            tls: self.tls.clone(),
            bytes: Arc::clone(&self.wire),
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
        use deadpool_postgres::Connect;
        // The connection's task runs on by itself; its handle is not needed.
        let (client, _driver) = self
            .connector()
            .connect(&self.config)
            .await
            .map_err(|source| self.connect_error(source))?;
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
        let manager = Manager::from_connect(
            self.config.clone(),
            self.connector(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
