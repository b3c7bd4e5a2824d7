//! `dcs demo`: starts every tier as real processes from the demo directory, drives the POS
//! workload, prints the live summary, answers fault commands, and on Ctrl-C (or when a fixed
//! workload has reached the master) stops everything it started and reports.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dcs_proto::pb;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::error::{DemoError, Result};
use crate::figures::{self, quantile};
use crate::layout::{self, Infra, Layout, TENANT};
use crate::procs::{Bins, Proc};
use crate::proxy::Proxy;
use crate::workload::{self, Progress};

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    /// The demo directory.
    pub dir: PathBuf,
    /// Stores (fixed when the directory is made).
    pub stores: usize,
    /// Sales per second over all stores.
    pub rate: f64,
    /// Sell this many sales in all, wait until the master holds them, report and exit.
    pub sales: Option<u64>,
    /// Kill the regional leader this many seconds into the run (a scripted fault).
    pub kill_leader_after_s: Option<u64>,
    /// Rotate the tenant's KEK this many seconds into the run (a scripted fault).
    pub rotate_key_after_s: Option<u64>,
    /// Real infrastructure.
    pub infra: Infra,
    /// Seconds between summary lines.
    pub summary_every_s: u64,
    /// Longest wait for the master to hold every acknowledged sale after the workload.
    pub settle_timeout_s: u64,
    /// Every store starts cut off from the region (it sells; `online N` brings it back).
    pub offline: bool,
}

/// What a run ends with.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Sales acknowledged by the stores in this run.
    pub acked: u64,
    /// Completed sales the master holds (every run).
    pub at_master: u64,
    /// The master held every sale acknowledged in this run (and the earlier runs').
    pub reached_master: bool,
    /// Stock at every store equals the master's view of it (None: not checked).
    pub converged: Option<bool>,
    /// The master lists every store.
    pub all_stores_listed: bool,
    /// Acknowledged sales per second (whole run).
    pub sales_per_s: f64,
    /// Store acknowledgement latency p50/p99 (ms).
    pub store_ack_ms: (f64, f64),
    /// Acknowledgement at the store → counted by the master, p50/p99 (ms).
    pub to_master_ms: (f64, f64),
    /// With --postgres: acknowledgement at the store → in PostgreSQL, p50/p99 (ms).
    pub to_postgres_ms: Option<(f64, f64)>,
    /// With --postgres: every sale acknowledged in this run is in PostgreSQL.
    pub reached_postgres: Option<bool>,
    /// Processes that did not stop on SIGTERM within the deadline.
    pub unclean_stops: Vec<String>,
    /// The tenant's KEK versions rotated to during this run.
    pub rotated_to: Vec<u32>,
}

/// The running system.
struct System {
    master: Proc,
    nodes: Vec<Proc>,
    stores: Vec<Proc>,
}

struct Faults {
    master_link: Proxy,
    uplinks: Vec<Vec<Proxy>>,
    keys: KeyRotation,
}

/// What rotating the tenant's KEK needs: store 1 holds the tenant's keyring (or names the
/// Vault that does); with key files, the other stores hold copies that must follow, and the
/// regional nodes read store 1's file.
struct KeyRotation {
    local_bin: PathBuf,
    dir: PathBuf,
    stores: usize,
    vault: bool,
    rotated_to: std::sync::Mutex<Vec<u32>>,
}

impl KeyRotation {
    /// Rotates the tenant's KEK with `dcs-local keys rotate` on store 1 and, with key files,
    /// puts the new keyring in place at every other store (replaced atomically, 0600). Every
    /// daemon moves to the new version within a second (`[keys] file_reload_ms`); events under
    /// the earlier versions still open.
    fn rotate(&self) -> String {
        let first = Layout::store_dir(&self.dir, 0);
        let out = std::process::Command::new(&self.local_bin)
            .args(["keys", "rotate", "--data-dir"])
            .arg(&first)
            .output();
        let said = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
            Ok(o) => {
                return format!(
                    "the rotation failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
            }
            Err(e) => return format!("cannot run dcs-local keys rotate: {e}"),
        };
        if let Some(v) =
            said.rsplit_once(" to ").and_then(|(_, r)| r.split(';').next()?.trim().parse().ok())
        {
            self.rotated_to.lock().unwrap_or_else(|p| p.into_inner()).push(v);
        }
        if !self.vault {
            let source = first.join("keys/keyring.dcsk");
            for k in 1..self.stores {
                let target = Layout::store_dir(&self.dir, k).join("keys/keyring.dcsk");
                if let Err(e) = layout::copy_secret(&source, &target) {
                    return format!("{said}; but store {} keeps the old keyring: {e}", k + 1);
                }
            }
        }
        format!("{said}; every store and regional node seals and opens with it within 1 s")
    }
}

