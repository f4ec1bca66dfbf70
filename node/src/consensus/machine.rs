//! The state machine: the rules of Algorithm 1 of Buchman, Kwon, Milosevic (2018), evaluated
//! to a fixed point after every input.

use std::collections::BTreeSet;

use provenance_protocol::crypto::{PublicKey, SigningKey};
use provenance_protocol::ledger::{
    CommitSignature, FinalityCertificate, ValidatorSet, VoteKind, VotePayload,
};

use super::types::{
    Evidence, Hash, Input, Lock, Message, Output, ProposalPayload, Rejection, SignStep, SignedAt,
    SignedProposal, SignedState, SignedVote, TimeoutConfig, TimeoutKind,
};
use super::votes::{HeightVotes, Recorded};

/// Messages more than this many rounds ahead of the current round are dropped, so a Byzantine
/// validator cannot make the core store votes for billions of rounds.
pub const ROUND_WINDOW: u32 = 128;

/// Most buffered messages for the next height (bounded memory against spam).
pub const MAX_BUFFERED: usize = 4096;

/// Why a consensus core cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("signing key {key} is not in the validator set; only validators run consensus")]
    NotAValidator { key: PublicKey },
    #[error("height 0 is genesis and is never decided; start consensus at height 1 or above")]
    HeightZero,
}

/// Static configuration of a core.
#[derive(Debug)]
pub struct Config {
    pub chain_id: String,
    pub validators: ValidatorSet,
    pub key: SigningKey,
    pub timeouts: TimeoutConfig,
}

/// The step within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
}

/// One validator's Tendermint consensus core. Pure: no I/O, clock or randomness.
#[derive(Debug)]
pub struct Consensus {
    config: Config,
    me: PublicKey,
    height: u64,
    round: u32,
    step: Step,
    lock: Option<Lock>,
    /// The paper's validValue/validRound: `(round, hash)`.
    valid: Option<(u32, Hash)>,
    signed: Option<SignedState>,
    votes: HeightVotes,
    /// Rounds for which the one-shot rules (prevote timeout, precommit on quorum, precommit
    /// timeout) already fired.
    fired: BTreeSet<(u32, u8)>,
    /// This node's own signed messages (and relayed proofs of lock) of the current round, for
    /// retransmission.
    own: Vec<Message>,
    value_requested: bool,
    buffered: Vec<Input>,
    last_decision: Option<FinalityCertificate>,
    out: Vec<Output>,
}

const FIRED_PREVOTE_TIMEOUT: u8 = 0;
const FIRED_PRECOMMIT_VALUE: u8 = 1;
const FIRED_PRECOMMIT_TIMEOUT: u8 = 2;

impl Consensus {
    /// Builds a core at `height` (last committed height + 1). `restored` is the last
    /// [`SignedState`] the host persisted, if any; the core never signs at or below it.
    pub fn new(
        config: Config,
        height: u64,
        restored: Option<SignedState>,
    ) -> Result<Self, ConfigError> {
        let me = config.key.public_key();
        if config.validators.power_of(&me).is_none() {
            return Err(ConfigError::NotAValidator { key: me });
        }
        if height == 0 {
            return Err(ConfigError::HeightZero);
        }
        // Resume in the round we last signed in, with the lock we held there.
        let (round, lock) = match &restored {
            Some(s) if s.height == height => (s.round, s.lock.clone()),
            _ => (0, None),
        };
        let mut core = Consensus {
            config,
            me,
            height,
            round,
            step: Step::Propose,
            valid: lock.as_ref().map(|l| (l.round, l.hash)),
            lock: lock.clone(),
            signed: restored,
            votes: HeightVotes::default(),
            fired: BTreeSet::new(),
            own: Vec::new(),
            value_requested: false,
            buffered: Vec::new(),
            last_decision: None,
            out: Vec::new(),
        };
        // Re-admit the persisted proof of lock, checked like any other vote.
        if let Some(lock) = lock {
            for commit in lock.pol {
                core.on_vote(SignedVote {
                    payload: VotePayload {
                        kind: VoteKind::Prevote,
                        height,
                        round: lock.round,
                        block_hash: Some(lock.hash),
                    },
                    validator: commit.validator,
                    signature: commit.signature,
                });
            }
        }
        core.out.clear();
        Ok(core)
    }

    /// Gives a restarted core the certificate of the height before its own (from the host's
    /// store), so it can help validators still voting there. Ignored for any other height.
    pub fn restore_last_decision(&mut self, certificate: FinalityCertificate) {
        if certificate.height.saturating_add(1) == self.height {
            self.last_decision = Some(certificate);
        }
    }

