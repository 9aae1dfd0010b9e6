//! Discover: which files are waiting in the input folder.
//!
//! A `notify` watcher gives low latency; a full listing at start and at a
//! slow interval catches what the watcher misses (inotify queue overflow,
//! Windows buffer overflow, a watcher that could not start). Hidden names
//! (leading `.`, the atomic writers' temp files) and names that do not match
//! the glob are never considered.
//!
//! A file is queued only once complete: it arrived by rename (the atomic
//! writers' way), its writer closed it (inotify's close-write, where the
//! platform reports it), or its size and modification time stayed the same
//! for the settle time (files written in place by a logger, `cp`, a sync
//! tool; the only evidence a listing or Windows gives). A half-written file
//! is never read.
//!
//! A name is processed once. A committed file seen again with the size and
//! modification time its commit recorded is a leftover (a crash came between
//! the commit and its clean-up); with another size or time it was replaced
//! under the same name, which is reported (once per version) and never
//! ingested, archived or deleted: rename it to ingest its new content.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobMatcher};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::checkpoint::{FileVersion, PlannedFile};

/// What the discovery stage cannot do.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "the file pattern `{pattern}` is not valid ({source}): write it as `*.csv` or \
         `events-*.csv` (--glob, or `glob` in the settings)"
    )]
    Glob {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("cannot list the input folder {path}: {source}; check that it exists and is readable")]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A committed file found again with different content under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedFile {
    pub name: String,
    pub committed: FileVersion,
    pub found: FileVersion,
}

/// Looks up whether a name committed, and with which version (`Some(None)`:
/// committed, version unknown).
pub trait Processed: Fn(&str) -> Option<Option<FileVersion>> {}
impl<F: Fn(&str) -> Option<Option<FileVersion>>> Processed for F {}

/// Something the watcher saw.
#[derive(Debug)]
enum Signal {
    /// A path changed, and when the watcher said so (Unix µs): the file's
    /// discovery time, even when the trigger applies the event later.
    Path(PathBuf, i64, Evidence),
    /// The watcher lost events: list the folder.
    Rescan,
}

/// What an event says about a file's completeness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// Renamed into the folder: complete now.
    Renamed,
    /// Closed by its writer: complete once unchanged for a short quiet time
    /// ([`CLOSE_QUIET_US`]), so a writer that reopens to append piece by
    /// piece with short pauses is not read between two pieces.
    Closed,
    /// Created or written: complete once it settles.
    Changed,
}

/// The quiet time after a writer's close, at most (a quarter of the settle
/// time when that is shorter).
const CLOSE_QUIET_US: i64 = 250_000;

impl Evidence {
    fn of(kind: &notify::EventKind) -> Self {
        use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
        use notify::EventKind;
        match kind {
            EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both)) => Self::Renamed,
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Self::Closed,
            _ => Self::Changed,
        }
    }
}

/// A file seen but not yet known to be complete.
#[derive(Debug, Clone, Copy)]
struct Settling {
    version: FileVersion,
    /// Since when (Unix µs) its size and modification time have not changed.
    stable_since_us: i64,
    /// How long it must stay unchanged: the settle time, or the quiet time
    /// once its writer closed it.
    required_us: i64,
    discovered_at_us: i64,
}

/// A watcher of `dir` that sends what it sees to `sender`.
fn start_watcher(
    dir: &Path,
    sender: mpsc::UnboundedSender<Signal>,
) -> notify::Result<RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = match event {
            Ok(event) if event.need_rescan() => sender.send(Signal::Rescan),
            Ok(event) => {
                let evidence = Evidence::of(&event.kind);
                event
                    .paths
                    .into_iter()
                    .try_for_each(|path| sender.send(Signal::Path(path, now_us(), evidence)))
            }
            Err(_) => sender.send(Signal::Rescan),
        };
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// The pending files of one input folder.
pub struct Discovery {
    dir: PathBuf,
    matcher: GlobMatcher,
    /// Pending files, oldest first: ordered by (mtime, name).
    pending: BTreeMap<(i64, String), PlannedFile>,
    /// Names pending or handed to a batch: never queued twice.
    known: HashSet<String>,
    /// Files seen but not yet complete, by name.
    settling: HashMap<String, Settling>,
    settle_us: i64,
    /// Processed files still in the folder (a crash came between the commit
    /// and their clean-up): handed to the driver by `take_leftovers`.
    leftovers: Vec<String>,
    /// Names ever handed out as leftovers: each once.
    leftover_names: HashSet<String>,
    /// Replaced files not yet taken by the driver.
    replaced: Vec<ReplacedFile>,
    /// The last replacement reported per name: each new version once.
    reported_versions: HashMap<String, FileVersion>,
    signals: mpsc::UnboundedReceiver<Signal>,
    queued: Vec<Signal>,
    _watcher: Option<RecommendedWatcher>,
}

