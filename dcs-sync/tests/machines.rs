//! Transitions of the local, regional and master machines, driven by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::{EventBody, Sku};
use dcs_core::*;
use dcs_crdt::ReplicaId;
use dcs_sync::sim::mac::KeyedVerifier;
use dcs_sync::sim::store::MemStore;
use dcs_sync::*;

const T0: u64 = 1_795_600_000_000;
const KEY: [u8; 32] = [7; 32];

fn now(ms: u64) -> Now {
    Now { mono_ms: ms, wall_ms: T0 + ms }
}

fn cfg() -> SyncConfig {
    SyncConfig { sync_interval_ms: 10_000, batch_delay_ms: 0, ..SyncConfig::default() }
}

fn local(n: u32) -> LocalMachine {
    LocalMachine::new(
        LocalConfig {
            node: NodeId::Store(n),
            region: NodeId::Region(0),
            branch: BranchId::new(format!("s{n}")).unwrap(),
            replica: ReplicaId(1000 + u64::from(n)),
            sync: cfg(),
        },
        now(0),
        n.into(),
    )
    .unwrap()
}

fn region_cfg() -> RegionalConfig {
    RegionalConfig {
        node: NodeId::Region(0),
        master: NodeId::Master,
        stores: vec![NodeId::Store(1), NodeId::Store(2)],
        replica: ReplicaId(10),
        sync: cfg(),
        liveness: LivenessConfig::default(),
    }
}

fn master() -> MasterMachine {
    MasterMachine::new(
        MasterConfig {
            regions: vec![NodeId::Region(0)],
            replica: ReplicaId(1),
            sync: cfg(),
            liveness: LivenessConfig::default(),
        },
        now(0),
        3,
    )
    .unwrap()
}

fn region() -> RegionalMachine {
    RegionalMachine::new(region_cfg(), Box::new(KeyedVerifier::new(KEY)), now(0), 99).unwrap()
}

fn received(n: u32, qty: u32) -> EventBody {
    EventBody::InventoryReceived(StockMovement {
        branch: BranchId::new(format!("s{n}")).unwrap(),
        sku: Sku::new("MUG").unwrap(),
        quantity: qty,
    })
}

/// Builds and seals an event of store `n` with body `body`.
fn event(
    m: &mut LocalMachine,
    n: u32,
    k: u64,
    body: &EventBody,
    at: Now,
) -> SovereignFinancialEvent {
    let hlc: HlcTimestamp = m.next_hlc(at);
    let agent = AgentId::new(format!("pos-{n}")).unwrap();
    let mut vc = VectorClock::new();
    vc.set(agent.clone(), k);
    let d = DomainEvent::new(body.clone());
    let mut e = d
        .fill(EventBuilder::new(), Currency::USD)
        .event_id(EventId::new_v7(hlc.unix_ms(), [n as u8, k as u8, 0, 0, 0, 0, 0, 0, 0, 1]))
        .idempotency_key(IdempotencyKey::new(format!("s{n}/{k}")).unwrap())
        .tenant_id(TenantId::new("acme").unwrap())
        .branch_id(BranchId::new(format!("s{n}")).unwrap())
        .agent_id(agent.clone())
        .kek("acme/kek", 1)
        .envelope(d.plaintext().unwrap())
        .causality(CausalContext { hlc, vector_clock: vc })
        .created_by(agent)
        .build()
        .unwrap();
    KeyedVerifier::new(KEY).seal(&mut e);
    e
}

fn persist_local(m: &mut LocalMachine, at: Now) -> Vec<WriteOp> {
    let mut all = vec![];
    while let Some(b) = m.poll_persist() {
        all.extend(b.ops.clone());
        m.handle_persisted(at, b.token, &[]).unwrap();
    }
    all
}

/// Persists only the next batch, which must be the HLC write that leads every batch.
fn persist_hlc(m: &mut LocalMachine, at: Now) {
    let b = m.poll_persist().unwrap();
    assert!(matches!(b.ops[..], [WriteOp::Hlc { .. }]), "{:?}", b.ops);
    m.handle_persisted(at, b.token, &[]).unwrap();
}

/// Persists every batch of the region in its store `host` (the machine keeps no accepted
/// items: the store holds them) and serves its outbox reads.
fn persist_region(r: &mut RegionalMachine, host: &mut MemStore, at: Now) {
    dcs_sync::pump(at, r, host).unwrap();
}

fn drain<F: FnMut() -> Option<(NodeId, Message)>>(mut f: F) -> Vec<(NodeId, Message)> {
    std::iter::from_fn(&mut f).collect()
}