    /// Enters the starting round. Call once, after [`Consensus::new`].
    pub fn start(&mut self) -> Vec<Output> {
        match self.signed.clone() {
            Some(s) if s.height == self.height => self.resume(&s),
            _ => self.start_round(self.round),
        }
        self.run_rules();
        std::mem::take(&mut self.out)
    }

    /// After a restart: re-create the messages recorded in the persisted state (Ed25519 is
    /// deterministic, so they are byte-identical to those signed before the crash, not new
    /// ones), count and re-broadcast them, and continue from the step after the last one.
    /// Without this a lost message can leave the live validators one vote short forever.
    fn resume(&mut self, s: &SignedState) {
        self.round = s.round;
        self.step = Step::Propose;
        self.own.clear();
        self.value_requested = false;
        self.schedule(TimeoutKind::Rebroadcast);
        self.schedule(TimeoutKind::Propose);
        for signed in &s.messages {
            let round = signed.round;
            let current = round == s.round;
            let message = match (signed.step, signed.block_hash) {
                (SignStep::Propose, Some(hash)) => {
                    let proposal = self.sign_proposal(round, hash, signed.pol_round);
                    self.votes.add_proposal(proposal.clone(), true);
                    Message::Proposal(proposal)
                }
                // Not produced by this core (a proposal always names a block): skip it.
                (SignStep::Propose, None) => continue,
                (SignStep::Prevote, hash) => {
                    if current {
                        self.step = Step::Prevote;
                    }
                    let vote = self.sign_vote(round, VoteKind::Prevote, hash);
                    self.votes.add_vote(vote.clone());
                    Message::Vote(vote)
                }
                (SignStep::Precommit, hash) => {
                    if current {
                        self.step = Step::Precommit;
                    }
                    let vote = self.sign_vote(round, VoteKind::Precommit, hash);
                    self.votes.add_vote(vote.clone());
                    Message::Vote(vote)
                }
            };
            if current {
                self.send_own(message);
            } else {
                // Earlier-round messages are in the vote book, which the rebroadcast relays.
                self.out.push(Output::Broadcast(message));
            }
        }
    }

    /// The height being decided.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// The current step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The lock held at this height, if any (for metrics and debugging).
    pub fn lock(&self) -> Option<&Lock> {
        self.lock.as_ref()
    }

    /// The paper's validRound/validValue at this height, if any.
    pub fn valid_value(&self) -> Option<(u32, Hash)> {
        self.valid
    }

    /// This validator's key.
    pub fn public_key(&self) -> PublicKey {
        self.me
    }

