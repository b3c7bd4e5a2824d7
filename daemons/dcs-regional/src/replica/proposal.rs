//! What a Raft entry of the region carries: one input of the regional machine, the leader's
//! clock, and the leader's verdicts on the events in it.

use std::sync::Arc;

use dcs_core::EventId;
use dcs_core::commerce::EventBody;
use dcs_sync::{NodeId, Now, VerifyError};
use serde::{Deserialize, Serialize};

/// The leader's clock as it proposed the entry (applied clamped: never below an earlier
/// entry's, see [`crate::replica::Replica`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Clock {
    /// Monotonic milliseconds (timers).
    pub mono_ms: u64,
    /// Wall-clock Unix milliseconds (the HLC).
    pub wall_ms: u64,
}

impl From<Clock> for Now {
    fn from(c: Clock) -> Now {
        Now { mono_ms: c.mono_ms, wall_ms: c.wall_ms }
    }
}

/// One input of the regional machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A sync message from a store or the master, as it came off the wire, with the leader's
    /// verdict on each event in it.
    Message {
        /// The peer it came from (authenticated by the transport).
        from: NodeId,
        /// The encoded `dcs_sync::Message` (shared: an entry is cloned for every reader of
        /// the log; encodes as one byte string).
        #[serde(with = "shared_bytes")]
        bytes: Arc<[u8]>,
        /// The leader's verdict on each event of a push, in item order (shared likewise).
        verdicts: Arc<[Verdict]>,
    },
    /// The machine's timers are due.
    Tick,
}

/// `Arc<[u8]>` as one byte string: one length and one copy, where a sequence costs a call
/// per byte (postcard writes the same bytes either way, so the log's format is unchanged).
mod shared_bytes {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &Arc<[u8]>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[u8]>, D::Error> {
        serde_bytes::ByteBuf::deserialize(d).map(|b| Arc::from(b.into_vec()))
    }
}

/// The leader's verdict on one event: followers apply it instead of verifying again, so
/// applying stays a pure function of the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The event judged.
    pub event_id: EventId,
    /// What the leader found.
    pub outcome: Judged,
}

/// What the leader's verifier found of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Judged {
    /// Authentic; the body when the region may read it (the summary's stock movement).
    Authentic(Option<EventBody>),
    /// The MAC does not match.
    BadMac,
    /// The signature does not verify.
    BadSignature,
    /// Refused for another reason.
    Refused(String),
}

impl Judged {
    /// The verifier's answer this verdict stands for.
    pub fn result(&self) -> Result<(), VerifyError> {
        match self {
            Judged::Authentic(_) => Ok(()),
            Judged::BadMac => Err(VerifyError::BadMac),
            Judged::BadSignature => Err(VerifyError::BadSignature),
            Judged::Refused(r) => Err(VerifyError::Other(r.clone())),
        }
    }
}

/// A Raft entry's application data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The leader's clock.
    pub clock: Clock,
    /// The machine's input.
    pub input: Input,
}

impl std::fmt::Display for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.input {
            Input::Message { from, bytes, verdicts } => write!(
                f,
                "message from {from} ({} bytes, {} verdicts) at {}",
                bytes.len(),
                verdicts.len(),
                self.clock.mono_ms
            ),
            Input::Tick => write!(f, "tick at {}", self.clock.mono_ms),
        }
    }
}

/// What applying a [`Proposal`] answers its proposer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The log index it was applied at.
    pub index: u64,
    /// Why the machine refused the input, if it did (an unknown peer, a message that does
    /// not decode): the same answer on every replica.
    pub refused: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry as the log wrote it before its bytes were shared: a sequence of u8.
    #[derive(Serialize)]
    enum OldInput {
        Message { from: NodeId, bytes: Vec<u8>, verdicts: Vec<Verdict> },
    }

    #[test]
    fn the_shared_bytes_keep_the_logs_encoding() {
        let (from, raw) = (NodeId::Store(3), vec![0u8, 1, 200, 255, 7]);
        let verdicts = vec![Verdict {
            event_id: EventId::new_v7(1_000, [4; 10]),
            outcome: Judged::Refused("revoked".into()),
        }];
        let new = Proposal {
            clock: Clock { mono_ms: 5, wall_ms: 6 },
            input: Input::Message {
                from,
                bytes: raw.clone().into(),
                verdicts: verdicts.clone().into(),
            },
        };
        let old =
            (Clock { mono_ms: 5, wall_ms: 6 }, OldInput::Message { from, bytes: raw, verdicts });
        let bytes = postcard::to_allocvec(&new).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&old).unwrap());
        assert_eq!(postcard::from_bytes::<Proposal>(&bytes).unwrap(), new);
    }
}
