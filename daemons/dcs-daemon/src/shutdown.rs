//! Graceful shutdown: SIGTERM or SIGINT cancels one token; the daemon stops accepting, lets
//! in-flight work finish within a deadline, and exits 0.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGTERM or SIGINT (Ctrl-C).
pub fn cancel_on_signals(token: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: no new requests, finishing in-flight work");
        token.cancel();
    })
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // No signal handler (not expected on Unix): wait for Ctrl-C the portable way.
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs `work` to completion, or gives up after `deadline`; true when it finished.
pub async fn drain<F: Future<Output = ()>>(work: F, deadline: Duration) -> bool {
    tokio::time::timeout(deadline, work).await.is_ok()
}