    /// Feeds one input; returns the outputs in the order the host must execute them.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        self.accept(input);
        self.run_rules();
        std::mem::take(&mut self.out)
    }

    fn accept(&mut self, input: Input) {
        match input {
            Input::Proposal { proposal, valid } => self.on_proposal(proposal, valid),
            Input::Vote(vote) => self.on_vote(vote),
            Input::Decision(cert) => self.on_decision(cert),
            Input::ProposeValue {
                height,
                round,
                hash,
            } => {
                if height == self.height
                    && round == self.round
                    && self.step == Step::Propose
                    && self.value_requested
                {
                    self.value_requested = false;
                    self.propose(hash, None);
                }
            }
            Input::Timeout {
                height,
                round,
                kind,
            } => self.on_timeout(height, round, kind),
        }
    }

    fn reject(&mut self, from: Option<PublicKey>, reason: Rejection) {
        self.out.push(Output::Rejected { from, reason });
    }

    /// Returns false (and reports) unless `round` is within the window.
    fn round_in_window(&mut self, from: PublicKey, round: u32) -> bool {
        if round > self.round.saturating_add(ROUND_WINDOW) {
            self.reject(
                Some(from),
                Rejection::RoundTooFarAhead {
                    round,
                    current: self.round,
                    window: ROUND_WINDOW,
                },
            );
            return false;
        }
        true
    }

    fn buffer(&mut self, input: Input) {
        if self.buffered.len() < MAX_BUFFERED {
            self.buffered.push(input);
        }
    }

    /// Answers the peer that sent a vote of an already decided `height`. The core does not
    /// know transport peers, so the answer goes to "whoever delivered this input" (which may
    /// relay another validator's vote: the relayer is the one lagging). Older heights are the
    /// host's job: it holds every certificate in its store.
    fn help_lagging(&mut self, height: u64) {
        match &self.last_decision {
            Some(cert) if cert.height == height => {
                self.out
                    .push(Output::Reply(Message::Decision(cert.clone())));
            }
            _ => self.out.push(Output::PeerBehind { height }),
        }
    }

    fn on_vote(&mut self, vote: SignedVote) {
        let key = vote.validator;
        if self.config.validators.power_of(&key).is_none() {
            return self.reject(Some(key), Rejection::NotAValidator { key });
        }
        let height = vote.payload.height;
        if height == self.height && self.votes.holds(&vote) {
            return; // A duplicate: nothing new, and not worth a signature check.
        }
        if height > self.height.saturating_add(1) {
            return; // Not misbehaviour: we are behind; the host's block sync catches us up.
        }
        if vote
            .payload
            .verify(&key, &self.config.chain_id, &vote.signature)
            .is_err()
        {
            let what = match vote.payload.kind {
                VoteKind::Prevote => "prevote",
                VoteKind::Precommit => "precommit",
            };
            return self.reject(Some(key), Rejection::BadSignature { key, what });
        }
        if height < self.height {
            return self.help_lagging(height);
        }
        if height > self.height {
            return self.buffer(Input::Vote(vote));
        }
        if !self.round_in_window(key, vote.payload.round) {
            return;
        }
        self.record_vote(vote);
    }

    fn record_vote(&mut self, vote: SignedVote) {
        if let Recorded::Conflict(Some(evidence)) = self.votes.add_vote(vote) {
            self.out.push(Output::Evidence(*evidence));
        }
    }

    fn on_proposal(&mut self, proposal: SignedProposal, valid: bool) {
        let key = proposal.proposer;
        let p = proposal.payload;
        if self.config.validators.power_of(&key).is_none() {
            return self.reject(Some(key), Rejection::NotAValidator { key });
        }
        if p.height > self.height.saturating_add(1) || p.height < self.height {
            return;
        }
        if p.height == self.height && self.votes.holds_proposal(&proposal) {
            return;
        }
        let expected = self.config.validators.proposer(p.height, p.round).key;
        if expected != key {
            return self.reject(
                Some(key),
                Rejection::WrongProposer {
                    height: p.height,
                    round: p.round,
                    expected,
                    found: key,
                },
            );
        }
        if let Some(pol_round) = p.pol_round
            && pol_round >= p.round
        {
            return self.reject(
                Some(key),
                Rejection::BadPolRound {
                    round: p.round,
                    pol_round,
                },
            );
        }
        if p.verify(&key, &self.config.chain_id, &proposal.signature)
            .is_err()
        {
            return self.reject(
                Some(key),
                Rejection::BadSignature {
                    key,
                    what: "proposal",
                },
            );
        }
        if p.height > self.height {
            return self.buffer(Input::Proposal { proposal, valid });
        }
        if !self.round_in_window(key, p.round) {
            return;
        }
        if let Recorded::Conflict(Some(evidence)) = self.votes.add_proposal(proposal, valid) {
            self.out.push(Output::Evidence(*evidence));
        }
    }

    fn on_decision(&mut self, cert: FinalityCertificate) {
        if cert.height != self.height {
            return;
        }
        if let Err(reason) = self.check_certificate(&cert) {
            return self.reject(
                None,
                Rejection::BadCertificate {
                    height: cert.height,
                    reason,
                },
            );
        }
        self.decide(cert.round, cert.header_hash, cert);
    }

    /// Every signer a distinct member, every precommit verifying strictly, > 2/3 of the power.
    fn check_certificate(&self, cert: &FinalityCertificate) -> Result<(), String> {
        let payload = cert.precommit_payload();
        let mut seen = BTreeSet::new();
        let mut power = 0u64;
        for commit in &cert.signatures {
            let p = self
                .config
                .validators
                .power_of(&commit.validator)
                .ok_or_else(|| format!("signer {} is not a validator", commit.validator))?;
            if !seen.insert(commit.validator) {
                return Err(format!("signer {} appears twice", commit.validator));
            }
            payload
                .verify(&commit.validator, &self.config.chain_id, &commit.signature)
                .map_err(|e| e.to_string())?;
            power = power.saturating_add(p);
        }
        if !self.config.validators.is_quorum(power) {
            return Err(format!(
                "signers hold {power} of {} voting power; more than two thirds is required",
                self.config.validators.total_power()
            ));
        }
        Ok(())
    }

    fn on_timeout(&mut self, height: u64, round: u32, kind: TimeoutKind) {
        if height != self.height || round != self.round {
            return;
        }
        match kind {
            TimeoutKind::Propose if self.step == Step::Propose => {
                self.vote(VoteKind::Prevote, None);
                self.step = Step::Prevote;
            }
            TimeoutKind::Prevote if self.step == Step::Prevote => {
                self.vote(VoteKind::Precommit, None);
                self.step = Step::Precommit;
            }
            TimeoutKind::Precommit => self.start_round(round.saturating_add(1)),
            TimeoutKind::Rebroadcast => {
                // Own messages of this round (with relayed proofs of lock), then every message
                // held for this round and the previous one: whatever justified this node's
                // progress must reach the others, and a restarted peer may have lost its own.
                for message in self.own.clone() {
                    self.out.push(Output::Broadcast(message));
                }
                let first = self.round.saturating_sub(1);
                for round in first..=self.round {
                    for message in self.votes.messages_of_round(round) {
                        if !self.own.contains(&message) {
                            self.out.push(Output::Broadcast(message));
                        }
                    }
                }
                self.schedule(TimeoutKind::Rebroadcast);
            }
            _ => {}
        }
    }

    fn schedule(&mut self, kind: TimeoutKind) {
        self.out.push(Output::ScheduleTimeout {
            height: self.height,
            round: self.round,
            kind,
            after: self.config.timeouts.duration(kind, self.round),
        });
    }

    fn start_round(&mut self, round: u32) {
        self.round = round;
        self.step = Step::Propose;
        self.own.clear();
        self.value_requested = false;
        self.schedule(TimeoutKind::Rebroadcast);
        self.schedule(TimeoutKind::Propose);
        if self.config.validators.proposer(self.height, round).key == self.me {
            match self.valid {
                Some((valid_round, hash)) => self.propose(hash, Some(valid_round)),
                None => {
                    self.value_requested = true;
                    self.out.push(Output::RequestValue {
                        height: self.height,
                        round,
                    });
                }
            }
        }
    }

    /// Records what is about to be signed; false if it would not be strictly after the last
    /// signed state (after a restart), in which case nothing is signed.
    fn guard(&mut self, step: SignStep, block_hash: Option<Hash>, pol_round: Option<u32>) -> bool {
        let allowed = self
            .signed
            .as_ref()
            .is_none_or(|s| s.allows(self.height, self.round, step));
        if allowed {
            let mut messages = match self.signed.take() {
                Some(s) if s.height == self.height => s.messages,
                _ => Vec::new(),
            };
            messages.retain(|m| m.round.saturating_add(1) >= self.round);
            messages.push(SignedAt {
                round: self.round,
                step,
                block_hash,
                pol_round,
            });
            let state = SignedState {
                height: self.height,
                round: self.round,
                step,
                messages,
                lock: self.lock.clone(),
            };
            self.signed = Some(state.clone());
            self.out.push(Output::Persist(state));
        }
        allowed
    }

    fn propose(&mut self, hash: Hash, pol_round: Option<u32>) {
        if !self.guard(SignStep::Propose, Some(hash), pol_round) {
            return;
        }
        // Relay the proof of lock with a re-proposal: after message loss the others may lack
        // it, and rule 28 cannot fire without it.
        if let Some(vr) = pol_round {
            let pol: Vec<SignedVote> = self
                .votes
                .votes_for(vr, VoteKind::Prevote, Some(hash))
                .into_iter()
                .cloned()
                .collect();
            for vote in pol {
                self.send_own(Message::Vote(vote));
            }
        }
        let proposal = self.sign_proposal(self.round, hash, pol_round);
        self.votes.add_proposal(proposal.clone(), true);
        self.send_own(Message::Proposal(proposal));
    }

    fn vote(&mut self, kind: VoteKind, hash: Option<Hash>) {
        if !self.guard(SignStep::of_vote(kind), hash, None) {
            return;
        }
        let vote = self.sign_vote(self.round, kind, hash);
        self.votes.add_vote(vote.clone());
        self.send_own(Message::Vote(vote));
    }

    /// Signs without any check: callers go through `guard` (or re-create a persisted message).
    fn sign_vote(&self, round: u32, kind: VoteKind, hash: Option<Hash>) -> SignedVote {
        let payload = VotePayload {
            kind,
            height: self.height,
            round,
            block_hash: hash,
        };
        let signature = payload.sign(&self.config.key, &self.config.chain_id);
        SignedVote {
            payload,
            validator: self.me,
            signature,
        }
    }

    fn sign_proposal(&self, round: u32, hash: Hash, pol_round: Option<u32>) -> SignedProposal {
        let payload = ProposalPayload {
            height: self.height,
            round,
            pol_round,
            block_hash: hash,
        };
        SignedProposal {
            payload,
            proposer: self.me,
            signature: payload.sign(&self.config.key, &self.config.chain_id),
        }
    }

    fn send_own(&mut self, message: Message) {
        self.own.push(message.clone());
        self.out.push(Output::Broadcast(message));
    }

    fn decide(&mut self, round: u32, hash: Hash, certificate: FinalityCertificate) {
        self.out.push(Output::Decide {
            height: self.height,
            round,
            hash,
            certificate: certificate.clone(),
        });
        self.last_decision = Some(certificate);
        self.height = self.height.saturating_add(1);
        self.lock = None;
        self.valid = None;
        self.votes = HeightVotes::default();
        self.fired.clear();
        self.start_round(0);
        for input in std::mem::take(&mut self.buffered) {
            self.accept(input);
        }
    }

    /// Applies the rules until none changes the state.
    fn run_rules(&mut self) {
        // Each pass either changes (height, round, step, fired) or stops; bounded anyway.
        for _ in 0..10_000 {
            if !self.apply_one_rule() {
                return;
            }
        }
    }

    fn apply_one_rule(&mut self) -> bool {
        let set = &self.config.validators;
        let (h, r) = (self.height, self.round);

        // Lines 49-54: a precommit quorum for a value in any round decides it.
        if let Some((round, hash, precommits)) = self.votes.decided(set) {
            let mut signatures: Vec<CommitSignature> = precommits
                .into_iter()
                .map(|v| CommitSignature {
                    validator: v.validator,
                    signature: v.signature,
                })
                .collect();
            signatures.sort_by_key(|s| s.validator);
            let cert = FinalityCertificate {
                height: h,
                round,
                header_hash: hash,
                signatures,
            };
            self.decide(round, hash, cert);
            return true;
        }

        // Lines 55-56: f+1 power seen in a higher round: skip to it.
        if let Some(round) = self.votes.skip_round(set, r) {
            self.start_round(round);
            return true;
        }

        let proposal = self.votes.proposal(r).map(|(p, valid)| (p.payload, *valid));

        if self.step == Step::Propose
            && let Some((p, valid)) = proposal
        {
            let accept = match p.pol_round {
                // Lines 22-27.
                None => Some(valid && self.lock.as_ref().is_none_or(|l| l.hash == p.block_hash)),
                // Lines 28-33.
                Some(vr)
                    if self
                        .votes
                        .quorum_for(set, vr, VoteKind::Prevote, Some(p.block_hash)) =>
                {
                    Some(
                        valid
                            && self
                                .lock
                                .as_ref()
                                .is_none_or(|l| l.round <= vr || l.hash == p.block_hash),
                    )
                }
                Some(_) => None,
            };
            if let Some(accept) = accept {
                self.vote(VoteKind::Prevote, accept.then_some(p.block_hash));
                self.step = Step::Prevote;
                return true;
            }
        }

        // Lines 34-35.
        if self.step == Step::Prevote
            && self.votes.quorum_any(set, r, VoteKind::Prevote)
            && self.fired.insert((r, FIRED_PREVOTE_TIMEOUT))
        {
            self.schedule(TimeoutKind::Prevote);
            return true;
        }

        // Lines 36-43.
        if self.step >= Step::Prevote
            && let Some((p, true)) = proposal
            && self
                .votes
                .quorum_for(set, r, VoteKind::Prevote, Some(p.block_hash))
            && self.fired.insert((r, FIRED_PRECOMMIT_VALUE))
        {
            if self.step == Step::Prevote {
                let pol = self
                    .votes
                    .votes_for(r, VoteKind::Prevote, Some(p.block_hash))
                    .into_iter()
                    .map(|v| CommitSignature {
                        validator: v.validator,
                        signature: v.signature,
                    })
                    .collect();
                self.lock = Some(Lock {
                    round: r,
                    hash: p.block_hash,
                    pol,
                });
                self.vote(VoteKind::Precommit, Some(p.block_hash));
                self.step = Step::Precommit;
            }
            self.valid = Some((r, p.block_hash));
            return true;
        }

        // Lines 44-46.
        if self.step == Step::Prevote && self.votes.quorum_for(set, r, VoteKind::Prevote, None) {
            self.vote(VoteKind::Precommit, None);
            self.step = Step::Precommit;
            return true;
        }

        // Lines 47-48.
        if self.votes.quorum_any(set, r, VoteKind::Precommit)
            && self.fired.insert((r, FIRED_PRECOMMIT_TIMEOUT))
        {
            self.schedule(TimeoutKind::Precommit);
            return true;
        }
        false
    }
}

/// Evidence is self-verifying: both messages carry signatures the receiver can check.
impl Evidence {
    /// The validator that signed both messages.
    pub fn offender(&self) -> PublicKey {
        match self {
            Evidence::Vote { first, .. } => first.validator,
            Evidence::Proposal { first, .. } => first.proposer,
        }
    }
}
