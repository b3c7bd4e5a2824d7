//! The web parts the demo's daemons serve (the admin dashboard, the browser till): built
//! once with `scripts/build-web` when missing, so the main job opens both in a browser.

use std::path::Path;
use std::process::Command;

use crate::layout::repo;

/// The built dashboard's and till's entry pages.
fn built(root: &Path) -> bool {
    root.join("daemons/dcs-master/web/dist/index.html").exists()
        && root.join("examples/pos-web/dist/index.html").exists()
}

/// Builds the dashboard and the till when either is missing and npm is there; says why
/// not otherwise. A failed build is reported and the demo runs without them.
pub fn ensure_built() {
    let root = repo();
    if built(&root) {
        return;
    }
    let npm = Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success());
    if !npm {
        println!(
            "the admin dashboard and the browser till are not built and npm is missing: \
             install Node and npm, then run scripts/build-web (the demo runs without them)"
        );
        return;
    }
    println!(
        "building the admin dashboard and the browser till once (scripts/build-web, a few \
         minutes; --no-web skips it)…"
    );
    match Command::new("bash").arg(root.join("scripts/build-web")).status() {
        Ok(s) if s.success() && built(&root) => println!("built the dashboard and the till"),
        Ok(s) => println!("scripts/build-web failed ({s}): the demo runs without them"),
        Err(e) => println!("cannot run scripts/build-web ({e}): the demo runs without them"),
    }
}
