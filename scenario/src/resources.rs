//! Resource sampling: CPU and memory of this process (the pipeline), of the
//! PostgreSQL server processes, and of the whole system, at a fixed interval,
//! with `sysinfo` so it works on Windows as on Linux.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use reporter::summary::MemorySplit;
/// One sample, as the reporter charts it (`resources.jsonl`). Process CPU is
/// in % of one core; system CPU in % of all logical CPUs.
pub use reporter::ResourceSample as Sample;

/// Peak and mean of a run's samples (the reporter's type: it travels in
/// the run's facts and `summary.json`).
pub use reporter::ResourceProfile as Profile;

/// The processes to sample, changeable while sampling (a restarted
/// pipeline or database gets a new PID). The pipeline is one process per
/// worker, summed; all 0: this process as the pipeline. 0: no PostgreSQL.
#[derive(Debug)]
pub struct SampledPids {
    /// One slot per worker process of the pipeline.
    pub pipeline: Vec<AtomicU32>,
    pub postgres: AtomicU32,
    /// Each pipeline process is sampled with every process it started (a
    /// shell, a JVM and its children): an external pipeline's command.
    pub with_descendants: bool,
}

impl SampledPids {
    /// Slots for `workers` pipeline processes (at least one), none started.
    pub fn new(workers: usize, postgres: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            pipeline: (0..workers.max(1)).map(|_| AtomicU32::new(0)).collect(),
            postgres: AtomicU32::new(postgres.unwrap_or(0)),
            with_descendants: false,
        })
    }

    /// One pipeline slot sampled as a process tree: a command that is not
    /// sluice, whose work may run in the processes it starts.
    pub fn process_tree(postgres: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            pipeline: vec![AtomicU32::new(0)],
            postgres: AtomicU32::new(postgres.unwrap_or(0)),
            with_descendants: true,
        })
    }
}

/// `roots` and, transitively, every process they started. Threads, which
/// sysinfo lists beside processes on Linux, are left out: their memory is
/// their process's.
fn with_descendants(system: &System, roots: &[Pid]) -> Vec<Pid> {
    let mut tree = roots.to_vec();
    let mut added = true;
    while added {
        added = false;
        for process in system.processes().values() {
            let child_of_tree = process
                .parent()
                .is_some_and(|parent| tree.contains(&parent));
            if child_of_tree && process.thread_kind().is_none() && !tree.contains(&process.pid()) {
                tree.push(process.pid());
                added = true;
            }
        }
    }
    tree
}

/// Adds one process's memory by kind to a sum.
fn add_split(sum: &mut Option<MemorySplit>, split: Option<MemorySplit>) {
    if let Some(split) = split {
        let sum = sum.get_or_insert_with(MemorySplit::default);
        sum.file_bytes += split.file_bytes;
        sum.anon_bytes += split.anon_bytes;
        sum.shmem_bytes += split.shmem_bytes;
    }
}

/// Samples on a background thread until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(Vec<Sample>, f64)>,
    interval: Duration,
}

impl Sampler {
    /// Starts sampling the pipeline process and, when given, the PostgreSQL
    /// postmaster with all its children.
    pub fn start(interval: Duration, pids: Arc<SampledPids>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || sample_until(&stop, interval, &pids))
        };
        Self {
            stop,
            handle,
            interval,
        }
    }

    pub fn finish(self) -> (Vec<Sample>, Profile) {
        self.stop.store(true, Ordering::Relaxed);
        let (samples, cpu_seconds) = self.handle.join().unwrap_or_default();
        let mut profile = profile(&samples, self.interval);
        profile.pipeline_cpu_seconds = cpu_seconds;
        (samples, profile)
    }
}

