//! A pipeline that is not sluice (a Spark job, a Python loader) run under a
//! scenario: its command started with the run's input folder, database URL,
//! trigger, ready file and checkpoint folder filled in, its readiness
//! awaited, its drain judged from the table, and its whole process tree
//! sampled and stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::resources::SampledPids;

/// `[pipeline] command = "…"` (with `ready_timeout` and `quiet` beside it)
/// in a scenario file, or `sluice run --pipeline-cmd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalPipeline {
    /// Run by the platform's shell (`sh -c`, `cmd /C`); the placeholders
    /// of [`PLACEHOLDERS`] are replaced by shell-quoted values. Empty in a
    /// scenario that sets only the waits, for `--pipeline-cmd` to give.
    #[serde(default)]
    pub command: String,
    /// Longest wait for the command to create `{ready_file}` (when it uses
    /// it) before the load starts: a JVM takes its time.
    #[serde(with = "humantime_serde", default = "default_ready_timeout")]
    pub ready_timeout: Duration,
    /// The drain ends when the table has gained no row for this long after
    /// the generator's last file (or once it holds every expected row), and
    /// at the scenario's `drain_timeout` at the latest.
    #[serde(with = "humantime_serde", default = "default_quiet")]
    pub quiet: Duration,
    /// The table the command writes (`table = "spark_events"` beside
    /// `command`); default the scenario's table, `events`. Its own name
    /// keeps it apart from a table sluice wrote in the same database.
    #[serde(default)]
    pub table: Option<String>,
}

fn default_ready_timeout() -> Duration {
    Duration::from_secs(120)
}

fn default_quiet() -> Duration {
    Duration::from_secs(10)
}

impl ExternalPipeline {
    /// A command with the default waits.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            ready_timeout: default_ready_timeout(),
            quiet: default_quiet(),
            table: None,
        }
    }

    /// Takes `command`, `ready_timeout`, `quiet` and a `table` name out of
    /// a scenario's `[pipeline]` table (the rest are sluice's own settings,
    /// `[pipeline.table]` among them); `None` when it has none of them. The
    /// command may be missing (empty), for `--pipeline-cmd` to give.
    pub fn take_from(pipeline: &mut toml::Table) -> Result<Option<Self>, String> {
        let table_name = pipeline.get("table").is_some_and(toml::Value::is_str);
        let ours = ["command", "ready_timeout", "quiet"]
            .iter()
            .any(|key| pipeline.contains_key(*key));
        if !ours && !table_name {
            return Ok(None);
        }
        let mut external = toml::Table::new();
        let keys: &[&str] = if table_name {
            &["command", "ready_timeout", "quiet", "table"]
        } else {
            &["command", "ready_timeout", "quiet"]
        };
        for &key in keys {
            if let Some(value) = pipeline.remove(key) {
                external.insert(key.to_string(), value);
            }
        }
        let external: Self = external
            .try_into()
            .map_err(|error| format!("[pipeline] command: {error}"))?;
        Ok(Some(external))
    }

    /// Whether the command waits to be told it is ready by a file.
    pub fn uses_ready_file(&self) -> bool {
        self.command.contains("{ready_file}")
    }
}

/// The placeholders a pipeline command may hold, each also given to it as
/// an environment variable.
pub const PLACEHOLDERS: [(&str, &str); 6] = [
    ("input", "SLUICE_INPUT"),
    ("database_url", "DATABASE_URL"),
    ("trigger", "SLUICE_TRIGGER"),
    ("ready_file", "SLUICE_READY_FILE"),
    ("checkpoint", "SLUICE_CHECKPOINT"),
    ("table", "SLUICE_TABLE"),
];

/// The values of the placeholders for one run, in [`PLACEHOLDERS`] order.
#[derive(Debug, Clone)]
pub struct Placeholders {
    pub input: PathBuf,
    pub database_url: String,
    pub trigger: String,
    pub ready_file: PathBuf,
    pub checkpoint: PathBuf,
    pub table: String,
}

impl Placeholders {
    fn values(&self) -> [String; 6] {
        [
            self.input.display().to_string(),
            self.database_url.clone(),
            self.trigger.clone(),
            self.ready_file.display().to_string(),
            self.checkpoint.display().to_string(),
            self.table.clone(),
        ]
    }
}

