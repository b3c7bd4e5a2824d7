//! Membership on real processes, through the operator's command (`dcs-regional members`,
//! the node's admin port and admin token): a fourth node is added (a learner that catches
//! up, then a voter) through a follower, which forwards the change to the leader; a follower is
//! removed, and its id is refused when reused; a request without the token is refused.
//! Then the checker: nothing acknowledged is lost or doubled on the remaining replicas, in
//! PostgreSQL and in Kafka.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::procs::{Cluster, bin, free_port, leader};

/// Runs `dcs-regional members --data-dir DIR ARGS…`: (success, stdout or stderr).
fn members(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out =
        Command::new(bin()).arg("members").arg("--data-dir").arg(dir).args(args).output().unwrap();
    let text = if out.status.success() { out.stdout } else { out.stderr };
    (out.status.success(), String::from_utf8_lossy(&text).into_owned())
}

fn voters(json: &str) -> Vec<u64> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["voters"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_are_added_and_removed_and_a_removed_id_is_never_reused() {
    let mut c = Cluster::start(|_, _| {}).await;
    let mut s = c.store.take().unwrap();
    let urls = c.urls();
    s.append(40);
    s.sync_any(&urls).await;
    let l = leader(&c.nodes, Duration::from_secs(20)).await;
    let f = (0..3).find(|i| *i != l).unwrap();

    // No token, no change.
    let admin = format!("127.0.0.1:{}", c.nodes[l].admin);
    let (status, _) =
        dcs_daemon::admin_client::request(&admin, "GET", "/admin/members", "wrong", String::new())
            .await
            .unwrap();
    assert_eq!(status, 401);
    let (ok, out) = members(&c.nodes[l].dir, &["list"]);
    assert!(ok, "{out}");
    assert_eq!(voters(&out), [1, 2, 3]);

    // Node 4 joins.
    let mut n4 = c.init_node(4, free_port(), free_port(), false);
    n4.spawn();
    let addr = format!("127.0.0.1:{}", n4.grpc);
    // Asked of a follower, the change goes to the leader over the nodes' Raft channel.
    let (ok, out) = members(&c.nodes[f].dir, &["add", "--id", "4", "--addr", &addr]);
    assert!(ok, "a follower forwards the change to the leader: {out}");
    assert_eq!(voters(&out), [1, 2, 3, 4]);
    let (ok, out) = members(&c.nodes[l].dir, &["add", "--id", "4", "--addr", &addr]);
    assert!(!ok && out.contains("already a voter"), "{out}");
    c.nodes.push(n4);
    s.append(20);
    s.sync_any(&urls).await;
    c.caught_up(Duration::from_secs(30)).await;

    // A follower leaves; its id is retired.
    let gone = f as u64 + 1;
    let (ok, out) = members(&c.nodes[l].dir, &["remove", "--id", &gone.to_string()]);
    assert!(ok, "{out}");
    let v = voters(&out);
    assert!(!v.contains(&gone) && v.len() == 3, "{out}");
    let mut removed = c.nodes.remove(f);
    removed.term(Duration::from_secs(20));
    let (ok, out) = members(
        &c.nodes[if l > f { l - 1 } else { l }].dir,
        &["add", "--id", &gone.to_string(), "--addr", &format!("127.0.0.1:{}", removed.grpc)],
    );
    assert!(!ok && out.contains("never reused"), "{out}");
    let (ok, out) = members(&c.nodes[0].dir, &["list"]);
    assert!(ok && out.contains(&format!("\"retired\":[{gone}]")), "{out}");

    // The region of three goes on.
    let urls: Vec<String> = c.urls();
    s.append(20);
    s.sync_any(&urls).await;
    c.check(&s).await;
}
