//! Offline verification of a bundle, trusting only the network's genesis (SPEC §13).
//!
//! The procedure, in order; each step's failures are collected, never short-circuited, except
//! that nothing after a failed trust step (genesis, hand-offs, anchor) is believed:
//!
//! 1. **Genesis**: the bundle's genesis is the trusted one (same document, or hashes to the
//!    pinned hash) and is valid.
//! 2. **Hand-offs**: from the genesis set, each hand-off header is certified by more than 2/3 of
//!    the set in force and names the next set by hash.
//! 3. **Anchor**: certified by the set the walk ends with.
//! 4. **Events**: each is a leaf of the anchor's log (RFC 6962 inclusion proof), its signature,
//!    hashes and EPCIS validity hold, and its claimed height is consistent with the log sizes of
//!    the certified headers.
//! 5. **Rules**: the registry is rebuilt from genesis and the bundle's governance transactions
//!    (each checked against its approvals), the rules are re-applied to the events in log order
//!    (see [`super::view`]), and the rebuilt validator schedule must agree with the certified
//!    hand-offs.
//! 6. **Freshness**: the anchor is not below the height the consumer has already seen, nor older
//!    than the consumer allows.
//! 7. **Story**: claims are extracted; an unretracted recall or a cold-chain breach makes the
//!    verdict [`VerdictStatus::Unsafe`].

use std::collections::BTreeSet;

use crate::epcis::EpcisEvent;
use crate::genesis::{Genesis, GenesisHash};
use crate::ledger::ValidatorSet;
use crate::merkle::{InclusionProof, MerkleHash, verify_inclusion};
use crate::record::{RecordError, VerifiedEvent};
use crate::rules::{
    EpcKey, EventFacts, LedgerView, MemoryState, RuleContext, check_event, check_governance,
};

use super::claims::{self, ColdChainPolicy, StoryEvent, StoryInput};
use super::closure::Closure;
use super::verdict::{AnchorInfo, Failure, Site, Story, Verdict, VerdictStatus};
use super::view::StoryView;
use super::{CertifiedHeader, ProvenanceBundle, Subject};

/// What the consumer trusts: the genesis document itself, or only its pinned hash (the bundle's
/// genesis must then hash to it).
#[derive(Debug, Clone)]
pub enum TrustRoot {
    Genesis(Box<Genesis>),
    PinnedHash(GenesisHash),
}

/// Verification settings beyond the trust root.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Cold-chain limits for products whose events declare none.
    pub policy: ColdChainPolicy,
    /// The consumer's clock, milliseconds since the Unix epoch (needed for `max_age_ms`).
    pub now_ms: Option<u64>,
    /// Fail when the anchor is older than this relative to `now_ms`.
    pub max_age_ms: Option<u64>,
    /// Fail when the anchor is below this height: the highest head the consumer has already
    /// seen, so an old bundle (one that predates, say, a recall) is refused.
    pub min_anchor_height: Option<u64>,
    /// The identifier the consumer asked about (any form: URN or Digital Link): the bundle must
    /// be about it. The subject is the one part of a bundle no signature covers.
    pub expected_subject: Option<String>,
    /// The scope the consumer asked for.
    pub expected_scope: Option<super::Scope>,
}

/// Verifies `bundle`; never panics, never stops at the first failure.
pub fn verify(bundle: &ProvenanceBundle, trust: &TrustRoot, options: &VerifyOptions) -> Verdict {
    let mut run = Run {
        bundle,
        failures: Vec::new(),
    };
    let genesis_hash = bundle.genesis.hash();
    let trusted = run.check_genesis(trust, genesis_hash);
    let chain = if trusted { run.check_chain() } else { None };
    let (story, anchor) = match chain {
        Some(chain) => {
            let anchor = run.anchor_info(&chain);
            run.check_freshness(chain.anchor, options);
            (run.check_events(&chain, options), Some(anchor))
        }
        None => (Story::default(), None),
    };
    run.finish(genesis_hash, anchor, story)
}

