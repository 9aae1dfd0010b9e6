//! The pipeline as a separate `sluice ingest` process: what failover runs
//! kill and restart, and what benchmarks measure alone (its own RSS and CPU,
//! without the generator or the measuring code).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use pipeline::config::IngestConfig;
use pipeline::db::DbTarget;

use crate::resources::SampledPids;

/// The pipeline as a child `sluice ingest` process, restartable.
pub struct PipelineProcess {
    program: PathBuf,
    config_path: PathBuf,
    database_url: String,
    log_path: PathBuf,
    child: Child,
    pids: Arc<SampledPids>,
    pub restarts: u32,
}

impl PipelineProcess {
    /// Writes the pipeline settings beside the run and starts the program.
    pub fn start(
        config: &IngestConfig,
        run_dir: &Path,
        database: &DbTarget,
        pids: Arc<SampledPids>,
    ) -> Result<Self, String> {
        let database_url = database.secret_url();
        let program = std::env::current_exe().map_err(|error| {
            format!("cannot find the sluice program to run the pipeline: {error}")
        })?;
        let config_path = run_dir.join("pipeline.toml");
        let settings = toml::to_string(config)
            .map_err(|error| format!("cannot write the pipeline settings: {error}"))?;
        std::fs::write(&config_path, settings)
            .map_err(|error| format!("cannot write {}: {error}", config_path.display()))?;
        let log_path = run_dir.join("pipeline.log");
        let child = spawn(&program, &config_path, database_url, &log_path)?;
        pids.pipeline.store(child.id(), Ordering::Relaxed);
        Ok(Self {
            program,
            config_path,
            database_url: database_url.to_string(),
            log_path,
            child,
            pids,
            restarts: 0,
        })
    }

    /// Kills the process at once, as a crash would; returns its PID.
    pub fn kill(&mut self) -> std::io::Result<u32> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(self.child.id())
    }

    pub fn restart(&mut self) -> Result<(), String> {
        self.child = spawn(
            &self.program,
            &self.config_path,
            &self.database_url,
            &self.log_path,
        )?;
        self.pids.pipeline.store(self.child.id(), Ordering::Relaxed);
        self.restarts += 1;
        Ok(())
    }

    /// Waits for the process to end by itself (`--trigger available-now`).
    pub fn wait(mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait()
    }

    /// Asks the process to stop (SIGTERM: it finishes its batch) and waits.
    pub fn stop(mut self) -> std::io::Result<std::process::ExitStatus> {
        #[cfg(unix)]
        // SAFETY: kill(2) with a PID we own and a valid signal number.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        #[cfg(not(unix))]
        self.child.kill()?;
        self.child.wait()
    }
}

fn spawn(
    program: &Path,
    config_path: &Path,
    database_url: &str,
    log_path: &Path,
) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|error| format!("cannot open {}: {error}", log_path.display()))?;
    let stderr = log
        .try_clone()
        .map_err(|error| format!("cannot open {}: {error}", log_path.display()))?;
    Command::new(program)
        .arg("ingest")
        .arg("--config")
        .arg(config_path)
        // In the environment, not the arguments: other users can list arguments.
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .spawn()
        .map_err(|error| {
            format!(
                "cannot start the pipeline process {}: {error}",
                program.display()
            )
        })
}
