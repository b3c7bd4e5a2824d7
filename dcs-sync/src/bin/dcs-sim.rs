//! `dcs-sim`: runs the deterministic sync simulator for one seed (or a soak over many) and
//! prints what happened and whether every invariant held.
//!
//! ```text
//! dcs-sim --seed 42 --stores 100 --regions 3 --days 1      # the 100-store day
//! dcs-sim --profile ci --seed 17                           # replay a CI seed
//! dcs-sim --profile ci --soak 100000                       # long soak: seeds 0..100000
//! ```
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::time::Instant;

use dcs_sync::sim::{SimConfig, run};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: dcs-sim [--profile ci|day] [--seed N] [--stores N] [--regions N] \
[--days N | --hours N] [--open H] [--close H] [--skus N] [--sales-per-hour N] \
[--sync-interval-ms N] [--batch-delay-ms N] [--retransmit-ms N] [--heartbeat-ms N] \
[--no-chaos] [--no-full-state] [--bug ack-before-durable|skip-dedup|skip-hlc-hold-back] [--trace] [--soak N]";

fn parse(args: &[String]) -> Result<(SimConfig, bool, Option<u64>), String> {
    let mut cfg = SimConfig::day(42, 100, 3, 1);
    if args.iter().any(|a| a == "--profile") {
        let i = args.iter().position(|a| a == "--profile").unwrap_or(0);
        match args.get(i + 1).map(String::as_str) {
            Some("ci") => cfg = SimConfig::ci(42),
            Some("day") => {}
            other => return Err(format!("unknown profile {other:?}: use ci or day")),
        }
    }
    let (mut trace, mut soak) = (false, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Result<u64, String> {
            it.next()
                .ok_or(format!("{a} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{a}: {e}"))
        };
        match a.as_str() {
            "--profile" => {
                it.next();
            }
            "--seed" => cfg.seed = num()?,
            "--stores" => cfg.stores = num()? as u32,
            "--regions" => cfg.regions = num()? as u16,
            "--days" => cfg.hours = num()? * 24,
            "--hours" => cfg.hours = num()?,
            "--open" => cfg.open_hour = num()?,
            "--close" => cfg.close_hour = num()?,
            "--skus" => cfg.skus = num()? as u32,
            "--sales-per-hour" => cfg.sales_per_hour = num()?,
            "--sync-interval-ms" => cfg.sync.sync_interval_ms = num()?,
            "--batch-delay-ms" => cfg.sync.batch_delay_ms = num()?,
            "--retransmit-ms" => cfg.sync.retransmit_base_ms = num()?,
            "--heartbeat-ms" => cfg.sync.heartbeat_interval_ms = num()?,
            "--soak" => soak = Some(num()?),
            "--no-chaos" => cfg.chaos = false,
            "--no-full-state" => cfg.account_full_state = false,
            "--trace" => trace = true,
            "--bug" => match it.next().map(String::as_str) {
                Some("ack-before-durable") => cfg.bugs.ack_before_durable = true,
                Some("skip-dedup") => cfg.bugs.skip_dedup = true,
                Some("skip-hlc-hold-back") => cfg.bugs.skip_hlc_hold_back = true,
                other => return Err(format!("unknown bug {other:?}")),
            },
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if cfg.stores == 0 || cfg.regions == 0 {
        return Err("--stores and --regions must be at least 1".into());
    }
    cfg.keep_trace = trace;
    Ok((cfg, trace, soak))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cfg, trace, soak) = match parse(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(n) = soak {
        let started = Instant::now();
        let mut failed = 0u64;
        for seed in cfg.seed..cfg.seed + n {
            let report = run(&SimConfig { seed, ..cfg.clone() });
            if !report.ok() {
                failed += 1;
                println!("{}", report.summary());
            }
        }
        println!(
            "soak: {n} seeds from {} in {:.1} s, {failed} failed",
            cfg.seed,
            started.elapsed().as_secs_f64()
        );
        return if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    println!(
        "dcs-sim: seed {}, {} stores, {} regions, {} h, chaos {}",
        cfg.seed, cfg.stores, cfg.regions, cfg.hours, cfg.chaos
    );
    let started = Instant::now();
    let report = run(&cfg);
    let secs = started.elapsed().as_secs_f64();
    if trace {
        print!("{}", String::from_utf8_lossy(&report.trace));
    }
    print!("{}", report.summary());
    println!(
        "wall clock {secs:.2} s: {:.0} simulated events per second",
        report.events as f64 / secs.max(1e-9)
    );
    if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