#[test]
fn append_is_pushed_only_once_durable_and_acked_only_once_durable() {
    let mut s = local(1);
    let mut r = region();
    let body = received(1, 10);
    let e = event(&mut s, 1, 1, &body, now(1));
    assert_eq!(s.append(now(1), e.clone(), Some(&body)).unwrap(), 1);
    assert_eq!(s.state().on_hand("s1", "MUG"), 10);
    // Not durable yet: the timer's push carries nothing, and waits for its HLC to be durable
    // (a batch of its own, ahead of the append).
    s.handle_timeout(now(1));
    assert!(s.poll_transmit().is_none(), "a message went out before its HLC was durable");
    persist_hlc(&mut s, now(1));
    let out = drain(|| s.poll_transmit());
    let Message::Push(p) = &out[0].1 else { panic!("{out:?}") };
    assert!(p.items.is_empty() && p.crdt.is_none());
    // The region answers the empty push as soon as the clock it observed is durable.
    r.handle_message(now(2), NodeId::Store(1), out[0].1.clone()).unwrap();
    assert!(r.poll_transmit().is_none());
    let mut host = MemStore::default();
    persist_region(&mut r, &mut host, now(2));
    let acks = drain(|| r.poll_transmit());
    let Message::Ack(a) = &acks[0].1 else { panic!() };
    assert_eq!(a.durable_pos, 0);
    s.handle_message(now(3), NodeId::Region(0), acks[0].1.clone()).unwrap();
    // Durable now: the next push (batch delay 0) carries the event and the stock delta.
    let ops = persist_local(&mut s, now(4));
    assert!(matches!(ops[0], WriteOp::Append { pos: 1, .. }));
    assert_eq!(s.lag(), 1);
    s.handle_timeout(now(4));
    let out = drain(|| s.poll_transmit());
    let Message::Push(p) = &out[0].1 else { panic!() };
    assert_eq!(p.items.len(), 1);
    assert!(matches!(p.crdt, Some(CrdtPayload::Delta { from: 0, upto: 1, .. })));
    // Region: stored but not durable → no ack yet.
    r.handle_message(now(5), NodeId::Store(1), out[0].1.clone()).unwrap();
    assert!(r.poll_transmit().is_none(), "no ack before the write is durable");
    assert_eq!(r.state().on_hand("s1", "MUG"), 10);
    persist_region(&mut r, &mut host, now(6));
    let acks = drain(|| r.poll_transmit());
    let Message::Ack(a) = &acks[0].1 else { panic!() };
    assert_eq!((a.durable_pos, a.have), (1, 1));
    assert_eq!(host.items.len(), 1, "the region's store holds the event");
    assert_eq!((r.lag(), host.head()), (1, 1), "a summary waits for the master, in the store");
    s.handle_message(now(7), NodeId::Region(0), acks[0].1.clone()).unwrap();
    assert_eq!((s.acked(), s.lag()), (1, 0));
    let ops = persist_local(&mut s, now(8));
    assert!(ops.iter().any(|o| matches!(o, WriteOp::Acked { upto: 1, .. })));
    assert_eq!(s.outbox_held(), 0, "acknowledged events leave the machine");
    assert_eq!(s.stats().pushes, 2);
}

#[test]
fn duplicates_and_replays_are_stored_once_and_tampered_events_refused() {
    let mut s = local(1);
    let mut r = region();
    let body = received(1, 3);
    let e1 = event(&mut s, 1, 1, &body, now(1));
    let mut e2 = event(&mut s, 1, 2, &body, now(2));
    s.append(now(1), e1, Some(&body)).unwrap();
    // Tamper after sealing: the amount is not what was MACed.
    e2.set_envelope(received(1, 300).to_bytes().unwrap()).unwrap();
    s.append(now(2), e2, Some(&body)).unwrap();
    persist_local(&mut s, now(3));
    s.handle_timeout(now(3));
    let push = drain(|| s.poll_transmit()).remove(0).1;
    for _ in 0..3 {
        r.handle_message(now(4), NodeId::Store(1), push.clone()).unwrap();
    }
    let mut host = MemStore::default();
    persist_region(&mut r, &mut host, now(5));
    let acks = drain(|| r.poll_transmit());
    let Message::Ack(a) = &acks.last().unwrap().1 else { panic!() };
    assert_eq!(a.durable_pos, 2, "the refused position counts as handled");
    assert_eq!(host.items.len(), 1);
    assert_eq!(host.rejected.len(), 1);
    assert_eq!(r.stats().rejected, 1);
    assert_eq!(r.stats().duplicates, 4);
    let rej = acks.iter().find_map(|(_, m)| match m {
        Message::Ack(a) if !a.rejected.is_empty() => Some(a.rejected.clone()),
        _ => None,
    });
    assert!(rej.unwrap()[0].reason.contains("MAC"));
}

