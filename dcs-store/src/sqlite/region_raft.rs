//! The master's record of each region's Raft health, as the region's leader last reported it
//! (`RegionalMasterSync.ReportStatus`): one row per region, replaced by each report, so the
//! table holds one row per configured region whatever the uptime.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::master_store::MasterStore;
use super::{exec, map_err};
use crate::error::{Result, StoreError};

/// The table (created with the file, or added to an older master file when it is opened).
pub(super) const DDL: &str = "
CREATE TABLE IF NOT EXISTS region_raft (
    region INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, report BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS sink_samples (
    region INTEGER NOT NULL, sink TEXT NOT NULL, at_ms INTEGER NOT NULL,
    backlog INTEGER NOT NULL, PRIMARY KEY (region, sink, at_ms)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sink_samples_by_time ON sink_samples (at_ms);
";

/// One sample of a region's forwarding backlog towards one sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSample {
    /// The region.
    pub region: u32,
    /// `postgres` or `kafka`.
    pub sink: String,
    /// When the master received the report (Unix ms).
    pub at_ms: u64,
    /// Accepted events not yet forwarded to the sink.
    pub backlog: u64,
}

/// Most members a report may name (a region is a 3–5 node cluster; room for changes).
pub const MAX_RAFT_MEMBERS: usize = 16;

/// A region leader's report of its cluster (stored as its postcard encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftReport {
    /// The leader's term.
    pub term: u64,
    /// The leader's node id.
    pub leader: u64,
    /// The last committed log index.
    pub committed: u64,
    /// The leader's last applied log index.
    pub applied: u64,
    /// Every member, the leader included.
    pub members: Vec<RaftMember>,
    /// The leader's wall clock at the report (Unix ms).
    pub at_ms: u64,
    /// The leader's software version.
    pub version: String,
    /// The sinks it forwards to.
    pub sinks: Vec<SinkBacklog>,
}

/// One forwarding sink of a region, as its leader reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkBacklog {
    /// `postgres` or `kafka`.
    pub sink: String,
    /// Accepted events not yet forwarded to it.
    pub backlog: u64,
    /// Its last error (None while it works).
    pub problem: Option<String>,
}

/// One member as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftMember {
    /// Its node id.
    pub id: u64,
    /// Its Raft address.
    pub addr: String,
    /// Whether it votes (false: a learner).
    pub voter: bool,
    /// The last log index the leader knows it holds (None: not heard from this term).
    pub matched: Option<u64>,
}

impl MasterStore {
    /// Keeps `report` as region `region`'s latest, received at `received_ms`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for more than [`MAX_RAFT_MEMBERS`] members or a time past
    /// `i64::MAX`; the database's error.
    pub fn record_raft(
        &mut self,
        region: u32,
        received_ms: u64,
        report: &RaftReport,
    ) -> Result<()> {
        if report.members.len() > MAX_RAFT_MEMBERS || report.sinks.len() > MAX_RAFT_MEMBERS {
            return Err(StoreError::Invalid {
                field: "members",
                reason: format!(
                    "{} members and {} sinks in one report, at most {MAX_RAFT_MEMBERS} each",
                    report.members.len(),
                    report.sinks.len()
                ),
            });
        }
        let received = i64::try_from(received_ms).map_err(|_| StoreError::Invalid {
            field: "received_ms",
            reason: "past i64::MAX".into(),
        })?;
        let bytes = postcard::to_allocvec(report)
            .map_err(|e| StoreError::Invalid { field: "report", reason: e.to_string() })?;
        exec(
            &self.conn,
            "INSERT OR REPLACE INTO region_raft (region, received_ms, report) VALUES (?1, ?2, ?3)",
            params![region, received, bytes],
        )?;
        Ok(())
    }

    /// Keeps each sink's backlog of `report` as a sample at `received_ms` (the dashboard's
    /// backlog over time) and drops every sample older than `keep_ms` before it: the table
    /// holds at most `keep_ms` / the sampling period rows per region and sink (the master
    /// keeps one report per region and period).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a time or backlog past `i64::MAX`; the database's error.
    pub fn record_sink_samples(
        &mut self,
        region: u32,
        received_ms: u64,
        keep_ms: u64,
        report: &RaftReport,
    ) -> Result<()> {
        let big =
            |field: &'static str| StoreError::Invalid { field, reason: "past i64::MAX".into() };
        let at = i64::try_from(received_ms).map_err(|_| big("received_ms"))?;
        let keep = i64::try_from(keep_ms).map_err(|_| big("keep_ms"))?;
        let tx = self.conn.transaction().map_err(map_err)?;
        for k in report.sinks.iter().take(MAX_RAFT_MEMBERS) {
            let backlog = i64::try_from(k.backlog).map_err(|_| big("backlog"))?;
            exec(
                &tx,
                "INSERT OR REPLACE INTO sink_samples (region, sink, at_ms, backlog)                  VALUES (?1, ?2, ?3, ?4)",
                params![region, k.sink, at, backlog],
            )?;
        }
        exec(&tx, "DELETE FROM sink_samples WHERE at_ms < ?1", [at.saturating_sub(keep)])?;
        tx.commit().map_err(map_err)
    }