impl Discovery {
    /// Watches `dir` for names matching `pattern`; a file not known to be
    /// complete is queued once unchanged for `settle`. A watcher that cannot
    /// start is logged once; listings alone then find the files.
    pub fn new(dir: &Path, pattern: &str, settle: Duration) -> Result<Self, DiscoverError> {
        Self::open(dir, pattern, settle, true)
    }

    /// [`Discovery::new`] without a file watcher, for a run that drains what
    /// is present and exits: it needs no news of arrivals, and a watcher
    /// would be woken by every file the run itself opens (inotify reports
    /// opens), about 500 wake-ups in an ingest of 500 files.
    pub fn listing_only(
        dir: &Path,
        pattern: &str,
        settle: Duration,
    ) -> Result<Self, DiscoverError> {
        Self::open(dir, pattern, settle, false)
    }

    fn open(
        dir: &Path,
        pattern: &str,
        settle: Duration,
        watch: bool,
    ) -> Result<Self, DiscoverError> {
        let matcher = file_matcher(pattern)?;
        // Watch the canonical path: the watcher reports paths under the
        // folder it watches, and `consider` compares parents with it.
        let dir = &dir.canonicalize().map_err(|source| DiscoverError::List {
            path: dir.to_path_buf(),
            source,
        })?;
        std::fs::read_dir(dir).map_err(|source| DiscoverError::List {
            path: dir.to_path_buf(),
            source,
        })?;
        let (sender, signals) = mpsc::unbounded_channel();
        let watcher = watch.then(|| start_watcher(dir, sender)).and_then(|watcher| match watcher {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(%error, dir = %dir.display(), "file watcher unavailable; relying on periodic listings");
                None
            }
        });
        Ok(Self {
            dir: dir.to_path_buf(),
            matcher,
            pending: BTreeMap::new(),
            known: HashSet::new(),
            settling: HashMap::new(),
            settle_us: settle.as_micros().min(i64::MAX as u128) as i64,
            leftovers: Vec::new(),
            leftover_names: HashSet::new(),
            replaced: Vec::new(),
            reported_versions: HashMap::new(),
            signals,
            queued: Vec::new(),
            _watcher: watcher,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of files waiting.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Lists the whole folder, queueing every new eligible file.
    pub fn list(&mut self, processed: impl Processed) -> Result<(), DiscoverError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| DiscoverError::List {
            path: self.dir.clone(),
            source,
        })?;
        let now = now_us();
        for entry in entries.flatten() {
            self.consider(&entry.path(), now, Evidence::Changed, &processed);
        }
        self.check_settling(now);
        Ok(())
    }

    /// Files seen but not yet complete.
    pub fn settling_len(&self) -> usize {
        self.settling.len()
    }

    /// Queues the files that have now been unchanged for the settle time;
    /// forgets those that vanished.
    fn check_settling(&mut self, now: i64) {
        let mut settled = Vec::new();
        for (name, settling) in self.settling.iter_mut() {
            let Some(version) = version_of(&self.dir.join(name)) else {
                settled.push((name.clone(), None));
                continue;
            };
            if version != settling.version {
                settling.version = version;
                settling.stable_since_us = now;
            } else if now - settling.stable_since_us >= settling.required_us {
                settled.push((name.clone(), Some(*settling)));
            }
        }
        for (name, settling) in settled {
            self.settling.remove(&name);
            if let Some(settling) = settling {
                self.queue(PlannedFile {
                    name,
                    size: settling.version.size,
                    mtime_us: settling.version.mtime_us,
                    discovered_at_us: settling.discovered_at_us,
                });
            }
        }
    }

