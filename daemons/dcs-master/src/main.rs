//! `dcs-master`: the Master Agent.
//!
//! ```text
//! dcs-master init --data-dir D --region 1 --region 2   # config and admin token
//! dcs-master dev-certs --data-dir D --ca-dir C          # a development CA and its certificate
//! dcs-master run --data-dir D                           # serve until SIGTERM
//! ```

mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The master of a DCS deployment.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes DATA_DIR/dcs-master.toml and DATA_DIR/admin.token.
    Init {
        /// The data directory to create.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// A region the master serves (its number in the sync topology; repeat).
        #[arg(long = "region")]
        regions: Vec<u16>,
        /// gRPC address (the regions' leaders).
        #[arg(long, default_value = "127.0.0.1:7300")]
        listen: std::net::SocketAddr,
        /// Admin HTTP address (/healthz, /readyz, /metrics, the admin API).
        #[arg(long, default_value = "127.0.0.1:7380")]
        admin: std::net::SocketAddr,
        /// Plaintext gRPC (tests on 127.0.0.1 only).
        #[arg(long)]
        insecure_plaintext: bool,
    },
    /// Development mutual TLS without openssl: opens (or creates) the CA in `--ca-dir` and
    /// issues the master's certificate (name `dcs-master`) into DATA_DIR/tls.
    DevCerts {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The development CA's directory, shared by every tier.
        #[arg(long)]
        ca_dir: PathBuf,
    },
    /// Runs the master until SIGTERM or Ctrl-C.
    Run {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// Only check the configuration, print the outcome and exit.
        #[arg(long)]
        check_config: bool,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Init { data_dir, regions, listen, admin, insecure_plaintext } => {
            run::init(&data_dir, &regions, listen, admin, insecure_plaintext)
        }
        Command::DevCerts { data_dir, ca_dir } => run::dev_certs(&data_dir, &ca_dir),
        Command::Run { data_dir, check_config } => run::run(&data_dir, check_config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dcs-master: {e}");
            ExitCode::FAILURE
        }
    }
}
