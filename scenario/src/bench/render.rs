//! The bench's figures as markdown tables a person can paste into the README.

use reporter::render::table::Table;

use super::BenchReport;

impl BenchReport {
    /// Markdown tables a person can paste into the README.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        if !self.optimized_build {
            out.push_str("> unoptimised (debug) build: figures are not representative\n\n");
        }
        out.push_str(&format!("Machine: {} logical CPUs.\n\n", self.logical_cpus));
        out.push_str(
            "Throughput: the same files into the same indexed table, each side once per round \
             in turn, `sync` + `CHECKPOINT` + 1 s before each; median of the rounds (nearest \
             rank: of two rounds, the slower), spread \
             min–max.\n\n",
        );
        let mut throughput = Table::figures([
            "ingest",
            "rows",
            "rounds",
            "seconds",
            "rows/s (median)",
            "spread",
            "vs ceiling",
            "CPU s / M rows",
            "peak RSS MB",
        ]);
        for t in &self.throughput {
            throughput.row([
                t.name.clone(),
                t.rows.to_string(),
                t.rounds.to_string(),
                format!("{:.2}", t.seconds),
                format!("{:.0}", t.rows_per_s),
                format!("{:.0}–{:.0}", t.rows_per_s_min, t.rows_per_s_max),
                format!("{:.2}", t.ratio_to_ceiling),
                format!("{:.1}", t.cpu_s_per_million_rows),
                format!("{:.1}", t.peak_rss_mb),
            ]);
        }
        out.push_str(&throughput.to_string());
        out.push_str(
            "\nLatency beside its floor: one-row commits every 20 ms on their own connection \
             during the same load, timed from their scheduled instant.\n\n",
        );
        let mut latency = Table::figures([
            "latency (file visible → commit)",
            "rows",
            "P50 ms",
            "P99 ms",
            "max ms",
            "floor P50",
            "floor P99",
            "floor max",
            "peak RSS MB",
        ]);
        for l in &self.latency {
            let figures = [
                l.p50_ms,
                l.p99_ms,
                l.max_ms,
                l.floor.p50_ms,
                l.floor.p99_ms,
                l.floor.max_ms,
                l.peak_rss_mb,
            ]
            .map(|v| format!("{v:.1}"));
            latency.row(
                [l.name.clone(), l.rows.to_string()]
                    .into_iter()
                    .chain(figures),
            );
        }
        out.push_str(&latency.to_string());
        out.push_str(
            "\nThe slowest batches of each latency run and what they coincided with (a \
             checkpoint seen by the database's one-second readings, a stalled one-row commit \
             of the floor, or neither):\n\n",
        );
        for l in &self.latency {
            let spikes: Vec<String> = l
                .spikes
                .iter()
                .map(|s| {
                    format!(
                        "batch {} ({:.0} ms): {}, {}",
                        s.batch_id, s.batch_ms, s.cause, s.detail
                    )
                })
                .collect();
            out.push_str(&format!(
                "- {}: {}\n",
                l.name,
                if spikes.is_empty() {
                    "no batch records".to_string()
                } else {
                    spikes.join("; ")
                }
            ));
        }
        out
    }
}
