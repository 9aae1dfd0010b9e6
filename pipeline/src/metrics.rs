//! The pipeline's figures for Prometheus: counters, histograms and gauges
//! kept by an [`Observer`] and served over HTTP in the OpenMetrics text
//! format (`sluice ingest --metrics-addr`). The registry belongs to the run,
//! not to the process: nothing global.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::batch::BatchOutcome;
use crate::driver::Observer;

/// What one run has done so far, as Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    batches: Counter,
    files: Counter,
    files_quarantined: Counter,
    rows_read: Counter,
    rows_upserted: Counter,
    rows_rejected: Counter,
    database_retries: Counter,
    files_claimed: Counter,
    files_committed_elsewhere: Counter,
    claims_lost: Counter,
    backlog: Gauge,
    batch_seconds: Histogram,
    file_lag_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        // 1 ms to about 4.6 min, doubling.
        let seconds = || Histogram::new(exponential_buckets(0.001, 2.0, 19));
        let mut metrics = Self {
            registry: Registry::with_prefix("sluice"),
            batches: Counter::default(),
            files: Counter::default(),
            files_quarantined: Counter::default(),
            rows_read: Counter::default(),
            rows_upserted: Counter::default(),
            rows_rejected: Counter::default(),
            database_retries: Counter::default(),
            files_claimed: Counter::default(),
            files_committed_elsewhere: Counter::default(),
            claims_lost: Counter::default(),
            backlog: Gauge::default(),
            batch_seconds: seconds(),
            file_lag_seconds: seconds(),
        };
        let counters = [
            ("batches_committed", "Batches committed", &metrics.batches),
            (
                "files_committed",
                "Files committed (quarantined ones included)",
                &metrics.files,
            ),
            (
                "files_quarantined",
                "Files quarantined: unreadable, or not CSV of the configured columns",
                &metrics.files_quarantined,
            ),
            (
                "rows_read",
                "Rows read from committed files",
                &metrics.rows_read,
            ),
            (
                "rows_upserted",
                "Rows inserted or changed in the target table",
                &metrics.rows_upserted,
            ),
            (
                "rows_rejected",
                "Rows rejected, each recorded with its reason in TABLE_rejects",
                &metrics.rows_rejected,
            ),
            (
                "database_retries",
                "Times the database failed and the batch was retried",
                &metrics.database_retries,
            ),
            (
                "files_claimed",
                "Files this worker of a shared pipeline (--pipeline) claimed",
                &metrics.files_claimed,
            ),
            (
                "files_committed_elsewhere",
                "Files this worker found already committed by another worker",
                &metrics.files_committed_elsewhere,
            ),
            (
                "claims_lost",
                "Batches rolled back because another worker took over one of their files",
                &metrics.claims_lost,
            ),
        ];
        let registry = &mut metrics.registry;
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "backlog_files",
            "Files found and waiting for a batch",
            metrics.backlog.clone(),
        );
        for (name, help, histogram) in [
            (
                "batch_duration_seconds",
                "From a batch's start to its commit",
                &metrics.batch_seconds,
            ),
            (
                "file_commit_lag_seconds",
                "From a file's last modification to the commit of its batch",
                &metrics.file_lag_seconds,
            ),
        ] {
            registry.register(name, help, histogram.clone());
        }
        metrics
    }
}

impl Metrics {
    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Keeps [`Metrics`] up to date, then passes each event on to `inner`.
pub struct MetricsObserver {
    pub metrics: Arc<Metrics>,
    pub inner: Arc<dyn Observer>,
}

impl Observer for MetricsObserver {
    fn batch_committed(&self, outcome: &BatchOutcome) {
        let m = &self.metrics;
        m.batches.inc();
        m.files.inc_by(outcome.files.len() as u64);
        m.files_quarantined
            .inc_by(outcome.files_quarantined() as u64);
        m.rows_read.inc_by(outcome.rows_read);
        m.rows_upserted.inc_by(outcome.rows_upserted);
        m.rows_rejected.inc_by(outcome.rows_rejected);
        let seconds = |from_us: i64| (outcome.committed_at_us - from_us).max(0) as f64 / 1e6;
        m.batch_seconds.observe(seconds(outcome.started_at_us));
        for file in &outcome.files {
            m.file_lag_seconds.observe(seconds(file.mtime_us));
        }
        self.inner.batch_committed(outcome);
    }

    fn backlog(&self, pending: usize) {
        self.metrics.backlog.set(pending as i64);
        self.inner.backlog(pending);
    }

    fn database_unavailable(&self, error: &str, retry_in: Duration) {
        self.metrics.database_retries.inc();
        self.inner.database_unavailable(error, retry_in);
    }

    fn files_claimed(&self, claimed: usize, committed_elsewhere: usize) {
        self.metrics.files_claimed.inc_by(claimed as u64);
        self.metrics
            .files_committed_elsewhere
            .inc_by(committed_elsewhere as u64);
        self.inner.files_claimed(claimed, committed_elsewhere);
    }

    fn claims_lost(&self) {
        self.metrics.claims_lost.inc();
        self.inner.claims_lost();
    }
}

/// Serves `metrics` at `http://ADDRESS/metrics` until `stop` fires. Binds
/// before returning, so a taken port is an error at start; returns the
/// bound address (port 0 picks a free one).
pub async fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, "metrics endpoint: cannot accept a connection");
                        continue;
                    }
                },
                _ = stop.cancelled() => return,
            };
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move {
                let answer = hyper::service::service_fn(move |request| {
                    let response = respond(&metrics, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), answer);
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "metrics endpoint: connection ended");
                }
            });
        }
    });
    Ok(bound)
}

/// `GET /metrics` gets the metrics; anything else, what to ask for.
fn respond<B>(metrics: &Metrics, request: &Request<B>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match request.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        other => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("no page {other}: sluice serves its metrics at /metrics\n"),
        ),
    };
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a status, one header and a body make a valid response")
}
