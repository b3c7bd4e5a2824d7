//! Reads what Kafka holds for the checkers: every read-committed record of some topics,
//! counted by key (shared by the regional fault tests and the demo's end-to-end test).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Every committed record's key in `topics` (read_committed, from the beginning), counted;
/// a topic that does not exist holds nothing.
pub fn kafka_keys(brokers: &str, topics: &[String]) -> BTreeMap<Vec<u8>, u32> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dcs-test-checker")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut open = 0;
    for t in topics {
        let md = consumer.fetch_metadata(Some(t), Duration::from_secs(10)).unwrap();
        for topic in md.topics() {
            if topic.error().is_some() {
                continue;
            }
            for p in topic.partitions() {
                tpl.add_partition_offset(t, p.id(), Offset::Beginning).unwrap();
                open += 1;
            }
        }
    }
    let mut keys = BTreeMap::new();
    if open == 0 {
        return keys;
    }
    consumer.assign(&tpl).unwrap();
    let start = Instant::now();
    while open > 0 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => *keys.entry(m.key().unwrap_or_default().to_vec()).or_insert(0) += 1,
            Some(Err(KafkaError::PartitionEOF(_))) => open -= 1,
            Some(Err(e)) => panic!("kafka read: {e}"),
            None => {}
        }
        assert!(start.elapsed() < Duration::from_secs(30), "reading the topics timed out");
    }
    keys
}