#[test]
fn lost_push_is_retransmitted_with_growing_backoff() {
    let mut s = local(1);
    s.handle_timeout(now(0));
    let _lost = drain(|| s.poll_transmit());
    let mut push_times = vec![0u64];
    while s.stats().retransmits < 5 {
        let t = s.poll_timeout().unwrap();
        s.handle_timeout(now(t));
        if drain(|| s.poll_transmit()).iter().any(|(_, m)| matches!(m, Message::Push(_))) {
            push_times.push(t);
        }
    }
    let gaps: Vec<u64> = push_times.windows(2).map(|w| w[1] - w[0]).collect();
    // Base 2 s doubling: the fifth wait is at least 16 s (cap/2 of 32 s), the first at most 2 s.
    assert!(gaps[0] <= 2_000 && gaps[4] >= 16_000, "{gaps:?}");
}

#[test]
fn a_new_link_resends_at_once_with_the_backoff_reset() {
    let mut s = local(1);
    s.handle_timeout(now(0));
    let _lost = drain(|| s.poll_transmit());
    while s.stats().retransmits < 5 {
        let t = s.poll_timeout().unwrap();
        s.handle_timeout(now(t));
        let _ = drain(|| s.poll_transmit());
    }
    // The link was down for a while: the next retransmission is far off (≥ 16 s).
    let t = s.poll_timeout().unwrap();
    let waited = s.stats().retransmits;
    let at = t - 10_000;
    assert!(s.poll_timeout().unwrap() > at + 5_000);
    // A new stream: due now, and the push goes out at once.
    s.handle_link_up(now(at));
    assert!(s.poll_timeout().unwrap() <= at, "due at once after the link came up");
    s.handle_timeout(now(at));
    let sent = drain(|| s.poll_transmit());
    assert!(sent.iter().any(|(_, m)| matches!(m, Message::Push(_))), "{sent:?}");
    assert_eq!(s.stats().retransmits, waited + 1);
    // …and the backoff starts over: the next retransmission within the base delay (2 s).
    let next = s.poll_timeout().unwrap();
    assert!(next <= at + 2_000, "next retransmission {} ms after", next - at);
}

#[test]
fn region_crash_before_persist_loses_only_unacknowledged_events() {
    let mut s = local(1);
    let mut r = region();
    let body = received(1, 5);
    let e = event(&mut s, 1, 1, &body, now(1));
    s.append(now(1), e, Some(&body)).unwrap();
    persist_local(&mut s, now(2));
    s.handle_timeout(now(2));
    let push = drain(|| s.poll_transmit()).remove(0).1;
    r.handle_message(now(3), NodeId::Store(1), push).unwrap();
    let _unpersisted = r.poll_persist().unwrap();
    // Crash: restart from what was durable (nothing).
    let mut host = MemStore::default();
    let mut r = RegionalMachine::restore(
        region_cfg(),
        Box::new(KeyedVerifier::new(KEY)),
        host.load().unwrap(),
        now(4),
        5,
    )
    .unwrap();
    // The store never got an ack, so it retransmits and the region stores it now.
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(now(t));
    for (_, m) in drain(|| s.poll_transmit()) {
        r.handle_message(now(t), NodeId::Store(1), m).unwrap();
    }
    persist_region(&mut r, &mut host, now(t));
    for (_, m) in drain(|| r.poll_transmit()) {
        s.handle_message(now(t), NodeId::Region(0), m).unwrap();
    }
    assert_eq!(host.items.len(), 1);
    assert_eq!(s.acked(), 1);
}