fn processes(dir: &std::path::Path, bins: &Bins, stores: usize) -> System {
    let arg = |p: PathBuf| p.display().to_string();
    let m = Layout::master_dir(dir);
    let master = Proc::new(
        "master",
        &bins.master,
        &["run", "--data-dir", &arg(m.clone())],
        m.join("master.log"),
    );
    let nodes = (0..3)
        .map(|i| {
            let d = Layout::node_dir(dir, i);
            Proc::new(
                &format!("n{}", i + 1),
                &bins.regional,
                &["run", "--data-dir", &arg(d.clone())],
                d.join("node.log"),
            )
        })
        .collect();
    let stores = (0..stores)
        .map(|k| {
            let d = Layout::store_dir(dir, k);
            Proc::new(
                &format!("s{}", k + 1),
                &bins.local,
                &["run", "--data-dir", &arg(d.clone())],
                d.join("store.log"),
            )
        })
        .collect();
    System { master, nodes, stores }
}

/// The regional leader (index) by the nodes' gauges: leading in the highest term.
async fn leader(layout: &Layout) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, n) in layout.nodes.iter().enumerate() {
        if let Some(g) = figures::metrics(n.admin).await
            && g.get("dcs_regional_is_leader") == Some(&1.0)
        {
            let term = g.get("dcs_regional_term").copied().unwrap_or(0.0);
            if best.is_none_or(|(_, t)| term > t) {
                best = Some((i, term));
            }
        }
    }
    best
}

async fn kill_leader(layout: &Layout, system: &Arc<Mutex<System>>) -> String {
    let Some((i, term)) = leader(layout).await else { return "no leader to kill right now".into() };
    system.lock().await.nodes[i].kill();
    let system = Arc::clone(system);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _ = system.lock().await.nodes[i].start();
    });
    format!("killed the regional leader n{} (term {term}); it restarts in 3 s", i + 1)
}

/// Applies one fault command; the answer to print.
async fn command(
    line: &str,
    layout: &Layout,
    system: &Arc<Mutex<System>>,
    faults: &Faults,
) -> String {
    let mut words = line.split_whitespace();
    let store = |w: Option<&str>| -> Option<usize> {
        let k: usize = w?.trim_start_matches('s').parse().ok()?;
        (1..=faults.uplinks.len()).contains(&k).then_some(k)
    };
    match words.next() {
        Some("offline" | "o") => match store(words.next()) {
            Some(k) => {
                faults.uplinks[k - 1].iter().for_each(|p| p.set_cut(true));
                format!("store {k} is offline (it keeps selling; its outbox grows)")
            }
            None => "offline N: N is a store number".into(),
        },
        Some("online" | "b") => match store(words.next()) {
            Some(k) => {
                faults.uplinks[k - 1].iter().for_each(|p| p.set_cut(false));
                format!("store {k} is back online (its outbox drains)")
            }
            None => "online N: N is a store number".into(),
        },
        Some("kill-leader" | "k") => kill_leader(layout, system).await,
        Some("rotate-key" | "r") => faults.keys.rotate(),
        Some("partition" | "p") => {
            faults.master_link.set_cut(true);
            "the region is cut off from the master (stores keep syncing with the region)".into()
        }
        Some("heal" | "h") => {
            faults.master_link.set_cut(false);
            "the region reaches the master again".into()
        }
        Some(other) => {
            format!(
                "unknown command {other:?}: offline N, online N, kill-leader, partition, heal, rotate-key"
            )
        }
        None => String::new(),
    }
}

