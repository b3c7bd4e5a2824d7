//! A TCP proxy per network link that a test can cut and heal. Cut, it is a black hole: the
//! open connections stop carrying bytes (their sockets stay open, so the peers see timeouts,
//! not resets) and new connections are accepted and held; healed, the held connections are
//! dropped (the peers reconnect) and new ones are carried again.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One link's proxy.
pub struct Proxy {
    /// Where to connect instead of the target (`127.0.0.1:port`).
    pub addr: String,
    cut: Arc<AtomicBool>,
    /// Bumped on every cut and heal: connections opened before it stop.
    generation: Arc<watch::Sender<u64>>,
}

impl Proxy {
    /// A proxy to `target` on a free port of 127.0.0.1 (call inside a tokio runtime).
    pub fn start(target: String) -> Proxy {
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std.set_nonblocking(true).unwrap();
        let addr = std.local_addr().unwrap().to_string();
        let listener = TcpListener::from_std(std).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(watch::Sender::new(0u64));
        let (c, g) = (Arc::clone(&cut), Arc::clone(&generation));
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (c, mut changed, target) = (Arc::clone(&c), g.subscribe(), target.clone());
                tokio::spawn(async move {
                    if c.load(Ordering::SeqCst) {
                        // Held in the black hole until the next heal (or cut) drops it.
                        let _ = changed.changed().await;
                        drop(inbound);
                        return;
                    }
                    let Ok(outbound) = TcpStream::connect(&target).await else { return };
                    let _ = outbound.set_nodelay(true);
                    let (mut a, mut b) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = changed.changed() => {
                            // Cut: keep both sockets open and silent until the heal.
                            let _ = changed.changed().await;
                        }
                    }
                });
            }
        });
        Proxy { addr, cut, generation }
    }

    /// Cuts the link: nothing passes until [`Proxy::heal`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Heals the link.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }
}
