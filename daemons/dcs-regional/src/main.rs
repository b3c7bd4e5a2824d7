//! `dcs-regional`: one node of a region's Raft cluster.
//!
//! ```text
//! dcs-regional init --data-dir D --id 1 --peer 1=127.0.0.1:7401 --peer 2=… --store 1 --bootstrap
//! dcs-regional dev-certs --data-dir D --ca-dir C   # a development CA and this node's cert
//! dcs-regional run --data-dir D                    # serve until SIGTERM (hands leadership over)
//! dcs-regional replay --data-dir D --from 0 --sink postgres   # re-forward, exactly once in effect
//! dcs-regional members --data-dir D add --id 4 --addr 10.0.0.4:7400   # grow the region
//! ```
//!
//! A thin driver: the protocol is dcs-sync's `RegionalMachine`, replicated by openraft
//! (src/raft/), stored by dcs-store; the plumbing (config, logs, metrics, admin port,
//! shutdown, TLS) is dcs-daemon's.

mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A node of a DCS region.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes DATA_DIR/dcs-regional.toml for a node of a region.
    Init {
        /// The data directory to create.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// This node's Raft id (1, 2, 3 …; never reuse a removed node's id).
        #[arg(long)]
        id: u64,
        /// The region's number in the sync topology.
        #[arg(long, default_value_t = 0)]
        region: u16,
        /// gRPC address (peers and stores).
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: std::net::SocketAddr,
        /// Admin HTTP address (/healthz, /readyz, /metrics).
        #[arg(long, default_value = "127.0.0.1:7480")]
        admin: std::net::SocketAddr,
        /// A node of the region's first membership, `ID=host:port` (repeat for each node).
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// A store of the region (its sync node number; repeat).
        #[arg(long = "store")]
        stores: Vec<u32>,
        /// This node makes the peers the first membership of a new region (one node only).
        #[arg(long)]
        bootstrap: bool,
        /// A tenant's MAC key file, `TENANT=PATH` (repeat).
        #[arg(long = "mac-key")]
        mac_keys: Vec<String>,
        /// Plaintext gRPC (tests on 127.0.0.1 only).
        #[arg(long)]
        insecure_plaintext: bool,
        /// Forward to this PostgreSQL store: a libpq URL or key=value string without the
        /// password (the login must be a member of `dcs_app`).
        #[arg(long)]
        postgres: Option<String>,
        /// File holding the PostgreSQL login's password.
        #[arg(long, requires = "postgres")]
        postgres_password_file: Option<PathBuf>,
        /// Forward to this Kafka cluster (`host:port,host:port`).
        #[arg(long)]
        kafka: Option<String>,
    },
    /// Development mutual TLS without openssl: opens (or creates) the CA in `--ca-dir` and
    /// issues this node's certificate (names `dcs-regional` and `region-N`, the name the
    /// master authorizes the region by) into DATA_DIR/tls.
    DevCerts {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The development CA's directory, shared by every tier.
        #[arg(long)]
        ca_dir: PathBuf,
    },
    /// Re-forwards the region's accepted events after `--from` to one sink, from this
    /// node's replica file, exactly once in effect: what the sink holds is skipped. The live
    /// forwarder is not disturbed (its resume point stays; Kafka uses another transactional
    /// id).
    Replay {
        /// The data directory of a node of the region (its config names the sinks).
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// Replays the positions after this one (0: from the start).
        #[arg(long)]
        from: u64,
        /// Last position to replay (default: the replica's last).
        #[arg(long)]
        to: Option<u64>,
        /// The sink: `postgres` or `kafka` (configured in `[forward.*]`).
        #[arg(long)]
        sink: String,
    },
    /// Lists, adds or removes the region's nodes, through this data directory's node (its
    /// admin port and admin token). Any node will do: a follower forwards a change to the
    /// leader over the nodes' mutually authenticated Raft channel.
    Members {
        /// The data directory of a node of the region.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        #[command(subcommand)]
        op: MembersCommand,
    },
    /// Runs the node until SIGTERM or Ctrl-C.
    Run {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// Only check the configuration and keys, print the outcome and exit.
        #[arg(long)]
        check_config: bool,
    },
}

#[derive(Debug, Subcommand)]
enum MembersCommand {
    /// Prints the leader, voters, nodes and retired ids (JSON).
    List,
    /// Adds a node: a learner until it has caught up, then a voter. Start the new node first
    /// (`init` without `--bootstrap`, then `run`).
    Add {
        /// Its Raft id (never a removed node's).
        #[arg(long)]
        id: u64,
        /// Its gRPC `host:port`.
        #[arg(long)]
        addr: String,
    },
    /// Removes a node; its id is retired and never reused.
    Remove {
        /// Its Raft id.
        #[arg(long)]
        id: u64,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Init {
            data_dir,
            id,
            region,
            listen,
            admin,
            peers,
            stores,
            bootstrap,
            mac_keys,
            insecure_plaintext,
            postgres,
            postgres_password_file,
            kafka,
        } => run::init(&run::InitArgs {
            data_dir,
            id,
            region,
            listen,
            admin,
            peers,
            stores,
            bootstrap,
            mac_keys,
            insecure_plaintext,
            postgres,
            postgres_password_file,
            kafka,
        }),
        Command::DevCerts { data_dir, ca_dir } => run::dev_certs(&data_dir, &ca_dir),
        Command::Run { data_dir, check_config } => run::run(&data_dir, check_config),
        Command::Replay { data_dir, from, to, sink } => run::replay(&data_dir, from, to, &sink),
        Command::Members { data_dir, op } => run::members(
            &data_dir,
            match op {
                MembersCommand::List => run::MembersOp::List,
                MembersCommand::Add { id, addr } => run::MembersOp::Add { id, addr },
                MembersCommand::Remove { id } => run::MembersOp::Remove { id },
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dcs-regional: {e}");
            ExitCode::FAILURE
        }
    }
}
