//! The checker bites: deliberately broken protocol variants must fail the invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dcs_sync::Faults;
use dcs_sync::sim::{SimConfig, run};

fn failing_seeds(bugs: Faults, seeds: std::ops::Range<u64>) -> Vec<(u64, Vec<String>)> {
    failing(seeds, |seed| SimConfig { bugs, ..SimConfig::ci(seed) })
}

/// The seeds of `SimConfig::ci` with every node crashed once in the middle of a write.
fn crashing_mid_write(bugs: Faults, seeds: std::ops::Range<u64>) -> Vec<(u64, Vec<String>)> {
    failing(seeds, |seed| SimConfig { bugs, crash_mid_write: true, ..SimConfig::ci(seed) })
}

/// The seeds whose run breaks an invariant, with the violations.
fn failing(seeds: std::ops::Range<u64>, cfg: impl Fn(u64) -> SimConfig) -> Vec<(u64, Vec<String>)> {
    seeds.map(|seed| run(&cfg(seed))).filter(|r| !r.ok()).map(|r| (r.seed, r.violations)).collect()
}

#[test]
fn dropping_dedup_is_caught() {
    let bad = failing_seeds(Faults { skip_dedup: true, ..Faults::default() }, 0..20);
    assert!(bad.len() >= 10, "only {} of 20 seeds caught the missing dedup", bad.len());
    assert!(
        bad.iter().flat_map(|(_, v)| v).any(|v| v.contains("times")),
        "expected an exactly-once violation: {bad:?}"
    );
}

#[test]
fn a_store_without_dedup_is_caught_by_replayed_events() {
    // The machines' position check is intact; only the store's unique indexes are gone, so
    // only an event re-sent at a new position (a store restored from a backup) slips by.
    let bad = failing(0..40, |seed| SimConfig { store_without_dedup: true, ..SimConfig::ci(seed) });
    assert!(bad.len() >= 5, "only {} of 40 seeds caught the store without dedup", bad.len());
    assert!(
        bad.iter().flat_map(|(_, v)| v).any(|v| v.contains("stored 2 times")),
        "expected an event stored twice: {bad:?}"
    );
}

#[test]
fn acking_before_durable_is_caught() {
    let bad = failing_seeds(Faults { ack_before_durable: true, ..Faults::default() }, 0..40);
    assert!(!bad.is_empty(), "no seed caught acks sent before the region's write was durable");
    assert!(
        bad.iter()
            .flat_map(|(_, v)| v)
            .any(|v| v.contains("acknowledged") || v.contains("never reached")),
        "expected a lost acknowledged event: {bad:?}"
    );
}

#[test]
fn the_correct_protocol_passes_the_same_seeds() {
    let bad = failing_seeds(Faults::default(), 0..20);
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn sending_before_the_hlc_is_durable_is_caught() {
    let bad = crashing_mid_write(Faults { skip_hlc_hold_back: true, ..Faults::default() }, 0..20);
    assert!(bad.len() >= 10, "only {} of 20 seeds caught the missing HLC hold-back", bad.len());
    assert!(
        bad.iter().flat_map(|(_, v)| v).any(|v| v.contains("HLC went backwards")),
        "expected an HLC going backwards across a crash: {bad:?}"
    );
}

#[test]
fn the_correct_protocol_passes_crashes_mid_write() {
    let bad = crashing_mid_write(Faults::default(), 0..20);
    assert!(bad.is_empty(), "{bad:?}");
}