/// Samples until `stop`; returns the samples and the pipeline's CPU seconds.
fn sample_until(stop: &AtomicBool, interval: Duration, pids: &SampledPids) -> (Vec<Sample>, f64) {
    let Ok(mut system) = System::new() else {
        return (Vec::new(), 0.0);
    };
    let Ok(me) = sysinfo::get_current_pid() else {
        return (Vec::new(), 0.0);
    };
    let kind = ProcessRefreshKind::nothing()
        .with_memory()
        .with_cpu()
        .with_disk_usage();
    let started = Instant::now();
    let mut samples = Vec::new();
    // CPU usage needs two readings: the first is a warm-up.
    let mut system_cpu = SystemCpu::start(&mut system);
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    // CPU ms per pipeline process: (at first sight, last seen). A child is
    // counted from 0; this process from when sampling started.
    let mut cpu_ms: HashMap<Pid, (u64, u64)> = HashMap::new();
    if let Some(process) = system.process(me) {
        let now = process.accumulated_cpu_time();
        cpu_ms.insert(me, (now, now));
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(interval);
        let system_cpu_pct = system_cpu.sample(&mut system);
        system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        let mut pipeline: Vec<Pid> = pids
            .pipeline
            .iter()
            .map(|pid| pid.load(Ordering::Relaxed))
            .filter(|&pid| pid != 0)
            .map(Pid::from_u32)
            .collect();
        if pipeline.is_empty() {
            pipeline.push(me);
        } else if pids.with_descendants {
            pipeline = with_descendants(&system, &pipeline);
        }
        let (mut pipeline_cpu_pct, mut pipeline_rss_bytes) = (0.0, 0);
        let mut pipeline_disk = (0, 0);
        let mut pipeline_memory: Option<MemorySplit> = None;
        for pid in pipeline {
            if let Some(process) = system.process(pid) {
                pipeline_cpu_pct += process.cpu_usage();
                pipeline_rss_bytes += process.memory();
                pipeline_disk.0 += process.disk_usage().read_bytes;
                pipeline_disk.1 += process.disk_usage().written_bytes;
                let now = process.accumulated_cpu_time();
                cpu_ms.entry(pid).or_insert((0, now)).1 = now;
            }
            add_split(&mut pipeline_memory, memory_split(pid.as_u32()));
        }
        let (mut postgres_cpu_pct, mut postgres_rss_bytes) = (0.0, 0);
        let (mut postgres_read_bytes, mut postgres_written_bytes) = (0, 0);
        let mut postgres_memory: Option<MemorySplit> = None;
        let postgres_pid = pids.postgres.load(Ordering::Relaxed);
        if let Some(root) = (postgres_pid != 0).then(|| Pid::from_u32(postgres_pid)) {
            for process in system.processes().values() {
                if process.pid() == root || process.parent() == Some(root) {
                    postgres_cpu_pct += process.cpu_usage();
                    postgres_rss_bytes += process.memory();
                    postgres_read_bytes += process.disk_usage().read_bytes;
                    postgres_written_bytes += process.disk_usage().written_bytes;
                    add_split(&mut postgres_memory, memory_split(process.pid().as_u32()));
                }
            }
        }
        samples.push(Sample {
            t_s: started.elapsed().as_secs_f64(),
            pipeline_cpu_pct,
            pipeline_rss_bytes,
            postgres_cpu_pct,
            postgres_rss_bytes,
            system_cpu_pct,
            pipeline_read_bytes: pipeline_disk.0,
            pipeline_written_bytes: pipeline_disk.1,
            postgres_read_bytes,
            postgres_written_bytes,
            pipeline_memory,
            postgres_memory,
        });
    }
    let cpu_seconds = cpu_ms
        .values()
        .map(|(first, last)| last.saturating_sub(*first))
        .sum::<u64>() as f64
        / 1000.0;
    (samples, cpu_seconds)
}

/// A process's memory by kind from `/proc/PID/smaps_rollup` (proportional
/// set sizes); `None` when the process is gone or the file unreadable.
#[cfg(target_os = "linux")]
fn memory_split(pid: u32) -> Option<MemorySplit> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let kib = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.trim().strip_suffix("kB"))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    Some(MemorySplit {
        file_bytes: kib("Pss_File:")?,
        anon_bytes: kib("Pss_Anon:")?,
        shmem_bytes: kib("Pss_Shmem:")?,
    })
}

/// Windows and macOS tell the resident size but not its kinds.
#[cfg(not(target_os = "linux"))]
fn memory_split(_pid: u32) -> Option<MemorySplit> {
    None
}

/// The whole machine's CPU use since the previous reading, % of all cores.
#[cfg(not(windows))]
struct SystemCpu;

#[cfg(not(windows))]
impl SystemCpu {
    fn start(system: &mut System) -> Self {
        system.refresh_cpu_usage();
        Self
    }

    fn sample(&mut self, system: &mut System) -> f32 {
        system.refresh_cpu_usage();
        system.global_cpu_usage()
    }
}

/// On Windows from `GetSystemTimes`: sysinfo reads it through the PDH
/// performance counters, which Wine lacks (its CI run aborted there) and
/// which locked-down Windows machines may disable.
#[cfg(windows)]
struct SystemCpu {
    /// (idle, busy + idle) in 100 ns units at the previous reading.
    last: Option<(u64, u64)>,
}

#[cfg(windows)]
impl SystemCpu {
    fn start(_system: &mut System) -> Self {
        Self { last: Self::read() }
    }

    fn sample(&mut self, _system: &mut System) -> f32 {
        let now = Self::read();
        let pct = match (self.last, now) {
            (Some((idle0, total0)), Some((idle1, total1))) if total1 > total0 => {
                let (idle, total) = (idle1.saturating_sub(idle0), total1 - total0);
                100.0 * (1.0 - idle as f64 / total as f64)
            }
            _ => 0.0,
        };
        self.last = now;
        pct.clamp(0.0, 100.0) as f32
    }

