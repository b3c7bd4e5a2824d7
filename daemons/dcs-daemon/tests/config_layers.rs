//! Config layering: defaults, then the TOML file, then `DCS_SECTION__KEY`; unknown keys and
//! bad values are refused with the key named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dcs_daemon::config;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    sync: Sync,
    log: dcs_daemon::telemetry::LogConfig,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Sync {
    batch_max_events: u32,
    region: String,
}

impl Default for Sync {
    fn default() -> Self {
        Self { batch_max_events: 100, region: "https://127.0.0.1:7000".into() }
    }
}

// One test, since the environment is process-wide.
#[test]
fn defaults_then_file_then_environment_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dcs.toml");
    std::fs::write(&path, "# a comment\n[sync]\nbatch_max_events = 250\n").unwrap();

    let s: Settings = config::load(Some(&path)).unwrap();
    assert_eq!(s.sync.batch_max_events, 250, "the file overrides the default");
    assert_eq!(s.sync.region, "https://127.0.0.1:7000", "unset keys keep the default");

    // The environment is process-wide: check its overrides in a child process of this test.
    let run_child = |value: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "environment_child", "--include-ignored", "--nocapture"])
            .env("DCS_TEST_CONFIG", &path)
            .env("DCS_SYNC__BATCH_MAX_EVENTS", value)
            .output()
            .unwrap()
    };
    let ok = run_child("500");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = run_child("many");
    let out = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && out.contains("sync.batch_max_events"), "{out}");

    std::fs::write(&path, "[sync]\nbatch_max_event = 250\n").unwrap();
    let err = config::load::<Settings>(Some(&path)).unwrap_err().to_string();
    assert!(err.contains("batch_max_event") && err.contains("dcs.toml"), "{err}");

    let err = config::load::<Settings>(Some(&dir.path().join("missing.toml"))).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    std::fs::write(&path, "[log]\nformat = \"xml\"\n").unwrap();
    let err = config::load::<Settings>(Some(&path)).unwrap_err().to_string();
    assert!(err.contains("log.format"), "{err}");

    let exact: Settings = config::from_toml("[sync]\nregion = \"https://r1:7000\"\n", "t").unwrap();
    assert_eq!(exact.sync.region, "https://r1:7000");
}

/// Run by the test above in a child process with `DCS_SYNC__BATCH_MAX_EVENTS` set.
#[test]
#[ignore = "run as a child process by defaults_then_file_then_environment_and_clear_errors"]
fn environment_child() {
    let path = std::path::PathBuf::from(std::env::var("DCS_TEST_CONFIG").unwrap());
    let s = config::load::<Settings>(Some(&path));
    match s {
        Ok(s) => assert_eq!(s.sync.batch_max_events, 500, "the environment overrides the file"),
        Err(e) => panic!("{e}"),
    }
}
