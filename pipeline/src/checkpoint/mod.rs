//! The checkpoint folder: the batch plan written before a batch runs, and the
//! log of committed batches written after.
//!
//! On-disk format (version 2), every record framed as `<crc32 hex> <json>`:
//!
//! - `plan.json`: the batch in flight, replaced atomically (temp file, fsync,
//!   rename, fsync of the folder) before anything of the batch commits in
//!   the database (written while the batch reads and writes, awaited before
//!   its commit: [`PlanWrite`]);
//! - `commits.log`: one line per committed batch, appended after the
//!   database commit and fsync'd with the next plan, so at most the last
//!   commit can be missing from it after a machine crash (recovery takes it
//!   from `sluice_batches`); fsync'd at once when the run ends;
//! - `snapshot.json`: the compacted log (all committed files), written
//!   atomically when the log grows past [`COMPACT_AFTER`] lines, after which
//!   the log starts empty. Restart cost is one snapshot read plus a short log.
//!
//! - `id`: the folder's random identity, stored with each batch in
//!   `sluice_batches.checkpoint_id`, so recovery reads only this folder's
//!   batches. Missing or damaged while the folder holds records, it is an
//!   error (a new identity would re-ingest every file kept in the input).
//! - `lock`: held with an exclusive file lock while a process owns the
//!   folder (released by the system on any exit, kill -9 included), and
//!   `owner`: that process's PID and host, for the message a second process
//!   gets. (The database holds an advisory lock on the id too: two machines
//!   sharing the folder over a network share are caught there.)
//!
//! The database's `sluice_batches` is the truth about what committed; this
//! folder makes restarts cheap and remembers which files the batch in flight
//! held, so it can be replayed with exactly the same files. The recovery
//! decision is the pure function [`decide`].
//!
//! Committed files are recorded with their size and modification time
//! (version 2; version 1 recorded names only and still loads), so that a
//! file later replaced under the same name is noticed and reported: a name
//! is processed once. Version 3 adds a CRC-32 of the bytes read (clean-up
//! archives or deletes only a file whose content still matches it) and
//! whether the file was quarantined.
//!
//! A plan names files only as single path components: a plan naming a path
//! (`../x`, `/etc/passwd`, `a/b`) is damage, never opened.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod cost;

use cost::lock;
pub use cost::{CheckpointIo, CheckpointIoSummary};

/// Version of the on-disk format (3: committed files carry a content hash
/// and whether they were quarantined).
pub const FORMAT_VERSION: u32 = 3;
/// Log lines after which the log is folded into the snapshot.
pub const COMPACT_AFTER: usize = 1000;

const PLAN: &str = "plan.json";
const LOG: &str = "commits.log";
const SNAPSHOT: &str = "snapshot.json";
const ID: &str = "id";
const LOCK: &str = "lock";
const OWNER: &str = "owner";

/// A file as the plan recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    pub name: String,
    pub size: u64,
    pub mtime_us: i64,
    /// When sluice first saw the file (Unix µs).
    pub discovered_at_us: i64,
}

/// A micro-batch, fixed before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub batch_id: u64,
    pub planned_at_us: i64,
    pub files: Vec<PlannedFile>,
}

impl PlannedFile {
    pub fn version(&self) -> FileVersion {
        FileVersion {
            size: self.size,
            mtime_us: self.mtime_us,
        }
    }
}

/// What identifies the content of a file under its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileVersion {
    pub size: u64,
    pub mtime_us: i64,
}

/// A file as its commit recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CommittedFileRecord")]
pub struct CommittedFile {
    pub name: String,
    #[serde(flatten)]
    pub record: FileRecord,
}

/// What a commit knows of a file's content and fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// `None` in version 1 records, which held names only.
    #[serde(flatten)]
    pub version: Option<FileVersion>,
    /// CRC-32 of the bytes read: clean-up archives or deletes a file only
    /// while its content still has this hash (`None` before format 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<u32>,
    /// Moved to the quarantine folder, not ingested: a leftover found after
    /// a crash goes there too, never to the archive.
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "flag_or_reason"
    )]
    pub quarantined: bool,
}