    fn queue(&mut self, file: PlannedFile) {
        self.known.insert(file.name.clone());
        self.pending
            .insert((file.mtime_us, file.name.clone()), file);
    }

    /// Applies what the watcher reported since the last call. Returns whether
    /// it asked for a full listing (events were lost).
    pub fn drain(&mut self, processed: impl Processed) -> bool {
        while let Ok(signal) = self.signals.try_recv() {
            self.queued.push(signal);
        }
        let mut rescan = false;
        for signal in std::mem::take(&mut self.queued) {
            match signal {
                Signal::Path(path, seen_at, evidence) => {
                    self.consider(&path, seen_at, evidence, &processed)
                }
                Signal::Rescan => rescan = true,
            }
        }
        if !self.settling.is_empty() {
            self.check_settling(now_us());
        }
        rescan
    }

    /// Waits until the watcher reports something or `timeout` passes (or,
    /// while files are settling, a tenth of the shortest time one must stay
    /// unchanged, to check them).
    pub async fn wait(&mut self, timeout: Duration) {
        if !self.queued.is_empty() {
            return;
        }
        let shortest = self.settling.values().map(|s| s.required_us).min();
        let timeout = match shortest {
            None => timeout,
            Some(required) => timeout.min(Duration::from_micros((required / 10).max(1_000) as u64)),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        match tokio::time::timeout_at(deadline, self.signals.recv()).await {
            Ok(Some(signal)) => self.queued.push(signal),
            // No watcher (none wanted, or it could not start): nothing will
            // come, and returning at once would spin the caller's loop.
            Ok(None) => tokio::time::sleep_until(deadline).await,
            Err(_) => {}
        }
    }

    /// Takes up to `max_files` of the oldest pending files, stopping early
    /// once their estimated rows reach `max_rows` (at least one file).
    pub fn take(
        &mut self,
        max_files: usize,
        max_rows: Option<u64>,
        bytes_per_row: f64,
    ) -> Vec<PlannedFile> {
        let mut taken = Vec::new();
        let mut estimated_rows = 0.0;
        while taken.len() < max_files {
            if let Some(limit) = max_rows {
                if !taken.is_empty() && estimated_rows >= limit as f64 {
                    break;
                }
            }
            let Some((_, file)) = self.pending.pop_first() else {
                break;
            };
            estimated_rows += file.size as f64 / bytes_per_row.max(1.0);
            if let Some(limit) = max_rows {
                if !taken.is_empty() && estimated_rows > limit as f64 {
                    self.pending
                        .insert((file.mtime_us, file.name.clone()), file);
                    break;
                }
            }
            taken.push(file);
        }
        taken
    }

    /// Processed files (unchanged) seen in the folder since the last call.
    pub fn take_leftovers(&mut self) -> Vec<String> {
        std::mem::take(&mut self.leftovers)
    }

    /// Committed files found replaced since the last call.
    pub fn take_replaced(&mut self) -> Vec<ReplacedFile> {
        std::mem::take(&mut self.replaced)
    }

    /// Marks names as handed to a batch (a replayed plan) so they are never queued.
    pub fn claim<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            self.known.insert(name.to_string());
            self.pending.retain(|(_, pending), _| pending != name);
        }
    }

    /// Forgets names handed out earlier (held by another worker, or in a
    /// batch that lost its claims): the next listing considers them anew.
    pub fn forget<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            self.known.remove(name);
        }
    }

    /// Modification time (Unix µs) of the oldest pending file.
    pub fn oldest_pending_mtime_us(&self) -> Option<i64> {
        self.pending
            .first_key_value()
            .map(|((mtime_us, _), _)| *mtime_us)
    }

    fn consider(&mut self, path: &Path, now: i64, evidence: Evidence, processed: &impl Processed) {
        if path.parent() != Some(self.dir.as_path()) {
            return;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        if name.starts_with('.') || !self.matcher.is_match(name) || self.known.contains(name) {
            return;
        }
        // A name that matched but vanished (a rename away) is not queued.
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        let mtime_us = mtime_us(&meta);
        let file = PlannedFile {
            name: name.to_string(),
            size: meta.len(),
            mtime_us,
            discovered_at_us: now,
        };
        match processed(name) {
            // Complete: renamed in, or not modified for the settle time already.
            None if evidence == Evidence::Renamed || now - mtime_us >= self.settle_us => {
                self.settling.remove(&file.name);
                self.queue(file);
            }
            None => {
                let version = file.version();
                let settle_us = self.settle_us;
                let settling = self.settling.entry(file.name).or_insert(Settling {
                    version,
                    stable_since_us: now,
                    required_us: settle_us,
                    discovered_at_us: now,
                });
                if settling.version != version {
                    settling.version = version;
                    settling.stable_since_us = now;
                }
                if evidence == Evidence::Closed {
                    settling.required_us = CLOSE_QUIET_US.min(settle_us / 4);
                }
            }
            Some(Some(committed)) if committed != file.version() => {
                let found = file.version();
                if self.reported_versions.insert(file.name.clone(), found) != Some(found) {
                    self.replaced.push(ReplacedFile {
                        name: file.name,
                        committed,
                        found,
                    });
                }
            }
            Some(_) => {
                if self.leftover_names.insert(file.name.clone()) {
                    self.leftovers.push(file.name);
                }
            }
        }
    }
}

