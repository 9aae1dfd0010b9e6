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
    /// Its slot in `pids.pipeline` (a worker of a pipeline run as several).
    worker: usize,
    pub restarts: u32,
}

impl PipelineProcess {
    /// Writes the pipeline settings beside the run and starts the program
    /// as worker `worker` of the processes `pids` samples (its settings and
    /// log: `pipeline.toml` and `.log`, or `pipeline-worker-N.toml` and
    /// `.log` when there are several).
    pub fn start(
        config: &IngestConfig,
        run_dir: &Path,
        database: &DbTarget,
        pids: Arc<SampledPids>,
        worker: usize,
    ) -> Result<Self, String> {
        let database_url = database.secret_url();
        let program = std::env::current_exe().map_err(|error| {
            format!("cannot find the sluice program to run the pipeline: {error}")
        })?;
        // One settings file and one log per worker: a file rewritten for the
        // next worker while the previous one reads it would read half-written.
        let name = if pids.pipeline.len() == 1 {
            "pipeline".to_string()
        } else {
            format!("pipeline-worker-{}", worker + 1)
        };
        let config_path = run_dir.join(format!("{name}.toml"));
        // A failover scenario restarts the pipeline while the database may
        // be down on purpose: a restart waits out the outage as a running
        // pipeline does, not the short start-up wait.
        let mut config = config.clone();
        config.retry.startup = config.retry.deadline;
        let settings = toml::to_string(&config)
            .map_err(|error| format!("cannot write the pipeline settings: {error}"))?;
        std::fs::write(&config_path, settings)
            .map_err(|error| format!("cannot write {}: {error}", config_path.display()))?;
        let log_path = run_dir.join(format!("{name}.log"));
        let child = spawn(&program, &config_path, database_url, &log_path)?;
        pids.pipeline[worker].store(child.id(), Ordering::Relaxed);
        Ok(Self {
            program,
            config_path,
            database_url: database_url.to_string(),
            log_path,
            child,
            pids,
            worker,
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
        self.pids.pipeline[self.worker].store(self.child.id(), Ordering::Relaxed);
        self.restarts += 1;
        Ok(())
    }

    /// Waits for the process to end by itself (`--trigger available-now`).
    pub fn wait(mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait()
    }

    /// Asks the process to stop (SIGTERM on Unix, Ctrl-Break on Windows: it
    /// finishes its batch) and waits; kills it when it has not ended after
    /// [`STOP_WAIT`].
    pub fn stop(mut self) -> std::io::Result<std::process::ExitStatus> {
        if request_stop(&self.child) {
            let asked = std::time::Instant::now();
            while asked.elapsed() < STOP_WAIT {
                if let Some(status) = self.child.try_wait()? {
                    return Ok(status);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            tracing::warn!(
                pid = self.child.id(),
                "the pipeline process did not stop within {STOP_WAIT:?} of being asked: killed"
            );
        }
        self.child.kill()?;
        self.child.wait()
    }
}

/// A pipeline process still running when its handle goes (a bench or run
/// that failed halfway) is killed: left running, it would hold the folder's
/// checkpoint and, on Windows, the handles it inherited (a caller reading
/// the parent's output to its end would wait for it forever; seen under
/// Wine).
impl Drop for PipelineProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How long a stopping pipeline may take: its shutdown grace (10 s by
/// default) and the roll-back after it.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends the child the platform's polite stop; whether it was sent.
#[cfg(unix)]
fn request_stop(child: &Child) -> bool {
    // SAFETY: kill(2) with a PID we own and a valid signal number.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) == 0 }
}

/// Ctrl-Break to the child's process group (it was started as a group of
/// its own, see [`spawn`]): sluice handles it as SIGTERM.
#[cfg(windows)]
fn request_stop(child: &Child) -> bool {
    #[link(name = "kernel32")]
    extern "system" {
        fn GenerateConsoleCtrlEvent(event: u32, process_group_id: u32) -> i32;
    }
    const CTRL_BREAK_EVENT: u32 = 1;
    // SAFETY: a documented Win32 call with plain integer arguments.
    unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, child.id()) != 0 }
}

#[cfg(not(any(unix, windows)))]
fn request_stop(_child: &Child) -> bool {
    false
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
    let mut command = Command::new(program);
    #[cfg(windows)]
    {
        // A process group of its own, so Ctrl-Break can be sent to it alone.
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }
    command
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
