//! `dcs-master`: the Master Agent.
//!
//! ```text
//! dcs-master init --data-dir D --region 1 --region 2   # config and admin token
//! dcs-master dev-certs --data-dir D --ca-dir C          # a development CA and its certificate
//! dcs-master admin --data-dir D create-user --name alice --grant acme=operator --password-file F
//! dcs-master admin --data-dir D create-token --name ci --grant acme=viewer   # printed once
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
    /// Operators and API tokens (written to DATA_DIR/admin.sqlite; the daemon may be running).
    Admin {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        #[command(subcommand)]
        op: AdminCommand,
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

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates an operator who signs in to the dashboard with a password (argon2id).
    CreateUser {
        /// The operator's name.
        #[arg(long)]
        name: String,
        /// A role on a tenant, `TENANT=viewer|operator|admin` (`*` for every tenant; repeat).
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
        /// A file holding the password (at least 12 characters).
        #[arg(long)]
        password_file: PathBuf,
    },
    /// Creates an API token with its own grants and prints it (once).
    CreateToken {
        /// The token's name (the author of its changes in the audit log).
        #[arg(long)]
        name: String,
        /// A role on a tenant, `TENANT=viewer|operator|admin` (repeat).
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
        /// Days until it expires.
        #[arg(long, default_value_t = 90)]
        ttl_days: u64,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Init { data_dir, regions, listen, admin, insecure_plaintext } => {
            run::init(&data_dir, &regions, listen, admin, insecure_plaintext)
        }
        Command::DevCerts { data_dir, ca_dir } => run::dev_certs(&data_dir, &ca_dir),
        Command::Run { data_dir, check_config } => run::run(&data_dir, check_config),
        Command::Admin { data_dir, op } => run::admin(
            &data_dir,
            match op {
                AdminCommand::CreateUser { name, grants, password_file } => {
                    run::AdminOp::CreateUser { name, grants, password_file }
                }
                AdminCommand::CreateToken { name, grants, ttl_days } => {
                    run::AdminOp::CreateToken { name, grants, ttl_days }
                }
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dcs-master: {e}");
            ExitCode::FAILURE
        }
    }
}
