//! The wire form: one protocol-version byte, then the postcard encoding of a [`Message`].
//!
//! Decoding never panics: arbitrary bytes give a [`SyncError`]; a newer version gives
//! [`SyncError::UnsupportedVersion`] (machines answer it with a [`crate::Refuse`]).

use alloc::string::ToString;
use alloc::vec::Vec;

use dcs_crdt::Crdt;

use crate::SyncError;
use crate::messages::{CrdtPayload, Message, PROTOCOL_VERSION};
use crate::state::ReplicatedState;

/// Largest encoded message accepted (16 MiB).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// Encodes `msg` as `[PROTOCOL_VERSION] ++ postcard(msg)`.
///
/// # Errors
/// [`SyncError::Encode`] if serialization fails, [`SyncError::TooLarge`] over [`MAX_MESSAGE_LEN`].
pub fn encode(msg: &Message) -> Result<Vec<u8>, SyncError> {
    let mut out = Vec::with_capacity(128);
    encode_into(msg, &mut out)?;
    Ok(out)
}

/// [`encode`] into `buf` (cleared first), so that a sender encoding many messages reuses one
/// buffer instead of growing a new one for each.
///
/// # Errors
/// As [`encode`]; `buf` then holds no complete message.
pub fn encode_into(msg: &Message, buf: &mut Vec<u8>) -> Result<(), SyncError> {
    buf.clear();
    buf.push(PROTOCOL_VERSION);
    let out = postcard::to_extend(msg, core::mem::take(buf));
    *buf = out.map_err(|e| SyncError::Encode(e.to_string()))?;
    if buf.len() > MAX_MESSAGE_LEN {
        return Err(SyncError::TooLarge { len: buf.len(), max: MAX_MESSAGE_LEN });
    }
    Ok(())
}

/// Decodes and validates a message (CRDT payloads are checked with `dcs-crdt`'s validators).
///
/// # Errors
/// [`SyncError::Empty`], [`SyncError::TooLarge`], [`SyncError::UnsupportedVersion`],
/// [`SyncError::Decode`], [`SyncError::Trailing`] or [`SyncError::Crdt`].
pub fn decode(bytes: &[u8]) -> Result<Message, SyncError> {
    let (&version, body) = bytes.split_first().ok_or(SyncError::Empty)?;
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(SyncError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_LEN });
    }
    if version > PROTOCOL_VERSION {
        return Err(SyncError::UnsupportedVersion { got: version, supported: PROTOCOL_VERSION });
    }
    if version < PROTOCOL_VERSION {
        return Err(SyncError::Decode(alloc::format!(
            "sync protocol version {version} is older than this node's {PROTOCOL_VERSION}: \
             upgrade the sender"
        )));
    }
    let (msg, rest): (Message, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| SyncError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(SyncError::Trailing(rest.len()));
    }
    match msg.crdt() {
        Some(CrdtPayload::Delta { from, upto, delta }) => {
            if from >= upto {
                return Err(SyncError::Crdt("delta range is empty or reversed".into()));
            }
            ReplicatedState::validate_delta(delta).map_err(|e| SyncError::Crdt(e.to_string()))?;
        }
        Some(CrdtPayload::Full { state, .. }) => {
            state.validate().map_err(|e| SyncError::Crdt(e.to_string()))?;
        }
        None => {}
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Heartbeat, Push};
    use crate::rng::SplitMix64;

    #[test]
    fn round_trip_and_version_refusal() {
        let m = Message::Heartbeat(Heartbeat { hlc: 42, lag: 3 });
        let bytes = encode(&m).unwrap();
        assert_eq!(bytes[0], PROTOCOL_VERSION);
        assert_eq!(decode(&bytes).unwrap(), m);
        let mut newer = bytes.clone();
        newer[0] = PROTOCOL_VERSION + 1;
        let supported = PROTOCOL_VERSION;
        assert_eq!(
            decode(&newer),
            Err(SyncError::UnsupportedVersion { got: supported + 1, supported })
        );
        let mut older = bytes.clone();
        older[0] = PROTOCOL_VERSION - 1;
        assert!(
            matches!(decode(&older), Err(SyncError::Decode(m)) if m.contains("upgrade the sender"))
        );
        assert!(decode(&newer).unwrap_err().to_string().contains("upgrade"));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(SyncError::Trailing(1)));
        assert_eq!(decode(&[]), Err(SyncError::Empty));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = SplitMix64::new(9);
        let push =
            Message::Push(Push { batch: 1, items: vec![], crdt: None, have: 0, hlc: 1, lag: 0 });
        let good = encode(&push).unwrap();
        for n in 0..20_000 {
            let len = rng.below(64) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            if n % 2 == 0 && !b.is_empty() {
                b[0] = PROTOCOL_VERSION;
            }
            let _ = decode(&b);
            // Flip bytes of a valid message too.
            let mut g = good.clone();
            let i = rng.below(g.len() as u64) as usize;
            g[i] ^= rng.next_u64() as u8 | 1;
            let _ = decode(&g);
        }
    }
}
