//! core → proto → core is the identity, through messages and through bytes.

use dcs_core::{CausalContext, EventType, Money, SovereignFinancialEvent};
use dcs_proto::{
    EventWithProofs, decode_event, decode_event_with_proofs, decode_message, encode_event,
    encode_event_with_proofs, pb,
};
use proptest::prelude::*;
use prost::Message;

use crate::strategies::{event, money, proofs, sample};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn event_message_round_trip_is_identity(e in event()) {
        let message = pb::SovereignFinancialEvent::from(&e);
        let back = SovereignFinancialEvent::try_from(message).map_err(|err| err.to_string());
        prop_assert_eq!(back, Ok(e));
    }

    #[test]
    fn event_bytes_round_trip_is_identity(e in event()) {
        let bytes = encode_event(&e);
        let message = decode_message(&bytes).map_err(|err| TestCaseError::fail(err.to_string()))?;
        // Protobuf bytes → message → bytes is stable too.
        prop_assert_eq!(message.encode_to_vec(), bytes.clone());
        prop_assert_eq!(message, pb::SovereignFinancialEvent::from(&e));
        let back = decode_event(&bytes).map_err(|err| err.to_string());
        prop_assert_eq!(back, Ok(e.clone()));
        // What is signed is unchanged by the trip.
        prop_assert_eq!(decode_event(&bytes).map(|b| b.canonical_bytes()).ok(), Some(e.canonical_bytes()));
    }

    #[test]
    fn proofs_travel_with_the_event(e in event(), proofs in proofs()) {
        let with = EventWithProofs { event: e.clone(), compliance_proofs: proofs };
        let bytes = encode_event_with_proofs(&with);
        let back = decode_event_with_proofs(&bytes).map_err(|err| err.to_string());
        prop_assert_eq!(back, Ok(with));
        // The plain decoder checks the proofs and keeps the event alone.
        prop_assert_eq!(decode_event(&bytes).map_err(|err| err.to_string()), Ok(e));
    }

    #[test]
    fn money_round_trip_is_identity(m in money()) {
        prop_assert_eq!(Money::try_from(pb::Money::from(m)).map_err(|err| err.to_string()), Ok(m));
    }

    #[test]
    fn causality_round_trip_is_identity(e in event()) {
        let c = e.causality();
        let back = CausalContext::try_from(pb::CausalContext::from(c)).map_err(|err| err.to_string());
        prop_assert_eq!(back, Ok(c.clone()));
    }
}

#[test]
fn event_type_values_are_core_codes() {
    for &t in EventType::ALL {
        let p = pb::EventType::from(t);
        assert_eq!(p as i32, i32::from(t.code()), "{t}");
        assert_eq!(p.as_str_name(), format!("EVENT_TYPE_{}", t.name()));
        assert_eq!(EventType::try_from(p).unwrap(), t);
    }
    // Every value of the proto enum but UNSPECIFIED is a core type, and no other.
    for value in 0..=i32::from(u8::MAX) {
        let in_proto =
            pb::EventType::try_from(value).is_ok_and(|p| p != pb::EventType::Unspecified);
        let in_core = u16::try_from(value).is_ok_and(|code| EventType::from_code(code).is_ok());
        assert_eq!(in_proto, in_core, "value {value}");
    }
}

#[test]
fn sample_round_trips_with_every_optional_field() {
    let e = sample();
    assert!(e.audit().approved_by.is_some() && e.audit().signature.is_some());
    assert_eq!(decode_event(&encode_event(&e)).unwrap(), e);
}
