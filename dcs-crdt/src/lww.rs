//! Last-writer-wins register.

use serde::{Deserialize, Serialize};

use crate::{CrdtError, Hlc};

/// Register whose latest write wins (prices, configuration), ordered by [`Hlc`] timestamp.
///
/// Equal HLC times are broken by replica id. A replica that writes two different values with the
/// same timestamp breaks the HLC contract; replicas still converge, on the greater value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LWWRegister<T> {
    write: Option<(Hlc, T)>,
}

impl<T> Default for LWWRegister<T> {
    fn default() -> Self {
        Self { write: None }
    }
}

impl<T: Ord + Clone> LWWRegister<T> {
    /// A register that was never written.
    #[must_use]
    pub const fn new() -> Self {
        Self { write: None }
    }

    /// Writes `value` at `stamp` (the caller's HLC time and replica id); returns the delta.
    ///
    /// A write older than the current one is kept out of the state but still returned as a delta
    /// (joining it anywhere is harmless).
    pub fn set(&mut self, value: T, stamp: Hlc) -> Self {
        let delta = Self { write: Some((stamp, value)) };
        self.join(&delta);
        delta
    }

    /// The winning value, if any write was seen.
    #[must_use]
    pub fn get(&self) -> Option<&T> {
        self.write.as_ref().map(|(_, v)| v)
    }

    /// The timestamp of the winning write.
    #[must_use]
    pub fn stamp(&self) -> Option<Hlc> {
        self.write.as_ref().map(|(s, _)| *s)
    }

    /// Join: keeps the write with the greater (timestamp, value).
    pub(crate) fn join(&mut self, other: &Self) {
        if let Some((stamp, value)) = &other.write {
            let newer = match &self.write {
                None => true,
                Some((mine, my_value)) => (stamp, value) > (mine, my_value),
            };
            if newer {
                self.write = Some((*stamp, value.clone()));
            }
        }
    }

    /// Every decoded register is valid.
    #[allow(clippy::unnecessary_wraps)]
    pub(crate) const fn check(&self) -> Result<(), CrdtError> {
        Ok(())
    }
}

crate::traits::delta_is_state!(LWWRegister<T>, T);