    /// The sink samples of every region since `since_ms`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a negative stored number; the database's error.
    pub fn sink_samples(&self, since_ms: u64, limit: usize) -> Result<Vec<SinkSample>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT region, sink, at_ms, backlog FROM sink_samples WHERE at_ms >= ?1                  ORDER BY at_ms, region, sink LIMIT ?2",
            )
            .map_err(map_err)?;
        let since = i64::try_from(since_ms).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = q
            .query_map(params![since, limit], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (region, sink, at, backlog) = row.map_err(map_err)?;
            let corrupt = || StoreError::Corrupt("sink_samples: a negative number".into());
            out.push(SinkSample {
                region,
                sink,
                at_ms: u64::try_from(at).map_err(|_| corrupt())?,
                backlog: u64::try_from(backlog).map_err(|_| corrupt())?,
            });
        }
        Ok(out)
    }

    /// Every region's latest report, by region: (region, received_ms, report).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn raft_reports(&self) -> Result<Vec<(u32, u64, RaftReport)>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT region, received_ms, report FROM region_raft ORDER BY region")
            .map_err(map_err)?;
        let rows = q
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (region, received, bytes) = row.map_err(map_err)?;
            let corrupt = |what: &str| StoreError::Corrupt(format!("region_raft: {what}"));
            let region = u32::try_from(region).map_err(|_| corrupt("a region out of range"))?;
            let received = u64::try_from(received).map_err(|_| corrupt("a negative time"))?;
            let report: RaftReport = postcard::from_bytes(&bytes)
                .map_err(|e| corrupt(&format!("region {region}: {e}")))?;
            out.push((region, received, report));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_backlog_samples_are_kept_for_the_window_and_read_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut s = MasterStore::open(dir.path().join("m.db")).unwrap_or_else(|e| panic!("{e}"));
        let mut r = report(3);
        for (i, at) in [1_000u64, 2_000, 3_000, 10_000].into_iter().enumerate() {
            r.sinks = vec![
                SinkBacklog { sink: "postgres".into(), backlog: i as u64, problem: None },
                SinkBacklog { sink: "kafka".into(), backlog: 10 * i as u64, problem: None },
            ];
            s.record_sink_samples(1, at, 7_500, &r).unwrap_or_else(|e| panic!("{e}"));
        }
        let got = s.sink_samples(0, 100).unwrap_or_else(|e| panic!("{e}"));
        let seen: Vec<(u64, &str, u64)> =
            got.iter().map(|x| (x.at_ms, x.sink.as_str(), x.backlog)).collect();
        // Samples older than 7.5 s before the newest are gone.
        assert_eq!(
            seen,
            [
                (3_000, "kafka", 20),
                (3_000, "postgres", 2),
                (10_000, "kafka", 30),
                (10_000, "postgres", 3)
            ]
        );
        assert_eq!(s.sink_samples(4_000, 1).unwrap_or_else(|e| panic!("{e}")).len(), 1);
    }

    fn report(term: u64) -> RaftReport {
        RaftReport {
            term,
            leader: 2,
            committed: 40,
            applied: 40,
            members: vec![
                RaftMember { id: 1, addr: "127.0.0.1:1".into(), voter: true, matched: Some(38) },
                RaftMember { id: 2, addr: "127.0.0.1:2".into(), voter: true, matched: Some(40) },
                RaftMember { id: 3, addr: "127.0.0.1:3".into(), voter: true, matched: None },
            ],
            at_ms: 1_000,
            version: "0.1.0".into(),
            sinks: vec![SinkBacklog { sink: "kafka".into(), backlog: 12, problem: None }],
        }
    }

    #[test]
    fn keeps_the_latest_report_per_region_and_refuses_oversized_ones() {
        let mut s = MasterStore::open_in_memory().unwrap();
        s.record_raft(1, 10, &report(3)).unwrap();
        s.record_raft(1, 20, &report(4)).unwrap();
        s.record_raft(2, 15, &report(1)).unwrap();
        let got = s.raft_reports().unwrap();
        assert_eq!(got.len(), 2, "one row per region");
        assert_eq!((got[0].0, got[0].1, got[0].2.term), (1, 20, 4));
        assert_eq!(got[1].2, report(1));
        let mut big = report(5);
        big.members = (0..=MAX_RAFT_MEMBERS as u64)
            .map(|id| RaftMember { id, addr: String::new(), voter: true, matched: None })
            .collect();
        assert!(matches!(
            s.record_raft(1, 30, &big),
            Err(StoreError::Invalid { field: "members", .. })
        ));
        assert_eq!(s.raft_reports().unwrap()[0].2.term, 4, "nothing changed");
    }
}
