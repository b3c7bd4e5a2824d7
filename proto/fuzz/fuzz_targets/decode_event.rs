//! Decodes arbitrary bytes as a `dcs.v1.SovereignFinancialEvent` and converts it to a
//! dcs-core event: it must return Ok or Err and never panic. An event that decodes must
//! re-encode to bytes that decode to the same event (with the same compliance proofs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match dcs_proto::decode_event_with_proofs(data) {
        Ok(decoded) => {
            let again = dcs_proto::encode_event_with_proofs(&decoded);
            assert_eq!(dcs_proto::decode_event_with_proofs(&again).ok(), Some(decoded));
        }
        Err(err) => {
            // Formatting the error must not panic either.
            let _ = err.to_string();
        }
    }
});
