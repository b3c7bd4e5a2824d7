//! Logs and metrics: `tracing` to stderr as text or JSON, and the process-wide Prometheus
//! recorder behind the `metrics` facade (rendered by the [admin port](crate::admin)).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

use crate::error::{DaemonError, Result};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for a log shipper).
    Json,
}

/// The `[log]` section of a daemon's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,dcs_local=debug` (`RUST_LOG` overrides it).
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".into() }
    }
}

/// Installs the log subscriber for the process; an error if the filter does not parse or a
/// subscriber is already installed.
pub fn init_logs(config: &LogConfig) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(env),
        _ => EnvFilter::try_new(&config.filter),
    }
    .map_err(|e| DaemonError::Config {
        source_name: "[log] filter".into(),
        reason: format!("{e}: use a tracing filter such as `info` or `info,dcs_local=debug`"),
    })?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| DaemonError::Telemetry(e.to_string()))
}

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often recorded histogram samples are folded into their histograms.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Buckets of every `*_seconds` histogram: 0.25 ms to 10 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The process's Prometheus recorder, installed on first use (the `metrics` facade then
/// records into it from anywhere in the process).
pub fn metrics() -> Result<PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let fail = |e: metrics_exporter_prometheus::BuildError| {
        DaemonError::Telemetry(format!("cannot install the metrics recorder: {e}"))
    };
    // Latencies as fixed Prometheus buckets (aggregatable across nodes); other histograms
    // stay summaries.
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .map_err(fail)?
        .install_recorder()
        .map_err(fail)?;
    let handle = RECORDER.get_or_init(|| handle).clone();
    // Recorded histogram samples wait in the recorder until the next upkeep folds them in;
    // without it they would pile up for ever when nobody scrapes /metrics (a daemon's memory
    // then grows with its history). One thread per process does it every few seconds.
    static UPKEEP: OnceLock<()> = OnceLock::new();
    UPKEEP.get_or_init(|| {
        let h = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                h.run_upkeep();
            }
        });
    });
    Ok(handle)
}
