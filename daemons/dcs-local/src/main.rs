//! `dcs-local`: the Local Agent of one store.
//!
//! ```text
//! dcs-local init --data-dir D     # a commented config, fresh keys, one terminal
//! dcs-local run  --data-dir D     # serve POS terminals (gRPC + gRPC-Web) until SIGTERM
//! dcs-local dev-certs --data-dir D --ca-dir C   # a development CA and this store's cert
//! dcs-local till add --data-dir D --id till-1   # a browser till: its enrollment code, once
//! dcs-local cashier add --data-dir D --id c-1 --name Ana   # PIN from DCS_CASHIER_PIN
//! dcs-local keys rotate --data-dir D   # a new version of the tenant's KEK (no restart)
//! dcs-local pos-tls --data-dir D --ca-dir C   # TLS on the POS port ([listen.pos_tls])
//! dcs-local terminal cert --data-dir D --id pos-1 --ca-dir C   # pos-1's client certificate
//! ```
//!
//! ## Terminal authentication
//!
//! Every `PosService` call names its terminal, one registered in `terminals.toml`, by one of:
//!
//! - a **bearer token** (`authorization: Bearer <token>`; `init` and `till add` print it
//!   once, the file keeps its SHA-256), over the plaintext or the TLS POS port;
//! - a **client certificate**, on a POS port with TLS and a client CA (`[listen.pos_tls]`
//!   `cert`, `key`, `client_ca`; `pos-tls` issues a development set): the TLS layer asks for a
//!   certificate but does not require one (browser tills keep their tokens), refuses one the
//!   client CA did not issue, and the daemon looks the leaf's SHA-256 up in the terminals'
//!   `cert_sha256` (`terminal cert` issues a certificate from the development CA, or
//!   registers one from `--pem`, and writes the digest). The certificate alone is enough.
//!
//! Refused with `UNAUTHENTICATED`, the message saying which: neither; a malformed header; an
//! unknown token; a CA-valid certificate registered to no terminal (even with a good token);
//! a certificate of one terminal and a token of another. Changes to `terminals.toml` take
//! effect at the daemon's next start; issuing a terminal a new certificate retires its old one.
//!
//! A thin driver: the commerce rules are dcs-core's, sealing is dcs-crypto's, the store is
//! dcs-store's SQLite; the plumbing (config, logs, metrics, admin port, shutdown) is
//! dcs-daemon's.

mod catalog;
mod config;
mod desk;
mod enroll;
mod error;
mod identity;
mod init;
mod keys;
mod pos;
mod provision;
mod server;
mod sync_driver;
mod sync_machine;
mod sync_status;
mod writer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::DataDir;