/// What the trust steps established.
struct Chain<'b> {
    anchor: &'b CertifiedHeader,
    /// `(first height, set)` in increasing height: who certified which blocks.
    sets: Vec<(u64, ValidatorSet)>,
}

impl Chain<'_> {
    fn set_at(&self, height: u64) -> Option<&ValidatorSet> {
        self.sets
            .iter()
            .rev()
            .find(|(from, _)| *from <= height)
            .map(|(_, set)| set)
    }
}

struct Run<'b> {
    bundle: &'b ProvenanceBundle,
    failures: Vec<Failure>,
}

impl<'b> Run<'b> {
    fn fail(&mut self, site: Site, code: &str, message: impl Into<String>) {
        self.failures.push(Failure {
            code: code.to_owned(),
            message: message.into(),
            site,
        });
    }

    fn check_genesis(&mut self, trust: &TrustRoot, found: GenesisHash) -> bool {
        let expected = match trust {
            TrustRoot::Genesis(genesis) => genesis.hash(),
            TrustRoot::PinnedHash(hash) => *hash,
        };
        if expected != found {
            self.fail(
                Site::Genesis,
                "genesis_mismatch",
                format!(
                    "the bundle is for the network with genesis {found}, not the trusted genesis {expected}"
                ),
            );
            return false;
        }
        if let Err(e) = self.bundle.genesis.validate() {
            self.fail(
                Site::Genesis,
                "bad_genesis",
                format!("the genesis is invalid: {e}"),
            );
            return false;
        }
        true
    }

