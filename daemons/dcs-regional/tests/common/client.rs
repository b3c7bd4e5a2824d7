//! A store's side of the sync protocol for the regional tests: a real `LocalMachine` over the
//! simulator's in-memory store, syncing over real `LocalRegionalSync` gRPC streams (mutual
//! TLS when given), following a follower's redirect; it records what the region acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dcs_proto::pb::local_regional_sync_client::LocalRegionalSyncClient;
use dcs_regional::node::LEADER_METADATA;
use dcs_sync::sim::store::MemStore;
use dcs_sync::{LocalMachine, Message, NodeId, Now, pump};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::ClientTlsConfig;

/// The wall clock as a machine's `Now` (both clocks).
pub fn wall() -> Now {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    Now { mono_ms: ms, wall_ms: ms }
}

/// Re-seals an event before it is appended.
pub type Reseal = Box<dyn Fn(&mut dcs_core::SovereignFinancialEvent) + Send>;

/// One store.
pub struct StoreClient {
    pub n: u32,
    pub m: LocalMachine,
    host: MemStore,
    pub next: u64,
    /// Highest position the region acknowledged.
    pub acked: u64,
    tls: Option<ClientTlsConfig>,
    /// Re-seals each event (the daemon checks tenant MACs, not the simulator's keyed hash).
    pub reseal: Option<Reseal>,
    /// How long one [`StoreClient::sync`] waits for the region's acks.
    pub push_deadline: Duration,
    /// Send-to-ack time of every push answered (a bench's latency figures).
    pub latencies: Vec<Duration>,
    /// Pushes sent and not yet answered: batch → when.
    sent: std::collections::BTreeMap<u64, Instant>,
}

impl StoreClient {
    /// Store `n`, over mutual TLS when `tls` is given.
    pub fn new(n: u32, tls: Option<ClientTlsConfig>) -> Self {
        StoreClient {
            n,
            m: super::store(n),
            host: MemStore::default(),
            next: 0,
            acked: 0,
            tls,
            reseal: None,
            push_deadline: Duration::from_secs(10),
            latencies: Vec::new(),
            sent: Default::default(),
        }
    }

    /// Builds and seals `count` events now, to append later with [`StoreClient::append_prepared`]
    /// (a bench keeps the sealing out of its clock).
    pub fn prepare(
        &mut self,
        count: u64,
    ) -> Vec<(dcs_core::SovereignFinancialEvent, dcs_core::commerce::EventBody)> {
        (1..=count)
            .map(|k| {
                let (mut e, body) = super::event(&mut self.m, self.n, self.next + k, wall());
                if let Some(r) = &self.reseal {
                    r(&mut e);
                }
                (e, body)
            })
            .collect()
    }

    /// Appends events made by [`StoreClient::prepare`], in order.
    pub fn append_prepared(
        &mut self,
        events: impl IntoIterator<
            Item = (dcs_core::SovereignFinancialEvent, dcs_core::commerce::EventBody),
        >,
    ) {
        for (e, body) in events {
            self.next += 1;
            self.m.append(wall(), e, Some(&body)).unwrap();
        }
        pump(wall(), &mut self.m, &mut self.host).unwrap();
    }

    /// Appends `count` new events.
    pub fn append(&mut self, count: u64) {
        for _ in 0..count {
            self.next += 1;
            let at = wall();
            let (mut e, body) = super::event(&mut self.m, self.n, self.next, at);
            if let Some(r) = &self.reseal {
                r(&mut e);
            }
            self.m.append(at, e, Some(&body)).unwrap();
        }
        pump(wall(), &mut self.m, &mut self.host).unwrap();
    }

    /// Syncs over one stream to `url` until nothing is left to send; a redirect is
    /// Err(Some(url)), a failure Err(None).
    pub async fn sync(&mut self, url: &str) -> Result<(), Option<String>> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|_| None)?
            .connect_timeout(Duration::from_secs(2));
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.clone()).map_err(|_| None)?;
        }
        let channel = endpoint.connect().await.map_err(|_| None)?;
        let mut client = LocalRegionalSyncClient::new(channel);
        let (tx, rx) = mpsc::channel(64);
        let mut inbound = match client.push(ReceiverStream::new(rx)).await {
            Ok(r) => r.into_inner(),
            Err(s) => {
                let to = s.metadata().get(LEADER_METADATA).and_then(|v| v.to_str().ok());
                return Err(to.map(str::to_string));
            }
        };
        let deadline = Instant::now() + self.push_deadline;
        // A new stream: resend the unacknowledged push at once (as dcs-local does).
        self.m.handle_link_up(wall());
        loop {
            let now = wall();
            self.m.handle_timeout(now);
            pump(now, &mut self.m, &mut self.host).unwrap();
            while let Some((_, msg)) = self.m.poll_transmit() {
                if let Message::Push(p) = &msg {
                    self.sent.entry(p.batch).or_insert_with(Instant::now);
                }
                let env = dcs_proto::sync_to_pb(NodeId::Store(self.n), &msg).unwrap();
                tx.send(env).await.map_err(|_| None)?;
            }
            if self.m.lag() == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(None);
            }
            match tokio::time::timeout(Duration::from_millis(100), inbound.message()).await {
                Ok(Ok(Some(env))) => {
                    let (from, msg) = dcs_proto::sync_from_pb(env).unwrap();
                    if let Message::Ack(a) = &msg {
                        self.acked = self.acked.max(a.durable_pos);
                        if let Some(at) = self.sent.remove(&a.batch) {
                            self.latencies.push(at.elapsed());
                        }
                    }
                    self.m.handle_message(wall(), from, msg).unwrap();
                    pump(wall(), &mut self.m, &mut self.host).unwrap();
                }
                Ok(Ok(None)) | Ok(Err(_)) => return Err(None),
                Err(_) => {}
            }
        }
    }
    /// Sells one event and syncs, every 250 ms, until `arrived` holds of the store (a change
    /// made on the master comes down with an ack); returns how long it took. Panics naming
    /// `what` after 60 s.
    pub async fn sync_until(
        &mut self,
        urls: &[String],
        what: &str,
        arrived: impl Fn(&StoreClient) -> bool,
    ) -> Duration {
        let start = Instant::now();
        while !arrived(self) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what} did not reach the store in 60 s"
            );
            self.append(1);
            self.sync_any(urls).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        start.elapsed()
    }

    /// Appends `count` new events and syncs them; returns the ones the region refused.
    pub async fn push_new(&mut self, urls: &[String], count: u64) -> Vec<dcs_sync::Rejection> {
        let before = self.m.rejections().count();
        self.append(count);
        self.sync_any(urls).await;
        self.m.rejections().skip(before).cloned().collect()
    }

    /// Syncs through any of `urls`, following redirects; returns the URL that served.
    pub async fn sync_any(&mut self, urls: &[String]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for u in urls {
                let mut url = u.clone();
                for _ in 0..3 {
                    match self.sync(&url).await {
                        Ok(()) => return url,
                        Err(Some(to)) => url = to,
                        Err(None) => break,
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no node took store {}'s pushes (lag {})",
                self.n,
                self.m.lag()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
