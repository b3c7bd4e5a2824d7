//! The leader's verifier of store events: each event's MAC under its tenant's key (the keys
//! the config names; an event of another tenant is refused).

use std::collections::BTreeMap;

use dcs_core::SovereignFinancialEvent;
use dcs_crypto::MacKey;
use dcs_sync::{Verifier, VerifyError};

/// Checks the tenant MAC of every event.
pub struct TenantMacs {
    keys: BTreeMap<String, MacKey>,
}

impl TenantMacs {
    /// A verifier for these tenants' keys.
    pub fn new(keys: BTreeMap<String, MacKey>) -> Self {
        TenantMacs { keys }
    }
}

impl Verifier for TenantMacs {
    fn verify(&self, e: &SovereignFinancialEvent) -> Result<(), VerifyError> {
        let tenant = e.tenant_id().as_str();
        let Some(key) = self.keys.get(tenant) else {
            return Err(VerifyError::Other(format!(
                "tenant {tenant:?} is not served by this region (no MAC key for it)"
            )));
        };
        key.verify(&e.canonical_bytes(), &e.audit().mac).map_err(|_| VerifyError::BadMac)
    }
}