/// The control socket: `dcs demo fault …` from another shell.
async fn serve_control(
    path: PathBuf,
    layout: Arc<Layout>,
    system: Arc<Mutex<System>>,
    faults: Arc<Faults>,
) {
    let _ = std::fs::remove_file(&path);
    let Ok(listener) = tokio::net::UnixListener::bind(&path) else { return };
    while let Ok((stream, _)) = listener.accept().await {
        let (layout, system, faults) =
            (Arc::clone(&layout), Arc::clone(&system), Arc::clone(&faults));
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r).lines();
            if let Ok(Some(line)) = lines.next_line().await {
                let answer = command(&line, &layout, &system, &faults).await;
                println!("[fault] {answer}");
                let _ = w.write_all(format!("{answer}\n").as_bytes()).await;
            }
        });
    }
}

/// Sends `line` to a running demo's control socket in `dir`; its answer.
pub async fn send_fault(dir: &std::path::Path, line: &str) -> Result<String> {
    let path = dir.join("control.sock");
    let mut s = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|e| DemoError::Daemon(format!("no demo runs in {}: {e}", dir.display())))?;
    s.write_all(format!("{line}\n").as_bytes())
        .await
        .map_err(|e| DemoError::Daemon(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).await.map_err(|e| DemoError::Daemon(e.to_string()))?;
    Ok(answer.trim().to_string())
}

async fn store_stock(pos: u16, token: &str) -> Option<BTreeMap<String, i64>> {
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{pos}"))
        .ok()?
        .connect()
        .await
        .ok()?;
    let mut c = pb::pos_service_client::PosServiceClient::new(channel);
    let mut r = tonic::Request::new(pb::GetStockRequest { skus: vec![] });
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().ok()?);
    let levels = c.get_stock(r).await.ok()?.into_inner().levels;
    Some(levels.into_iter().map(|l| (l.sku, l.on_hand)).collect())
}

/// Every store's stock equals the master's view of that store; else the first difference.
async fn converged(
    layout: &Layout,
    dir: &std::path::Path,
    master_token: &str,
) -> Result<(), String> {
    match stock_in_step(layout, dir, master_token).await? {
        (_, _, None) => Ok(()),
        (_, _, Some(difference)) => Err(difference),
    }
}

/// How many stock rows (store, SKU) differ between the stores and the master's view of them,
/// of how many, and the first difference.
async fn stock_in_step(
    layout: &Layout,
    dir: &std::path::Path,
    master_token: &str,
) -> Result<(usize, usize, Option<String>), String> {
    let master = figures::master_stock(layout.master_admin, master_token, TENANT)
        .await
        .ok_or("the master's stock does not answer")?;
    let (mut differ, mut rows, mut first) = (0, 0, None);
    for (k, s) in layout.stores.iter().enumerate() {
        let token = layout::secret(&Layout::store_dir(dir, k).join("pos-1.token"))
            .map_err(|e| e.to_string())?;
        let local =
            store_stock(s.pos, &token).await.ok_or(format!("store {} does not answer", k + 1))?;
        let branch = format!("store-{}", k + 1);
        for (sku, on_hand) in &local {
            rows += 1;
            let there = master.get(&(branch.clone(), sku.clone()));
            if there != Some(on_hand) {
                differ += 1;
                first.get_or_insert(format!(
                    "{branch} {sku}: {on_hand} at the store, {there:?} at the master"
                ));
            }
        }
    }
    Ok((differ, rows, first))
}

struct Line {
    started: Instant,
    last_acked: u64,
    last_at: Instant,
}

