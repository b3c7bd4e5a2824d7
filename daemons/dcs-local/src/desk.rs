//! The store's desk: turns validated POS commands into sealed, stored events.
//!
//! The domain rules are dcs-core's (`Sale`, `PosSession`, the cart and tax engine); the desk
//! only loads the aggregate a command needs from the store, calls the core, seals the facts
//! with dcs-crypto's `Terminal`, and appends them with their bodies (so the projections move
//! in the same transaction). A command's key `K` becomes the keys `K/0`, `K/1`, … of its
//! events; a retry finds `K/0` in the store and returns the first result.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use dcs_core::commerce::body::{StockAdjustment, StockMovement};
use dcs_core::commerce::{
    BusinessDay, DomainEvent, EventBody, PosSession, Sale, SaleId, SessionId, Tender,
};
use dcs_core::{BranchId, IdempotencyKey, Money, SovereignFinancialEvent};
use dcs_crypto::{Terminal, TerminalConfig, TerminalState};
use dcs_proto::pos;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{AppendResult, ExpectedVersion, SnapshotVersion, SnapshotWith, StreamId};
use rand_core::OsRng;

use crate::catalog::Catalog;
use crate::error::{LocalError, Result};
use crate::identity::{Identity, TerminalIdentity};

/// What a stored command returns.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Where its events went.
    pub result: AppendResult,
    /// Their ids.
    pub event_ids: Vec<[u8; 16]>,
    /// The command's amount, if it has one.
    pub total: Option<Money>,
}

/// A closed session's report.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The stored SESSION_CLOSED.
    pub stored: Stored,
    /// The cash the drawer should hold.
    pub expected: Money,
    /// Counted − expected.
    pub variance: Money,
}

/// The desk of one store.
pub struct Desk {
    store: Arc<SqliteStore>,
    writer: crate::writer::Writer,
    identity: Arc<Identity>,
    catalog: Catalog,
    tenant: String,
    branch: BranchId,
    terminals: BTreeMap<String, Mutex<Terminal>>,
    /// One lock per session stream, so commands of one session run one at a time.
    sessions: tokio::sync::Mutex<BTreeMap<SessionId, Arc<tokio::sync::Mutex<()>>>>,
    /// Commands touching one sale run one at a time.
    sales: tokio::sync::Mutex<BTreeMap<SaleId, Arc<tokio::sync::Mutex<()>>>>,
    utc_offset_minutes: i32,
    /// The sync machine, whose replicated key registry says which agents are revoked.
    sync: Arc<crate::sync_machine::SyncMachine>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").field("tenant", &self.tenant).field("branch", &self.branch).finish()
    }
}

fn stream(name: String) -> Result<StreamId> {
    StreamId::new(name).map_err(LocalError::Store)
}

fn session_stream(id: &SessionId) -> Result<StreamId> {
    stream(format!("session-{id}"))
}

fn sale_stream(id: &SaleId) -> Result<StreamId> {
    stream(format!("sale-{id}"))
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LocalError::Setup(format!("a store task failed: {e}")))?
}

