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