#[test]
fn local_restart_resumes_from_durable_state() {
    let mut s = local(1);
    let mut store = MemStore::default();
    let body = received(1, 4);
    let e1 = event(&mut s, 1, 1, &body, now(1));
    s.append(now(1), e1, Some(&body)).unwrap();
    dcs_sync::pump(now(1), &mut s, &mut store).unwrap();
    let e2 = event(&mut s, 1, 2, &body, now(2));
    let hlc2 = e2.causality().hlc;
    s.append(now(2), e2, Some(&body)).unwrap(); // never persisted
    let durable = store.load().unwrap();
    assert_eq!((durable.acked, durable.head), (0, 1));
    let cfg = LocalConfig {
        node: NodeId::Store(1),
        region: NodeId::Region(0),
        branch: BranchId::new("s1").unwrap(),
        replica: ReplicaId(1001),
        sync: cfg(),
    };
    // Wall clock jumped back a minute: the HLC still does not go backwards.
    let back = Now { mono_ms: 3, wall_ms: T0 - 60_000 };
    let mut s2 = LocalMachine::restore(cfg, durable, back, 1).unwrap();
    assert_eq!(s2.state().on_hand("s1", "MUG"), 4, "the unpersisted append is gone");
    assert_eq!((s2.lag(), s2.outbox_held()), (1, 0), "the outbox is in the store, not read yet");
    dcs_sync::pump(back, &mut s2, &mut store).unwrap();
    assert_eq!(s2.outbox_held(), 1, "read back from the store");
    let next = s2.next_hlc(back);
    assert!(next.time > s.checkpoint().hlc_last);
    let e3 = event(&mut s2, 1, 3, &body, back);
    assert_eq!(
        s2.append(back, e3, Some(&body)).unwrap(),
        2,
        "position 2 is reused: it was never shipped"
    );
    let _ = hlc2;
}

#[test]
fn newer_protocol_version_is_refused_with_a_clear_message() {
    let mut r = region();
    let mut bytes = encode(&Message::Heartbeat(Heartbeat { hlc: 0, lag: 0 })).unwrap();
    bytes[0] = PROTOCOL_VERSION + 1;
    let err = r.handle_bytes(now(1), NodeId::Store(1), &bytes).unwrap_err();
    let v = PROTOCOL_VERSION;
    assert!(
        matches!(err, SyncError::UnsupportedVersion { got, supported } if got == v + 1 && supported == v)
    );
    let (to, msg) = r.poll_transmit().unwrap();
    assert_eq!(to, NodeId::Store(1));
    let Message::Refuse(refuse) = msg else { panic!() };
    assert_eq!(refuse.supported_version, PROTOCOL_VERSION);
    let mut s = local(1);
    s.handle_message(now(2), NodeId::Region(0), Message::Refuse(refuse)).unwrap();
    let why = s.refusal().unwrap().to_string();
    assert!(why.contains(&format!("supports protocol version {v}")), "{why}");
    // Unknown peers are refused too.
    assert!(matches!(
        r.handle_message(
            now(3),
            NodeId::Store(77),
            Message::Heartbeat(Heartbeat { hlc: 0, lag: 0 })
        ),
        Err(SyncError::UnknownPeer(NodeId::Store(77)))
    ));
}

/// Moves every message among the three tiers until quiet; returns the number of messages.
fn pump(
    stores: &mut [LocalMachine],
    r: &mut RegionalMachine,
    m: &mut MasterMachine,
    region_host: &mut MemStore,
    master_host: &mut MemStore,
    at: Now,
) -> usize {
    let mut n = 0;
    loop {
        let mut moved = false;
        for s in stores.iter_mut() {
            persist_local(s, at);
            while let Some((_, msg)) = s.poll_transmit() {
                let bytes = encode(&msg).unwrap();
                r.handle_bytes(at, s.node(), &bytes).unwrap();
                moved = true;
                n += 1;
            }
        }
        dcs_sync::pump(at, m, master_host).unwrap();
        persist_region(r, region_host, at);
        while let Some((to, msg)) = r.poll_transmit() {
            let bytes = encode(&msg).unwrap();
            if to == NodeId::Master {
                m.handle_bytes(at, NodeId::Region(0), &bytes).unwrap();
            } else {
                let s = stores.iter_mut().find(|s| s.node() == to).unwrap();
                s.handle_bytes(at, NodeId::Region(0), &bytes).unwrap();
            }
            moved = true;
            n += 1;
        }
        dcs_sync::pump(at, m, master_host).unwrap();
        while let Some((_, msg)) = m.poll_transmit() {
            r.handle_message(at, NodeId::Master, msg).unwrap();
            moved = true;
            n += 1;
        }
        if !moved {
            return n;
        }
    }
}