    fn read() -> Option<(u64, u64)> {
        #[repr(C)]
        #[derive(Default)]
        struct FileTime {
            low: u32,
            high: u32,
        }
        #[link(name = "kernel32")]
        extern "system" {
            fn GetSystemTimes(
                idle: *mut FileTime,
                kernel: *mut FileTime,
                user: *mut FileTime,
            ) -> i32;
        }
        let (mut idle, mut kernel, mut user) = (
            FileTime::default(),
            FileTime::default(),
            FileTime::default(),
        );
        // SAFETY: three valid, writable FILETIME-shaped structs.
        let ok = unsafe { GetSystemTimes(&mut idle, &mut kernel, &mut user) } != 0;
        let value = |t: &FileTime| (u64::from(t.high) << 32) | u64::from(t.low);
        // Kernel time includes idle time.
        ok.then(|| (value(&idle), value(&kernel) + value(&user)))
    }
}

/// Peak and mean figures of samples.
pub fn profile(samples: &[Sample], interval: Duration) -> Profile {
    let mb = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let peak = |f: &dyn Fn(&Sample) -> f64| samples.iter().map(f).fold(0.0, f64::max);
    let mean = |f: &dyn Fn(&Sample) -> f64| {
        if samples.is_empty() {
            0.0
        } else {
            samples.iter().map(f).sum::<f64>() / samples.len() as f64
        }
    };
    let logical_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pipeline_cpu_mean_pct = mean(&|s| f64::from(s.pipeline_cpu_pct));
    let postgres_cpu_mean_pct = mean(&|s| f64::from(s.postgres_cpu_pct));
    Profile {
        interval_ms: interval.as_millis() as u64,
        samples: samples.len(),
        logical_cpus,
        pipeline_cpu_mean_pct,
        pipeline_cpu_mean_pct_normalised: pipeline_cpu_mean_pct / logical_cpus as f64,
        postgres_cpu_mean_pct,
        postgres_cpu_mean_pct_normalised: postgres_cpu_mean_pct / logical_cpus as f64,
        pipeline_rss_peak_mb: peak(&|s| mb(s.pipeline_rss_bytes)),
        pipeline_rss_mean_mb: mean(&|s| mb(s.pipeline_rss_bytes)),
        pipeline_cpu_peak_pct: peak(&|s| f64::from(s.pipeline_cpu_pct)),
        postgres_rss_peak_mb: peak(&|s| mb(s.postgres_rss_bytes)),
        postgres_cpu_peak_pct: peak(&|s| f64::from(s.postgres_cpu_pct)),
        system_cpu_peak_pct: peak(&|s| f64::from(s.system_cpu_pct)),
        system_cpu_mean_pct: mean(&|s| f64::from(s.system_cpu_pct)),
        pipeline_cpu_seconds: 0.0,
        pipeline_disk_read_bytes: samples.iter().map(|s| s.pipeline_read_bytes).sum(),
        pipeline_disk_written_bytes: samples.iter().map(|s| s.pipeline_written_bytes).sum(),
        postgres_disk_read_bytes: samples.iter().map(|s| s.postgres_read_bytes).sum(),
        postgres_disk_written_bytes: samples.iter().map(|s| s.postgres_written_bytes).sum(),
        pipeline_memory_at_peak: at_peak(samples, |s| s.pipeline_rss_bytes, |s| s.pipeline_memory),
        postgres_memory_at_peak: at_peak(samples, |s| s.postgres_rss_bytes, |s| s.postgres_memory),
    }
}

/// The memory split of the sample with the highest resident size.
fn at_peak(
    samples: &[Sample],
    rss: fn(&Sample) -> u64,
    split: fn(&Sample) -> Option<MemorySplit>,
) -> Option<MemorySplit> {
    samples
        .iter()
        .filter(|s| split(s).is_some())
        .max_by_key(|s| rss(s))
        .and_then(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_takes_peaks_and_means() {
        let sample = |rss_mb: u64, cpu: f32| Sample {
            t_s: 0.0,
            pipeline_cpu_pct: cpu,
            pipeline_rss_bytes: rss_mb * 1024 * 1024,
            postgres_cpu_pct: cpu * 2.0,
            postgres_rss_bytes: 0,
            system_cpu_pct: 50.0,
            ..Default::default()
        };
        let profile = profile(
            &[sample(10, 20.0), sample(30, 40.0)],
            Duration::from_millis(250),
        );
        assert_eq!(profile.pipeline_rss_peak_mb, 30.0);
        assert_eq!(profile.pipeline_rss_mean_mb, 20.0);
        assert_eq!(profile.pipeline_cpu_mean_pct, 30.0);
        assert_eq!(profile.postgres_cpu_peak_pct, 80.0);
        assert_eq!((profile.samples, profile.interval_ms), (2, 250));
    }

    #[test]
    fn samples_this_process() {
        let sampler = Sampler::start(Duration::from_millis(50), SampledPids::new(1, None));
        std::thread::sleep(Duration::from_millis(220));
        let (samples, profile) = sampler.finish();
        assert!(!samples.is_empty());
        assert!(profile.pipeline_rss_peak_mb > 1.0);
    }
}
