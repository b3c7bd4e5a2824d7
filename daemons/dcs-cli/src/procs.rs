//! The daemons as child processes: where their binaries are, starting one with its stderr in
//! a log file, SIGKILL, and SIGTERM with a deadline.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{DemoError, Result, file};

/// The three daemon binaries.
#[derive(Debug, Clone)]
pub struct Bins {
    /// dcs-local.
    pub local: PathBuf,
    /// dcs-regional.
    pub regional: PathBuf,
    /// dcs-master.
    pub master: PathBuf,
}

impl Bins {
    /// The binaries beside this executable (`target/release` under `cargo run --release`);
    /// under cargo (`$CARGO` set) they are built first when missing.
    pub fn locate() -> Result<Bins> {
        let me = std::env::current_exe().map_err(|e| DemoError::Daemon(e.to_string()))?;
        let dir = me.parent().map(Path::to_path_buf).unwrap_or_default();
        let bins = Bins {
            local: dir.join("dcs-local"),
            regional: dir.join("dcs-regional"),
            master: dir.join("dcs-master"),
        };
        let missing = [&bins.local, &bins.regional, &bins.master].into_iter().any(|b| !b.exists());
        if missing && let Ok(cargo) = std::env::var("CARGO") {
            let release = dir.ends_with("release");
            println!("building dcs-local, dcs-regional and dcs-master (once)…");
            let mut build = Command::new(cargo);
            build.args(["build", "-p", "dcs-local", "-p", "dcs-regional", "-p", "dcs-master"]);
            if release {
                build.arg("--release");
            }
            run(&mut build)?;
        }
        for b in [&bins.local, &bins.regional, &bins.master] {
            if !b.exists() {
                return Err(DemoError::Missing(b.clone()));
            }
        }
        Ok(bins)
    }
}

/// Runs `cmd` to completion; its stdout on success.
pub fn run(cmd: &mut Command) -> Result<String> {
    let line = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| DemoError::Command { command: line.clone(), reason: e.to_string() })?;
    if !out.status.success() {
        return Err(DemoError::Command {
            command: line,
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One daemon process the demo started.
#[derive(Debug)]
pub struct Proc {
    /// A short name (`master`, `n2`, `s3`).
    pub name: String,
    /// Its binary and arguments.
    bin: PathBuf,
    args: Vec<String>,
    /// Its log file (stderr, appended).
    pub log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    /// A process `bin args…` logging to `log`, not started yet.
    pub fn new(name: &str, bin: &Path, args: &[&str], log: PathBuf) -> Proc {
        Proc {
            name: name.into(),
            bin: bin.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            log,
            child: None,
        }
    }

    /// Starts it (no-op when it runs).
    pub fn start(&mut self) -> Result<()> {
        if self.running() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| file(&self.log, e))?;
        let child = Command::new(&self.bin)
            .args(&self.args)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| DemoError::Command {
                command: self.name.clone(),
                reason: e.to_string(),
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Its state and the last `lines` lines of its log, for an error that names it.
    pub fn describe(&mut self, lines: usize) -> String {
        let state = match self.child.as_mut().map(Child::try_wait) {
            None => "not started".to_string(),
            Some(Ok(None)) => "running".to_string(),
            Some(Ok(Some(status))) => format!("exited ({status})"),
            Some(Err(e)) => format!("unknown ({e})"),
        };
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("{} is {state}; the end of {}:\n{tail}", self.name, self.log.display())
    }

    /// True while it runs.
    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL (a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `deadline`; true when it stopped by itself in time.
    pub fn stop(&mut self, deadline: Duration) -> bool {
        let Some(mut c) = self.child.take() else { return true };
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let until = Instant::now() + deadline;
        while Instant::now() < until {
            if let Ok(Some(_)) = c.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}
