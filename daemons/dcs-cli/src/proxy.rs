//! A cuttable TCP proxy on 127.0.0.1: the demo's faults cut a store off its region or a region
//! off the master by refusing and dropping the proxied connections, then let them through again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A proxy from a local port to `target`.
#[derive(Debug, Clone)]
pub struct Proxy {
    cut: Arc<AtomicBool>,
    changed: watch::Sender<bool>,
}

impl Proxy {
    /// Listens on 127.0.0.1:`port` and forwards each connection to `target` until cut.
    pub async fn start(port: u16, target: String) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let (changed, _) = watch::channel(false);
        let proxy = Proxy { cut: Arc::new(AtomicBool::new(false)), changed };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if p.cut.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, mut cut) = (target.clone(), p.changed.subscribe());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    let mut inbound = inbound;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Ok(proxy)
    }

    /// Cuts (true) or restores (false) the link; cutting drops every open connection.
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
        // `send` keeps the old value when no connection is open (no receiver); a connection
        // opened later would then see a stale "cut" and drop at once.
        self.changed.send_replace(cut);
    }

    /// True while cut.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends a byte through the proxy at `port`: whether the echo server's answer came back.
    async fn echoed(port: u16) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else { return false };
        if s.write_all(b"x").await.is_err() {
            return false;
        }
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut b)).await,
            Ok(Ok(1))
        )
    }

    #[tokio::test]
    async fn a_link_cut_and_restored_with_no_connection_open_passes_again() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = echo.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 1];
                    while let Ok(1) = s.read(&mut b).await {
                        if s.write_all(&b).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let proxy = Proxy::start(port, target).await.unwrap();
        assert!(echoed(port).await, "open");
        proxy.set_cut(true);
        assert!(!echoed(port).await, "cut");
        proxy.set_cut(false);
        assert!(echoed(port).await, "restored");
    }
}
