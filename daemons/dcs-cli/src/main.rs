//! `dcs`: the DCS command.
//!
//! ```text
//! dcs demo [--stores 3] [--rate 20] [--sales N]    # the whole system on this machine
//! dcs demo fault kill-leader                      # a fault, from another shell
//! dcs demo fault rotate-key                       # rotate the tenant's KEK
//! ```
//!
//! `dcs demo` starts dcs-master, a 3-node dcs-regional cluster and N dcs-local stores as real
//! processes on 127.0.0.1 (SQLite everywhere, local key files, a development CA), drives POS
//! sales through the stores' gRPC APIs and prints a live summary. It only orchestrates: every
//! rule is in the daemons and the core crates.

mod demo;
mod error;
mod figures;
mod layout;
mod procs;
mod proxy;
mod web;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// The DCS command.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole system on this machine: a master, a 3-node region and N stores as real
    /// processes, a POS workload, a live summary. A second run in the same directory resumes
    /// from what the first stored.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(subcommand)]
    fault: Option<DemoCommand>,
    /// The demo's directory (made on the first run, resumed on the next).
    #[arg(long, default_value = "dcs-demo", global = true)]
    dir: PathBuf,
    /// Stores (fixed when the directory is made).
    #[arg(long, default_value_t = 3)]
    stores: usize,
    /// Sales per second over all stores.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Sell this many sales, wait until the master holds them all, report and exit (exit
    /// status 1 when they did not all arrive or the replicas did not converge).
    #[arg(long)]
    sales: Option<u64>,
    /// Kill the regional leader this many seconds into the run (it restarts 3 s later).
    #[arg(long)]
    kill_leader_after_s: Option<u64>,
    /// Rotate the tenant's KEK this many seconds into the run (new sales seal under the new
    /// version; the earlier ones still open everywhere).
    #[arg(long)]
    rotate_key_after_s: Option<u64>,
    /// Seconds between summary lines.
    #[arg(long, default_value_t = 2)]
    summary_every_s: u64,
    /// Start with every store cut off from the region: they sell on their own (`online N`
    /// brings one back); with --sales the run ends when they have sold, as a baseline.
    #[arg(long)]
    offline: bool,
    /// Longest wait, after a fixed workload, for the master to hold every sale.
    #[arg(long, default_value_t = 120)]
    settle_timeout_s: u64,
    /// The region forwards to this PostgreSQL (libpq URL without the password; the login
    /// is a member of dcs_app). Used when the directory is made.
    #[arg(long, requires = "postgres_password_file")]
    postgres: Option<String>,
    /// The file holding the PostgreSQL login's password.
    #[arg(long)]
    postgres_password_file: Option<PathBuf>,
    /// The region forwards to these Kafka brokers (`host:port,…`).
    #[arg(long)]
    kafka: Option<String>,
    /// The stores keep the tenant's KEK in this Vault/OpenBao Transit server.
    #[arg(long, requires = "vault_token_file")]
    vault: Option<String>,
    /// The file holding the Vault token (mode 0600).
    #[arg(long)]
    vault_token_file: Option<PathBuf>,
    /// The Prometheus `scripts/stack up` started (printed with the URLs; it scrapes the
    /// daemons listed in DIR/prometheus-targets.json).
    #[arg(long)]
    prometheus: Option<String>,
    /// Do not build the admin dashboard and the browser till when they are missing (the
    /// open-ended demo builds them once with scripts/build-web; a fixed --sales run never).
    #[arg(long)]
    no_web: bool,
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Sends a fault to the demo running in --dir: `offline N`, `online N`, `kill-leader`,
    /// `partition` (the region from the master), `heal`, `rotate-key` (the tenant's KEK).
    Fault {
        /// The command and its argument, e.g. `offline 2`.
        #[arg(required = true, num_args = 1..)]
        words: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dcs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Command::Demo(args) = cli.command;
    if args.fault.is_none() && args.sales.is_none() && !args.no_web {
        web::ensure_built();
    }
    runtime.block_on(async move {
        if let Some(DemoCommand::Fault { words }) = &args.fault {
            return match demo::send_fault(&args.dir, &words.join(" ")).await {
                Ok(answer) => {
                    println!("{answer}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            };
        }
        let infra = layout::Infra {
            postgres: args.postgres.clone().zip(args.postgres_password_file.clone()),
            kafka: args.kafka.clone(),
            vault: args.vault.clone().zip(args.vault_token_file.clone()),
        };
        let opts = demo::Options {
            dir: args.dir.clone(),
            stores: args.stores.max(1),
            rate: args.rate,
            sales: args.sales,
            kill_leader_after_s: args.kill_leader_after_s,
            rotate_key_after_s: args.rotate_key_after_s,
            infra,
            summary_every_s: args.summary_every_s.max(1),
            settle_timeout_s: args.settle_timeout_s,
            offline: args.offline,
        };
        if let Some(p) = &args.prometheus {
            println!("Prometheus {p} scrapes every daemon ({}/prometheus-targets.json)", args.dir.display());
        }
        match demo::run(opts).await {
            Ok(r) => {
                println!(
                    "report: {} sales acknowledged ({:.1}/s); the master holds {} (every run); reached the master: {}; stores converged with the master: {}; master lists every store: {}",
                    r.acked,
                    r.sales_per_s,
                    r.at_master,
                    r.reached_master,
                    r.converged.map_or("not checked".into(), |c| c.to_string()),
                    r.all_stores_listed
                );
                println!(
                    "report: store acknowledgement p50 {:.1} ms p99 {:.1} ms; acknowledged → counted by the master p50 {:.0} ms p99 {:.0} ms",
                    r.store_ack_ms.0, r.store_ack_ms.1, r.to_master_ms.0, r.to_master_ms.1
                );
                if let (Some((p50, p99)), Some(all)) = (r.to_postgres_ms, r.reached_postgres) {
                    println!(
                        "report: every sale in PostgreSQL: {all}; acknowledged → in PostgreSQL p50 {p50:.0} ms p99 {p99:.0} ms"
                    );
                }
                if !r.rotated_to.is_empty() {
                    let v: Vec<String> = r.rotated_to.iter().map(u32::to_string).collect();
                    println!(
                        "report: the tenant's KEK was rotated to version {} during the run; the sales after it are sealed under it",
                        v.join(", ")
                    );
                }
                if !r.unclean_stops.is_empty() {
                    println!("report: killed after the SIGTERM deadline: {}", r.unclean_stops.join(", "));
                }
                let fixed = args.sales.is_some();
                if fixed && !args.offline && !(r.reached_master && r.converged != Some(false) && r.all_stores_listed && r.unclean_stops.is_empty()) {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => fail(&e),
        }
    })
}

fn fail(e: &error::DemoError) -> ExitCode {
    eprintln!("dcs: {e}");
    ExitCode::FAILURE
}
