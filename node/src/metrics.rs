//! Prometheus metrics (text exposition format), served on their own listener, loopback by default.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label of a rejection: the stable error code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

/// The node's metrics. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    events_accepted: Counter,
    events_rejected: Family<CodeLabel, Counter>,
    blocks_committed: Counter,
    block_events: Counter,
    height: Gauge,
    mempool_events: Gauge,
    consensus_round: Gauge,
    equivocations: Counter,
    peers: Gauge,
    sync_target: Gauge,
    gossip: Family<GossipLabel, Counter>,
}

/// Label of a received gossip message: its topic and the verdict given to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GossipLabel {
    topic: &'static str,
    verdict: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("provenance");
        let events_accepted = Counter::default();
        let events_rejected = Family::<CodeLabel, Counter>::default();
        let blocks_committed = Counter::default();
        let block_events = Counter::default();
        let height = Gauge::default();
        let mempool_events = Gauge::default();
        let consensus_round = Gauge::default();
        let equivocations = Counter::default();
        let peers = Gauge::default();
        let sync_target = Gauge::default();
        let gossip = Family::<GossipLabel, Counter>::default();
        registry.register(
            "consensus_round",
            "Consensus round at the current height (0 when a height decides first time)",
            consensus_round.clone(),
        );
        registry.register(
            "equivocations",
            "Conflicting signed messages of a validator detected (evidence recorded)",
            equivocations.clone(),
        );
        registry.register("peers", "Connected peers", peers.clone());
        registry.register(
            "sync_target_height",
            "Highest finalised height a peer reported (the catch-up target)",
            sync_target.clone(),
        );
        registry.register(
            "gossip_messages",
            "Gossip messages received, by topic and verdict",
            gossip.clone(),
        );
        registry.register(
            "events_accepted",
            "Events accepted into the mempool (durably acknowledged)",
            events_accepted.clone(),
        );
        registry.register(
            "events_rejected",
            "Submitted events refused, by error code",
            events_rejected.clone(),
        );
        registry.register(
            "blocks_committed",
            "Blocks finalised and committed to storage",
            blocks_committed.clone(),
        );
        registry.register(
            "finalised_events",
            "Events included in finalised blocks",
            block_events.clone(),
        );
        registry.register(
            "height",
            "Height of the newest finalised block",
            height.clone(),
        );
        registry.register(
            "mempool_events",
            "Events waiting for a block",
            mempool_events.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            events_accepted,
            events_rejected,
            blocks_committed,
            block_events,
            height,
            mempool_events,
            consensus_round,
            equivocations,
            peers,
            sync_target,
            gossip,
        }
    }

    pub(crate) fn set_round(&self, round: u32) {
        self.consensus_round.set(i64::from(round));
    }

    pub(crate) fn equivocation(&self) {
        self.equivocations.inc();
    }

    pub(crate) fn set_peers(&self, n: usize) {
        self.peers.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub(crate) fn set_sync_target(&self, height: u64) {
        self.sync_target
            .set(i64::try_from(height).unwrap_or(i64::MAX));
    }

    pub(crate) fn gossip(&self, topic: &'static str, verdict: &'static str) {
        self.gossip
            .get_or_create(&GossipLabel { topic, verdict })
            .inc();
    }

    pub(crate) fn events_accepted(&self, n: usize) {
        self.events_accepted.inc_by(n as u64);
    }

    pub(crate) fn event_rejected(&self, code: &str) {
        self.events_rejected
            .get_or_create(&CodeLabel {
                code: code.to_owned(),
            })
            .inc();
    }

    pub(crate) fn block_committed(&self, height: u64, events: usize) {
        self.blocks_committed.inc();
        self.block_events.inc_by(events as u64);
        self.height.set(i64::try_from(height).unwrap_or(i64::MAX));
    }

    pub(crate) fn set_mempool(&self, n: usize) {
        self.mempool_events
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::new();
        m.events_accepted(3);
        m.event_rejected("bad_signature");
        m.block_committed(7, 3);
        let text = m.render();
        assert!(
            text.contains("provenance_events_accepted_total 3"),
            "{text}"
        );
        assert!(
            text.contains("provenance_events_rejected_total{code=\"bad_signature\"} 1"),
            "{text}"
        );
        assert!(text.contains("provenance_height 7"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
