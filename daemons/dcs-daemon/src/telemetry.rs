//! Logs and metrics: `tracing` to stderr as text or JSON, and the process-wide Prometheus
//! recorder behind the `metrics` facade (rendered by the [admin port](crate::admin)).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
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

/// The process's Prometheus recorder, installed on first use (the `metrics` facade then
/// records into it from anywhere in the process).
pub fn metrics() -> Result<PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| DaemonError::Telemetry(format!("cannot install the metrics recorder: {e}")))?;
    Ok(RECORDER.get_or_init(|| handle).clone())
}