async fn summary_line(
    layout: &Layout,
    progress: &Progress,
    master_sales: Option<u64>,
    line: &mut Line,
    faults: &Faults,
    stock: &str,
) -> String {
    let acked = progress.acked.load(Ordering::SeqCst);
    let dt = line.last_at.elapsed().as_secs_f64().max(0.001);
    let rate = (acked - line.last_acked) as f64 / dt;
    line.last_acked = acked;
    line.last_at = Instant::now();
    let (mut online, mut outbox, mut rejected) = (0, 0.0, 0.0);
    for s in &layout.stores {
        if let Some(g) = figures::metrics(s.admin).await {
            online += i32::from(g.get("dcs_local_sync_online") == Some(&1.0));
            outbox += g.get("dcs_local_outbox_depth").copied().unwrap_or(0.0);
            rejected += g.get("dcs_local_sync_rejected_total").copied().unwrap_or(0.0);
        }
    }
    let region = match leader(layout).await {
        Some((i, term)) => {
            let g = figures::metrics(layout.nodes[i].admin).await.unwrap_or_default();
            let get = |k: &str| g.get(k).copied().unwrap_or(0.0);
            format!(
                "leader n{} term {term} applied {} forward lag {} master {}",
                i + 1,
                get("dcs_regional_last_applied"),
                get("dcs_regional_forward_lag"),
                if get("dcs_regional_master_connected") == 1.0 { "connected" } else { "cut" }
            )
        }
        None => "no leader".into(),
    };
    let cut: Vec<String> = faults
        .uplinks
        .iter()
        .enumerate()
        .filter(|(_, p)| p.iter().any(Proxy::is_cut))
        .map(|(k, _)| format!("s{}", k + 1))
        .collect();
    format!(
        "t={:>4}s  sales {acked} ({rate:.1}/s, {} retried)  stores online {online}/{} outbox {outbox}{}  region: {region}  master: {}{}  stock {stock}  rejected {rejected}",
        line.started.elapsed().as_secs(),
        progress.retries.load(Ordering::SeqCst),
        layout.stores.len(),
        if cut.is_empty() { String::new() } else { format!(" (offline: {})", cut.join(",")) },
        // This run's acknowledged sales the master does not hold yet: the lag up to it.
        master_sales.map_or("?".into(), |n| format!(
            "{} sales this run, lag {}",
            n,
            acked.saturating_sub(n)
        )),
        if faults.master_link.is_cut() { " (partitioned)" } else { "" },
    )
}

/// Seconds between two checks of every store's stock against the master's, in the summary.
const STOCK_CHECK_S: u64 = 10;