impl Desk {
    /// A desk over `store`, sealing with `identity`'s keys; the terminals' clocks resume after
    /// the newest stored event.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<SqliteStore>,
        writer: crate::writer::Writer,
        identity: Arc<Identity>,
        catalog: Catalog,
        tenant: &str,
        branch: &str,
        utc_offset_minutes: i32,
        sync: Arc<crate::sync_machine::SyncMachine>,
    ) -> Result<Self> {
        let head = store.head_position_sync()?;
        let resume = match store.read_all_sync(head.max(1), 1)?.pop() {
            Some(last) => TerminalState {
                hlc_last: last.event.causality().hlc.time,
                vector_clock: last.event.causality().vector_clock.clone(),
            },
            None => TerminalState::default(),
        };
        let mut terminals = BTreeMap::new();
        for id in identity.thin_terminals() {
            let config = TerminalConfig::new(tenant, branch, id, catalog.currency())?;
            let mut node = [0u8; 16];
            rand_core::RngCore::fill_bytes(&mut OsRng, &mut node);
            node[0] |= 1;
            terminals.insert(id.to_string(), Mutex::new(Terminal::resume(config, node, &resume)?));
        }
        Ok(Self {
            store,
            writer,
            identity,
            catalog,
            tenant: tenant.into(),
            branch: BranchId::new(branch)?,
            terminals,
            sessions: tokio::sync::Mutex::new(BTreeMap::new()),
            sales: tokio::sync::Mutex::new(BTreeMap::new()),
            utc_offset_minutes,
            sync,
        })
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The first result of the command keyed `key`, if it ran before.
    async fn earlier(&self, key: &IdempotencyKey) -> Result<Option<Stored>> {
        let store = Arc::clone(&self.store);
        let (tenant, first) = (self.tenant.clone(), format!("{key}/0"));
        blocking(move || {
            let Some(result) = store.append_of_key(&tenant, &first)? else { return Ok(None) };
            let n = (result.last_position - result.first_position + 1) as usize;
            let events = store.read_all_sync(result.first_position, n)?;
            let total = events.iter().find_map(|e| match e.event.event_type() {
                dcs_core::EventType::SaleCompleted
                | dcs_core::EventType::SalePartiallyRefunded
                | dcs_core::EventType::SaleReversed => Some(e.event.amount()),
                _ => None,
            });
            let event_ids = events.iter().map(|e| *e.event.event_id().as_bytes()).collect();
            Ok(Some(Stored { result, event_ids, total }))
        })
        .await
    }

    /// Seals `facts` as the events `KEY/0`, `KEY/1`, … of thin terminal `terminal`, which
    /// creates and signs them (their `created_by`, whose key verifies them at every tier); the
    /// cashier is named in the facts themselves (the session's).
    fn seal(
        &self,
        terminal: &TerminalIdentity,
        facts: &[DomainEvent],
        key: &IdempotencyKey,
    ) -> Result<Vec<SovereignFinancialEvent>> {
        let id = terminal.agent.as_str();
        let (false, Some(lock), Some(signer)) =
            (terminal.self_sealing, self.terminals.get(id), self.identity.signer(id))
        else {
            return Err(LocalError::Unauthenticated(format!(
                "terminal {id} seals its own events: submit them with SubmitSealed"
            )));
        };
        let mut term =
            lock.lock().map_err(|_| LocalError::Setup("terminal lock poisoned".into()))?;
        let now = now_ms();
        facts
            .iter()
            .enumerate()
            .map(|(i, fact)| {
                let k = IdempotencyKey::new(format!("{key}/{i}"))?;
                let keyring = self.identity.keyring.as_ref();
                Ok(term.seal(
                    fact,
                    &terminal.agent,
                    Some(k),
                    now,
                    &mut OsRng,
                    keyring,
                    &self.identity.mac,
                    signer,
                )?)
            })
            .collect()
    }

    async fn append(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<SovereignFinancialEvent>,
        facts: Vec<DomainEvent>,
        total: Option<Money>,
        snapshot: Option<SnapshotWith>,
    ) -> Result<Stored> {
        let started = std::time::Instant::now();
        {
            // The registry as merged from the region: a revoked agent's events stop here
            // (the region would refuse them too, after the till had counted them).
            let machine = self.sync.lock();
            if let Some(why) = events.iter().find_map(|e| machine.state().revocation_of(e)) {
                metrics::counter!("dcs_local_revoked_refused_total").increment(1);
                return Err(LocalError::Revoked(why));
            }
        }
        let event_ids = events.iter().map(|e| *e.event_id().as_bytes()).collect();
        let bodies: Vec<EventBody> = facts.into_iter().map(|f| f.body).collect();
        let result = self.writer.append(stream, expected, events, bodies, snapshot).await?;
        let stored = Stored { result, event_ids, total };
        metrics::counter!("dcs_local_appends_total").increment(1);
        metrics::histogram!("dcs_local_append_seconds").record(started.elapsed().as_secs_f64());
        Ok(stored)
    }

    async fn lock_of<K: Ord + Clone>(
        map: &tokio::sync::Mutex<BTreeMap<K, Arc<tokio::sync::Mutex<()>>>>,
        key: &K,
    ) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = map.lock().await;
        // Bounded: drop locks nobody holds before adding one.
        if m.len() > 1024 {
            m.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(m.entry(key.clone()).or_default())
    }

    async fn load_session(&self, id: &SessionId) -> Result<Option<PosSession>> {
        let store = Arc::clone(&self.store);
        let stream = session_stream(id)?;
        blocking(move || match store.load_snapshot_sync(&stream)? {
            Some(s) => postcard::from_bytes(&s.state).map(Some).map_err(|e| {
                LocalError::Setup(format!(
                    "the snapshot of {} does not decode: {e}",
                    stream.as_str()
                ))
            }),
            None => Ok(None),
        })
        .await
    }

    /// The session's snapshot after a sale or refund paid by `tender`, at the session stream's
    /// current version: only cash moves the drawer (None for other tenders).
    async fn drawer_snapshot(
        &self,
        session: &PosSession,
        tender: Tender,
    ) -> Result<Option<SnapshotWith>> {
        if tender != Tender::Cash {
            return Ok(None);
        }
        let version = self.stream_version(&session_stream(session.session_id())?).await?;
        Self::session_snapshot(session, SnapshotVersion::Fixed(version)).map(Some)
    }

    /// The session's snapshot, to write with the append that changes it (one transaction:
    /// a crash never leaves a session behind its events).
    fn session_snapshot(session: &PosSession, version: SnapshotVersion) -> Result<SnapshotWith> {
        Ok(SnapshotWith {
            stream_id: session_stream(session.session_id())?,
            version,
            state: postcard::to_allocvec(session)
                .map_err(|e| LocalError::Setup(format!("cannot encode a session: {e}")))?,
        })
    }

    async fn open_session_of(&self, id: &SessionId) -> Result<PosSession> {
        match self.load_session(id).await? {
            Some(s) if !s.is_closed() => Ok(s),
            Some(_) => {
                Err(LocalError::Refused(format!("session {id} is closed: open a new session")))
            }
            None => Err(LocalError::Refused(format!("session {id} is not open: open it first"))),
        }
    }

    /// Opens a cashier session.
    pub async fn open_session(&self, t: &TerminalIdentity, c: pos::OpenSession) -> Result<Stored> {
        if let Some(done) = self.earlier(&c.key).await? {
            return Ok(done);
        }
        let lock = Self::lock_of(&self.sessions, &c.session_id).await;
        let _guard = lock.lock().await;
        if self.load_session(&c.session_id).await?.is_some() {
            return Err(LocalError::Refused(format!(
                "session {} already exists: choose a new session id",
                c.session_id
            )));
        }
        self.check_currency("opening_float", c.opening_float)?;
        let (session, fact) =
            PosSession::open(c.session_id.clone(), c.cashier.clone(), c.opening_float)?;
        let events = self.seal(t, std::slice::from_ref(&fact), &c.key)?;
        let snapshot = Self::session_snapshot(&session, SnapshotVersion::OfTheAppend)?;
        self.append(
            session_stream(&c.session_id)?,
            ExpectedVersion::NoStream,
            events,
            vec![fact],
            None,
            Some(snapshot),
        )
        .await
    }

    /// Closes a cashier session with the counted cash.
    pub async fn close_session(
        &self,
        t: &TerminalIdentity,
        c: pos::CloseSession,
    ) -> Result<Closed> {
        let lock = Self::lock_of(&self.sessions, &c.session_id).await;
        let _guard = lock.lock().await;
        if let Some(done) = self.earlier(&c.key).await? {
            let session = self.load_session(&c.session_id).await?;
            let expected = match &session {
                Some(s) => s.expected_cash()?,
                None => Money::zero(self.catalog.currency()),
            };
            return Ok(Closed {
                stored: done,
                expected,
                variance: c.counted.checked_sub(expected)?,
            });
        }
        self.check_currency("counted", c.counted)?;
        let mut session = self.open_session_of(&c.session_id).await?;
        let expected = session.expected_cash()?;
        let fact = session.close(c.counted)?;
        let events = self.seal(t, std::slice::from_ref(&fact), &c.key)?;
        let snapshot = Self::session_snapshot(&session, SnapshotVersion::OfTheAppend)?;
        let stream = session_stream(&c.session_id)?;
        let stored = self
            .append(stream, ExpectedVersion::Any, events, vec![fact], None, Some(snapshot))
            .await?;
        Ok(Closed { stored, expected, variance: c.counted.checked_sub(expected)? })
    }

    /// Prices, pays and completes a sale in an open session.
    pub async fn sell(&self, t: &TerminalIdentity, c: pos::SubmitSale) -> Result<Stored> {
        if let Some(done) = self.earlier(&c.key).await? {
            return Ok(done);
        }
        let lock = Self::lock_of(&self.sessions, &c.session_id).await;
        let _guard = lock.lock().await;
        let mut session = self.open_session_of(&c.session_id).await?;
        let totals = self.catalog.price(&c.cart)?;
        let (mut sale, started) =
            Sale::initiate(c.sale_id.clone(), self.branch.clone(), &totals, c.customer.clone())?;
        let mut facts = vec![started];
        facts.extend(sale.pay_and_complete(c.tender)?);
        let total = totals.totals.total;
        if c.tender == Tender::Cash {
            session.record_cash_sale(total)?;
        }
        let events = self.seal(t, &facts, &c.key)?;
        let snapshot = self.drawer_snapshot(&session, c.tender).await?;
        let stream = sale_stream(&c.sale_id)?;
        self.append(stream, ExpectedVersion::NoStream, events, facts, Some(total), snapshot).await
    }

    /// Refunds lines of a completed sale, never more than was sold.
    pub async fn refund(&self, t: &TerminalIdentity, c: pos::SubmitRefund) -> Result<Stored> {
        if let Some(done) = self.earlier(&c.key).await? {
            return Ok(done);
        }
        let session_lock = Self::lock_of(&self.sessions, &c.session_id).await;
        let _s = session_lock.lock().await;
        let sale_lock = Self::lock_of(&self.sales, &c.sale_id).await;
        let _g = sale_lock.lock().await;
        let mut session = self.open_session_of(&c.session_id).await?;
        let (mut sale, version) = self.load_sale(&c.sale_id).await?;
        let facts = sale.refund(c.refund_id.clone(), &c.lines, c.tender, &c.reason)?;
        let total = facts.iter().find_map(|f| match &f.body {
            EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r) => Some(r.total),
            _ => None,
        });
        if let (Tender::Cash, Some(amount)) = (c.tender, total) {
            session.record_cash_refund(amount)?;
        }
        let events = self.seal(t, &facts, &c.key)?;
        let snapshot = self.drawer_snapshot(&session, c.tender).await?;
        let stream = sale_stream(&c.sale_id)?;
        self.append(stream, ExpectedVersion::Exact(version), events, facts, total, snapshot).await
    }

    /// Records a delivery or a stock adjustment at this store.
    pub async fn inventory(&self, t: &TerminalIdentity, c: pos::SubmitInventory) -> Result<Stored> {
        if let Some(done) = self.earlier(&c.key).await? {
            return Ok(done);
        }
        let body = if c.received {
            let quantity = u32::try_from(c.quantity).map_err(|_| {
                LocalError::Invalid("quantity: too many units for one delivery".into())
            })?;
            EventBody::InventoryReceived(StockMovement {
                branch: self.branch.clone(),
                sku: c.sku.clone(),
                quantity,
            })
        } else {
            EventBody::InventoryAdjusted(StockAdjustment {
                branch: self.branch.clone(),
                sku: c.sku.clone(),
                delta: c.quantity,
                reason: c.reference.clone(),
            })
        };
        let fact = DomainEvent::new(body);
        let events = self.seal(t, std::slice::from_ref(&fact), &c.key)?;
        self.append(
            stream(format!("stock-{}", c.sku))?,
            ExpectedVersion::Any,
            events,
            vec![fact],
            None,
            None,
        )
        .await
    }

    /// Records that `data_key_id` is leased to till `agent` (before the till gets the key).
    pub async fn record_lease(
        &self,
        data_key_id: [u8; 16],
        lease: dcs_store::sqlite::TillLease,
    ) -> Result<()> {
        let store = Arc::clone(&self.store);
        blocking(move || Ok(store.record_lease_sync(&data_key_id, &lease)?)).await
    }

    /// Every event's data key was leased by this store to terminal `t`, and the event was
    /// sealed (by its HLC time) before the lease expired: a key lifted from one till is good
    /// for nothing at another, and a spent lease seals nothing new. Returns how many of the
    /// events each key sealed (for [`Self::reserve_lease_uses`]).
    async fn check_leases(
        &self,
        t: &TerminalIdentity,
        events: &[SovereignFinancialEvent],
    ) -> Result<BTreeMap<[u8; 16], u64>> {
        let mut checked: BTreeMap<[u8; 16], u64> = BTreeMap::new();
        // Events of this submission under each key, to reserve once every check passed.
        let mut uses: BTreeMap<[u8; 16], u64> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            let env = dcs_crypto::Envelope::parse(&e.payload().envelope)
                .map_err(|err| LocalError::Invalid(format!("events[{i}].envelope: {err}")))?;
            let id = env.data_key_id;
            let expires = match checked.get(&id) {
                Some(x) => *x,
                None => {
                    let store = Arc::clone(&self.store);
                    let lease = blocking(move || Ok(store.lease_sync(&id)?)).await?;
                    match lease {
                        Some(l) if l.agent == t.agent.as_str() => {
                            checked.insert(id, l.expires_ms);
                            l.expires_ms
                        }
                        _ => {
                            return Err(LocalError::Unauthenticated(format!(
                                "events[{i}]: its data key was not leased to terminal {} by this store",
                                t.agent
                            )));
                        }
                    }
                }
            };
            if e.causality().hlc.unix_ms() > expires {
                return Err(LocalError::Refused(format!(
                    "events[{i}]: sealed after its data key lease expired: provision the till again"
                )));
            }
            *uses.entry(id).or_insert(0) += 1;
        }
        Ok(uses)
    }

    /// Counts `uses` (events per leased data key) against their leases, in one statement per
    /// key, just before the events are stored: concurrent submissions of one till never pass
    /// a lease's max_uses together.
    async fn reserve_lease_uses(
        &self,
        t: &TerminalIdentity,
        uses: BTreeMap<[u8; 16], u64>,
    ) -> Result<()> {
        for (id, n) in uses {
            let (store, agent) = (Arc::clone(&self.store), t.agent.to_string());
            let granted =
                blocking(move || Ok(store.reserve_lease_uses_sync(&id, &agent, n)?)).await?;
            if !granted {
                return Err(LocalError::Refused(format!(
                    "the till's data key lease has fewer than {n} uses left ([till] \
                     lease_max_uses): provision the till again for a new key"
                )));
            }
        }
        Ok(())
    }

    /// Stores events a self-sealing terminal sealed, after verifying each against the
    /// registered keys and checking it is this store's and the caller's.
    pub async fn store_sealed(
        &self,
        t: &TerminalIdentity,
        stream_name: String,
        events: Vec<SovereignFinancialEvent>,
    ) -> Result<Stored> {
        let stream =
            StreamId::new(stream_name).map_err(|e| LocalError::Invalid(format!("stream: {e}")))?;
        if let Some(done) = self.resent(&events).await? {
            return Ok(done);
        }
        let mut bodies = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            if e.tenant_id().as_str() != self.tenant || *e.branch_id() != self.branch {
                return Err(LocalError::Invalid(format!(
                    "events[{i}]: belongs to {}/{}, not to this store ({}/{})",
                    e.tenant_id(),
                    e.branch_id(),
                    self.tenant,
                    self.branch
                )));
            }
            if *e.agent_id() != t.agent {
                return Err(LocalError::Unauthenticated(format!(
                    "events[{i}]: agent_id is {}, but the caller is terminal {}",
                    e.agent_id(),
                    t.agent
                )));
            }
            // The master's key registry, as merged from the region, decides the creator's key
            // when it holds one (a rotation or a registration made there); else the store's
            // own terminals.toml.
            let registered = self.sync.lock().state().registered_key_of(e).cloned();
            let from_registry = match registered {
                Some((algorithm, bytes)) => {
                    let key =
                        dcs_crypto::Verifier::from_registry(&algorithm, &bytes).map_err(|err| {
                            LocalError::Unauthenticated(format!("events[{i}]: {err}"))
                        })?;
                    let mut one = dcs_crypto::KeyRegistry::new();
                    one.register(&e.audit().created_by, key);
                    Some(one)
                }
                None => None,
            };
            let keys = from_registry.as_ref().unwrap_or(&self.identity.registry);
            dcs_crypto::verify_event(e, &self.identity.mac, keys).map_err(|err| match err {
                dcs_crypto::CryptoError::BadMac
                | dcs_crypto::CryptoError::BadSignature
                | dcs_crypto::CryptoError::MissingMac
                | dcs_crypto::CryptoError::MissingSignature
                | dcs_crypto::CryptoError::UnknownSigner { .. } => {
                    LocalError::Unauthenticated(format!("events[{i}]: {err}"))
                }
                other => LocalError::Invalid(format!("events[{i}]: {other}")),
            })?;
        }
        // After the signatures (a forged event is refused as forged) and before opening (a key
        // the store never leased opens nothing): every data key was leased to this terminal.
        let uses = self.check_leases(t, &events).await?;
        for (i, e) in events.iter().enumerate() {
            let plain = dcs_crypto::open_event(e, self.identity.keyring.as_ref())?;
            let body = EventBody::from_bytes(&plain)
                .map_err(|err| LocalError::Invalid(format!("events[{i}]: payload: {err}")))?;
            if body.event_type() != e.event_type() {
                return Err(LocalError::Invalid(format!(
                    "events[{i}]: the payload is a {} but the event says {}",
                    body.event_type(),
                    e.event_type()
                )));
            }
            bodies.push(DomainEvent::new(body));
        }
        let expected = self.check_sale(&stream, &bodies).await?;
        self.reserve_lease_uses(t, uses).await?;
        let total = events.iter().find_map(|e| match e.event_type() {
            dcs_core::EventType::SaleCompleted
            | dcs_core::EventType::SalePartiallyRefunded
            | dcs_core::EventType::SaleReversed => Some(e.amount()),
            _ => None,
        });
        self.append(stream, expected, events, bodies, total, None).await
    }

    /// A resend of sealed events the store holds already: their first result. The same key
    /// on other events is refused (a till must resend the bytes it sealed, not reseal).
    async fn resent(&self, events: &[SovereignFinancialEvent]) -> Result<Option<Stored>> {
        let Some(first) = events.first() else { return Ok(None) };
        let store = Arc::clone(&self.store);
        let (tenant, key) = (self.tenant.clone(), first.idempotency_key().as_str().to_string());
        let held = blocking(move || {
            let Some(result) = store.append_of_key(&tenant, &key)? else { return Ok(None) };
            let n = (result.last_position - result.first_position + 1) as usize;
            let stored = store.read_all_sync(result.first_position, n)?;
            Ok(Some((result, stored)))
        })
        .await?;
        let Some((result, stored)) = held else { return Ok(None) };
        let same = stored.len() == events.len()
            && stored.iter().zip(events).all(|(s, e)| s.event.event_id() == e.event_id());
        if !same {
            return Err(LocalError::Refused(format!(
                "idempotency key {} names other events in this store: resend the sealed bytes of the first attempt",
                first.idempotency_key()
            )));
        }
        let total = stored.iter().find_map(|e| match e.event.event_type() {
            dcs_core::EventType::SaleCompleted
            | dcs_core::EventType::SalePartiallyRefunded
            | dcs_core::EventType::SaleReversed => Some(e.event.amount()),
            _ => None,
        });
        let event_ids = stored.iter().map(|e| *e.event.event_id().as_bytes()).collect();
        Ok(Some(Stored { result: AppendResult { deduplicated: true, ..result }, event_ids, total }))
    }

    /// For a sale's stream, checks the sealed bodies against the sale's history with the
    /// core's rules (a new sale starts with SALE_INITIATED; a refund never gives back more
    /// than is left); returns the stream version the append must find.
    async fn check_sale(
        &self,
        stream: &StreamId,
        bodies: &[DomainEvent],
    ) -> Result<ExpectedVersion> {
        let Some(id) = stream.as_str().strip_prefix("sale-") else {
            let of_a_sale = bodies.iter().any(|f| {
                matches!(
                    f.body,
                    EventBody::SaleInitiated(_)
                        | EventBody::SaleCompleted(_)
                        | EventBody::SaleReversed(_)
                        | EventBody::SalePartiallyRefunded(_)
                        | EventBody::PaymentAuthorized(_)
                        | EventBody::PaymentCaptured(_)
                        | EventBody::PaymentRefunded(_)
                )
            });
            if of_a_sale {
                return Err(LocalError::Invalid(
                    "stream: a sale's events go to the stream sale-<SALE_ID>".into(),
                ));
            }
            return Ok(ExpectedVersion::Any);
        };
        let id = SaleId::new(id).map_err(|e| LocalError::Invalid(format!("stream: {e}")))?;
        let refused = |e: dcs_core::CoreError| LocalError::Refused(format!("sale {id}: {e}"));
        let version = self.stream_version(stream).await?;
        if version == 0 {
            Sale::replay(self.branch.clone(), bodies.iter().map(|f| &f.body)).map_err(refused)?;
            return Ok(ExpectedVersion::NoStream);
        }
        let (mut sale, version) = self.load_sale(&id).await?;
        for f in bodies {
            sale.accept(&f.body).map_err(refused)?;
        }
        Ok(ExpectedVersion::Exact(version))
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        let store = Arc::clone(&self.store);
        let stream = stream.clone();
        blocking(move || Ok(store.stream_version_sync(&stream)?)).await
    }

    async fn load_sale(&self, id: &SaleId) -> Result<(Sale, u64)> {
        let store = Arc::clone(&self.store);
        let identity = Arc::clone(&self.identity);
        let (stream, branch, id) = (sale_stream(id)?, self.branch.clone(), id.clone());
        blocking(move || {
            let stored = store.read_stream_sync(&stream, 1, dcs_store::sqlite::MAX_READ)?;
            if stored.is_empty() {
                return Err(LocalError::Refused(format!("sale {id} is not in this store")));
            }
            let version = stored.last().map_or(0, |e| e.stream_version);
            let mut bodies = Vec::with_capacity(stored.len());
            for e in &stored {
                let plain = dcs_crypto::open_event(&e.event, identity.keyring.as_ref())?;
                bodies.push(EventBody::from_bytes(&plain)?);
            }
            Ok((Sale::replay(branch, bodies.iter())?, version))
        })
        .await
    }

    fn check_currency(&self, field: &str, m: Money) -> Result<()> {
        if m.currency() != self.catalog.currency() {
            return Err(LocalError::Invalid(format!(
                "{field}: {} is not this store's currency {}",
                m.currency().code(),
                self.catalog.currency().code()
            )));
        }
        Ok(())
    }

    /// The sales summary of `day` (today when None).
    pub async fn day_summary(
        &self,
        day: Option<BusinessDay>,
    ) -> Result<(BusinessDay, dcs_core::projection::DailySales)> {
        let day = match day {
            Some(d) => d,
            None => BusinessDay::from_unix_ms(now_ms(), self.utc_offset_minutes)?,
        };
        let rows = {
            let store = Arc::clone(&self.store);
            blocking(move || Ok(store.projection_rows()?)).await?
        };
        let currency = self.catalog.currency();
        let row = rows
            .sales
            .into_iter()
            .find(|(k, _)| k.day == day && k.branch == self.branch && k.currency == currency)
            .map(|(_, v)| v)
            .unwrap_or_else(|| dcs_core::projection::DailySales::zero(currency));
        Ok((day, row))
    }

    /// The projection rows (stock and loyalty readers filter them).
    pub async fn projections(&self) -> Result<dcs_store::ProjectionRows> {
        let store = Arc::clone(&self.store);
        blocking(move || Ok(store.projection_rows()?)).await
    }

    /// This store's branch.
    pub fn branch(&self) -> &BranchId {
        &self.branch
    }
}

/// Milliseconds since the Unix epoch (the daemon is the one place that reads the clock).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