/// A file's size and modification time, if it exists.
fn version_of(path: &Path) -> Option<FileVersion> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    Some(FileVersion {
        size: meta.len(),
        mtime_us: mtime_us(&meta),
    })
}

fn mtime_us(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as i64)
}

/// Unix time in microseconds.
/// The matcher of the input file names a glob takes.
pub fn file_matcher(pattern: &str) -> Result<GlobMatcher, DiscoverError> {
    Glob::new(pattern)
        .map(|glob| glob.compile_matcher())
        .map_err(|source| DiscoverError::Glob {
            pattern: pattern.to_string(),
            source,
        })
}

/// Wall clock in Unix µs, the clock the generator stamps its files with
/// (`created_at_us`) and the pipeline its discoveries.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ignores_hidden_and_non_matching_names() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.csv", ".b.csv.tmp", ".c.csv", "d.txt", "e.csv"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::ZERO).unwrap();
        discovery
            .list(|name: &str| (name == "e.csv").then_some(None))
            .unwrap();
        let names: Vec<String> = discovery
            .take(10, None, 100.0)
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["a.csv"]);
    }

    /// Writes `name` as the generator does: a hidden temporary file renamed.
    fn arrive(dir: &Path, name: &str) {
        let hidden = dir.join(format!(".{name}.tmp"));
        std::fs::write(&hidden, "x").unwrap();
        std::fs::rename(&hidden, dir.join(name)).unwrap();
    }

    #[tokio::test]
    async fn watcher_sees_a_renamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::ZERO).unwrap();
        arrive(dir.path(), "x.csv");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while discovery.pending_len() == 0 && tokio::time::Instant::now() < deadline {
            discovery.wait(Duration::from_millis(100)).await;
            discovery.drain(|_: &str| None);
        }
        assert_eq!(discovery.take(10, None, 100.0)[0].name, "x.csv");
    }

    #[tokio::test]
    async fn without_a_watcher_files_are_found_by_listing_and_waits_last_their_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let mut discovery = Discovery::listing_only(dir.path(), "*.csv", Duration::ZERO).unwrap();
        arrive(dir.path(), "x.csv");
        // Nothing can signal: the wait lasts its whole timeout (returning at
        // once would spin a caller that waits in a loop).
        let started = tokio::time::Instant::now();
        discovery.wait(Duration::from_millis(200)).await;
        assert!(started.elapsed() >= Duration::from_millis(200));
        discovery.drain(|_: &str| None);
        assert_eq!(discovery.pending_len(), 0, "no watcher, no events");
        discovery.list(|_: &str| None).unwrap();
        assert_eq!(discovery.take(10, None, 100.0)[0].name, "x.csv");
    }

    /// Waits until the watcher's events are applied and `names` are pending.
    async fn pending_after_events(discovery: &mut Discovery, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        while discovery.pending_len() == 0 && tokio::time::Instant::now() < deadline {
            discovery.wait(Duration::from_millis(20)).await;
            discovery.drain(|_: &str| None);
        }
        discovery.pending_len()
    }

    #[tokio::test]
    async fn a_file_written_in_place_waits_until_it_settles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.csv");
        let mut file = std::fs::File::create(&path).unwrap();
        use std::io::Write;
        file.write_all(b"event_id,eve").unwrap();
        file.flush().unwrap();
        let mut discovery =
            Discovery::new(dir.path(), "*.csv", Duration::from_millis(400)).unwrap();
        discovery.list(|_: &str| None).unwrap();
        assert_eq!((discovery.pending_len(), discovery.settling_len()), (0, 1));
        // Still growing: the settle time starts again.
        tokio::time::sleep(Duration::from_millis(250)).await;
        file.write_all(b"nt_type\n").unwrap();
        file.flush().unwrap();
        discovery.list(|_: &str| None).unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        discovery.list(|_: &str| None).unwrap();
        assert_eq!(discovery.pending_len(), 0, "read before it settled");
        tokio::time::sleep(Duration::from_millis(300)).await;
        discovery.list(|_: &str| None).unwrap();
        assert_eq!(discovery.pending_len(), 1);
        assert_eq!(discovery.take(1, None, 1.0)[0].size, 20);
        drop(file);
    }

    #[tokio::test]
    async fn a_renamed_file_is_complete_at_once_whatever_the_settle_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::from_secs(60)).unwrap();
        arrive(dir.path(), "r.csv");
        assert_eq!(
            pending_after_events(&mut discovery, Duration::from_secs(5)).await,
            1
        );
    }

    /// Linux reports a writer's close (inotify IN_CLOSE_WRITE): the file is
    /// complete after a short quiet time, not the settle time.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_file_closed_by_its_writer_is_complete_soon_after() {
        let dir = tempfile::tempdir().unwrap();
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::from_secs(60)).unwrap();
        let path = dir.path().join("w.csv");
        let mut file = std::fs::File::create(&path).unwrap();
        use std::io::Write;
        file.write_all(b"x").unwrap();
        assert_eq!(
            pending_after_events(&mut discovery, Duration::from_millis(300)).await,
            0,
            "read while its writer still had it open"
        );
        drop(file);
        assert_eq!(
            pending_after_events(&mut discovery, Duration::from_secs(5)).await,
            1
        );
    }

    #[tokio::test]
    async fn caps_files_and_estimated_rows() {
        let dir = tempfile::tempdir().unwrap();
        for index in 0..5 {
            std::fs::write(dir.path().join(format!("f{index}.csv")), vec![b'x'; 1000]).unwrap();
        }
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::ZERO).unwrap();
        discovery.list(|_: &str| None).unwrap();
        assert_eq!(discovery.take(2, None, 100.0).len(), 2);
        // 10 rows per file estimated, cap 25 rows: two files fit.
        assert_eq!(discovery.take(10, Some(25), 100.0).len(), 2);
        assert_eq!(discovery.take(10, Some(1), 100.0).len(), 1);
        assert_eq!(discovery.pending_len(), 0);
    }

    #[tokio::test]
    async fn reports_a_committed_file_replaced_under_its_name_once_per_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, "12345").unwrap();
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::ZERO).unwrap();
        discovery.list(|_: &str| None).unwrap();
        let committed = discovery.take(1, None, 1.0)[0].version();
        let mut discovery = Discovery::new(dir.path(), "*.csv", Duration::ZERO).unwrap();
        let lookup = |name: &str| (name == "a.csv").then_some(Some(committed));
        // Unchanged: a leftover, reported once, never queued.
        discovery.list(lookup).unwrap();
        discovery.list(lookup).unwrap();
        assert_eq!(discovery.take_leftovers(), ["a.csv"]);
        assert!(discovery.take_replaced().is_empty());
        assert_eq!(discovery.pending_len(), 0);
        // Replaced: reported once per new version, never queued nor a leftover.
        std::fs::write(&path, "1234567").unwrap();
        discovery.list(lookup).unwrap();
        discovery.list(lookup).unwrap();
        let replaced = discovery.take_replaced();
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].name, "a.csv");
        assert_eq!((replaced[0].committed.size, replaced[0].found.size), (5, 7));
        assert!(discovery.take_leftovers().is_empty());
        assert_eq!(discovery.pending_len(), 0);
    }
}
