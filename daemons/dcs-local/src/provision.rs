//! `ProvisionTill`: what a self-sealing till needs to sell offline, handed over its
//! authenticated session: its identity, the tenant's MAC key, a data key leased under the
//! tenant's KEK (made by the configured provider; the KEK itself never leaves it), the tax
//! table, the catalog and the store's signed cashier list.

use std::sync::Arc;

use dcs_proto::pb;
use rand_core::OsRng;

use crate::config::TillSection;
use crate::desk::{Desk, now_ms};
use crate::error::{LocalError, Result};
use crate::identity::{Identity, TerminalIdentity};

/// The provision of till `t`, with a fresh lease bounded by `till`.
pub async fn provision(
    desk: &Desk,
    identity: &Arc<Identity>,
    till: &TillSection,
    tenant: &str,
    utc_offset_minutes: i32,
    t: &TerminalIdentity,
) -> Result<pb::TillProvision> {
    if !t.self_sealing {
        return Err(LocalError::Refused(format!(
            "terminal {} is a thin terminal: the store seals its commands, so it needs no provision",
            t.agent
        )));
    }
    let lease = {
        let identity = Arc::clone(identity);
        let tenant = tenant.to_string();
        tokio::task::spawn_blocking(move || identity.keyring.generate_data_key(&tenant, &mut OsRng))
            .await
            .map_err(|e| LocalError::Setup(format!("a key task failed: {e}")))??
    };
    let now = now_ms();
    let expires = now.saturating_add(till.lease_hours.saturating_mul(3_600_000));
    desk.record_lease(
        lease.id,
        dcs_store::sqlite::TillLease {
            agent: t.agent.to_string(),
            max_uses: till.lease_max_uses,
            expires_ms: expires,
            issued_ms: now,
            used: 0,
        },
    )
    .await?;
    let catalog = desk.catalog();
    metrics::counter!("dcs_local_till_leases_total").increment(1);
    Ok(pb::TillProvision {
        tenant: tenant.into(),
        branch: desk.branch().to_string(),
        agent_id: t.agent.to_string(),
        currency: catalog.currency().code().into(),
        utc_offset_minutes,
        mac_key: identity.mac.to_secret_bytes().to_vec(),
        lease: Some(pb::DataKeyLease {
            kek_id: lease.wrapped.kek.id.clone(),
            kek_version: lease.wrapped.kek.version,
            data_key_id: lease.id.to_vec(),
            data_key: lease.key.expose_secret().to_vec(),
            wrapped: lease.wrapped.bytes.clone(),
            max_uses: till.lease_max_uses,
            expires_unix_ms: expires,
        }),
        tax: catalog.tax_pb(),
        products: catalog.to_pb().products,
        cashiers: identity.cashiers.0.clone(),
        cashiers_signature: identity.cashiers.1.clone(),
        now_unix_ms: now,
    })
}
