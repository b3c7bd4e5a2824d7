//! `dcs-regional replay`: re-forwards a range of the region's accepted events to one sink,
//! exactly once in effect: what the sink already holds is skipped, the rest is written.
//!
//! - PostgreSQL: `PgStore::ingest` skips event ids a tenant has stored; the forward cursor
//!   is not moved (the live forwarder keeps its own resume point).
//! - Kafka: the event topics the range maps to are read with `read_committed` and the
//!   records of this region in the range are noted by key; only the missing events are
//!   produced, in transactions of a separate transactional id (`dcs-replay-{region}`, so the
//!   live forwarder is not fenced). Its cost is a scan of those topics.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use dcs_store::sqlite::{Accepted, RegionReplicaStore};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::kafka::{KafkaSinkConfig, record};
use super::postgres::{PostgresSink, ingest_event};

/// Most positions one replay covers (the Kafka scan keeps the range's ids in memory).
pub const MAX_REPLAY_RANGE: u64 = 2_000_000;

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The range is empty, reversed or too long.
    #[error("invalid range: {0}")]
    Range(String),
    /// The replica file.
    #[error("replica file: {0}")]
    Replica(#[from] dcs_store::StoreError),
    /// The sink failed (nothing of the failed batch was written).
    #[error("{0}")]
    Sink(String),
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayReport {
    /// Events the sink did not hold, written now.
    pub written: u64,
    /// Events the sink already held, skipped.
    pub skipped: u64,
}

/// Which sink to replay into, with its settings.
#[derive(Debug, Clone)]
pub enum ReplaySink {
    /// The regional PostgreSQL store.
    Postgres(PostgresSink),
    /// Kafka.
    Kafka(KafkaSinkConfig),
}

/// Re-forwards positions `from + 1 ..= to` (to the replica's end when None) of the replica
/// file `replica` (region `region`) to `sink`, in batches of `batch`.
///
/// # Errors
/// [`ReplayError`] saying which part failed.
pub async fn replay(
    replica: &Path,
    region: &str,
    from: u64,
    to: Option<u64>,
    sink: ReplaySink,
    batch: usize,
) -> Result<ReplayReport, ReplayError> {
    let store = RegionReplicaStore::open(replica)?;
    let end = to.unwrap_or(store.accepted_len()?);
    if end <= from {
        return Err(ReplayError::Range(format!("--from {from} is not below the end {end}")));
    }
    if end - from > MAX_REPLAY_RANGE {
        return Err(ReplayError::Range(format!(
            "{} positions; replay at most {MAX_REPLAY_RANGE} at a time (use --to)",
            end - from
        )));
    }
    let batch = batch.clamp(1, 10_000);
    match sink {
        ReplaySink::Postgres(cfg) => {
            let pg = cfg.connect().map_err(|e| ReplayError::Sink(e.to_string()))?;
            let mut report = ReplayReport::default();
            let mut at = from;
            while at < end {
                let items = page(&store, at, end, batch)?;
                let Some(last) = items.last().map(|a| a.seq) else { break };
                let events: Vec<_> = items.iter().filter_map(ingest_event).collect();
                if !events.is_empty() {
                    let r =
                        pg.ingest(&events).await.map_err(|e| ReplayError::Sink(e.to_string()))?;
                    report.written += r.inserted as u64;
                    report.skipped += r.duplicates as u64;
                }
                at = last;
            }
            Ok(report)
        }
        ReplaySink::Kafka(cfg) => {
            let mut wanted = Vec::new();
            let mut at = from;
            while at < end {
                let items = page(&store, at, end, batch)?;
                let Some(last) = items.last().map(|a| a.seq) else { break };
                wanted.extend(items);
                at = last;
            }
            let region = region.to_string();
            tokio::task::spawn_blocking(move || replay_kafka(&cfg, &region, wanted, batch))
                .await
                .map_err(|e| ReplayError::Sink(format!("kafka worker: {e}")))?
        }
    }
}

/// The accepted items after `at`, up to `end`, at most `batch`.
fn page(
    store: &RegionReplicaStore,
    at: u64,
    end: u64,
    batch: usize,
) -> Result<Vec<Accepted>, ReplayError> {
    let mut items = store.accepted_after(at, batch)?;
    items.retain(|a| a.seq <= end);
    Ok(items)
}

fn kafka_err(what: &'static str) -> impl Fn(KafkaError) -> ReplayError {
    move |e| ReplayError::Sink(format!("kafka {what}: {e}"))
}

fn replay_kafka(
    cfg: &KafkaSinkConfig,
    region: &str,
    wanted: Vec<Accepted>,
    batch: usize,
) -> Result<ReplayReport, ReplayError> {
    let records: Vec<_> = wanted.iter().filter_map(|a| record(cfg, region, a)).collect();
    let topics: HashSet<String> = records.iter().map(|r| r.topic().to_string()).collect();
    let held = held_keys(cfg, region, &topics)?;
    let missing: Vec<_> = records.iter().filter(|r| !held.contains(r.key())).collect();
    let report = ReplayReport {
        written: missing.len() as u64,
        skipped: (records.len() - missing.len()) as u64,
    };
    if missing.is_empty() {
        return Ok(report);
    }
    super::kafka::produce_in_transactions(cfg, &format!("dcs-replay-{region}"), &missing, batch)
        .map_err(kafka_err("replay"))?;
    Ok(report)
}

/// The keys of this region's committed records in `topics`.
fn held_keys(
    cfg: &KafkaSinkConfig,
    region: &str,
    topics: &HashSet<String>,
) -> Result<HashSet<Vec<u8>>, ReplayError> {
    let timeout = Duration::from_millis(cfg.request_timeout_ms);
    let consumer: BaseConsumer = cfg
        .client_config()
        .set("group.id", "dcs-replay")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(kafka_err("consumer"))?;
    let mut tpl = TopicPartitionList::new();
    let mut open = 0usize;
    for t in topics {
        let md = consumer.fetch_metadata(Some(t), timeout).map_err(kafka_err("metadata"))?;
        for topic in md.topics() {
            for p in topic.partitions() {
                tpl.add_partition_offset(t, p.id(), Offset::Beginning)
                    .map_err(kafka_err("assign"))?;
                open += 1;
            }
        }
    }
    let mut held = HashSet::new();
    if open == 0 {
        return Ok(held);
    }
    consumer.assign(&tpl).map_err(kafka_err("assign"))?;
    let mut idle = 0u32;
    while open > 0 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle = 0;
                let ours = m.headers().is_some_and(|h| {
                    h.iter().any(|h| h.key == "region" && h.value == Some(region.as_bytes()))
                });
                if ours && let Some(k) = m.key() {
                    held.insert(k.to_vec());
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => open -= 1,
            Some(Err(e)) => return Err(kafka_err("read")(e)),
            None => {
                idle += 1;
                if u64::from(idle) * 100 > cfg.request_timeout_ms {
                    return Err(ReplayError::Sink("kafka: reading the topics timed out".into()));
                }
            }
        }
    }
    Ok(held)
}
