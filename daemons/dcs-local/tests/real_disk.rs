//! The data directory on a real filesystem that fills up or turns read-only under a running
//! daemon: sales are refused with UNAVAILABLE saying which, nothing acknowledged is lost, the
//! store stays consistent, and selling resumes (without a restart once space is freed; after
//! the operator has repaired and remounted a filesystem that went read-only).
//!
//! Needs root (it mounts a tmpfs and a loop-mounted ext4, as `scripts/test` does in CI); as
//! another user it says so and checks nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::sale;
use dcs_proto::pb;

/// A filesystem mounted by the test, unmounted (and its backing file removed) on drop.
struct Mount {
    at: PathBuf,
    image: Option<PathBuf>,
    _keep: tempfile::TempDir,
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Mount {
    /// A tmpfs of `mib` MiB.
    fn tmpfs(mib: u64) -> Mount {
        let keep = tempfile::tempdir().unwrap();
        let at = keep.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={mib}m"), "dcs-test", at.to_str().unwrap()],
        );
        Mount { at, image: None, _keep: keep }
    }

    /// An ext4 filesystem of `mib` MiB in a file, loop-mounted with `errors=remount-ro` (what
    /// production mounts use: on an error the kernel turns the filesystem read-only).
    fn ext4(mib: u64) -> Mount {
        let keep = tempfile::tempdir().unwrap();
        let image = keep.path().join("fs.img");
        let at = keep.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        run("truncate", &["-s", &format!("{mib}M"), image.to_str().unwrap()]);
        run("mkfs.ext4", &["-q", "-F", image.to_str().unwrap()]);
        let m = Mount { at, image: Some(image), _keep: keep };
        m.mount();
        m
    }

    fn mount(&self) {
        let image = self.image.as_ref().unwrap();
        run(
            "mount",
            &["-o", "loop,errors=remount-ro", image.to_str().unwrap(), self.at.to_str().unwrap()],
        );
    }

    /// The loop device behind an ext4 mount (`loopN`).
    fn device(&self) -> String {
        let out = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE", self.at.to_str().unwrap()])
            .output()
            .unwrap();
        let source = String::from_utf8(out.stdout).unwrap();
        source.trim().rsplit('/').next().unwrap().to_string()
    }

    /// Makes the kernel see a filesystem error, as a failing disk would: ext4 remounts itself
    /// read-only under the running daemon.
    fn fail(&self) {
        let dev = self.device();
        std::fs::write(format!("/sys/fs/ext4/{dev}/trigger_fs_error"), "1").unwrap();
        let out = Command::new("findmnt")
            .args(["-n", "-o", "OPTIONS", self.at.to_str().unwrap()])
            .output()
            .unwrap();
        let options = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(options.split(',').any(|o| o == "ro" || o == "emergency_ro"), "{options}");
    }

    /// What an operator does after a read-only remount: unmount, check, mount again.
    fn repair(&self) {
        run("umount", &[self.at.to_str().unwrap()]);
        let image = self.image.as_ref().unwrap().to_str().unwrap().to_string();
        // e2fsck exits 1 when it fixed something (the error flag): both are a clean result.
        let status = Command::new("e2fsck").args(["-f", "-y", &image]).output().unwrap().status;
        assert!(matches!(status.code(), Some(0 | 1)), "e2fsck: {status}");
        self.mount();
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).output();
    }
}