/// Replaces each `{name}` of [`PLACEHOLDERS`] by its value quoted for the
/// shell, or as it is where the command already quotes it (`'{input}'`).
/// A `{word}` that is no placeholder is refused (a misspelt one would reach
/// the pipeline as text); `${VAR}` and other braces are left alone.
pub fn expand(command: &str, values: &Placeholders) -> Result<String, String> {
    let values = values.values();
    let mut out = String::with_capacity(command.len() + 64);
    let mut rest = command;
    while let Some(open) = rest.find('{') {
        let (before, from_brace) = rest.split_at(open);
        out.push_str(before);
        let name_len = from_brace[1..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(from_brace.len() - 1);
        let name = &from_brace[1..1 + name_len];
        let closed = from_brace[1 + name_len..].starts_with('}');
        if !closed || name.is_empty() || before.ends_with('$') {
            out.push('{');
            rest = &from_brace[1..];
            continue;
        }
        let Some(index) = PLACEHOLDERS.iter().position(|(n, _)| *n == name) else {
            let known: Vec<String> = PLACEHOLDERS
                .iter()
                .map(|(n, _)| format!("{{{n}}}"))
                .collect();
            return Err(format!(
                "the pipeline command has an unknown placeholder {{{name}}}: use {}",
                known.join(", ")
            ));
        };
        let after = &from_brace[name_len + 2..];
        let quoted_by_user = matches!(
            (before.chars().last(), after.chars().next()),
            (Some('\''), Some('\'')) | (Some('"'), Some('"'))
        );
        if quoted_by_user {
            out.push_str(&values[index]);
        } else {
            out.push_str(&shell_quote(&values[index]));
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// One word for `sh`: single quotes, a `'` inside closed and escaped.
#[cfg(not(windows))]
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// One word for `cmd.exe`: double quotes (a path or URL holds no `"`).
#[cfg(windows)]
fn shell_quote(value: &str) -> String {
    format!("\"{value}\"")
}

/// The user's pipeline, running.
pub struct ExternalProcess {
    child: Child,
    log_path: PathBuf,
    /// The command as written (placeholders, not values: no password).
    pub command: String,
}

impl ExternalProcess {
    /// Starts `command` through the shell, in a process group of its own
    /// (so its whole tree can be stopped), output to `log_path`, the
    /// placeholders' values also in its environment, and sampled as a tree.
    pub fn start(
        external: &ExternalPipeline,
        values: &Placeholders,
        log_path: &Path,
        pids: &Arc<SampledPids>,
    ) -> Result<Self, String> {
        let line = expand(&external.command, values)?;
        // A single command replaces the shell (`exec`), so the polite stop
        // reaches it rather than a shell that would die and leave it running.
        let line = if cfg!(unix) && is_simple(&external.command) {
            format!("exec {line}")
        } else {
            line
        };
        let log = std::fs::File::create(log_path)
            .map_err(|error| format!("cannot create {}: {error}", log_path.display()))?;
        let stderr = log
            .try_clone()
            .map_err(|error| format!("cannot open {}: {error}", log_path.display()))?;
        let mut command = shell(&line);
        for ((_, variable), value) in PLACEHOLDERS.iter().zip(values.values()) {
            command.env(variable, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|error| format!("cannot start the pipeline command: {error}"))?;
        pids.pipeline[0].store(child.id(), Ordering::Relaxed);
        Ok(Self {
            child,
            log_path: log_path.to_path_buf(),
            command: external.command.clone(),
        })
    }

    /// Its exit status once it has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the command creates `ready_file`; fails when it exits
    /// first or `timeout` passes, quoting the end of its log.
    pub async fn wait_ready(&mut self, ready_file: &Path, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if ready_file.exists() {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(format!(
                    "the pipeline command exited ({status}) before it was ready; the end of its \
                     log ({}):\n{}",
                    self.log_path.display(),
                    self.log_tail()
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "the pipeline command did not create its ready file {} within {}: make it \
                     create {{ready_file}} once it watches the input folder, or raise \
                     [pipeline] ready_timeout; the end of its log ({}):\n{}",
                    ready_file.display(),
                    humantime::format_duration(timeout),
                    self.log_path.display(),
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the whole process tree: the platform's polite stop to the
    /// command's process, then, once it has ended or after `grace`, a kill
    /// of every process of its group still there. Returns how it ended.
    pub fn stop(mut self, grace: Duration) -> std::io::Result<String> {
        if let Some(status) = self.exited() {
            // Its children may outlive it: they go too.
            tree::kill(&self.child);
            return Ok(format!("exited by itself ({status})"));
        }
        let deadline = std::time::Instant::now() + grace;
        tree::request_stop(&self.child);
        wait_until(&mut self.child, deadline, |child| {
            child.try_wait().ok().flatten().is_some()
        });
        if tree::alive(&self.child) {
            // A shell that ended at the signal leaves what it started
            // running: ask them too.
            tree::request_stop_group(&self.child);
            wait_until(&mut self.child, deadline, |child| !tree::alive(child));
        }
        let stopped = self.child.try_wait()?.is_some() && !tree::alive(&self.child);
        tree::kill(&self.child);
        let status = self.child.wait()?;
        Ok(if stopped {
            format!("stopped when asked ({status})")
        } else {
            format!(
                "killed: still running {} after being asked to stop",
                humantime::format_duration(grace)
            )
        })
    }
}

/// Polls `done` until it holds or `deadline` passes.
fn wait_until(
    child: &mut Child,
    deadline: std::time::Instant,
    mut done: impl FnMut(&mut Child) -> bool,
) {
    while std::time::Instant::now() < deadline && !done(child) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A command line that is one program and its arguments: no shell operator,
/// and no variable assignment in front.
fn is_simple(command: &str) -> bool {
    let first_word = command.split_whitespace().next().unwrap_or("");
    !command.contains([';', '&', '|', '<', '>', '(', ')', '`', '\n']) && !first_word.contains('=')
}

#[cfg(not(windows))]
fn shell(line: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("sh");
    command.arg("-c").arg(line);
    // A group of its own: one signal reaches the shell and all it started.
    command.process_group(0);
    command
}

#[cfg(windows)]
fn shell(line: &str) -> Command {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    let mut command = Command::new("cmd");
    command.arg("/C").raw_arg(line);
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    command
}

/// The command's process group (Unix) or tree (Windows).
#[cfg(unix)]
mod tree {
    use std::process::Child;

    /// The command's PID, which is also its group's id (it leads the group).
    fn leader(child: &Child) -> libc::pid_t {
        child.id() as libc::pid_t
    }

    /// SIGTERM to the command's own process alone: a JVM driver or a
    /// script stops what it started in its own order (a signal to the whole
    /// group would kill Spark's JVM under its Python driver mid-batch).
    pub fn request_stop(child: &Child) {
        // SAFETY: kill(2) on the child's PID, with a valid signal.
        unsafe { libc::kill(leader(child), libc::SIGTERM) };
    }

    /// Some process of the group is still there.
    pub fn alive(child: &Child) -> bool {
        // SAFETY: signal 0 only checks that the group exists.
        unsafe { libc::kill(-leader(child), 0) == 0 }
    }

    pub fn request_stop_group(child: &Child) {
        // SAFETY: kill(2) on the group the child leads, with a valid signal.
        unsafe { libc::kill(-leader(child), libc::SIGTERM) };
    }

    pub fn kill(child: &Child) {
        // SAFETY: as above, SIGKILL.
        unsafe { libc::kill(-leader(child), libc::SIGKILL) };
    }
}

#[cfg(windows)]
mod tree {
    use std::process::{Child, Command, Stdio};

    pub fn request_stop(child: &Child) {
        #[link(name = "kernel32")]
        extern "system" {
            fn GenerateConsoleCtrlEvent(event: u32, process_group_id: u32) -> i32;
        }
        const CTRL_BREAK_EVENT: u32 = 1;
        // SAFETY: a documented Win32 call with plain integer arguments.
        unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, child.id()) };
    }

    /// Ctrl-Break went to the whole group already.
    pub fn request_stop_group(_child: &Child) {}

    /// Windows keeps no group to ask: the command's own process stands for it.
    pub fn alive(_child: &Child) -> bool {
        false
    }

    pub fn kill(child: &Child) {
        let _ = Command::new("taskkill")
            .args(["/T", "/F", "/PID", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Rows in the target table, for the drain: an external pipeline keeps no
/// record sluice can read, so the table's growth says when it is done.
pub struct TableRows<'a> {
    connection: crate::database::Reconnecting<'a>,
    sql: String,
}

impl<'a> TableRows<'a> {
    pub fn new(target: &'a pipeline::db::DbTarget, table: &str) -> Self {
        Self {
            connection: crate::database::Reconnecting::new(target),
            sql: format!(
                "SELECT count(*) FROM {}",
                reporter::collect::gather::quote_ident(table)
            ),
        }
    }

    /// The table's rows; 0 while it does not exist, `None` when the
    /// database cannot be reached.
    pub async fn count(&mut self) -> Option<u64> {
        match self
            .connection
            .client()
            .await?
            .query_one(&self.sql, &[])
            .await
        {
            Ok(row) => Some(row.get::<_, i64>(0) as u64),
            Err(error)
                if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) =>
            {
                Some(0)
            }
            Err(_) => None,
        }
    }
}

/// When the drain of an external pipeline ends: the table gained every
/// expected row, or no row for `quiet` (the clock starts when the generator
/// ends, and restarts at each gain). Pure, for the drain loop to call.
#[derive(Debug, Clone, Copy)]
pub struct DrainJudge {
    expected: u64,
    quiet: Duration,
    last: Option<u64>,
    since: Duration,
}

impl DrainJudge {
    pub fn new(expected: u64, quiet: Duration) -> Self {
        Self {
            expected,
            quiet,
            last: None,
            since: Duration::ZERO,
        }
    }

    /// Every expected row is in.
    pub fn reached(&self, gained: u64) -> bool {
        gained >= self.expected
    }

    /// Takes a reading of the rows gained (`None`: no answer) at `now`
    /// since the drain began; `true` when the drain is over.
    pub fn done(&mut self, gained: Option<u64>, now: Duration) -> bool {
        if let Some(rows) = gained {
            if self.reached(rows) {
                return true;
            }
            if self.last != Some(rows) {
                self.last = Some(rows);
                self.since = now;
            }
        }
        now.saturating_sub(self.since) >= self.quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Placeholders {
        Placeholders {
            input: PathBuf::from("runs/r 1/input"),
            database_url: "postgresql://u@127.0.0.1:5432/db?sslmode=disable&x=1".into(),
            trigger: "1s".into(),
            ready_file: PathBuf::from("runs/r 1/ready"),
            checkpoint: PathBuf::from("runs/r 1/checkpoint"),
            table: "events".into(),
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn placeholders_are_quoted_for_the_shell_unless_the_command_quotes_them() {
        let line = expand(
            "spark-submit job.py {input} --url {database_url} --every '{trigger}' \"{ready_file}\" ${HOME} {x",
            &values(),
        )
        .unwrap();
        assert_eq!(
            line,
            "spark-submit job.py 'runs/r 1/input' --url \
             'postgresql://u@127.0.0.1:5432/db?sslmode=disable&x=1' --every '1s' \
             \"runs/r 1/ready\" ${HOME} {x"
        );
        assert_eq!(
            expand("a {checkpoint} {table}", &values()).unwrap(),
            "a 'runs/r 1/checkpoint' 'events'"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn only_a_single_program_replaces_the_shell() {
        assert!(is_simple(
            "python3 job.py --input {input} --url {database_url}"
        ));
        assert!(!is_simple("cd jobs && spark-submit job.py"));
        assert!(!is_simple("JAVA_HOME=/opt/jdk spark-submit job.py"));
        assert!(!is_simple("loader | tee log"));
    }

    #[test]
    fn an_unknown_placeholder_is_refused_naming_the_known_ones() {
        let error = expand("run {inptu}", &values()).unwrap_err();
        assert!(error.contains("{inptu}"), "{error}");
        assert!(
            error.contains("{input}, {database_url}, {trigger}, {ready_file}"),
            "{error}"
        );
    }

    #[test]
    fn the_command_and_its_waits_come_out_of_the_pipeline_table() {
        let mut table: toml::Table =
            toml::from_str("trigger = '1s'\ncommand = 'python3 x.py {input}'\nquiet = '3s'\ntable = 'spark_events'\n").unwrap();
        let external = ExternalPipeline::take_from(&mut table).unwrap().unwrap();
        assert_eq!(external.command, "python3 x.py {input}");
        assert_eq!(external.table.as_deref(), Some("spark_events"));
        assert_eq!(external.quiet, Duration::from_secs(3));
        assert_eq!(external.ready_timeout, Duration::from_secs(120));
        assert_eq!(table.keys().collect::<Vec<_>>(), ["trigger"]);
        let mut waits: toml::Table = toml::from_str("quiet = '3s'\n").unwrap();
        let waits = ExternalPipeline::take_from(&mut waits).unwrap().unwrap();
        assert_eq!(
            (waits.command.as_str(), waits.quiet),
            ("", Duration::from_secs(3))
        );
        let mut none: toml::Table = toml::from_str("trigger = '1s'\n").unwrap();
        assert_eq!(ExternalPipeline::take_from(&mut none).unwrap(), None);
        let mut sluice_table: toml::Table =
            toml::from_str("command = 'x'\n[table]\nname = 't'\n").unwrap();
        let external = ExternalPipeline::take_from(&mut sluice_table)
            .unwrap()
            .unwrap();
        assert_eq!(external.table, None);
        assert!(
            sluice_table.contains_key("table"),
            "[pipeline.table] is sluice's"
        );
    }

    #[test]
    fn the_drain_ends_at_every_expected_row_or_after_a_quiet_stretch() {
        let quiet = Duration::from_secs(10);
        let at = Duration::from_secs;
        let mut judge = DrainJudge::new(100, quiet);
        assert!(!judge.done(Some(10), at(0)));
        assert!(!judge.done(Some(50), at(9)));
        assert!(
            !judge.done(None, at(15)),
            "a failed reading is no gain and no end"
        );
        assert!(!judge.done(Some(50), at(18)));
        assert!(judge.done(Some(50), at(19)), "10 s without a gain");
        let mut judge = DrainJudge::new(100, quiet);
        assert!(judge.done(Some(100), at(1)));
        let mut judge = DrainJudge::new(100, quiet);
        assert!(!judge.done(None, at(9)));
        assert!(
            judge.done(None, at(10)),
            "a database that never answers ends it too"
        );
    }
}
