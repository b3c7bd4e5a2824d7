//! Layered configuration: defaults, then a TOML file, then `DCS_SECTION__KEY` environment
//! overrides (a double underscore separates the section from the key, so snake_case keys
//! stay intact: `DCS_SYNC__BATCH_MAX_EVENTS=500` sets `[sync] batch_max_events`). A `DCS_`
//! variable without a double underscore is not a setting and is ignored.
//!
//! A daemon's settings are one `serde` struct with `#[serde(deny_unknown_fields)]` on every
//! section, so a misspelt key is an error naming it rather than a silently ignored line.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{DaemonError, Result};

/// The environment prefix of every override.
pub const ENV_PREFIX: &str = "DCS_";

/// Loads `T`: its `Default`, overlaid by the TOML file at `path` (if given), overlaid by the
/// `DCS_SECTION__KEY` variables of the process environment.
pub fn load<T>(path: Option<&Path>) -> Result<T>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(path) = path {
        if !path.is_file() {
            return Err(DaemonError::File {
                path: path.to_path_buf(),
                reason: "the configuration file does not exist (create it with `init`)".into(),
            });
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    // Only `DCS_SECTION__KEY` names are overrides: other `DCS_*` variables (a test's
    // `DCS_PG_URL`, say) are not settings and must not trip `deny_unknown_fields`.
    let env = Env::prefixed(ENV_PREFIX).filter(|key| key.as_str().contains("__"));
    figment = figment.merge(env.split("__").lowercase(true));
    figment.extract::<T>().map_err(|e| DaemonError::Config {
        source_name: path.map_or_else(|| "environment".to_string(), |p| p.display().to_string()),
        reason: describe(&e),
    })
}

/// Parses TOML text as `T` exactly (no defaults, no environment): for tests and for
/// `--check-config` of a file about to be installed.
pub fn from_toml<T: DeserializeOwned>(text: &str, source_name: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| DaemonError::Config {
        source_name: source_name.to_string(),
        reason: e.message().to_string(),
    })
}

/// One line per figment error, each naming the key path.
fn describe(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|err| {
            let key = err.path.join(".");
            if key.is_empty() { err.kind.to_string() } else { format!("key `{key}`: {}", err.kind) }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