#[test]
fn stock_and_central_prices_reach_every_tier() {
    let mut stores = vec![local(1), local(2)];
    let mut r = region();
    let mut m = master();
    m.set_price(now(0), "MUG", 1299).unwrap();
    m.list_in_catalog(now(0), "MUG");
    let body = received(1, 10);
    let e = event(&mut stores[0], 1, 1, &body, now(1));
    stores[0].append(now(1), e, Some(&body)).unwrap();
    let mut master_host = MemStore::default();
    let mut region_host = MemStore::default();
    // A few sync rounds.
    for round in 0..6u64 {
        let at = now(1 + round * 10_000);
        for s in stores.iter_mut() {
            s.handle_timeout(at);
        }
        r.handle_timeout(at);
        pump(&mut stores, &mut r, &mut m, &mut region_host, &mut master_host, at);
    }
    for s in &stores {
        assert_eq!(s.state().on_hand("s1", "MUG"), 10, "{:?}", s.node());
        assert_eq!(s.state().price("MUG"), Some(1299));
        assert!(s.state().catalog.contains(&"MUG".into()));
    }
    assert_eq!(m.state(), r.state());
    assert_eq!(m.state(), stores[1].state());
    assert_eq!(master_host.items.len(), 1, "the master's store holds the summary once");
    let Item::Summary(sum) = &master_host.items[0].2 else { panic!() };
    assert_eq!(sum.stock.as_ref().map(|e| e.delta), Some(10));
    assert_eq!(r.lag(), 0);
    assert!(r.liveness().get(NodeId::Store(2)).unwrap().last_seen.is_some());
    assert_eq!(m.liveness().get(NodeId::Region(0)).unwrap().health, Health::Alive);
}

#[test]
fn a_revocation_from_the_master_reaches_every_tier_and_refuses_the_agents_later_events() {
    let mut stores = vec![local(1), local(2)];
    let mut r = region();
    let mut m = master();
    let (mut master_host, mut region_host) = (MemStore::default(), MemStore::default());
    let cut = T0 + 5_000;
    m.register_key(now(2), "acme", "pos-1", "ed25519", &[9; 32]).unwrap();
    m.revoke_key(now(2), "acme", "pos-1", cut, "till stolen").unwrap();
    // Store 1 is offline while the revocation travels: it reaches the region and store 2.
    let mut online = vec![stores.remove(1)];
    for k in 0..3 {
        let at = now(10 + k * 10_000);
        online[0].handle_timeout(at);
        r.handle_timeout(at);
        pump(&mut online, &mut r, &mut m, &mut region_host, &mut master_host, at);
    }
    stores.push(online.remove(0));
    let key = stores[1].state().agent_key("acme", "pos-1").expect("the registry reached store 2");
    assert_eq!(key.revoked.as_ref().map(|x| x.from_ms), Some(cut));
    assert!(stores[0].state().agent_key("acme", "pos-1").is_none(), "store 1 was offline");
    // Offline, pos-1 sells once before the cut and once after; pos-2 sells too.
    let (before, after, other) = (received(1, 3), received(1, 4), received(2, 5));
    let e1 = event(&mut stores[0], 1, 1, &before, now(1));
    let e2 = event(&mut stores[0], 1, 2, &after, now(40_000));
    let e3 = event(&mut stores[1], 2, 1, &other, now(40_000));
    assert!(stores[1].state().revocation_of(&e1).is_none(), "made before the cut");
    let why = stores[1].state().revocation_of(&e2).expect("made after the cut");
    assert!(why.contains("pos-1") && why.contains("till stolen"), "{why}");
    stores[0].append(now(40_000), e1, Some(&before)).unwrap();
    stores[0].append(now(40_000), e2.clone(), Some(&after)).unwrap();
    stores[1].append(now(40_000), e3, Some(&other)).unwrap();
    for k in 4..8 {
        let at = now(10 + k * 10_000);
        for s in stores.iter_mut() {
            s.handle_timeout(at);
        }
        r.handle_timeout(at);
        pump(&mut stores, &mut r, &mut m, &mut region_host, &mut master_host, at);
    }
    // The region refused the event made after the cut and told the store why.
    let got: Vec<&Rejection> = stores[0].rejections().collect();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].event_id, e2.event_id());
    assert!(got[0].reason.contains("revoked"), "{}", got[0].reason);
    assert_eq!(stores[1].rejections().count(), 0);
    assert_eq!(region_host.items.len(), 2, "the region stored the two events it did not refuse");
    assert_eq!(master_host.items.len(), 2, "and only they reached the master");
    let key = stores[0].state().agent_key("acme", "pos-1").expect("store 1 has it now");
    assert!(key.revoked.is_some());
    assert_eq!(m.state(), r.state());
}

