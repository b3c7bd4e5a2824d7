//! The Kafka sink: a transactional producer with one transactional id per region. Each
//! forwarded batch is one transaction holding the events (topic per tenant or per event
//! family, key = event id, value = protobuf `dcs.v1.SovereignFinancialEvent`, headers
//! `tenant`, `branch`, `type`, `region`, `position`) and one progress record on the region's
//! progress topic. A new leader's `init_transactions` fences the old producer and ends its
//! open transaction; the leader then reads the last committed progress record and resumes
//! after it, and commits a progress record of its own term at once, so that a deposed
//! leader that re-initialises finds a newer term and stops.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use dcs_core::SovereignFinancialEvent;
use dcs_store::sqlite::Accepted;
use dcs_sync::Item;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::{Sink, SinkError};

/// How events are spread over topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopicScheme {
    /// `{prefix}events.{tenant}` (a tenant's `:` becomes `_`; the `tenant` header is exact).
    PerTenant,
    /// `{prefix}events.{family}`: sales, inventory, payments, accounting, saga, agent,
    /// pos-session.
    PerFamily,
}

/// `[forward.kafka]`: the region's Kafka cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSinkConfig {
    /// Bootstrap brokers, `host:port,host:port`.
    pub brokers: String,
    /// How events are spread over topics.
    pub topics: TopicScheme,
    /// Prefix of every topic this sink writes.
    pub topic_prefix: String,
    /// Partitions of the event topics it creates.
    pub partitions: i32,
    /// Replication factor of the topics it creates.
    pub replication: i32,
    /// Longest a transaction may stay open on the broker, ms.
    pub transaction_timeout_ms: u64,
    /// Longest one broker call (init, commit, metadata, reads) may take, ms.
    pub request_timeout_ms: u64,
}

impl Default for KafkaSinkConfig {
    fn default() -> Self {
        KafkaSinkConfig {
            brokers: "127.0.0.1:9092".into(),
            topics: TopicScheme::PerTenant,
            topic_prefix: "dcs.".into(),
            partitions: 3,
            replication: 1,
            transaction_timeout_ms: 60_000,
            request_timeout_ms: 10_000,
        }
    }
}

/// A forwarder's resume point, the value of its progress records (postcard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Everything up to this region position is in the topics.
    pub position: u64,
    /// The Raft term of the leader that wrote it.
    pub term: u64,
}

impl KafkaSinkConfig {
    /// The topic an event goes to.
    pub fn topic_of(&self, event: &SovereignFinancialEvent) -> String {
        match self.topics {
            TopicScheme::PerTenant => {
                format!(
                    "{}events.{}",
                    self.topic_prefix,
                    event.tenant_id().as_str().replace(':', "_")
                )
            }
            TopicScheme::PerFamily => {
                use dcs_core::EventFlow::*;
                let family = match event.event_type().flow() {
                    Sales => "sales",
                    Inventory => "inventory",
                    Payments => "payments",
                    Accounting => "accounting",
                    Saga => "saga",
                    Agent => "agent",
                    PosSession => "pos-session",
                };
                format!("{}events.{family}", self.topic_prefix)
            }
        }
    }

    /// The region's progress topic (one partition).
    pub fn progress_topic(&self, region: &str) -> String {
        format!("{}progress.{region}", self.topic_prefix)
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// librdkafka settings shared by this sink's clients.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        c.set("socket.timeout.ms", self.request_timeout_ms.max(10).to_string());
        c
    }
}

type TxProducer = ThreadedProducer<DefaultProducerContext>;

/// Forwards to Kafka.
pub struct KafkaSink {
    config: Arc<KafkaSinkConfig>,
    region: String,
    producer: Option<Arc<TxProducer>>,
    admin: AdminClient<DefaultClientContext>,
    /// Topics known to exist (one per tenant or family: bounded by the region's tenants).
    topics: HashSet<String>,
}

fn unavailable(what: &str) -> impl Fn(KafkaError) -> SinkError + '_ {
    move |e| SinkError::Unavailable(format!("kafka {what}: {e}"))
}

fn is_fenced(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
        )
    )
}

/// Runs blocking librdkafka calls off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SinkError::Unavailable(format!("kafka worker: {e}")))?
}

impl KafkaSink {
    /// A sink for `region` (its transactional id is `dcs-forwarder-{region}`).
    ///
    /// # Errors
    /// [`SinkError::Config`] when librdkafka refuses the settings.
    pub fn new(config: KafkaSinkConfig, region: impl Into<String>) -> Result<Self, SinkError> {
        let admin = config
            .client_config()
            .create()
            .map_err(|e| SinkError::Config(format!("forward.kafka: {e}")))?;
        Ok(KafkaSink {
            config: Arc::new(config),
            region: region.into(),
            producer: None,
            admin,
            topics: HashSet::new(),
        })
    }