/// `quarantined` is a flag in the log and the reason in `sluice_batches.files`.
fn flag_or_reason<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Set(bool),
        Reason(serde::de::IgnoredAny),
    }
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        None => false,
        Some(Flag::Set(set)) => set,
        Some(Flag::Reason(_)) => true,
    })
}

/// Both on-disk forms of a committed file.
#[derive(Deserialize)]
#[serde(untagged)]
enum CommittedFileRecord {
    NameOnly(String),
    Full {
        name: String,
        #[serde(flatten)]
        record: FileRecord,
    },
}

impl From<CommittedFileRecord> for CommittedFile {
    fn from(record: CommittedFileRecord) -> Self {
        match record {
            CommittedFileRecord::NameOnly(name) => Self {
                name,
                record: FileRecord::default(),
            },
            CommittedFileRecord::Full { name, record } => Self { name, record },
        }
    }
}

/// A batch the database (or the log) says committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedBatch {
    pub batch_id: u64,
    pub files: Vec<CommittedFile>,
}

/// Committed file names with what each commit recorded of them.
pub type ProcessedFiles = HashMap<String, FileRecord>;

fn add_files(processed: &mut ProcessedFiles, files: impl IntoIterator<Item = CommittedFile>) {
    processed.extend(files.into_iter().map(|f| (f.name, f.record)));
}

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    last_batch_id: Option<u64>,
    files: Vec<CommittedFile>,
}

/// What the checkpoint folder could not do.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint folder {path}: {context}: {source}")]
    Io {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "checkpoint folder {path} was written by a newer sluice (format version {found}, this one \
         reads {FORMAT_VERSION}): upgrade sluice or use another --checkpoint folder"
    )]
    NewerFormat { path: PathBuf, found: u32 },
    #[error(
        "checkpoint folder {path} is in use by another sluice process ({owner}): one process owns \
         a checkpoint. Stop that process first, or give this one its own --checkpoint folder"
    )]
    InUse { path: PathBuf, owner: String },
    #[error(
        "checkpoint folder {path} holds committed records but its identity file `id` is {problem}: \
         with a new identity every file still in the input folder would be ingested again. Restore \
         the file (it holds the folder's checkpoint_id in sluice_batches, framed as `<crc32> <id>`), \
         or start over with --reset-checkpoint (moves the folder aside)"
    )]
    LostIdentity {
        path: PathBuf,
        problem: &'static str,
    },
    #[error(
        "the database is behind checkpoint folder {path}: the folder's log says batch {logged} \
         committed, but the database's last batch for this checkpoint is {database}. The database \
         was restored from a backup or failed over to a lagging replica, and rows the folder counts \
         as ingested are missing. Restore the database, or start over with --reset-checkpoint (moves \
         the folder aside) to ingest again every file still in the input folder"
    )]
    DatabaseBehind {
        path: PathBuf,
        logged: u64,
        database: String,
    },
}

/// What the folder held at start, checked.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The plan of the last batch that started, if its record is intact.
    pub plan: Option<Plan>,
    /// Highest batch id the log says committed.
    pub logged_through: Option<u64>,
    /// Files the log says committed.
    pub processed: ProcessedFiles,
    /// Damage found (bad checksum, torn or unparsable record): the caller
    /// must rebuild `processed` from the database.
    pub damage: Vec<String>,
}

/// The open checkpoint folder, owned by this process while it is open.
#[derive(Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    /// Holds the exclusive lock on `lock`; closing it releases the folder.
    _lock: File,
    id: String,
    log: File,
    log_lines: usize,
    /// A commit line was appended and not yet fsync'd.
    log_unsynced: bool,
    processed: ProcessedFiles,
    logged_through: Option<u64>,
    /// What the folder's writes cost, shared with the plan-writing threads.
    io: Arc<Mutex<CheckpointIo>>,
}

/// What to do at start, decided from the folder and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Batches the database committed that the log lacks (crash between the
    /// database commit and the log write): record them.
    pub record: Vec<CommittedBatch>,
    /// The interrupted batch to run again with exactly the same files.
    pub replay: Option<Plan>,
}

/// Why recovery cannot trust the folder and the database together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inconsistency {
    /// The log holds batch `logged`, the database's last batch of this
    /// checkpoint is older (`None`: it has none): a restore or a failover.
    DatabaseBehind { logged: u64, database: Option<u64> },
}