#[test]
fn a_stores_enrollment_reaches_the_master_and_a_store_cannot_write_what_only_the_master_writes() {
    use dcs_crdt::Crdt;
    let mut stores = vec![local(1), local(2)];
    let mut r = region();
    let mut m = master();
    let (mut master_host, mut region_host) = (MemStore::default(), MemStore::default());
    m.set_price(now(1), "MUG", 1299).unwrap();
    m.revoke_key(now(2), "acme", "pos-9", T0, "till stolen").unwrap();
    assert!(stores[0].enroll_terminal(now(3), "acme", "pos-1", "ed25519", &[7; 32]).unwrap());
    let again = stores[0].enroll_terminal(now(4), "acme", "pos-1", "ed25519", &[7; 32]).unwrap();
    assert!(!again, "the same report twice is one change");
    let bad = stores[0].enroll_terminal(now(4), "acme", "pos/1", "ed25519", &[7; 32]);
    assert!(matches!(bad, Err(SyncError::Domain(m)) if m.starts_with("agent")));
    let mut round =
        |stores: &mut Vec<LocalMachine>, r: &mut RegionalMachine, m: &mut MasterMachine, k: u64| {
            let at = now(10 + k * 10_000);
            for s in stores.iter_mut() {
                s.handle_timeout(at);
            }
            r.handle_timeout(at);
            pump(stores, r, m, &mut region_host, &mut master_host, at);
        };
    for k in 0..4 {
        round(&mut stores, &mut r, &mut m, k);
    }
    let seen: Vec<Enrolled> = m.state().enrollments("acme").collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].agent, seen[0].enrollment.branch.as_str()), ("pos-1", "s1"));
    assert_eq!(seen[0].by, ReplicaId(1001), "the master knows which store reported it");
    assert_eq!(seen[0].enrollment.public_key, [7; 32]);
    assert!(m.state().agent_key("acme", "pos-1").is_none(), "a report registers no key");
    assert!(stores[1].state().enrollment("acme", "pos-1").is_some(), "and it comes down again");

    // Store 2 sends a payload that sets a price, lifts the revocation with a later stamp and
    // lists the catalog, beside an enrollment of its own: only the enrollment is merged.
    let at = now(50_000);
    let mut s2 = stores[1].state().clone();
    let late = stores[1].next_hlc(at).time + 1_000_000;
    let mut forged = s2.set_price(ReplicaId(1002), late, "MUG", 1).unwrap();
    let lifted = AgentKey { key: None, rotations: 0, revoked: None, previous: None };
    let keys = s2
        .keys
        .update(ReplicaId(1002), KeyName::from("acme/pos-9"), |reg| {
            Ok(reg.set(lifted, dcs_crdt::Hlc::new(late, ReplicaId(1002))))
        })
        .unwrap();
    let own = s2.enroll(ReplicaId(1002), late, "acme", "s2", "pos-2", "ed25519", &[8; 32]).unwrap();
    let catalog = s2.list_in_catalog(ReplicaId(1002), "FAKE");
    for d in [StateDelta { keys, ..StateDelta::default() }, own.unwrap(), catalog] {
        ReplicatedState::join_deltas(&mut forged, &d);
    }
    let push = Push {
        batch: 900,
        items: vec![],
        crdt: Some(CrdtPayload::Delta { from: 0, upto: 1_000, delta: forged }),
        have: 0,
        hlc: stores[1].next_hlc(at).time,
        lag: 0,
    };
    r.handle_bytes(at, NodeId::Store(2), &encode(&Message::Push(push)).unwrap()).unwrap();
    assert_eq!(r.stats().master_writes_dropped, 1);
    for k in 6..10 {
        round(&mut stores, &mut r, &mut m, k);
    }
    for (tier, state) in
        [("region", r.state()), ("master", m.state()), ("store 1", stores[0].state())]
    {
        assert_eq!(state.price("MUG"), Some(1299), "{tier}: the master's price stands");
        let key = state.agent_key("acme", "pos-9").expect(tier);
        assert!(key.revoked.is_some(), "{tier}: the revocation stands");
        assert!(!state.catalog.contains(&"FAKE".into()), "{tier}");
        assert!(
            state.enrollment("acme", "pos-2").is_some(),
            "{tier}: the store's own report is merged"
        );
    }
    assert_eq!(m.state(), r.state());
}

#[test]
fn ack_before_durable_fault_acks_unpersisted_events() {
    let mut s = local(1);
    let mut r = region();
    r.set_faults(Faults { ack_before_durable: true, ..Faults::default() });
    let body = received(1, 1);
    let e = event(&mut s, 1, 1, &body, now(1));
    s.append(now(1), e, Some(&body)).unwrap();
    persist_local(&mut s, now(1));
    s.handle_timeout(now(1));
    let push = drain(|| s.poll_transmit()).remove(0).1;
    r.handle_message(now(2), NodeId::Store(1), push).unwrap();
    // Only the region's clock is made durable, not the event.
    let b = r.poll_persist().unwrap();
    assert!(matches!(b.ops[..], [WriteOp::Hlc { .. }]), "{:?}", b.ops);
    r.handle_persisted(now(2), b.token, &[]).unwrap();
    let Some((_, Message::Ack(a))) = r.poll_transmit() else { panic!() };
    assert_eq!(a.durable_pos, 1);
    assert_eq!(
        r.checkpoint().inbox.get(&NodeId::Store(1)),
        None,
        "acknowledged yet not durable: the bug"
    );
}

