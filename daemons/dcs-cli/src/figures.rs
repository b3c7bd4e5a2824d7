//! What the summary reads: every daemon's `/metrics` (summed per metric name) and the master's
//! JSON API with its admin token.

use std::collections::BTreeMap;
use std::time::Duration;

/// An address's `/metrics`, each metric's samples summed over their labels (None when the
/// daemon does not answer).
pub async fn metrics(port: u16) -> Option<BTreeMap<String, f64>> {
    let addr = format!("127.0.0.1:{port}");
    let call = dcs_daemon::admin_client::request(&addr, "GET", "/metrics", "", String::new());
    let (status, body) = tokio::time::timeout(Duration::from_millis(800), call).await.ok()?.ok()?;
    if status != 200 {
        return None;
    }
    let mut out = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else { continue };
        let name = key.split('{').next().unwrap_or(key);
        if let Ok(v) = value.trim().parse::<f64>() {
            *out.entry(name.to_string()).or_insert(0.0) += v;
        }
    }
    Some(out)
}

/// True when the daemon's `/readyz` answers 200.
pub async fn ready(port: u16) -> bool {
    let addr = format!("127.0.0.1:{port}");
    let call = dcs_daemon::admin_client::request(&addr, "GET", "/readyz", "", String::new());
    matches!(tokio::time::timeout(Duration::from_millis(800), call).await, Ok(Ok((200, _))))
}

/// The master's API at `path` (None when it does not answer 200).
pub async fn api(port: u16, token: &str, path: &str) -> Option<serde_json::Value> {
    let addr = format!("127.0.0.1:{port}");
    let call = dcs_daemon::admin_client::request(&addr, "GET", path, token, String::new());
    let (status, body) = tokio::time::timeout(Duration::from_secs(2), call).await.ok()?.ok()?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&body).ok()
}

/// Completed sales the master holds for the tenant.
pub async fn master_sales(port: u16, token: &str, tenant: &str) -> Option<u64> {
    let v = api(port, token, &format!("/api/v1/sales?tenant={tenant}")).await?;
    let rows = v.get("sales")?.as_array()?;
    Some(
        rows.iter()
            .filter(|r| r.get("event_type").and_then(|t| t.as_str()) == Some("SALE_COMPLETED"))
            .filter_map(|r| r.get("count").and_then(serde_json::Value::as_u64))
            .sum(),
    )
}

/// The master's stock per (branch, SKU) for the tenant.
pub async fn master_stock(
    port: u16,
    token: &str,
    tenant: &str,
) -> Option<BTreeMap<(String, String), i64>> {
    let v = api(port, token, &format!("/api/v1/stock?tenant={tenant}")).await?;
    let rows = v.get("stock")?.as_array()?;
    Some(
        rows.iter()
            .filter_map(|r| {
                Some((
                    (r.get("branch")?.as_str()?.to_string(), r.get("sku")?.as_str()?.to_string()),
                    r.get("on_hand")?.as_i64()?,
                ))
            })
            .collect(),
    )
}

/// The stores the master lists for the tenant.
pub async fn master_stores(port: u16, token: &str, tenant: &str) -> Option<Vec<String>> {
    let v = api(port, token, &format!("/api/v1/stores?tenant={tenant}")).await?;
    let rows = v.get("stores")?.as_array()?;
    Some(rows.iter().filter_map(|r| Some(r.get("branch")?.as_str()?.to_string())).collect())
}

/// The `q`-quantile of `samples` (sorted in place); 0 when empty.
pub fn quantile(samples: &mut [u64], q: f64) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[i.min(samples.len() - 1)]
}

/// A connection to the region's PostgreSQL as its own login, reading tenant `tenant`'s rows
/// (row-level security).
pub async fn pg_connect(
    url: &str,
    password_file: &std::path::Path,
    tenant: &str,
) -> Option<tokio_postgres::Client> {
    let password = std::fs::read_to_string(password_file).ok()?;
    let mut config: tokio_postgres::Config = url.parse().ok()?;
    config.password(password.trim());
    config.connect_timeout(Duration::from_secs(2));
    let (client, conn) = config.connect(tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(conn);
    client.execute("SELECT set_config('dcs.tenant_id', $1, false)", &[&tenant]).await.ok()?;
    Some(client)
}

/// Completed sales PostgreSQL holds.
pub async fn pg_sales(client: &tokio_postgres::Client) -> Option<u64> {
    let completed_code = i16::try_from(dcs_core::EventType::SaleCompleted.code()).ok()?;
    let row = client
        .query_one("SELECT count(*) FROM event_store WHERE event_type = $1", &[&completed_code])
        .await
        .ok()?;
    u64::try_from(row.get::<_, i64>(0)).ok()
}