/// The recovery decision, free of I/O.
///
/// - `plan`: the intact plan found in the folder, if any;
/// - `logged_through`: the highest committed batch in the log;
/// - `committed_after_log`: batches of this checkpoint the database
///   committed with ids above `logged_through`;
/// - `database_last`: the highest batch id of this checkpoint in the database.
///
/// The log is written after the database commit, so the database can be
/// ahead of the log but never behind it: if it is, the database lost
/// commits, and nothing may run until a person decides.
pub fn decide(
    plan: Option<&Plan>,
    logged_through: Option<u64>,
    committed_after_log: &[CommittedBatch],
    database_last: Option<u64>,
) -> Result<Recovery, Inconsistency> {
    if let Some(logged) = logged_through {
        if database_last.is_none_or(|last| last < logged) {
            return Err(Inconsistency::DatabaseBehind {
                logged,
                database: database_last,
            });
        }
    }
    let plan_pending = plan.filter(|plan| {
        logged_through.is_none_or(|logged| plan.batch_id > logged)
            && !committed_after_log
                .iter()
                .any(|c| c.batch_id == plan.batch_id)
    });
    Ok(Recovery {
        record: committed_after_log.to_vec(),
        replay: plan_pending.cloned(),
    })
}

impl Checkpoint {
    /// Opens (creating) the folder and reads what it holds.
    pub fn open(dir: &Path) -> Result<(Self, Loaded), CheckpointError> {
        create_private_dir(dir).map_err(|source| io(dir, "cannot create it", source))?;
        let lock = take_ownership(dir)?;
        let mut loaded = Loaded::default();
        if let Some(body) = read_record_file(&dir.join(SNAPSHOT), &mut loaded.damage)? {
            match serde_json::from_str::<Snapshot>(&body) {
                Ok(snapshot) if snapshot.version > FORMAT_VERSION => {
                    return Err(CheckpointError::NewerFormat {
                        path: dir.to_path_buf(),
                        found: snapshot.version,
                    })
                }
                Ok(snapshot) => {
                    loaded.logged_through = snapshot.last_batch_id;
                    add_files(&mut loaded.processed, snapshot.files);
                }
                Err(error) => loaded.damage.push(format!("{SNAPSHOT}: {error}")),
            }
        }
        let log_path = dir.join(LOG);
        let mut log_lines = 0;
        if log_path.exists() {
            let file = File::open(&log_path)
                .map_err(|source| io(&log_path, "cannot read the log", source))?;
            let lines: Vec<String> = BufReader::new(file)
                .lines()
                .collect::<Result<_, _>>()
                .map_err(|source| io(&log_path, "cannot read the log", source))?;
            log_lines = lines.len();
            for (index, line) in lines.iter().enumerate() {
                let commit = unframe(line)
                    .and_then(|body| serde_json::from_str::<CommittedBatch>(body).ok());
                match commit {
                    Some(commit) => {
                        loaded.logged_through = loaded.logged_through.max(Some(commit.batch_id));
                        add_files(&mut loaded.processed, commit.files);
                    }
                    None => loaded
                        .damage
                        .push(format!("{LOG} line {}: damaged record", index + 1)),
                }
            }
        }
        if let Some(body) = read_record_file(&dir.join(PLAN), &mut loaded.damage)? {
            match serde_json::from_str::<Plan>(&body) {
                Ok(plan) if plan.version > FORMAT_VERSION => {
                    return Err(CheckpointError::NewerFormat {
                        path: dir.to_path_buf(),
                        found: plan.version,
                    })
                }
                Ok(plan) => match plan.files.iter().find(|f| !is_plain_file_name(&f.name)) {
                    Some(bad) => loaded.damage.push(format!(
                        "{PLAN}: names `{}`, which is not a plain file name",
                        bad.name
                    )),
                    None => loaded.plan = Some(plan),
                },
                Err(error) => loaded.damage.push(format!("{PLAN}: {error}")),
            }
        }
        let mut id_damage = Vec::new();
        let id = match read_record_file(&dir.join(ID), &mut id_damage)? {
            Some(id) => id,
            None => {
                let holds_records = loaded.plan.is_some()
                    || loaded.logged_through.is_some()
                    || !loaded.processed.is_empty()
                    || !loaded.damage.is_empty();
                if holds_records {
                    return Err(CheckpointError::LostIdentity {
                        path: dir.to_path_buf(),
                        problem: if id_damage.is_empty() {
                            "missing"
                        } else {
                            "damaged"
                        },
                    });
                }
                let id = format!("{:016x}", rand::random::<u64>());
                write_atomically(dir, ID, &frame(&id))?;
                id
            }
        };
        let log = open_append(&log_path)?;
        let checkpoint = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            id,
            log,
            log_lines,
            log_unsynced: false,
            processed: loaded.processed.clone(),
            logged_through: loaded.logged_through,
            io: Arc::default(),
        };
        Ok((checkpoint, loaded))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This folder's identity in `sluice_batches.checkpoint_id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `None` when `name` never committed; else the version its commit
    /// recorded (`Some(None)`: recorded by a version 1 checkpoint, unknown).
    pub fn processed(&self, name: &str) -> Option<Option<FileVersion>> {
        self.processed.get(name).map(|record| record.version)
    }