/// Pushes everything `s` holds to `r` and back until the store's outbox is acknowledged.
fn sync_round(
    s: &mut LocalMachine,
    store: &mut MemStore,
    r: &mut RegionalMachine,
    host: &mut MemStore,
    at: Now,
) {
    for _ in 0..10_000 {
        dcs_sync::pump(at, s, store).unwrap();
        s.handle_timeout(at);
        let out = drain(|| s.poll_transmit());
        if out.is_empty() && s.lag() == 0 {
            return;
        }
        for (_, m) in out {
            r.handle_message(at, s.node(), m).unwrap();
        }
        persist_region(r, host, at);
        for (to, m) in drain(|| r.poll_transmit()) {
            if to == s.node() {
                s.handle_message(at, NodeId::Region(0), m).unwrap();
            }
        }
    }
    panic!("the outbox never drained: lag {}", s.lag());
}

#[test]
fn a_duplicate_at_a_new_position_is_caught_by_the_store_and_not_forwarded() {
    let mut s = local(1);
    let mut store = MemStore::default();
    let mut r = region();
    let mut host = MemStore::default();
    let body = received(1, 2);
    let e = event(&mut s, 1, 1, &body, now(1));
    s.append(now(1), e.clone(), Some(&body)).unwrap();
    sync_round(&mut s, &mut store, &mut r, &mut host, now(2));
    assert_eq!((s.acked(), host.items.len(), host.head()), (1, 1, 1));
    // The store lost its state and re-sends the same event at a new position (2): the
    // region's position check cannot catch it, its store does.
    s.append(now(3), e, None).unwrap();
    sync_round(&mut s, &mut store, &mut r, &mut host, now(4));
    assert_eq!(s.acked(), 2, "the duplicate's position counts as handled");
    assert_eq!(host.items.len(), 1, "stored once");
    assert_eq!(host.head(), 1, "forwarded once: no second summary for the master");
    assert_eq!(r.stats().duplicates, 1);
    assert_eq!(r.stats().accepted, 1);
}

#[test]
fn outcomes_that_do_not_match_the_accepted_items_are_refused() {
    let mut s = local(1);
    let mut r = region();
    let body = received(1, 2);
    let e = event(&mut s, 1, 1, &body, now(1));
    s.append(now(1), e, Some(&body)).unwrap();
    persist_local(&mut s, now(1));
    s.handle_timeout(now(1));
    for (_, m) in drain(|| s.poll_transmit()) {
        r.handle_message(now(2), NodeId::Store(1), m).unwrap();
    }
    let mut token = 0;
    while let Some(b) = r.poll_persist() {
        token = b.token;
    }
    let err = r.handle_persisted(now(2), token, &[]).unwrap_err();
    assert!(matches!(err, SyncError::Outcomes { expected: 1, got: 0 }), "{err}");
    assert!(err.to_string().contains("one outcome per WriteOp::Accept"));
    let err = s.handle_persisted(now(2), 1, &[Outcome::Duplicate]).unwrap_err();
    assert!(matches!(err, SyncError::Outcomes { expected: 0, got: 1 }));
    let e2 = event(&mut s, 1, 2, &body, now(3));
    let err = s.append_at(now(3), 7, e2, None).unwrap_err();
    assert!(matches!(err, SyncError::OutOfOrder { expected: 2, got: 7 }), "{err}");
}

#[test]
fn a_store_refusal_reaches_the_child_as_a_rejection() {
    let mut s = local(1);
    let mut store = MemStore::default();
    let mut r = region();
    let body = received(1, 2);
    let e = event(&mut s, 1, 1, &body, now(1));
    s.append(now(1), e, Some(&body)).unwrap();
    dcs_sync::pump(now(1), &mut s, &mut store).unwrap();
    s.handle_timeout(now(1));
    for (_, m) in drain(|| s.poll_transmit()) {
        r.handle_message(now(2), NodeId::Store(1), m).unwrap();
    }
    while let Some(b) = r.poll_persist() {
        let outcomes: Vec<Outcome> = (0..b.accepts())
            .map(|_| Outcome::Refused { reason: "tenant acme is shredded".into() })
            .collect();
        r.handle_persisted(now(2), b.token, &outcomes).unwrap();
    }
    for (_, m) in drain(|| r.poll_transmit()) {
        s.handle_message(now(3), NodeId::Region(0), m).unwrap();
    }
    let got: Vec<&Rejection> = s.rejections().collect();
    assert_eq!(got.len(), 1);
    assert!(got[0].reason.contains("shredded"));
    assert_eq!(s.acked(), 1, "a refused position counts as handled");
    dcs_sync::pump(now(3), &mut s, &mut store).unwrap();
    assert_eq!(store.refused_by_parent.len(), 1, "the store records the refusal");
    assert_eq!(r.stats().rejected, 1);
}