    /// Creates the topics (name, partitions) not known to exist; existing ones are fine.
    ///
    /// # Errors
    /// [`SinkError::Unavailable`] when the broker refuses one.
    pub async fn ensure_topics(&mut self, wanted: Vec<(String, i32)>) -> Result<(), SinkError> {
        let missing: Vec<_> =
            wanted.into_iter().filter(|(t, _)| !self.topics.contains(t)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let new: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(self.config.replication)))
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(self.config.timeout()));
        let results =
            self.admin.create_topics(&new, &opts).await.map_err(unavailable("create topics"))?;
        for r in results {
            match r {
                Ok(t) => {
                    self.topics.insert(t);
                }
                Err((t, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    self.topics.insert(t);
                }
                Err((t, code)) => {
                    return Err(SinkError::Unavailable(format!(
                        "kafka: cannot create topic {t}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn producer(&self) -> Result<Arc<TxProducer>, SinkError> {
        self.producer
            .clone()
            .ok_or_else(|| SinkError::Moved("the producer must be initialised again".into()))
    }

    /// Commits one transaction with `records` and the progress record `progress`.
    async fn commit(&mut self, records: Vec<Record>, progress: Progress) -> Result<(), SinkError> {
        let producer = self.producer()?;
        let config = Arc::clone(&self.config);
        let progress_topic = config.progress_topic(&self.region);
        let region = self.region.clone();
        let result = blocking(move || {
            let value = postcard::to_stdvec(&progress)
                .map_err(|e| SinkError::Unavailable(format!("progress record: {e}")))?;
            let run = || -> Result<(), KafkaError> {
                producer.begin_transaction()?;
                for r in &records {
                    send(&producer, r.to_base())?;
                }
                send(
                    &producer,
                    BaseRecord::to(&progress_topic)
                        .key(region.as_bytes())
                        .payload(value.as_slice()),
                )?;
                producer.commit_transaction(config.timeout())
            };
            run().map_err(|e| {
                if is_fenced(&e) {
                    SinkError::Moved(format!("kafka producer fenced: {e}"))
                } else {
                    let _ = producer.abort_transaction(config.timeout());
                    SinkError::Unavailable(format!("kafka transaction: {e}"))
                }
            })
        })
        .await;
        if result.is_err() {
            // The broker's state decides: re-initialise, read the progress, resume.
            self.producer = None;
        }
        result
    }
}

/// Sends, waiting while librdkafka's queue is full.
pub(crate) fn send(
    producer: &TxProducer,
    mut record: BaseRecord<'_, [u8], [u8]>,
) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                producer.poll(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// One event record, owned (built before the blocking call).
pub struct Record {
    topic: String,
    key: Vec<u8>,
    value: Vec<u8>,
    headers: Vec<(&'static str, Vec<u8>)>,
}

impl Record {
    /// Its topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Its key (the event id).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The record as librdkafka takes it.
    pub(crate) fn to_base(&self) -> BaseRecord<'_, [u8], [u8]> {
        let mut headers = OwnedHeaders::new_with_capacity(self.headers.len());
        for (k, v) in &self.headers {
            headers = headers.insert(Header { key: k, value: Some(v.as_slice()) });
        }
        BaseRecord::to(&self.topic)
            .key(self.key.as_slice())
            .payload(self.value.as_slice())
            .headers(headers)
    }
}

/// The record of an accepted event (None for a summary).
pub fn record(config: &KafkaSinkConfig, region: &str, a: &Accepted) -> Option<Record> {
    let Item::Event(e) = &a.item else { return None };
    Some(Record {
        topic: config.topic_of(e),
        key: e.event_id().to_string().into_bytes(),
        value: dcs_proto::encode_event(e),
        headers: vec![
            ("tenant", e.tenant_id().as_str().as_bytes().to_vec()),
            ("branch", e.branch_id().as_str().as_bytes().to_vec()),
            ("type", e.event_type().name().as_bytes().to_vec()),
            ("region", region.as_bytes().to_vec()),
            ("position", a.seq.to_string().into_bytes()),
        ],
    })
}

/// Produces `records` in transactions of `per_txn` with a producer of its own
/// (`transactional_id`): replay's writer, and the bare rate the forwarder is measured by.
///
/// # Errors
/// The first failure (its transaction is aborted; earlier ones stay committed).
pub fn produce_in_transactions(
    config: &KafkaSinkConfig,
    transactional_id: &str,
    records: &[&Record],
    per_txn: usize,
) -> Result<(), KafkaError> {
    let timeout = config.timeout();
    let producer: TxProducer = config
        .client_config()
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("transaction.timeout.ms", config.transaction_timeout_ms.to_string())
        .create()?;
    producer.init_transactions(timeout)?;
    for chunk in records.chunks(per_txn.max(1)) {
        producer.begin_transaction()?;
        for r in chunk {
            if let Err(e) = send(&producer, r.to_base()) {
                let _ = producer.abort_transaction(timeout);
                return Err(e);
            }
        }
        producer.commit_transaction(timeout)?;
    }
    Ok(())
}

/// Reads the last committed progress record of `topic` (None when it has none).
pub fn read_progress(config: &KafkaSinkConfig, topic: &str) -> Result<Option<Progress>, SinkError> {
    let consumer: BaseConsumer = config
        .client_config()
        .set("group.id", "dcs-forwarder-progress")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(|e| SinkError::Config(format!("forward.kafka: {e}")))?;
    let (low, high) =
        consumer.fetch_watermarks(topic, 0, config.timeout()).map_err(unavailable("watermarks"))?;
    // Every transaction ends with one progress record and a commit marker, so the last
    // committed record is near the end; look further back only past aborted transactions.
    let mut window = 16i64;
    loop {
        let start = (high - window).max(low);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(start)).map_err(unavailable("assign"))?;
        consumer.assign(&tpl).map_err(unavailable("assign"))?;
        let mut last = None;
        let deadline = std::time::Instant::now() + config.timeout();
        loop {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    if let Some(p) = m.payload() {
                        last = Some(postcard::from_bytes::<Progress>(p).map_err(|e| {
                            SinkError::Unavailable(format!(
                                "{topic} offset {} is not a progress record: {e}",
                                m.offset()
                            ))
                        })?);
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                Some(Err(e)) => return Err(unavailable("read progress")(e)),
                None if start >= high => break,
                None => {}
            }
            if std::time::Instant::now() > deadline {
                return Err(SinkError::Unavailable(format!("kafka: reading {topic} timed out")));
            }
        }
        if last.is_some() || start <= low {
            return Ok(last);
        }
        window = window.saturating_mul(4);
    }
}

impl Sink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    async fn resume(&mut self, term: u64) -> Result<u64, SinkError> {
        self.producer = None;
        let progress_topic = self.config.progress_topic(&self.region);
        self.ensure_topics(vec![(progress_topic.clone(), 1)]).await?;
        let config = Arc::clone(&self.config);
        let id = format!("dcs-forwarder-{}", self.region);
        let producer = blocking(move || {
            let p: TxProducer = config
                .client_config()
                .set("transactional.id", &id)
                .set("enable.idempotence", "true")
                .set("acks", "all")
                .set("transaction.timeout.ms", config.transaction_timeout_ms.to_string())
                .create()
                .map_err(|e| SinkError::Config(format!("forward.kafka: {e}")))?;
            // Fences the previous producer of this id and ends its open transaction.
            p.init_transactions(config.timeout()).map_err(unavailable("init transactions"))?;
            Ok(p)
        })
        .await?;
        self.producer = Some(Arc::new(producer));
        let config = Arc::clone(&self.config);
        let topic = progress_topic.clone();
        let last = blocking(move || read_progress(&config, &topic)).await?;
        let position = match last {
            Some(p) if p.term > term => {
                return Err(SinkError::Fenced(format!(
                    "{progress_topic} was written at term {}, this leader's is {term}",
                    p.term
                )));
            }
            Some(p) if p.term == term => return Ok(p.position),
            Some(p) => p.position,
            None => 0,
        };
        // Claims the term, so that an older leader that re-initialises stops.
        self.commit(vec![], Progress { position, term }).await?;
        Ok(position)
    }

    async fn forward(
        &mut self,
        term: u64,
        _from: u64,
        to: u64,
        items: &[Accepted],
    ) -> Result<(), SinkError> {
        let records: Vec<Record> =
            items.iter().filter_map(|a| record(&self.config, &self.region, a)).collect();
        let topics: HashSet<String> = records.iter().map(|r| r.topic.clone()).collect();
        let partitions = self.config.partitions;
        self.ensure_topics(topics.into_iter().map(|t| (t, partitions)).collect()).await?;
        self.commit(records, Progress { position: to, term }).await
    }
}