    /// What the commit of `name` recorded, if it committed.
    pub fn committed(&self, name: &str) -> Option<&FileRecord> {
        self.processed.get(name)
    }

    pub fn processed_count(&self) -> usize {
        self.processed.len()
    }

    pub fn logged_through(&self) -> Option<u64> {
        self.logged_through
    }

    /// Replaces the set of processed files (rebuilt from the database after
    /// damage) and compacts at once so the damage is gone from disk.
    pub fn rebuild(
        &mut self,
        processed: ProcessedFiles,
        logged_through: Option<u64>,
    ) -> Result<(), CheckpointError> {
        self.processed = processed;
        self.logged_through = logged_through;
        self.compact()
    }

    /// What the folder's writes have cost so far.
    pub fn io_summary(&self) -> CheckpointIoSummary {
        lock(&self.io).summary()
    }

    /// Records the plan of the batch about to run, durably, now.
    pub fn write_plan(&mut self, plan: &Plan) -> Result<(), CheckpointError> {
        self.plan_writer(plan)?()
    }

    /// Starts writing the plan of the batch about to run on a blocking
    /// thread, so the fsyncs overlap the batch's work; the batch awaits the
    /// returned [`PlanWrite`] before it commits.
    pub fn persist_plan(&mut self, plan: &Plan) -> Result<PlanWrite, CheckpointError> {
        let write = self.plan_writer(plan)?;
        Ok(PlanWrite(Some(tokio::task::spawn_blocking(write))))
    }

    /// The work of writing `plan`: first fsync the commit line still pending
    /// (so the log never lags more than one commit behind a plan), then
    /// replace the plan atomically.
    fn plan_writer(
        &mut self,
        plan: &Plan,
    ) -> Result<impl FnOnce() -> Result<(), CheckpointError> + Send + 'static, CheckpointError>
    {
        let body = frame(&serde_json::to_string(plan).expect("plans serialise"));
        let log_path = self.dir.join(LOG);
        let unsynced_log = if self.log_unsynced {
            let log = self
                .log
                .try_clone()
                .map_err(|source| io(&log_path, "cannot reopen the log", source))?;
            self.log_unsynced = false;
            Some(log)
        } else {
            None
        };
        let dir = self.dir.clone();
        let stats = Arc::clone(&self.io);
        Ok(move || {
            let mut fsyncs = Vec::with_capacity(3);
            if let Some(log) = unsynced_log {
                let started = Instant::now();
                log.sync_data()
                    .map_err(|source| io(&log_path, "cannot sync the log", source))?;
                fsyncs.push(started.elapsed());
            }
            fsyncs.extend(write_atomically(&dir, PLAN, &body)?);
            lock(&stats).add(body.len(), &fsyncs);
            Ok(())
        })
    }

