//! `sluice db`: the embedded PostgreSQL.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use embedded_pg::Cluster;

#[derive(Subcommand)]
pub enum DbAction {
    /// Create (if needed) and start the embedded PostgreSQL; it keeps running.
    Start,
    /// Stop the embedded PostgreSQL.
    Stop,
    /// Say whether it runs, and where.
    Status,
    /// Print its connection URL.
    Url,
}

pub fn db(action: DbAction) -> Result<ExitCode> {
    let cluster = Cluster::new(Cluster::default_data_dir()?)?;
    match action {
        DbAction::Start => {
            let server = cluster.start()?;
            println!("{}", server.url());
            server.detach();
        }
        DbAction::Stop => {
            if cluster.stop()? {
                println!(
                    "stopped the embedded PostgreSQL at {}",
                    cluster.data_dir().display()
                );
            } else {
                println!(
                    "the embedded PostgreSQL at {} was not running",
                    cluster.data_dir().display()
                );
            }
        }
        DbAction::Status => match cluster.running_port() {
            Some(port) => println!(
                "running on 127.0.0.1:{port} (data {})",
                cluster.data_dir().display()
            ),
            None => {
                println!("not running (data {})", cluster.data_dir().display());
                return Ok(ExitCode::from(3));
            }
        },
        DbAction::Url => println!("{}", cluster.attach()?.url()),
    }
    Ok(ExitCode::SUCCESS)
}