    /// Walks the hand-offs from the genesis set and checks the anchor's certificate.
    fn check_chain(&mut self) -> Option<Chain<'b>> {
        let bundle = self.bundle;
        let chain_id = &bundle.genesis.chain_id;
        let mut set = match bundle.genesis.validator_set() {
            Ok(set) => set,
            Err(e) => {
                self.fail(Site::Genesis, "bad_genesis", e.to_string());
                return None;
            }
        };
        let mut sets = vec![(1, set.clone())];
        let mut last_height = 0;
        for (index, handoff) in bundle.handoffs.iter().enumerate() {
            let header = &handoff.header;
            let site = Site::Handoff {
                index,
                height: header.height,
            };
            let problem = if header.chain_id != *chain_id {
                Some((
                    "wrong_chain",
                    format!("the header is for chain {:?}", header.chain_id),
                ))
            } else if header.height <= last_height || header.height > bundle.anchor.header.height {
                Some((
                    "handoffs_out_of_order",
                    format!(
                        "hand-off at height {} does not lie between the previous one ({last_height}) and the anchor ({})",
                        header.height, bundle.anchor.header.height
                    ),
                ))
            } else if let Err(e) = handoff.certificate.verify(header, &set) {
                Some((
                    "bad_certificate",
                    format!("the hand-off's certificate does not verify: {e}"),
                ))
            } else if header.next_validators_hash == header.validators_hash {
                Some((
                    "not_a_handoff",
                    "the header keeps its validator set, so it is no hand-off".to_owned(),
                ))
            } else if handoff.next_validators.hash() != header.next_validators_hash {
                Some((
                    "bad_next_validators",
                    "the next validator set does not hash to the header's next_validators_hash"
                        .to_owned(),
                ))
            } else {
                None
            };
            if let Some((code, message)) = problem {
                // Every later certificate depends on this link: nothing after it is believed.
                self.fail(site, code, message);
                return None;
            }
            last_height = header.height;
            set = handoff.next_validators.clone();
            sets.push((header.height + 1, set.clone()));
        }
        let anchor = &bundle.anchor;
        if anchor.header.chain_id != *chain_id {
            self.fail(
                Site::Anchor,
                "wrong_chain",
                format!(
                    "the anchor header is for chain {:?}",
                    anchor.header.chain_id
                ),
            );
            return None;
        }
        if let Err(e) = anchor.certificate.verify(&anchor.header, &set) {
            self.fail(
                Site::Anchor,
                "bad_certificate",
                format!(
                    "the anchor at height {} is not certified by the validator set in force there: {e}",
                    anchor.header.height
                ),
            );
            return None;
        }
        Some(Chain { anchor, sets })
    }

    fn anchor_info(&self, chain: &Chain<'_>) -> AnchorInfo {
        let header = &chain.anchor.header;
        let (signed_power, total_power) = match chain.set_at(header.height) {
            Some(set) => {
                let signers: BTreeSet<_> = chain
                    .anchor
                    .certificate
                    .signatures
                    .iter()
                    .map(|s| s.validator)
                    .collect();
                (
                    signers.iter().filter_map(|k| set.power_of(k)).sum(),
                    set.total_power(),
                )
            }
            None => (0, 0),
        };
        AnchorInfo {
            height: header.height,
            time_ms: header.time_ms,
            time: rfc3339(header.time_ms),
            header_hash: hex::encode(header.hash()),
            log_size: header.log_size,
            signed_power,
            total_power,
        }
    }

    fn check_freshness(&mut self, anchor: &CertifiedHeader, options: &VerifyOptions) {
        let header = &anchor.header;
        if let Some(min) = options.min_anchor_height.filter(|min| header.height < *min) {
            self.fail(
                Site::Anchor,
                "stale_anchor",
                format!(
                    "the bundle is anchored at height {}, but a certified head at height {min} was already seen: events after height {} (a recall, say) could be missing; fetch a fresh bundle",
                    header.height, header.height
                ),
            );
        }
        if let (Some(max_age), Some(now)) = (options.max_age_ms, options.now_ms) {
            let age = now.saturating_sub(header.time_ms);
            if age > max_age {
                self.fail(
                    Site::Anchor,
                    "stale_anchor",
                    format!(
                        "the bundle's anchor is from {} ({} s old), older than the allowed {} s: later events (a recall, say) could be missing; fetch a fresh bundle",
                        rfc3339(header.time_ms),
                        age / 1000,
                        max_age / 1000
                    ),
                );
            }
        }
    }

    /// Steps 4, 5 and 7: proofs, signatures, rules and the story.
    fn check_events(&mut self, chain: &Chain<'_>, options: &VerifyOptions) -> Story {
        let bundle = self.bundle;
        let subject = match Subject::parse(&bundle.subject) {
            Ok(subject) => subject,
            Err(e) => {
                self.fail(Site::Bundle, "bad_subject", e.to_string());
                return Story::default();
            }
        };
        if subject.key().0 != bundle.subject {
            self.fail(
                Site::Bundle,
                "bad_subject",
                format!(
                    "the subject {:?} is not in canonical form ({})",
                    bundle.subject,
                    subject.key()
                ),
            );
        }
        self.check_expected(&subject, options);
        let checked = self.check_records(chain);
        let facts: Vec<Option<EventFacts>> = checked
            .iter()
            .map(|v| v.as_ref().and_then(|v| EventFacts::extract(&v.event).ok()))
            .collect();
        let with_leaves: Vec<(u64, &EventFacts)> = bundle
            .events
            .iter()
            .zip(&facts)
            .filter_map(|(e, f)| f.as_ref().map(|f| (e.leaf_index, f)))
            .collect();
        let closure = Closure::compute(subject.key(), bundle.scope, &with_leaves);
        let registry = self.apply_rules(chain, &checked, &facts, &closure);
        self.check_subject_present(&subject, &facts);

        let failed: BTreeSet<usize> = self
            .failures
            .iter()
            .filter_map(|f| match f.site {
                Site::Event { index, .. } => Some(index),
                _ => None,
            })
            .collect();
        let parsed: Vec<Option<EpcisEvent>> = bundle
            .events
            .iter()
            .zip(&checked)
            .map(|(e, v)| match v {
                Some(v) => Some(v.event.clone()),
                None => e
                    .record
                    .event_json()
                    .ok()
                    .and_then(|json| serde_json::from_value(json).ok()),
            })
            .collect();
        let events = bundle
            .events
            .iter()
            .zip(&parsed)
            .enumerate()
            .map(|(index, (e, event))| StoryEvent {
                index,
                record: &e.record,
                event: event.as_ref(),
                signer: registry
                    .participant_by_key(&e.record.signer)
                    .map(|p| p.name),
                height: e.height,
                verified: !failed.contains(&index),
            })
            .collect();
        let tracked: BTreeSet<EpcKey> = closure.members.keys().cloned().collect();
        claims::story(&StoryInput {
            subject: &subject,
            events,
            tracked: &tracked,
            registry: &registry,
            policy: &options.policy,
            anchor_time_ms: chain.anchor.header.time_ms,
        })
    }

    /// The bundle answers the consumer's question: the subject and scope asked for.
    fn check_expected(&mut self, subject: &Subject, options: &VerifyOptions) {
        if let Some(expected) = &options.expected_subject {
            match Subject::parse(expected) {
                Ok(asked) if asked.key() == subject.key() => {}
                Ok(asked) => self.fail(
                    Site::Bundle,
                    "wrong_subject",
                    format!(
                        "the bundle is about {}, not about {} as asked",
                        self.bundle.subject,
                        asked.key()
                    ),
                ),
                Err(e) => self.fail(Site::Bundle, "wrong_subject", e.to_string()),
            }
        }
        if let Some(scope) = options.expected_scope.filter(|s| *s != self.bundle.scope) {
            self.fail(
                Site::Bundle,
                "wrong_scope",
                format!(
                    "the bundle's scope is {:?}, not {scope:?} as asked",
                    self.bundle.scope
                ),
            );
        }
    }

    /// Order, heights, inclusion proofs and the records' own checks.
    fn check_records(&mut self, chain: &Chain<'_>) -> Vec<Option<VerifiedEvent>> {
        let bundle = self.bundle;
        let anchor = &chain.anchor.header;
        let root = MerkleHash::from(anchor.log_root);
        let chain_id = bundle.genesis.chain_id.as_str();
        let mut previous: Option<(u64, u64)> = None;
        let mut checked = Vec::with_capacity(bundle.events.len());
        for (index, proven) in bundle.events.iter().enumerate() {
            let site = Site::Event {
                index,
                event_hash_id: proven.record.event_hash_id.to_string(),
            };
            let mut ok = true;
            if let Some((leaf, height)) = previous {
                if proven.leaf_index <= leaf {
                    ok = false;
                    self.fail(
                        site.clone(),
                        "events_out_of_order",
                        format!(
                            "leaf {} follows leaf {leaf}: a bundle lists events in log order, once each",
                            proven.leaf_index
                        ),
                    );
                } else if proven.height < height {
                    ok = false;
                    self.fail(
                        site.clone(),
                        "bad_height",
                        format!(
                            "height {} is below the previous event's height {height} although its leaf is later",
                            proven.height
                        ),
                    );
                }
            }
            previous = Some((proven.leaf_index, proven.height));
            if let Some(message) = height_problem(bundle, proven.height, proven.leaf_index) {
                ok = false;
                self.fail(site.clone(), "bad_height", message);
            }
            let proof = InclusionProof {
                leaf_index: proven.leaf_index,
                tree_size: anchor.log_size,
                path: proven.path.0.clone(),
            };
            if let Err(e) = verify_inclusion(&proven.record.leaf_hash(proven.height), &proof, &root)
            {
                ok = false;
                self.fail(
                    site.clone(),
                    "bad_inclusion_proof",
                    format!(
                        "the event is not leaf {} of the log certified at height {}: {e}",
                        proven.leaf_index, anchor.height
                    ),
                );
            }
            match proven.record.verify(chain_id) {
                Ok(verified) => checked.push(ok.then_some(verified)),
                Err(e) => {
                    self.fail(site, record_error_code(&e), e.to_string());
                    checked.push(None);
                }
            }
        }
        checked
    }

    /// Rebuilds the registry and re-applies the rules to the events and governance in ledger
    /// order; returns the registry as of the anchor.
    fn apply_rules(
        &mut self,
        chain: &Chain<'_>,
        checked: &[Option<VerifiedEvent>],
        facts: &[Option<EventFacts>],
        closure: &Closure,
    ) -> MemoryState {
        let bundle = self.bundle;
        let genesis = &bundle.genesis;
        let anchor = &chain.anchor.header;
        let mut view = StoryView::new(MemoryState::from_genesis(genesis), closure);
        // Ledger order: by height; within a block, events before governance.
        let mut timeline: Vec<(u64, u8, usize)> = bundle
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.height, 0, i))
            .chain(
                bundle
                    .governance
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (g.height, 1, i)),
            )
            .collect();
        timeline.sort();
        let mut last_governance_height = 0;
        for (height, kind, index) in timeline {
            let ctx = RuleContext {
                height,
                block_time_ms: anchor.time_ms,
                max_clock_skew_ms: genesis.params.max_clock_skew_ms,
            };
            if kind == 1 {
                let included = &bundle.governance[index];
                let site = Site::Governance { index, height };
                if height == 0 || height > anchor.height || height < last_governance_height {
                    self.fail(
                        site,
                        "bad_height",
                        format!(
                            "governance at height {height} is out of order or beyond the anchor ({})",
                            anchor.height
                        ),
                    );
                    continue;
                }
                last_governance_height = height;
                match check_governance(
                    &view,
                    &included.tx,
                    &genesis.chain_id,
                    &ctx,
                    &genesis.params,
                ) {
                    Ok(changes) => view.apply(changes),
                    Err(e) => self.fail(site, e.code(), e.to_string()),
                }
                continue;
            }
            let (Some(event), Some(facts)) = (&checked[index], &facts[index]) else {
                continue;
            };
            let site = Site::Event {
                index,
                event_hash_id: event.record.event_hash_id.to_string(),
            };
            let name = view
                .participant_by_key(&event.record.signer)
                .map(|p| p.name)
                .unwrap_or_default();
            view.begin(event.record.signer, event.record.sequence, &name, facts);
            match check_event(&view, event, &ctx) {
                Ok(changes) => view.apply(changes),
                Err(violation) => {
                    view.abandon();
                    self.fail(site, violation.code(), violation.to_string());
                }
            }
        }
        self.check_schedule(&view);
        view.state
    }

    /// The validator schedule the governance transactions produce must be the certified one.
    fn check_schedule(&mut self, view: &StoryView<'_>) {
        for (index, handoff) in self.bundle.handoffs.iter().enumerate() {
            let next_height = handoff.header.height + 1;
            if view.validator_set_at(next_height).as_ref() != Some(&handoff.next_validators) {
                self.fail(
                    Site::Handoff {
                        index,
                        height: handoff.header.height,
                    },
                    "governance_missing",
                    format!(
                        "the certified set from height {next_height} is not what the bundle's governance transactions schedule: a governance transaction is missing or altered"
                    ),
                );
            }
        }
    }

    fn check_subject_present(&mut self, subject: &Subject, facts: &[Option<EventFacts>]) {
        if self.bundle.events.is_empty() {
            self.fail(
                Site::Story,
                "no_events",
                format!("the bundle carries no event of {}", self.bundle.subject),
            );
            return;
        }
        let named = facts
            .iter()
            .flatten()
            .any(|f| super::closure::named(f).any(|k| k == subject.key()));
        if !named {
            self.fail(
                Site::Story,
                "subject_missing",
                format!(
                    "no verified event of the bundle names {}",
                    self.bundle.subject
                ),
            );
        }
    }

    fn finish(
        self,
        genesis_hash: GenesisHash,
        anchor: Option<AnchorInfo>,
        story: Story,
    ) -> Verdict {
        let bundle = self.bundle;
        let recalled = story.recalls.iter().find(|r| !r.retracted);
        let breach = story.cold_chain.iter().find(|s| s.within == Some(false));
        let status = if !self.failures.is_empty() {
            VerdictStatus::Failed
        } else if recalled.is_some() || breach.is_some() {
            VerdictStatus::Unsafe
        } else {
            VerdictStatus::Verified
        };
        let summary = match (status, &anchor) {
            (VerdictStatus::Failed, _) => {
                let first = self
                    .failures
                    .first()
                    .map(|f| f.message.as_str())
                    .unwrap_or("");
                format!(
                    "FAILED: {} problem{} found; first: {first}",
                    self.failures.len(),
                    if self.failures.len() == 1 { "" } else { "s" }
                )
            }
            (VerdictStatus::Unsafe, _) => match (recalled, breach) {
                (Some(recall), _) => format!(
                    "UNSAFE: recalled by {} on {}; the story is authentic",
                    recall.by, recall.when
                ),
                (None, Some(reading)) => format!(
                    "UNSAFE: a {} reading is outside its limits; the story is authentic",
                    reading.measurement
                ),
                (None, None) => "UNSAFE".to_owned(),
            },
            (VerdictStatus::Verified, Some(anchor)) => format!(
                "VERIFIED: {} event{} of {}, final at height {} ({}), certified by {} of {} voting power",
                bundle.events.len(),
                if bundle.events.len() == 1 { "" } else { "s" },
                bundle.subject,
                anchor.height,
                anchor.time,
                anchor.signed_power,
                anchor.total_power
            ),
            (VerdictStatus::Verified, None) => "VERIFIED".to_owned(),
        };
        // The genesis and chain are fields of the verdict; notes are only what was not checked.
        let notes = vec![
            "Completeness cannot be proven: a node could leave events out of a bundle. Gaps inside the story fail the custody rules; events after the anchor (a later recall, say) are not covered, so check the anchor's date.".to_owned(),
        ];
        Verdict {
            status,
            summary,
            subject: bundle.subject.clone(),
            scope: bundle.scope,
            chain_id: bundle.genesis.chain_id.clone(),
            genesis_hash: genesis_hash.to_string(),
            anchor,
            story,
            failures: self.failures,
            notes,
        }
    }
}