    /// Records that a batch committed in the database. The line is fsync'd
    /// with the next plan (or when the checkpoint is dropped): until then a
    /// machine crash can lose it, and recovery reads it back from the database.
    pub fn record_commit(&mut self, commit: &CommittedBatch) -> Result<(), CheckpointError> {
        let body = serde_json::to_string(commit).expect("commits serialise");
        let path = self.dir.join(LOG);
        let line = format!("{}\n", frame(&body));
        self.log
            .write_all(line.as_bytes())
            .map_err(|source| io(&path, "cannot append to the log", source))?;
        lock(&self.io).add(line.len(), &[]);
        self.log_unsynced = true;
        self.log_lines += 1;
        add_files(&mut self.processed, commit.files.iter().cloned());
        self.logged_through = self.logged_through.max(Some(commit.batch_id));
        if self.log_lines >= COMPACT_AFTER {
            self.compact()?;
        }
        Ok(())
    }

    /// Folds the log into the snapshot. Crash-safe: the snapshot is renamed
    /// into place before the log is emptied, and replaying a log over a
    /// snapshot that already holds it changes nothing.
    fn compact(&mut self) -> Result<(), CheckpointError> {
        let mut files: Vec<CommittedFile> = self
            .processed
            .iter()
            .map(|(name, record)| CommittedFile {
                name: name.clone(),
                record: *record,
            })
            .collect();
        files.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let snapshot = Snapshot {
            version: FORMAT_VERSION,
            last_batch_id: self.logged_through,
            files,
        };
        let body = serde_json::to_string(&snapshot).expect("snapshots serialise");
        let snapshot = frame(&body);
        let mut fsyncs = write_atomically(&self.dir, SNAPSHOT, &snapshot)?;
        let path = self.dir.join(LOG);
        let started = Instant::now();
        self.log
            .set_len(0)
            .and_then(|()| self.log.sync_all())
            .map_err(|source| io(&path, "cannot empty the log after compaction", source))?;
        fsyncs.push(started.elapsed());
        lock(&self.io).add(snapshot.len(), &fsyncs);
        self.log_lines = 0;
        self.log_unsynced = false;
        Ok(())
    }
}

impl Drop for Checkpoint {
    fn drop(&mut self) {
        if self.log_unsynced {
            if let Err(error) = self.log.sync_data() {
                tracing::warn!(%error, dir = %self.dir.display(), "could not sync the commit log; the next start reads the last commits from the database");
            }
        }
    }
}

/// A plan being written by [`Checkpoint::persist_plan`].
pub struct PlanWrite(Option<tokio::task::JoinHandle<Result<(), CheckpointError>>>);

impl PlanWrite {
    /// For a plan already on disk (a replay).
    pub fn written() -> Self {
        Self(None)
    }

    /// Waits until the plan is on disk; at once after the first time.
    pub async fn wait(&mut self) -> Result<(), CheckpointError> {
        let Some(handle) = self.0.take() else {
            return Ok(());
        };
        handle.await.map_err(|error| CheckpointError::Io {
            path: PathBuf::from(PLAN),
            context: "the thread writing the plan stopped",
            source: std::io::Error::other(error.to_string()),
        })?
    }
}

/// Whether `name` is one path component naming a file in the input folder
/// (no separator, drive, parent or current folder).
pub fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) && !name.contains(['/', '\\', ':', '\0'])
}

/// Moves a checkpoint folder aside (to `<dir>.set-aside-<unix seconds>`) so
/// that the next run starts a new checkpoint and ingests again every file
/// still in the input folder; refuses while another process owns it.
/// Returns where the old folder went (`None`: there was none).
pub fn set_aside(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    if !dir.exists() {
        return Ok(None);
    }
    drop(take_ownership(dir)?);
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".set-aside-{seconds}"));
    let aside = dir.with_file_name(name);
    std::fs::rename(dir, &aside)
        .map_err(|source| io(dir, "cannot move the folder aside", source))?;
    Ok(Some(aside))
}

/// Takes the folder's exclusive lock, or says which process holds it.
fn take_ownership(dir: &Path) -> Result<File, CheckpointError> {
    let lock_path = dir.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| io(&lock_path, "cannot open the lock file", source))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let owner = std::fs::read_to_string(dir.join(OWNER))
                .map(|text| text.trim().to_string())
                .unwrap_or_else(|_| "owner unknown".into());
            return Err(CheckpointError::InUse {
                path: dir.to_path_buf(),
                owner,
            });
        }
        Err(std::fs::TryLockError::Error(source)) => {
            return Err(io(&lock_path, "cannot lock the folder", source))
        }
    }
    let owner = format!("pid {} on {}", std::process::id(), host_name());
    std::fs::write(dir.join(OWNER), format!("{owner}\n"))
        .map_err(|source| io(&dir.join(OWNER), "cannot record the owner", source))?;
    Ok(lock)
}