#[test]
fn a_long_offline_outbox_stays_in_the_store_and_is_read_back_in_pages() {
    let window = 64;
    let sync = SyncConfig { outbox_window_items: window, max_batch_items: 32, ..cfg() };
    let lc = LocalConfig {
        node: NodeId::Store(1),
        region: NodeId::Region(0),
        branch: BranchId::new("s1").unwrap(),
        replica: ReplicaId(1001),
        sync,
    };
    let mut s = LocalMachine::new(lc.clone(), now(0), 1).unwrap();
    let mut store = MemStore::default();
    let body = received(1, 1);
    for k in 1..=1_000u64 {
        let e = event(&mut s, 1, k, &body, now(k));
        s.append(now(k), e, Some(&body)).unwrap();
        dcs_sync::pump(now(k), &mut s, &mut store).unwrap();
        assert!(s.outbox_held() <= window, "{} held", s.outbox_held());
    }
    assert_eq!((s.lag(), s.outbox_held()), (1_000, window));
    // Restart (the offline hours are over): nothing of the outbox is loaded up front.
    let mut s = LocalMachine::restore(lc, store.load().unwrap(), now(2_000), 2).unwrap();
    assert_eq!((s.lag(), s.outbox_held()), (1_000, 0));
    let mut r = region();
    let mut host = MemStore::default();
    sync_round(&mut s, &mut store, &mut r, &mut host, now(3_000));
    assert_eq!(host.items.len(), 1_000, "every event reached the region once");
    let positions: Vec<u64> = host.items.iter().map(|(_, p, _)| *p).collect();
    assert_eq!(positions, (1..=1_000).collect::<Vec<_>>(), "in order");
    assert!(s.stats().outbox_reads >= 1_000 / window as u64, "{:?}", s.stats());
    assert_eq!(r.state().on_hand("s1", "MUG"), 1_000);
}

#[test]
fn the_region_reports_which_stores_have_a_master_change() {
    let mut stores = vec![local(1), local(2)];
    let mut r = region();
    let mut m = master();
    let (mut master_host, mut region_host) = (MemStore::default(), MemStore::default());
    let mut rounds = |stores: &mut Vec<LocalMachine>,
                      r: &mut RegionalMachine,
                      m: &mut MasterMachine,
                      from: u64| {
        for round in 0..6u64 {
            let at = now(from + round * 10_000);
            for s in stores.iter_mut() {
                s.handle_timeout(at);
            }
            r.handle_timeout(at);
            pump(stores, r, m, &mut region_host, &mut master_host, at);
        }
    };
    rounds(&mut stores, &mut r, &mut m, 1);
    let reach = |r: &RegionalMachine, n: u32| {
        r.store_reach().into_iter().find(|(s, _)| *s == NodeId::Store(n)).map(|(_, h)| h)
    };
    m.set_price(now(100_000), "MUG", 1299).unwrap();
    let p = m.log_position();
    assert!(p > 0);
    assert!(reach(&r, 1).unwrap_or(0) < p, "not sent yet");
    // Store 2 goes offline: only store 1 takes part in the next rounds.
    let mut offline = stores.pop().unwrap();
    rounds(&mut stores, &mut r, &mut m, 100_001);
    assert_eq!(stores[0].state().price("MUG"), Some(1299));
    assert!(reach(&r, 1).unwrap() >= p, "store 1 has the change: {:?}", r.store_reach());
    assert_eq!(offline.state().price("MUG"), None);
    assert!(reach(&r, 2).unwrap_or(0) < p, "store 2 does not, and is not said to");
    // Back online, it catches up and the region says so.
    stores.push(offline);
    rounds(&mut stores, &mut r, &mut m, 200_001);
    offline = stores.pop().unwrap();
    assert_eq!(offline.state().price("MUG"), Some(1299));
    assert!(reach(&r, 2).unwrap() >= p);
    // A region restarted from its store knows only its durable position: never too much.
    let restored = RegionalMachine::restore(
        region_cfg(),
        Box::new(KeyedVerifier::new(KEY)),
        region_host.load().unwrap(),
        now(300_000),
        5,
    )
    .unwrap();
    assert!(restored.store_reach().is_empty(), "until a store reports again: unknown");
}