/// An event's claimed height must agree with the certified headers' log sizes: a leaf below a
/// hand-off header's `log_size` is at or below that height, a leaf at or beyond it is above.
fn height_problem(bundle: &ProvenanceBundle, height: u64, leaf: u64) -> Option<String> {
    let anchor = &bundle.anchor.header;
    if height == 0 || height > anchor.height {
        return Some(format!(
            "height {height} is not between 1 and the anchor's height {}",
            anchor.height
        ));
    }
    bundle.handoffs.iter().find_map(|h| {
        let header = &h.header;
        let before = leaf < header.log_size;
        let consistent = if before {
            height <= header.height
        } else {
            height > header.height
        };
        (!consistent).then(|| {
            format!(
                "height {height} contradicts the certified header at height {}, whose log has {} leaves (this is leaf {leaf})",
                header.height, header.log_size
            )
        })
    })
}

fn record_error_code(error: &RecordError) -> &'static str {
    match error {
        RecordError::WrongChain { .. } | RecordError::ChainIdTooLong { .. } => "wrong_chain",
        RecordError::BadSignature { .. } => "bad_signature",
        RecordError::ContentHashMismatch { .. } | RecordError::EventHashMismatch { .. } => {
            "hash_mismatch"
        }
        RecordError::InvalidEpcis(_) => "invalid_epcis",
        _ => "bad_event",
    }
}

/// Milliseconds since the Unix epoch as RFC 3339 UTC (empty when out of range).
pub(crate) fn rfc3339(ms: u64) -> String {
    i128::from(ms)
        .checked_mul(1_000_000)
        .and_then(|nanos| time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
