//! `dcs demo` end to end, as a user runs it: real processes from a fresh directory, a fixed
//! workload with the regional leader killed during it, then a second run in the same
//! directory (it resumes) with a store taken offline and back through `dcs demo fault`. The
//! demo itself checks that the master holds every acknowledged sale, that every store's stock
//! equals the master's view, and that the master lists every store; it exits 1 otherwise.
//!
//! `with_postgres_and_kafka…` (ignored; `scripts/test.d/75-demo.sh` runs it against the
//! servers `scripts/stack up` starts) also checks PostgreSQL and Kafka: every acknowledged
//! sale once in each, with the tenant's KEKs in OpenBao (rotated during the run) and the
//! stock still converged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn dcs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dcs"))
}

fn demo(dir: &Path, args: &[&str]) -> Output {
    let mut c = dcs();
    c.args(["demo", "--dir"]).arg(dir).args(args).args(["--summary-every-s", "1"]);
    c.stdin(Stdio::null()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The report's numbers: (acknowledged, held by the master).
fn report(out: &str) -> (u64, u64) {
    let line = out
        .lines()
        .find(|l| l.starts_with("report: ") && l.contains("sales acknowledged"))
        .unwrap();
    let n = |after: &str| -> u64 {
        let rest = &line[line.find(after).unwrap() + after.len()..];
        rest.split_whitespace()
            .next()
            .unwrap()
            .trim_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap()
    };
    (n("report: "), n("the master holds "))
}

fn assert_all_held(out: &str) {
    assert!(
        out.contains("reached the master: true; stores converged with the master: true; master lists every store: true"),
        "{out}"
    );
    assert!(!out.contains("killed after the SIGTERM deadline"), "{out}");
}

#[test]
fn the_demo_survives_a_leader_kill_and_a_store_offline_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let first =
        demo(&d, &["--stores", "2", "--sales", "60", "--rate", "30", "--kill-leader-after-s", "2"]);
    let out = text(&first);
    println!("{out}");
    assert!(first.status.success(), "{out}");
    assert!(out.contains("killed the regional leader"), "{out}");
    assert_all_held(&out);
    assert_eq!(report(&out), (60, 60));

    // Run 2 in the same directory: it resumes; store 1 goes offline and back meanwhile.
    let mut c = dcs();
    c.args(["demo", "--dir"]).arg(&d).args([
        "--stores",
        "2",
        "--sales",
        "64",
        "--rate",
        "8",
        "--summary-every-s",
        "1",
    ]);
    let run = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let fault = |words: &[&str]| -> String {
        for _ in 0..100 {
            let o =
                dcs().args(["demo", "--dir"]).arg(&d).arg("fault").args(words).output().unwrap();
            if o.status.success() {
                return String::from_utf8_lossy(&o.stdout).into_owned();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the running demo did not answer {words:?}");
    };
    std::thread::sleep(Duration::from_secs(2));
    assert!(fault(&["offline", "1"]).contains("store 1 is offline"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(fault(&["online", "1"]).contains("store 1 is back online"));
    // Rotating the tenant's KEK mid-run: the sales after it are sealed under version 2, and
    // the stock check below needs the region to open them (it rereads the keyring).
    let rotated = fault(&["rotate-key"]);
    assert!(rotated.contains("rotated from version 1 to 2"), "{rotated}");
    assert!(fault(&["reboot"]).contains("unknown command"));
    let second = run.wait_with_output().unwrap();
    let out = text(&second);
    println!("{out}");
    assert!(second.status.success(), "{out}");
    assert!(out.contains("resuming the demo"), "{out}");
    assert!(out.contains("(offline: s1)"), "the summary shows the store offline: {out}");
    assert!(out.contains("KEK was rotated to version 2"), "{out}");
    assert_all_held(&out);
    assert_eq!(report(&out), (64, 124), "the master holds both runs' sales");

    // Store 2's copy of the tenant's keyring followed the rotation, and each store holds
    // sales under both versions (the converged stock above needed the region to open both).
    use dcs_crypto::KeyProvider as _;
    for s in ["s1", "s2"] {
        let at = d.join("stores").join(s);
        let keys = dcs_keys::FileKeyring::open(at.join("keys/keyring.dcsk")).unwrap();
        assert_eq!(keys.current_kek("acme").unwrap().version, 2);
        let mac = dcs_crypto::MacKey::from_bytes(&std::fs::read(at.join("keys/mac.key")).unwrap())
            .unwrap();
        let store = dcs_store::sqlite::SqliteStore::open_keyed(
            at.join("events.db"),
            Default::default(),
            &mac,
        )
        .unwrap();
        let events = store.read_all_sync(1, 10_000).unwrap();
        let under = |v: u32| events.iter().filter(|e| e.event.payload().kek_version == v).count();
        assert!(under(1) > 0 && under(2) > 0, "{s}: {} under 1, {} under 2", under(1), under(2));
        for e in &events {
            dcs_crypto::open_event(&e.event, &keys).unwrap();
        }
    }

    // Another store count for the same directory is refused with what to do.
    let wrong = demo(&d, &["--stores", "3", "--sales", "1"]);
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("was made with 2 stores: pass --stores 2"), "{}", text(&wrong));
}

/// The flags `scripts/stack up` wrote (`DCS_STACK_FLAGS`, a file) as a map.
fn stack_flags() -> BTreeMap<String, String> {
    let path =
        std::env::var("DCS_STACK_FLAGS").expect("DCS_STACK_FLAGS names scripts/stack's flags file");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.trim_start_matches("--").to_string(), v.trim().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs scripts/stack up (PostgreSQL, Kafka); run by scripts/test.d/75-demo.sh"]
async fn with_postgres_and_kafka_every_acknowledged_sale_lands_once_in_each() {
    let flags = stack_flags();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let args = [
        "--stores",
        "2",
        "--sales",
        "80",
        "--rate",
        "30",
        "--kill-leader-after-s",
        "2",
        "--postgres",
        &flags["postgres"],
        "--postgres-password-file",
        &flags["postgres-password-file"],
        "--kafka",
        &flags["kafka"],
        // The tenant's KEKs in OpenBao Transit, rotated mid-run: the region opens the events
        // through it (the stock check needs it), under both versions.
        "--vault",
        &flags["vault"],
        "--vault-token-file",
        &flags["vault-token-file"],
        "--rotate-key-after-s",
        "3",
    ];
    let run = tokio::task::spawn_blocking({
        let d = d.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || demo(&d, &args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let out = text(&run);
    println!("{out}");
    assert!(run.status.success(), "{out}");
    assert_all_held(&out);
    let (acked, _) = report(&out);
    assert_eq!(acked, 80);
    assert!(out.contains("KEK was rotated to version"), "{out}");

    // PostgreSQL, as the region's own login (row-level security: tenant acme).
    let password = std::fs::read_to_string(&flags["postgres-password-file"]).unwrap();
    let mut config: tokio_postgres::Config = flags["postgres"].parse().unwrap();
    config.password(password.trim());
    let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.execute("SELECT set_config('dcs.tenant_id', 'acme', false)", &[]).await.unwrap();
    let completed = dcs_core::EventType::SaleCompleted.code() as i16;
    let mut waited = 0;
    let pg: BTreeMap<String, i16> = loop {
        let rows =
            client.query("SELECT event_id::text, event_type FROM event_store", &[]).await.unwrap();
        let pg: BTreeMap<String, i16> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let sales = pg.values().filter(|t| **t == completed).count() as u64;
        if sales >= acked || waited > 60 {
            break pg;
        }
        waited += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let sales = pg.values().filter(|t| **t == completed).count() as u64;
    assert_eq!(
        sales, acked,
        "every acknowledged sale once in PostgreSQL (the key is the event id)"
    );

    // Kafka: read-committed records of the tenant's topic, keyed by event id.
    let brokers = flags["kafka"].clone();
    let keys =
        tokio::task::spawn_blocking(move || kafka_keys(&brokers, &["dcs.events.acme".to_string()]))
            .await
            .unwrap();
    let dup = keys.values().filter(|n| **n > 1).count();
    assert_eq!(dup, 0, "no event twice in Kafka");
    let missing = pg.keys().filter(|id| !keys.contains_key(id.as_bytes())).count();
    let unexpected =
        keys.keys().filter(|k| !pg.contains_key(&String::from_utf8_lossy(k).into_owned())).count();
    assert_eq!((missing, unexpected), (0, 0), "Kafka holds exactly what PostgreSQL holds");
    println!(
        "PostgreSQL and Kafka: {} events each, {sales} completed sales, no duplicate",
        pg.len()
    );
}

#[path = "../../dcs-regional/tests/common/kafka_read.rs"]
mod kafka_read;
use kafka_read::kafka_keys;
