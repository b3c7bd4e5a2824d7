//! A full disk: appends are refused with UNAVAILABLE saying so, nothing half-written, and
//! they resume once there is room again (here the store's size cap stands in for the disk,
//! through the same SQLite "database or disk is full" path).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sale;

fn set_cap(dir: &std::path::Path, mib: u64) {
    let path = dir.join("dcs-local.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("max_size_mib") {
            out.push_str(&format!("max_size_mib = {mib}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(path, out).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_with_unavailable_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path());
    set_cap(dir.path(), 1);
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    let mut n = 0;
    let refused = loop {
        match c.submit_sale(d.req(sale(n))).await {
            Ok(_) => n += 1,
            Err(status) => break status,
        }
        assert!(n < 100_000, "a 1 MiB store never filled up");
    };
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused}");
    assert!(refused.message().contains("disk is full"), "{}", refused.message());
    assert!(d.terminate().success());

    let store = common::open_store(dir.path());
    store.verify_chain().unwrap();
    let head = store.head_position_sync().unwrap();
    drop(store);

    // Room again: the refused sale goes through with its key, then more.
    set_cap(dir.path(), 0);
    let d = common::start(dir.path(), &token);
    let mut c = d.client().await;
    let resumed = c.submit_sale(d.req(sale(n))).await.unwrap().into_inner();
    assert!(!resumed.deduplicated, "the refused sale was not stored before");
    assert_eq!(resumed.first_position, head + 1);
    c.submit_sale(d.req(sale(n + 1))).await.unwrap();
    assert!(d.terminate().success());
    eprintln!("disk full after {n} sales ({head} events); resumed at position {}", head + 1);
}
