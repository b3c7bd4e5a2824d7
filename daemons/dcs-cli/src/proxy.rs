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
        let _ = self.changed.send(cut);
    }

    /// True while cut.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}