/// The Local Agent of a DCS store.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a data directory: dcs-local.toml (commented), keys/ (0600) and terminals.toml
    /// with one terminal, pos-1, whose bearer token is printed once.
    Init {
        /// The data directory to create.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The tenant (retailer).
        #[arg(long, default_value = "acme")]
        tenant: String,
        /// This store's branch id.
        #[arg(long, default_value = "store-1")]
        branch: String,
        /// Another store of the same tenant whose keys (the KEK keyring and the MAC key)
        /// this store shares instead of making new ones: a tenant's stores need one MAC key.
        #[arg(long)]
        tenant_keys_from: Option<PathBuf>,
        /// The id of the thin terminal init makes: unique across the tenant's stores (the
        /// region looks its public key up by this id).
        #[arg(long, default_value = "pos-1")]
        terminal_id: String,
    },
    /// Serves POS terminals from a data directory until SIGTERM or Ctrl-C.
    Run {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// Only check the config, keys, terminals and store, print the outcome and exit.
        #[arg(long)]
        check_config: bool,
    },
    /// Self-sealing browser tills of this store.
    Till {
        #[command(subcommand)]
        command: TillCommand,
    },
    /// Cashiers who sign in at the store's tills.
    Cashier {
        #[command(subcommand)]
        command: CashierCommand,
    },
    /// The tenant's key-encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Terminals' client certificates.
    Terminal {
        #[command(subcommand)]
        command: TerminalCommand,
    },
    /// TLS on the POS port from the development CA: opens (or creates) the CA in `--ca-dir`,
    /// issues DATA_DIR/tls/pos.crt and pos.key (0600) for localhost, 127.0.0.1, the
    /// `[listen] pos` address and every `--name`, copies the CA to tls/pos-ca.pem (terminals
    /// trust the port by it; it is also the client CA of their certificates) and writes
    /// `[listen.pos_tls]` into the config. Restart the daemon to serve TLS. Not for production
    /// CAs: with your own, set `[listen.pos_tls]` cert, key and client_ca yourself.
    PosTls {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The development CA's directory (ca.pem, ca.key 0600), made if missing.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Another DNS name or IP address terminals reach the port by (repeatable).
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Development mutual TLS without openssl: opens (or creates) the CA in `--ca-dir`,
    /// issues this store's certificate into DATA_DIR/tls and points `[region.tls]` at it.
    /// The same CA issues the regional nodes' certificates. Not for production CAs.
    DevCerts {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The development CA's directory (ca.pem, ca.key 0600), shared by every tier.
        #[arg(long)]
        ca_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TillCommand {
    /// Registers a self-sealing till in terminals.toml and prints its enrollment code once
    /// (its token, its signing key and the store's public key): paste it into the till, or
    /// open the till at `/#enroll=CODE`. Restart the daemon to let the till in.
    Add {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The till's agent id (the `agent_id` of its events), e.g. `till-1`.
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum TerminalCommand {
    /// Gives terminal ID a client certificate and records its SHA-256 as the terminal's
    /// cert_sha256 in terminals.toml: issued by the development CA in `--ca-dir` into
    /// DATA_DIR/tls/terminal-ID.crt and .key (0600; install both on the terminal), or your
    /// CA's certificate from `--pem`. Over a POS port with TLS and a client CA (`pos-tls`) the
    /// terminal then authenticates by the certificate, no token needed. Running it again
    /// replaces the terminal's certificate (the old one is refused). Restart the daemon.
    Cert {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The terminal's id in terminals.toml, e.g. `pos-1`.
        #[arg(long)]
        id: String,
        /// The development CA that issues the certificate (the one `pos-tls` used).
        #[arg(long, required_unless_present = "pem", conflicts_with = "pem")]
        ca_dir: Option<PathBuf>,
        /// Register this PEM certificate (its first one, the leaf) instead of issuing one.
        #[arg(long)]
        pem: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Rotates the tenant's KEK in the configured provider: new events are sealed under the
    /// new version (a running daemon moves to it within `[keys] file_reload_ms` or
    /// `vault_current_kek_ttl_ms`), events under earlier versions still open. With the file
    /// provider, copy keys/keyring.dcsk to every other holder of the tenant's keys.
    Rotate {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CashierCommand {
    /// Adds a cashier to cashiers.toml with the argon2id hash of their PIN; tills check PINs
    /// offline against the store's signed list. Restart the daemon to hand tills the new list.
    Add {
        /// The data directory made by `init`.
        #[arg(long, env = "DCS_DATA_DIR")]
        data_dir: PathBuf,
        /// The cashier's agent id, e.g. `cashier-1`.
        #[arg(long)]
        id: String,
        /// The name tills show.
        #[arg(long)]
        name: String,
        /// The PIN (at least 4 digits); prefer the environment variable to keep it out of
        /// the process list.
        #[arg(long, env = "DCS_CASHIER_PIN", hide_env_values = true)]
        pin: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { data_dir, tenant, branch, tenant_keys_from, terminal_id } => {
            let root = DataDir { root: data_dir.clone() };
            match init::init(&root, &tenant, &branch, &terminal_id, tenant_keys_from.as_deref()) {
                Ok(made) => {
                    println!("initialised {}", data_dir.display());
                    for (id, token) in made.tokens {
                        println!(
                            "terminal {id} token (shown once, keep it on the terminal): {token}"
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Till { command: TillCommand::Add { data_dir, id } } => {
            match enroll::add_till(&DataDir { root: data_dir }, &id) {
                Ok(code) => {
                    println!("till {id} registered; restart dcs-local to let it in");
                    println!("enrollment code (shown once): {}", code.as_str());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Cashier { command: CashierCommand::Add { data_dir, id, name, pin } } => {
            match enroll::add_cashier(&DataDir { root: data_dir }, &id, &name, &pin) {
                Ok(()) => {
                    println!("cashier {id} added; restart dcs-local to hand tills the new list");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Keys { command: KeysCommand::Rotate { data_dir } } => {
            match keys::rotate(&DataDir { root: data_dir }) {
                Ok(r) => {
                    println!(
                        "tenant {}: KEK {} rotated from version {} to {}; new events are sealed \
                         under version {}, earlier ones still open",
                        r.tenant, r.from.id, r.from.version, r.to.version, r.to.version
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Terminal { command: TerminalCommand::Cert { data_dir, id, ca_dir, pem } } => {
            let source = match (&ca_dir, &pem) {
                (_, Some(pem)) => enroll::CertSource::Pem(pem),
                (Some(ca), None) => enroll::CertSource::DevCa(ca),
                (None, None) => {
                    eprintln!("dcs-local: give --ca-dir (issue a certificate) or --pem");
                    return ExitCode::FAILURE;
                }
            };
            match enroll::terminal_cert(&DataDir { root: data_dir }, &id, source) {
                Ok(c) => {
                    println!(
                        "terminal {id} certificate {} sha256={}{}",
                        c.cert.display(),
                        c.sha256,
                        if c.replaced { " (replaces its earlier certificate)" } else { "" }
                    );
                    if let Some(key) = &c.key {
                        println!("its key: {} (0600; install both on the terminal)", key.display());
                    }
                    println!("restart dcs-local to let the certificate in");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::PosTls { data_dir, ca_dir, names } => {
            match init::pos_tls(&DataDir { root: data_dir.clone() }, &ca_dir, &names) {
                Ok(t) => {
                    let rooted = t.files.relative_to(&data_dir);
                    println!(
                        "POS port certificate {} for {}; terminals trust {} (also the client CA \
                         of their certificates)",
                        rooted.cert.display(),
                        t.names.join(", "),
                        rooted.client_ca.as_deref().unwrap_or(&rooted.cert).display()
                    );
                    if t.configured {
                        println!("[listen.pos_tls] written; restart dcs-local to serve TLS");
                    } else {
                        println!("[listen.pos_tls] was configured already; left as it is");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::DevCerts { data_dir, ca_dir } => {
            match init::dev_certs(&DataDir { root: data_dir }, &ca_dir) {
                Ok(files) => {
                    println!(
                        "store certificate {} (CA {})",
                        files.cert.display(),
                        files.ca.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Run { data_dir, check_config } => {
            let dir = DataDir { root: data_dir };
            let prepared = match server::prepare(&dir) {
                Ok(p) => p,
                Err(e) => return fail(&e),
            };
            if check_config {
                println!("configuration ok: {}", dir.config().display());
                return ExitCode::SUCCESS;
            }
            run(prepared)
        }
    }
}

fn run(prepared: server::Prepared) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dcs-local: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        if let Err(e) =
            dcs_daemon::telemetry::init_logs(&dcs_daemon::telemetry::LogConfig::default())
        {
            eprintln!("dcs-local: {e}");
        }
        let stop = CancellationToken::new();
        dcs_daemon::shutdown::cancel_on_signals(stop.clone());
        match server::run(prepared, stop).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        }
    })
}

fn fail(e: &error::LocalError) -> ExitCode {
    eprintln!("dcs-local: {e}");
    ExitCode::FAILURE
}
