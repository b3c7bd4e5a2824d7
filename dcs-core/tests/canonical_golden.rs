//! Pins the canonical bytes (MACed and signed) and the AEAD associated data byte for byte.
//!
//! If this test fails, the encoding changed: that breaks every stored MAC and signature.
//! Introduce a new canonical version instead. To write the file for a *new* version on
//! purpose, run with `DCS_BLESS=1`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

fn vector_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/canonical_v1.txt")
}

#[test]
fn canonical_bytes_match_golden_vector() {
    let event = common::sample_event();
    let actual = format!(
        "canonical_bytes {}\naad_bytes {}\n",
        common::hex(&event.canonical_bytes()),
        common::hex(&event.aad_bytes())
    );
    if std::env::var_os("DCS_BLESS").is_some() {
        std::fs::write(vector_path(), &actual).unwrap();
    }
    let expected = std::fs::read_to_string(vector_path()).unwrap();
    assert_eq!(
        actual, expected,
        "canonical encoding changed; see the note at the top of this file"
    );
}

/// The whole event as stores keep it (postcard): written by the encoding of 2026-11-24,
/// which cloned the event into its serde form; today's borrows it and must match.
#[test]
fn stored_event_bytes_match_golden_vector() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/event_postcard_v1.hex");
    let expected = std::fs::read_to_string(path).unwrap();
    let event = common::sample_event();
    assert_eq!(common::hex(&postcard::to_allocvec(&event).unwrap()), expected.trim());
    let bytes: Vec<u8> = (0..expected.trim().len() / 2)
        .map(|i| u8::from_str_radix(&expected[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let decoded: dcs_core::SovereignFinancialEvent = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, event);
}

#[test]
fn canonical_bytes_exclude_mac_and_signature_but_cover_everything_else() {
    let event = common::sample_event();
    let base = event.canonical_bytes();
    let mut resealed = event.clone();
    resealed.set_mac(vec![9; 64]);
    assert_eq!(resealed.canonical_bytes(), base, "the MAC must not cover itself");
    let mut moved = event.clone();
    moved.set_envelope(vec![0xAC; 48]).unwrap();
    assert_ne!(moved.canonical_bytes(), base, "the envelope digest is signed");
    assert_eq!(moved.aad_bytes(), event.aad_bytes(), "the AAD never depends on the ciphertext");
}
