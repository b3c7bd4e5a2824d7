//! The simulator's invariants on 1,000 seeds, and byte-identical replay of a seed.
//!
//! A failing seed prints its report and the one-line command that replays it exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::thread;

use dcs_sync::sim::{SimConfig, run};

/// Seeds 0..SEEDS run in every `cargo test`; `DCS_SIM_SEEDS` raises the count for a soak.
const SEEDS: u64 = 1_000;

fn seeds() -> u64 {
    std::env::var("DCS_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS)
}

#[test]
fn invariants_hold_on_a_thousand_seeds() {
    let n = seeds();
    let threads = thread::available_parallelism().map_or(2, |p| p.get()).clamp(1, 4) as u64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            thread::spawn(move || {
                let mut failures = Vec::new();
                let mut events = 0;
                let mut seed = t;
                while seed < n {
                    let report = run(&SimConfig::ci(seed));
                    events += report.events;
                    if !report.ok() {
                        failures.push(report.summary());
                    }
                    seed += threads;
                }
                (failures, events)
            })
        })
        .collect();
    let mut failures = Vec::new();
    let mut events = 0;
    for h in handles {
        let (f, e) = h.join().unwrap();
        failures.extend(f);
        events += e;
    }
    assert!(events > n * 100, "the workload is too small to prove anything: {events} events");
    assert!(
        failures.is_empty(),
        "{} of {n} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_same_seed_gives_the_same_trace_byte_for_byte() {
    for seed in [3, 1_234_567] {
        let cfg = SimConfig { keep_trace: true, ..SimConfig::ci(seed) };
        let a = run(&cfg);
        let b = run(&cfg);
        assert!(!a.trace.is_empty());
        assert_eq!(a.trace, b.trace, "seed {seed} replayed differently");
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a, b);
        // The hash does not depend on keeping the text.
        assert_eq!(run(&SimConfig::ci(seed)).trace_hash, a.trace_hash);
    }
    assert_ne!(run(&SimConfig::ci(1)).trace_hash, run(&SimConfig::ci(2)).trace_hash);
}

#[test]
fn a_failing_run_names_its_seed_and_replay_command() {
    let mut cfg = SimConfig::ci(11);
    cfg.bugs.skip_dedup = true;
    let summary = run(&cfg).summary();
    assert!(
        summary.contains(
            "replay seed 11 with: cargo run --release -p dcs-sync --features sim --bin dcs-sim -- --seed 11"
        ),
        "{summary}"
    );
    assert!(summary.contains("--bug skip-dedup"));
}
