//! The keyed chain and its anchors against an attacker who can write the file and knows the
//! format: an unkeyed chain is recomputed after deleting a middle sale and passes; a keyed
//! one fails; dropping the last sale and fixing the head is found by the region's anchor,
//! even when the stored anchor is deleted too. Upgrading an unkeyed store re-chains it.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use dcs_core::AgentId;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::{KeyRegistry, MacKey, Signer};
use dcs_store::chain::{GENESIS, RowHash, RowPlace, row_hash};
use dcs_store::conformance::test_event;
use dcs_store::sqlite::{ChainAnchor, Options, SqliteStore};
use dcs_store::{ExpectedVersion, StoreError, StreamId};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rusqlite::{Connection, params};

fn mac() -> MacKey {
    MacKey::from_bytes(&[7; 32]).unwrap()
}

/// Ten sales, one event and one stream each.
fn ten_sales(store: &SqliteStore) {
    for i in 0..10u64 {
        let s = StreamId::new(format!("sale-{i}")).unwrap();
        store
            .append_sync(&s, ExpectedVersion::NoStream, &[test_event("t1", i, &format!("k{i}"))])
            .unwrap();
    }
}

/// The attacker: deletes the sale at `victim`, renumbers the rows after it and recomputes
/// the unkeyed chain and its head, as the published format says.
fn delete_and_rechain(path: &Path, victim: u64) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         DELETE FROM streams WHERE stream_id = (SELECT stream_id FROM events WHERE position = {victim});
         DELETE FROM events WHERE position = {victim};
         UPDATE events SET position = -position, batch_first = -batch_first, batch_last = -batch_last WHERE position > {victim};
         UPDATE events SET position = -position - 1, batch_first = -batch_first - 1, batch_last = -batch_last - 1 WHERE position < 0;
         COMMIT;"
    ))
    .unwrap();
    let rows: Vec<(u64, String, u64, Vec<u8>)> = conn
        .prepare("SELECT position, stream_id, stream_version, event FROM events ORDER BY position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev: RowHash = GENESIS;
    for (position, stream_id, stream_version, event) in &rows {
        let place = RowPlace {
            position: *position,
            stream_id,
            stream_version: *stream_version,
            batch_first: *position,
            batch_last: *position,
        };
        let hash = row_hash(&prev, &place, event);
        conn.execute(
            "UPDATE events SET prev_hash = ?1, row_hash = ?2 WHERE position = ?3",
            params![prev.as_slice(), hash.as_slice(), position],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute(
        "UPDATE chain_head SET position = ?1, hash = ?2",
        params![rows.len() as u64, prev.as_slice()],
    )
    .unwrap();
}

#[test]
fn an_unkeyed_chain_is_recomputed_by_the_attacker_a_keyed_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    ten_sales(&SqliteStore::open(&plain).unwrap());
    delete_and_rechain(&plain, 5);
    // The weakness the keyed chain fixes: the edit passes an unkeyed verification.
    assert_eq!(SqliteStore::open(&plain).unwrap().verify_chain().unwrap().rows, 9);

    let keyed = dir.path().join("keyed.db");
    ten_sales(&SqliteStore::open_keyed(&keyed, Options::default(), &mac()).unwrap());
    delete_and_rechain(&keyed, 5);
    let err = match SqliteStore::open_keyed(&keyed, Options::default(), &mac()) {
        Err(e) => e,
        Ok(store) => store.verify_chain().unwrap_err(),
    };
    assert!(
        err.to_string().contains("edited") || matches!(err, StoreError::Tampered { .. }),
        "{err}"
    );
}

fn region() -> (Signer, AgentId, KeyRegistry) {
    let signer =
        Signer::generate(SignatureAlgorithm::Ed25519, &mut ChaCha20Rng::from_seed([3; 32]));
    let id = AgentId::new("region-eu").unwrap();
    let mut registry = KeyRegistry::new();
    registry.register(&id, signer.verifier());
    (signer, id, registry)
}

#[test]
fn dropping_the_last_sale_is_found_by_the_anchor_even_without_the_stored_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (signer, id, registry) = region();
    let store = SqliteStore::open_keyed(&path, Options::default(), &mac()).unwrap();
    ten_sales(&store);
    // The region acknowledges position 10 and signs the chain head it received.
    let anchor = ChainAnchor::sign(
        &store.store_id().unwrap(),
        10,
        store.chain_head_at(10).unwrap(),
        id.clone(),
        &signer,
    );
    store.record_anchor(&anchor, &registry).unwrap();
    assert_eq!(store.verify_chain_against(&anchor, &registry).unwrap().rows, 10);
    drop(store);
    // The attacker drops the last sale and points the head at the row before (its link is
    // in the file: no key needed).
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DELETE FROM streams WHERE stream_id = 'sale-9'; DELETE FROM events WHERE position = 10;
         UPDATE chain_head SET position = 9, hash = (SELECT row_hash FROM events WHERE position = 9);",
    )
    .unwrap();
    let store = SqliteStore::open_keyed(&path, Options::default(), &mac()).unwrap();
    let err = store.verify_chain().unwrap_err();
    assert!(matches!(err, StoreError::Tampered { .. }), "{err:?}");
    assert!(err.to_string().contains("region-eu signed that it held position 10"), "{err}");
    drop(store);
    // Deleting the stored anchor too: the region's own copy still fails the log.
    conn.execute_batch("DELETE FROM chain_anchor").unwrap();
    let store = SqliteStore::open_keyed(&path, Options::default(), &mac()).unwrap();
    assert_eq!(store.verify_chain().unwrap().rows, 9, "truncation nobody outside saw is not found");
    let err = store.verify_chain_against(&anchor, &registry).unwrap_err();
    assert!(err.to_string().contains("events were deleted"), "{err}");
}