/// Runs the demo until Ctrl-C or, with `sales`, until the master holds them.
pub async fn run(opts: Options) -> Result<Report> {
    let bins = Bins::locate()?;
    let dir = opts.dir.clone();
    let mut layout = match Layout::read(&dir)? {
        Some(l) if l.stores.len() != opts.stores => {
            return Err(DemoError::Usage(format!(
                "{} was made with {} stores: pass --stores {} or another --dir",
                dir.display(),
                l.stores.len(),
                l.stores.len()
            )));
        }
        Some(l) => {
            println!("resuming the demo in {} (run {})", dir.display(), l.runs + 1);
            l
        }
        None => {
            println!(
                "initialising {} (a CA, a master, 3 regional nodes, {} stores)…",
                dir.display(),
                opts.stores
            );
            layout::init(&dir, &bins, opts.stores, &opts.infra)?
        }
    };
    layout.runs += 1;
    layout.write(&dir)?;
    let layout = Arc::new(layout);

    // The cuttable links: stores → each regional node, region → master.
    let proxy = |port: u16, to: u16| async move {
        Proxy::start(port, format!("127.0.0.1:{to}"))
            .await
            .map_err(|e| DemoError::Daemon(format!("proxy on {port}: {e}")))
    };
    let master_link = proxy(layout.master_proxy, layout.master_grpc).await?;
    let mut uplinks = vec![];
    for s in &layout.stores {
        let mut links = vec![];
        for (p, n) in s.uplinks.iter().zip(&layout.nodes) {
            links.push(proxy(*p, n.grpc).await?);
        }
        uplinks.push(links);
    }
    if opts.offline {
        uplinks.iter().flatten().for_each(|p| p.set_cut(true));
    }
    let keys = KeyRotation {
        local_bin: bins.local.clone(),
        dir: dir.clone(),
        stores: layout.stores.len(),
        vault: opts.infra.vault.is_some(),
        rotated_to: std::sync::Mutex::new(vec![]),
    };
    let faults = Arc::new(Faults { master_link, uplinks, keys });

    let system = Arc::new(Mutex::new(processes(&dir, &bins, layout.stores.len())));
    {
        let mut s = system.lock().await;
        s.master.start()?;
        for n in &mut s.nodes {
            n.start()?;
        }
        for st in &mut s.stores {
            st.start()?;
        }
    }
    let admin_ports: Vec<(String, u16)> =
        std::iter::once(("master".to_string(), layout.master_admin))
            .chain(layout.nodes.iter().enumerate().map(|(i, n)| (format!("n{}", i + 1), n.admin)))
            .chain(layout.stores.iter().enumerate().map(|(k, s)| (format!("s{}", k + 1), s.admin)))
            .collect();
    let up_by = Instant::now() + Duration::from_secs(60);
    for (name, port) in &admin_ports {
        while !figures::ready(*port).await {
            if Instant::now() > up_by {
                let why = {
                    let mut s = system.lock().await;
                    let System { master, nodes, stores } = &mut *s;
                    std::iter::once(master)
                        .chain(nodes.iter_mut())
                        .chain(stores.iter_mut())
                        .find(|p| p.name == *name)
                        .map(|p| p.describe(20))
                        .unwrap_or_default()
                };
                stop_all(&system).await;
                return Err(DemoError::Daemon(format!(
                    "{name} is not ready after 60 s: {why}\n(logs in {})",
                    dir.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    write_prometheus_targets(&dir, &layout)?;
    let master_token = layout::secret(&Layout::master_dir(&dir).join("admin.token"))?;
    let password = layout::secret(&Layout::master_dir(&dir).join("admin.password"))?;
    println!("every process is up:");
    let dashboard = if layout::repo().join("daemons/dcs-master/web/dist/index.html").exists() {
        ""
    } else {
        "; its API only: run scripts/build-web for the page"
    };
    println!(
        "  admin dashboard  http://127.0.0.1:{}/   (user admin, password {password}{dashboard})",
        layout.master_admin
    );
    match layout::secret(&Layout::store_dir(&dir, 0).join("till-1.code")) {
        Ok(code) if layout::repo().join("examples/pos-web/dist/index.html").exists() => println!(
            "  browser till     http://127.0.0.1:{}/#enroll={code}   (cashier PIN {})",
            layout.stores[0].pos,
            layout::CASHIER_PIN
        ),
        _ => println!(
            "  browser till     run scripts/build-web to serve it from store 1 (Node and npm)"
        ),
    }
    println!(
        "  faults: type offline N | online N | kill-leader | partition | heal | rotate-key, or run `dcs demo fault …` elsewhere; Ctrl-C stops"
    );

    let stop = CancellationToken::new();
    tokio::spawn(serve_control(
        dir.join("control.sock"),
        Arc::clone(&layout),
        Arc::clone(&system),
        Arc::clone(&faults),
    ));
    {
        let (layout, system, faults) =
            (Arc::clone(&layout), Arc::clone(&system), Arc::clone(&faults));
        tokio::spawn(async move {
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let answer = command(&line, &layout, &system, &faults).await;
                if !answer.is_empty() {
                    println!("[fault] {answer}");
                }
            }
        });
    }

    let at_start =
        figures::master_sales(layout.master_admin, &master_token, TENANT).await.unwrap_or(0);
    let pg = match &opts.infra.postgres {
        Some((url, password)) => {
            let client = figures::pg_connect(url, password, TENANT).await;
            if client.is_none() {
                println!("PostgreSQL does not answer at {url}: its latency is not measured");
            }
            client
        }
        None => None,
    };
    let pg_at_start = match &pg {
        Some(c) => figures::pg_sales(c).await.unwrap_or(0),
        None => 0,
    };
    let (mut to_pg_us, mut pg_covered, mut at_pg): (Vec<u64>, usize, u64) =
        (vec![], 0, pg_at_start);
    let progress = Arc::new(Progress::default());
    let n = layout.stores.len();
    let every = Duration::from_secs_f64(n as f64 / opts.rate.max(0.1));
    let mut tasks = vec![];
    for (k, s) in layout.stores.iter().enumerate() {
        let token = layout::secret(&Layout::store_dir(&dir, k).join("pos-1.token"))?;
        let share =
            opts.sales.map(|total| total / n as u64 + u64::from((k as u64) < total % n as u64));
        tasks.push(tokio::spawn(workload::store_loop(
            k + 1,
            s.pos,
            token,
            layout.runs,
            share,
            every,
            Arc::clone(&progress),
            stop.clone(),
        )));
    }
    {
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            for t in tasks {
                let _ = t.await;
            }
            progress.done.store(true, Ordering::SeqCst);
        });
    }

    let started = Instant::now();
    let mut line = Line { started, last_acked: 0, last_at: started };
    let mut to_master_us: Vec<u64> = vec![];
    let mut covered = 0usize;
    let mut killed = false;
    let mut rotated = false;
    let mut next_print = Instant::now() + Duration::from_secs(opts.summary_every_s);
    let mut stock_checked = Instant::now() - Duration::from_secs(STOCK_CHECK_S);
    let mut stock = String::from("?");
    let mut done_at: Option<Instant> = None;
    let mut reached = false;
    let mut at_master = at_start;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => { println!("Ctrl-C: stopping"); break; }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        if let Some(t) = opts.kill_leader_after_s
            && !killed
            && started.elapsed() >= Duration::from_secs(t)
        {
            killed = true;
            println!("[fault] {}", kill_leader(&layout, &system).await);
        }
        if let Some(t) = opts.rotate_key_after_s
            && !rotated
            && started.elapsed() >= Duration::from_secs(t)
        {
            rotated = true;
            let keys = Arc::clone(&faults);
            let answer = tokio::task::spawn_blocking(move || keys.keys.rotate()).await;
            println!("[fault] {}", answer.unwrap_or_else(|e| format!("the rotation stopped: {e}")));
        }
        if let Some(m) = figures::master_sales(layout.master_admin, &master_token, TENANT).await {
            at_master = m;
            let acked_at = progress.acked_at.lock().await;
            visible_now(&acked_at, m.saturating_sub(at_start), &mut covered, &mut to_master_us);
        }
        if let Some(c) = &pg
            && let Some(n) = figures::pg_sales(c).await
        {
            at_pg = n;
            let acked_at = progress.acked_at.lock().await;
            visible_now(&acked_at, n.saturating_sub(pg_at_start), &mut pg_covered, &mut to_pg_us);
        }
        if Instant::now() >= next_print {
            next_print += Duration::from_secs(opts.summary_every_s);
            // Every store's stock against the master's view of it, every few lines (it
            // reads each store's stock).
            if stock_checked.elapsed() >= Duration::from_secs(STOCK_CHECK_S) {
                stock_checked = Instant::now();
                stock = match stock_in_step(&layout, &dir, &master_token).await {
                    Ok((0, _, _)) => "converged with the master".into(),
                    Ok((n, rows, _)) => {
                        format!("{n} of {rows} store/SKU rows on their way to the master")
                    }
                    Err(why) => format!("not compared ({why})"),
                };
            }
            let this_run = at_master.saturating_sub(at_start);
            println!(
                "{}",
                summary_line(&layout, &progress, Some(this_run), &mut line, &faults, &stock).await
            );
        }
        if opts.sales.is_some() && progress.done.load(Ordering::SeqCst) {
            let done = *done_at.get_or_insert_with(Instant::now);
            if opts.offline && faults.uplinks.iter().flatten().all(Proxy::is_cut) {
                break; // nothing can reach the master: the stores' own figures are the run's
            }
            let acked = progress.acked.load(Ordering::SeqCst);
            let pg_done = pg.is_none() || at_pg >= pg_at_start + acked;
            if at_master >= at_start + acked && pg_done {
                reached = true;
                break;
            }
            if done.elapsed() > Duration::from_secs(opts.settle_timeout_s) {
                println!(
                    "the master holds {} of {} sales {} s after the workload ended",
                    at_master - at_start,
                    acked,
                    opts.settle_timeout_s
                );
                break;
            }
        }
    }
    stop.cancel();
    // Sales per second over the workload (not the wait for the tiers after it).
    let elapsed = done_at.unwrap_or_else(Instant::now).duration_since(started).as_secs_f64();
    let acked = progress.acked.load(Ordering::SeqCst);
    // Convergence: the stock at every store and the master's view of it (a few tries: the
    // master's stock follows its sales).
    let mut is_converged = false;
    let mut difference = String::new();
    let tries = if reached { 40 } else { 1 };
    for _ in 0..tries {
        match converged(&layout, &dir, &master_token).await {
            Ok(()) => {
                is_converged = true;
                break;
            }
            Err(d) => difference = d,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if tries > 0 && !is_converged {
        println!("not converged: {difference}");
    }
    let listed = figures::master_stores(layout.master_admin, &master_token, TENANT)
        .await
        .unwrap_or_default();
    let all_stores_listed = (1..=n).all(|k| listed.contains(&format!("store-{k}")));
    let mut store_lat = progress.store_latency_us.lock().await.clone();
    let ms = |us: u64| us as f64 / 1000.0;
    let report = Report {
        acked,
        at_master,
        reached_master: reached,
        converged: (tries > 0).then_some(is_converged),
        all_stores_listed,
        sales_per_s: acked as f64 / elapsed.max(0.001),
        store_ack_ms: (ms(quantile(&mut store_lat, 0.5)), ms(quantile(&mut store_lat, 0.99))),
        to_master_ms: (ms(quantile(&mut to_master_us, 0.5)), ms(quantile(&mut to_master_us, 0.99))),
        to_postgres_ms: pg
            .as_ref()
            .map(|_| (ms(quantile(&mut to_pg_us, 0.5)), ms(quantile(&mut to_pg_us, 0.99)))),
        reached_postgres: pg.as_ref().map(|_| at_pg >= pg_at_start + acked),
        unclean_stops: stop_all(&system).await,
        rotated_to: faults.keys.rotated_to.lock().map(|v| v.clone()).unwrap_or_default(),
    };
    let _ = std::fs::remove_file(dir.join("control.sock"));
    Ok(report)
}

/// A tier now holds `visible` of the run's sales: the acknowledged ones not yet counted, in
/// order, became visible now; their latencies (µs) go to `out`.
fn visible_now(acked_at: &[Instant], visible: u64, covered: &mut usize, out: &mut Vec<u64>) {
    let now = Instant::now();
    let upto = usize::try_from(visible).unwrap_or(usize::MAX).min(acked_at.len());
    for at in acked_at.get(*covered..upto).unwrap_or_default() {
        out.push(u64::try_from((now - *at).as_micros()).unwrap_or(u64::MAX));
    }
    *covered = upto.max(*covered);
}

/// SIGTERM to every process (stores, region, master), SIGKILL after 15 s; the names that needed it.
async fn stop_all(system: &Arc<Mutex<System>>) -> Vec<String> {
    let mut s = system.lock().await;
    let mut unclean = vec![];
    let deadline = Duration::from_secs(15);
    let System { master, nodes, stores } = &mut *s;
    for p in stores.iter_mut().chain(nodes.iter_mut()).chain(std::iter::once(master)) {
        if !p.stop(deadline) {
            unclean.push(p.name.clone());
        }
    }
    unclean
}

/// `DIR/prometheus-targets.json`: every daemon's admin port for Prometheus' file discovery.
fn write_prometheus_targets(dir: &std::path::Path, layout: &Layout) -> Result<()> {
    let group = |tier: &str, name: String, port: u16| {
        let mut labels = serde_json::json!({ "tier": tier, "instance": name });
        if tier != "master" {
            labels["region"] = "0".into();
        }
        serde_json::json!({ "targets": [format!("127.0.0.1:{port}")], "labels": labels })
    };
    let mut groups = vec![group("master", "master".into(), layout.master_admin)];
    groups.extend(
        layout
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| group("regional", format!("n{}", i + 1), n.admin)),
    );
    groups.extend(
        layout
            .stores
            .iter()
            .enumerate()
            .map(|(k, s)| group("local", format!("s{}", k + 1), s.admin)),
    );
    // Written beside and renamed: Prometheus never reads half a file.
    let path = dir.join("prometheus-targets.json");
    let tmp = dir.join("prometheus-targets.json.tmp");
    std::fs::write(&tmp, serde_json::Value::Array(groups).to_string())
        .map_err(|e| crate::error::file(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| crate::error::file(&path, e))
}