/// This machine's name, for messages about who owns what.
pub fn host_name() -> String {
    ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|text| text.trim().to_string())
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "this machine".into())
}

/// Creates a folder readable by its owner only where that is the platform's
/// habit (Unix: 0700); Windows folders inherit the user profile's ACL.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn frame(body: &str) -> String {
    format!("{:08x} {body}", crc32fast::hash(body.as_bytes()))
}

/// The body of a framed record, if its checksum holds.
fn unframe(record: &str) -> Option<&str> {
    let (crc, body) = record.trim_end().split_once(' ')?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    (crc32fast::hash(body.as_bytes()) == crc).then_some(body)
}

fn read_record_file(
    path: &Path,
    damage: &mut Vec<String>,
) -> Result<Option<String>, CheckpointError> {
    match std::fs::read_to_string(path) {
        Ok(text) => match unframe(&text) {
            Some(body) => Ok(Some(body.to_string())),
            None => {
                damage.push(format!("{}: bad checksum or torn record", path.display()));
                Ok(None)
            }
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
            damage.push(format!("{}: not text", path.display()));
            Ok(None)
        }
        Err(source) => Err(io(path, "cannot read", source)),
    }
}

fn open_append(path: &Path) -> Result<File, CheckpointError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| io(path, "cannot open the log", source))
}

/// Writes `name` in `dir` through the generator's atomic, durable writer
/// (a hidden temporary file, fsync, rename, fsync of the folder); returns
/// how long that took, until the file was durable.
pub(crate) fn write_atomically(
    dir: &Path,
    name: &str,
    content: &str,
) -> Result<Vec<Duration>, CheckpointError> {
    let target = dir.join(name);
    let started = Instant::now();
    generator::writer::write_atomic(&target, content.as_bytes()).map_err(|error| {
        let source = match error {
            generator::GeneratorError::Io { error, .. } => error,
            other => std::io::Error::other(other.to_string()),
        };
        io(&target, "cannot write atomically", source)
    })?;
    Ok(vec![started.elapsed()])
}