#[test]
fn a_forged_or_foreign_anchor_is_refused() {
    let (signer, id, registry) = region();
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open_keyed(dir.path().join("s.db"), Options::default(), &mac()).unwrap();
    ten_sales(&store);
    let sid = store.store_id().unwrap();
    let mut forged =
        ChainAnchor::sign(&sid, 10, store.chain_head_at(10).unwrap(), id.clone(), &signer);
    forged.position = 9;
    let err = store.record_anchor(&forged, &registry).unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
    let other_store = ChainAnchor::sign(
        "another-store",
        10,
        store.chain_head_at(10).unwrap(),
        id.clone(),
        &signer,
    );
    assert!(matches!(
        store.record_anchor(&other_store, &registry).unwrap_err(),
        StoreError::Crypto(_)
    ));
    let wrong_head = ChainAnchor::sign(&sid, 10, [9; 32], id, &signer);
    let err = store.record_anchor(&wrong_head, &registry).unwrap_err();
    assert!(matches!(err, StoreError::Tampered { .. }), "{err:?}");
    assert!(store.anchor().unwrap().is_none());
}

#[test]
fn an_unkeyed_store_is_upgraded_once_and_then_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    ten_sales(&store);
    let before = store.read_all_sync(1, 100).unwrap();
    drop(store);
    let store = SqliteStore::open_keyed(&path, Options::default(), &mac()).unwrap();
    assert_eq!(store.verify_chain().unwrap().rows, 10);
    assert_eq!(store.read_all_sync(1, 100).unwrap(), before, "events unchanged, links re-made");
    store
        .append_sync(
            &StreamId::new("after").unwrap(),
            ExpectedVersion::Any,
            &[test_event("t1", 50, "k50")],
        )
        .unwrap();
    drop(store);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("keyed chain"), "{err}");
    let err =
        SqliteStore::open_keyed(&path, Options::default(), &MacKey::from_bytes(&[8; 32]).unwrap())
            .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "mac_key", .. }), "{err:?}");
    assert_eq!(
        SqliteStore::open_keyed(&path, Options::default(), &mac())
            .unwrap()
            .verify_chain()
            .unwrap()
            .rows,
        11
    );
}

#[test]
fn a_broken_unkeyed_chain_is_not_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    ten_sales(&SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute_batch("UPDATE events SET row_hash = zeroblob(32) WHERE position = 4")
        .unwrap();
    let err = SqliteStore::open_keyed(&path, Options::default(), &mac()).unwrap_err();
    assert!(matches!(err, StoreError::Tampered { position: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("not upgraded"), "{err}");
}

#[test]
fn the_chain_key_is_bound_to_the_store() {
    let a = mac().derive_chain_key(b"store-a").unwrap();
    let b = mac().derive_chain_key(b"store-b").unwrap();
    assert_ne!(*a, *b);
    assert_eq!(*a, *mac().derive_chain_key(b"store-a").unwrap());
    assert_ne!(*a, *MacKey::from_bytes(&[8; 32]).unwrap().derive_chain_key(b"store-a").unwrap());
}
