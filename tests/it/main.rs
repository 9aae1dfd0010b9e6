//! Integration tests of sluice against a real PostgreSQL that the suite
//! starts itself (one throw-away cluster per test, as the `postgres` user
//! when the suite runs as root). One test binary: DataFusion links once.

mod support;

mod bench;
mod cli;
// Python and psql as the external pipeline: not beside the Windows binaries
// that CI runs under Wine.
#[cfg(unix)]
mod external;
mod failover;
mod fleet;
mod hostile;
mod ingest;
mod memory;
mod metrics;
mod outage;
mod ownership;
mod recovery;
mod report;
mod shutdown;
mod sweep;
mod tls;
mod versions;
mod writers;