fn io(path: &Path, context: &'static str, source: std::io::Error) -> CheckpointError {
    CheckpointError::Io {
        path: path.to_path_buf(),
        context,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(id: u64, files: &[&str]) -> Plan {
        Plan {
            version: FORMAT_VERSION,
            batch_id: id,
            planned_at_us: 1,
            files: files
                .iter()
                .map(|name| PlannedFile {
                    name: name.to_string(),
                    size: 10,
                    mtime_us: 2,
                    discovered_at_us: 3,
                })
                .collect(),
        }
    }

    fn committed(id: u64, files: &[&str]) -> CommittedBatch {
        CommittedBatch {
            batch_id: id,
            files: plan(id, files)
                .files
                .iter()
                .map(|file| CommittedFile {
                    name: file.name.clone(),
                    record: FileRecord {
                        version: Some(file.version()),
                        hash: Some(7),
                        quarantined: false,
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn recovery_decisions() {
        let p5 = plan(5, &["a.csv"]);
        /// (plan, logged_through, committed in db after log, db last of this checkpoint)
        /// → (recorded, replayed)
        type Case<'a> = (
            Option<&'a Plan>,
            Option<u64>,
            Vec<CommittedBatch>,
            Option<u64>,
            usize,
            bool,
        );
        let cases: Vec<Case<'_>> = vec![
            // fresh folder, empty database
            (None, None, vec![], None, 0, false),
            // plan written, crash before commit: replay it
            (Some(&p5), Some(4), vec![], Some(4), 0, true),
            // plan committed in the database, crash before the log write: record, no replay
            (
                Some(&p5),
                Some(4),
                vec![committed(5, &["a.csv"])],
                Some(5),
                1,
                false,
            ),
            // plan already in the log: nothing to do
            (Some(&p5), Some(5), vec![], Some(5), 0, false),
            // plan damaged (None) but the database committed it: record
            (
                None,
                Some(4),
                vec![committed(5, &["a.csv"])],
                Some(5),
                1,
                false,
            ),
            // checkpoint folder lost, database has history: record it
            (
                None,
                None,
                vec![committed(1, &["x"]), committed(2, &["y"])],
                Some(2),
                2,
                false,
            ),
        ];
        for (index, (plan, logged, after, last, record, replay)) in cases.into_iter().enumerate() {
            let decision = decide(plan, logged, &after, last).unwrap();
            assert_eq!(decision.record.len(), record, "case {index}");
            assert_eq!(decision.replay.is_some(), replay, "case {index}");
        }
    }

    #[test]
    fn a_database_behind_the_log_stops_recovery() {
        let p5 = plan(5, &["a.csv"]);
        // Restored from a backup taken before batch 3 committed.
        assert_eq!(
            decide(Some(&p5), Some(4), &[], Some(2)),
            Err(Inconsistency::DatabaseBehind {
                logged: 4,
                database: Some(2)
            })
        );
        // A fresh database under a folder that committed batches.
        assert_eq!(
            decide(None, Some(4), &[], None),
            Err(Inconsistency::DatabaseBehind {
                logged: 4,
                database: None
            })
        );
    }

    #[test]
    fn a_plan_naming_a_path_is_damage_not_a_file_to_open() {
        for name in [
            "../secret.csv",
            "/etc/passwd",
            "a/b.csv",
            "a\\b.csv",
            "C:x.csv",
            "..",
        ] {
            assert!(!is_plain_file_name(name), "{name}");
            let dir = tempfile::tempdir().unwrap();
            let (mut checkpoint, _) = Checkpoint::open(dir.path()).unwrap();
            checkpoint.write_plan(&plan(1, &[name])).unwrap();
            drop(checkpoint);
            let (_, loaded) = Checkpoint::open(dir.path()).unwrap();
            assert!(loaded.plan.is_none(), "{name}");
            assert_eq!(loaded.damage.len(), 1, "{name}");
        }
        assert!(is_plain_file_name("events-000001.csv"));
    }

    #[test]
    fn counts_its_writes_bytes_and_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        let (mut checkpoint, _) = Checkpoint::open(dir.path()).unwrap();
        checkpoint.write_plan(&plan(1, &["a.csv"])).unwrap();
        checkpoint.record_commit(&committed(1, &["a.csv"])).unwrap();
        // The commit line is fsync'd with the next plan.
        checkpoint.write_plan(&plan(2, &["b.csv"])).unwrap();
        let io = checkpoint.io_summary();
        let on_disk = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert_eq!(io.checkpoint_writes, 3);
        // Two plans (the second one on disk) and the log line.
        assert!(io.checkpoint_bytes > on_disk(PLAN) + on_disk(LOG));
        // Each plan until durable; before the second, the log's fsync.
        assert_eq!(io.checkpoint_syncs, 3);
        assert!(io.checkpoint_sync_p50_ms <= io.checkpoint_sync_p99_ms);
        assert!(io.checkpoint_sync_p99_ms <= io.checkpoint_sync_max_ms);
    }

    #[test]
    fn a_second_owner_is_refused_while_the_first_holds_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Checkpoint::open(dir.path()).unwrap();
        let error = Checkpoint::open(dir.path()).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, CheckpointError::InUse { .. }), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(first);
        Checkpoint::open(dir.path()).unwrap();
    }

    #[test]
    fn a_lost_identity_is_an_error_when_the_folder_holds_records() {
        let dir = tempfile::tempdir().unwrap();
        let (mut checkpoint, _) = Checkpoint::open(dir.path()).unwrap();
        checkpoint.record_commit(&committed(1, &["a.csv"])).unwrap();
        drop(checkpoint);
        std::fs::write(dir.path().join(ID), "garbage").unwrap();
        let error = Checkpoint::open(dir.path()).unwrap_err();
        assert!(
            matches!(
                error,
                CheckpointError::LostIdentity {
                    problem: "damaged",
                    ..
                }
            ),
            "{error}"
        );
        std::fs::remove_file(dir.path().join(ID)).unwrap();
        let error = Checkpoint::open(dir.path()).unwrap_err();
        assert!(
            matches!(
                error,
                CheckpointError::LostIdentity {
                    problem: "missing",
                    ..
                }
            ),
            "{error}"
        );
        // An empty folder gets a new identity.
        let empty = tempfile::tempdir().unwrap();
        Checkpoint::open(empty.path()).unwrap();
    }

    #[test]
    fn round_trips_plan_and_commits_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut checkpoint, loaded) = Checkpoint::open(dir.path()).unwrap();
        assert!(loaded.plan.is_none() && loaded.damage.is_empty());
        checkpoint
            .write_plan(&plan(1, &["a.csv", "b.csv"]))
            .unwrap();
        checkpoint
            .record_commit(&committed(1, &["a.csv", "b.csv"]))
            .unwrap();
        checkpoint.write_plan(&plan(2, &["c.csv"])).unwrap();
        drop(checkpoint);
        let (checkpoint, loaded) = Checkpoint::open(dir.path()).unwrap();
        assert_eq!(loaded.plan, Some(plan(2, &["c.csv"])));
        assert_eq!(loaded.logged_through, Some(1));
        let version = FileVersion {
            size: 10,
            mtime_us: 2,
        };
        assert_eq!(checkpoint.processed("a.csv"), Some(Some(version)));
        assert_eq!(checkpoint.processed("c.csv"), None);
        assert!(loaded.damage.is_empty());
    }

    #[test]
    fn reads_version_1_records_of_names_only() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = r#"{"version":1,"last_batch_id":3,"files":["a.csv"]}"#;
        std::fs::write(dir.path().join(SNAPSHOT), frame(snapshot)).unwrap();
        let commit = r#"{"batch_id":4,"files":["b.csv"]}"#;
        std::fs::write(dir.path().join(LOG), format!("{}\n", frame(commit))).unwrap();
        std::fs::write(dir.path().join(ID), frame("00000000000000a1")).unwrap();
        let (checkpoint, loaded) = Checkpoint::open(dir.path()).unwrap();
        assert!(loaded.damage.is_empty(), "{:?}", loaded.damage);
        assert_eq!(loaded.logged_through, Some(4));
        assert_eq!(checkpoint.processed("a.csv"), Some(None));
        assert_eq!(checkpoint.processed("b.csv"), Some(None));
    }

    #[test]
    fn detects_torn_and_garbled_records() {
        let dir = tempfile::tempdir().unwrap();
        let (mut checkpoint, _) = Checkpoint::open(dir.path()).unwrap();
        checkpoint.record_commit(&committed(1, &["a.csv"])).unwrap();
        checkpoint.write_plan(&plan(2, &["b.csv"])).unwrap();
        drop(checkpoint);
        let log = dir.path().join(LOG);
        let mut text = std::fs::read_to_string(&log).unwrap();
        text.push_str("0000beef {\"batch_id\":2,\"fi");
        std::fs::write(&log, text).unwrap();
        let plan_path = dir.path().join(PLAN);
        let garbled = std::fs::read_to_string(&plan_path)
            .unwrap()
            .replace("b.csv", "z.csv");
        std::fs::write(&plan_path, garbled).unwrap();
        let (_, loaded) = Checkpoint::open(dir.path()).unwrap();
        assert_eq!(loaded.damage.len(), 2, "{:?}", loaded.damage);
        assert!(loaded.plan.is_none());
        assert_eq!(loaded.logged_through, Some(1));
    }

    #[test]
    fn compaction_keeps_every_file_and_empties_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (mut checkpoint, _) = Checkpoint::open(dir.path()).unwrap();
        for id in 1..=(COMPACT_AFTER as u64 + 5) {
            checkpoint
                .record_commit(&committed(id, &[&format!("f{id}.csv")]))
                .unwrap();
        }
        drop(checkpoint);
        let log_lines = std::fs::read_to_string(dir.path().join(LOG))
            .unwrap()
            .lines()
            .count();
        assert_eq!(log_lines, 5);
        let (checkpoint, loaded) = Checkpoint::open(dir.path()).unwrap();
        assert_eq!(checkpoint.processed_count(), COMPACT_AFTER + 5);
        assert_eq!(loaded.logged_through, Some(COMPACT_AFTER as u64 + 5));
    }
}