/// Every acknowledged event is in the store, no event twice, and the chain verifies; the
/// store's head position.
fn check_store(dir: &Path, acked: &[Vec<u8>]) -> u64 {
    let store = common::open_store(dir);
    store.verify_chain().unwrap();
    let head = store.head_position_sync().unwrap();
    let all = store.read_all_sync(1, dcs_store::sqlite::MAX_READ).unwrap();
    let stored: BTreeSet<Vec<u8>> =
        all.iter().map(|e| e.event.event_id().as_bytes().to_vec()).collect();
    assert_eq!(stored.len(), all.len(), "an event id stored twice");
    let lost = acked.iter().filter(|id| !stored.contains(*id)).count();
    assert_eq!(lost, 0, "{lost} acknowledged events missing from the store");
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_up_refuses_sales_and_resumes_once_space_is_freed() {
    if !is_root() {
        eprintln!("skipped: mounting a small filesystem needs root (scripts/test runs as root)");
        return;
    }
    let fs = Mount::tmpfs(64);
    let dir = fs.at.join("data");
    let token = common::init(&dir);
    let d = common::start(&dir, &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    let mut acked = c.submit_sale(d.req(sale(0))).await.unwrap().into_inner().event_ids;

    // Fill the disk but for a little room: the daemon's next few hundred sales use it up.
    let ballast = fs.at.join("ballast");
    let free = free_bytes(&fs.at);
    let room = 1024 * 1024;
    std::fs::write(&ballast, vec![0u8; free.saturating_sub(room) as usize]).unwrap();
    let mut n = 1;
    let refused = loop {
        match c.submit_sale(d.req(sale(n))).await {
            Ok(r) => {
                acked.extend(r.into_inner().event_ids);
                n += 1;
            }
            Err(status) => break status,
        }
        assert!(n < 100_000, "the disk never filled up");
    };
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused}");
    assert!(refused.message().contains("disk is full"), "{}", refused.message());
    // Still full: the same sale is refused again, and nothing was half-written.
    let again = c.submit_sale(d.req(sale(n))).await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::Unavailable, "{again}");

    // Space returns: the same daemon takes the refused sale (with its key) and more.
    std::fs::remove_file(&ballast).unwrap();
    let resumed = c.submit_sale(d.req(sale(n))).await.unwrap().into_inner();
    assert!(!resumed.deduplicated, "the refused sale was not stored before");
    acked.extend(resumed.event_ids);
    acked.extend(c.submit_sale(d.req(sale(n + 1))).await.unwrap().into_inner().event_ids);
    let retried = c.submit_sale(d.req(sale(n))).await.unwrap().into_inner();
    assert!(retried.deduplicated, "a retry of a stored sale makes no second sale");
    assert!(d.terminate().success());

    let head = check_store(&dir, &acked);
    eprintln!(
        "disk full after {n} sales; {} events acknowledged, head position {head}",
        acked.len()
    );
}

/// Free bytes of the filesystem at `path` (`df`).
fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df").args(["-B1", "--output=avail"]).arg(path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filesystem_that_turns_read_only_refuses_sales_and_loses_nothing() {
    if !is_root() {
        eprintln!(
            "skipped: loop-mounting an ext4 filesystem needs root (scripts/test runs as root)"
        );
        return;
    }
    let fs = Mount::ext4(64);
    let dir = fs.at.join("data");
    let token = common::init(&dir);
    let d = common::start(&dir, &token);
    let mut c = d.client().await;
    d.open_session(&mut c, 0).await;
    let mut acked = Vec::new();
    for n in 0..20 {
        acked.extend(c.submit_sale(d.req(sale(n))).await.unwrap().into_inner().event_ids);
    }

    fs.fail();
    let refused = c.submit_sale(d.req(sale(20))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused}");
    assert!(refused.message().contains("read-only"), "{}", refused.message());
    // Reads still answer from what is stored.
    let summary = c
        .get_day_summary(d.req(pb::GetDaySummaryRequest { day: String::new() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.sales_count, 20, "{summary:?}");
    d.kill();

    fs.repair();
    check_store(&dir, &acked);
    let d = common::start(&dir, &token);
    let mut c = d.client().await;
    let resumed = c.submit_sale(d.req(sale(20))).await.unwrap().into_inner();
    assert!(!resumed.deduplicated, "the refused sale was not stored before");
    acked.extend(resumed.event_ids);
    assert!(d.terminate().success());
    check_store(&dir, &acked);
}
