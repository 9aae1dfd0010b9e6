//! Which database a command uses: the URL given, or the embedded PostgreSQL.

use embedded_pg::{Cluster, EmbeddedError, EmbeddedPostgres};
use pipeline::db::{DbError, DbTarget};

/// The database of a command, and the embedded server behind it (stopped
/// when dropped, if this command started it).
pub struct Database {
    pub target: DbTarget,
    pub embedded: Option<EmbeddedPostgres>,
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Url(#[from] DbError),
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
}

/// Uses `url` if given, else starts (or attaches to) the embedded PostgreSQL.
pub fn resolve(url: Option<&str>) -> Result<Database, DatabaseError> {
    if let Some(url) = url {
        return Ok(Database {
            target: DbTarget::parse(url)?,
            embedded: None,
        });
    }
    let cluster = Cluster::new(Cluster::default_data_dir()?)?;
    let server = cluster.start()?;
    tracing::info!(port = server.port(), data = %server.data_dir().display(), started = server.owned(), "embedded PostgreSQL ready");
    Ok(Database {
        target: DbTarget::parse(&server.url())?,
        embedded: Some(server),
    })
}

/// A connection for the run's own readings, opened again when lost (a run
/// may stop its database on purpose): `None` while it cannot be reached.
pub struct Reconnecting<'a> {
    target: &'a DbTarget,
    client: Option<tokio_postgres::Client>,
}

impl<'a> Reconnecting<'a> {
    pub fn new(target: &'a DbTarget) -> Self {
        Self {
            target,
            client: None,
        }
    }

    /// The open connection, reconnecting first when it is closed.
    pub async fn client(&mut self) -> Option<&tokio_postgres::Client> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = self.target.connect().await.ok();
        }
        self.client.as_ref()
    }
}
