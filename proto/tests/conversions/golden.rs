//! The wire bytes of a fixed event: a change of a field number or type breaks this test.

use dcs_proto::{decode_event, encode_event};

use crate::strategies::sample;

/// `encode_event(&sample())`, in hex. Field numbers and types are the contract: when this
/// changes, the `.proto` changed in a way that breaks every deployed reader.
const SAMPLE_HEX: &str = concat!(
    "0a10018bcfe56800770787070707070707071210018bcfe56800770787070707070707071a077361",
    "6c652d3432220461636d652a0773746f72652d373205706f732d313802420a089e1f120355534418",
    "024a180a0f74656e616e742d61636d652f6b656b10031a0301020352280a1b09000000002a000000",
    "12100909090909090909090909090909090912090a05706f732d3110055a9b010a05706f732d3112",
    "0a73757065727669736f721a40aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa224408",
    "02124001010101010101010101010101010101010101010101010101010101010101010101010101",
    "010101010101010101010101010101010101010101010101010101",
);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sample_event_wire_bytes_are_pinned() {
    let bytes = encode_event(&sample());
    assert_eq!(hex(&bytes), SAMPLE_HEX);
    assert_eq!(decode_event(&bytes).unwrap(), sample());
}
