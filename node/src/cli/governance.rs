//! `provenance-node governance`: draft a registry or validator-set change, collect the
//! validators' approvals, and submit it.
//!
//! The workflow crosses organisations, so every step reads and writes one JSON file (a
//! `GovernanceTx`): a coordinator drafts it (`propose`), passes the file to each validator, who
//! adds an approval with their own signing key on their own machine (`approve`; the private key
//! never leaves it), and anyone submits it to a node once approvals hold more than two thirds of
//! the voting power (`submit`). The node checks it against the ledger and says exactly what is
//! missing if it is not enough.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use provenance_client::keyfile;
use provenance_protocol::governance::{GovernanceAction, GovernanceProposal, GovernanceTx};

use super::http::HttpClient;
use crate::runtime::load_genesis;

#[derive(Debug, Subcommand)]
pub(super) enum GovernanceCommand {
    /// Draft a change into a new file (no approvals yet).
    Propose {
        /// The network's genesis (for its chain id).
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// The change, as JSON: e.g. '{"action":"set_validator_power","name":"Org","power":1}',
        /// or '@FILE' to read it from a file.
        #[arg(long, value_name = "JSON|@FILE")]
        action: String,
        /// A number never used by an earlier governance transaction of this network.
        #[arg(long)]
        nonce: u64,
        /// The last height at which the change may still be included.
        #[arg(long, value_name = "HEIGHT")]
        expires_at_height: u64,
        /// Where to write the draft. Refuses to overwrite an existing file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Add this validator's approval to a draft (the file is updated in place).
    Approve {
        /// The draft or partly approved transaction.
        file: PathBuf,
        /// This validator's signing key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Submit an approved transaction to a node; prints its id.
    Submit {
        /// The approved transaction.
        file: PathBuf,
        /// The node's HTTP API address.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        node: SocketAddr,
    },
}

pub(super) fn run(command: GovernanceCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        GovernanceCommand::Propose {
            genesis,
            action,
            nonce,
            expires_at_height,
            out: path,
        } => {
            let genesis = load_genesis(&genesis)?;
            let action = parse_action(&action)?;
            let proposal = GovernanceProposal {
                chain_id: genesis.chain_id,
                action,
                nonce,
                expires_at_height,
            };
            proposal
                .check_well_formed()
                .context("the proposed change is not well formed")?;
            let tx = GovernanceTx::new(proposal, Vec::new());
            write_new(&path, &tx)?;
            writeln!(
                out,
                "drafted governance transaction {} in {}; each validator now runs `provenance-node governance approve {} --key <their signing key>`",
                hex::encode(tx.id()),
                path.display(),
                path.display()
            )?;
        }
        GovernanceCommand::Approve { file, key } => {
            let tx = read_tx(&file)?;
            let key = keyfile::load_key_file(&key)?;
            let mut approvals = tx.approvals.clone();
            if approvals.iter().any(|a| a.validator == key.public_key()) {
                bail!(
                    "{} already holds an approval by {}",
                    file.display(),
                    key.public_key()
                );
            }
            approvals.push(tx.proposal.approve(&key));
            let tx = GovernanceTx::new(tx.proposal, approvals);
            let json = serde_json::to_vec_pretty(&tx)?;
            std::fs::write(&file, json)
                .with_context(|| format!("cannot write {}", file.display()))?;
            writeln!(
                out,
                "approved as {}; {} approval(s) in {}",
                key.public_key(),
                tx.approvals.len(),
                file.display()
            )?;
        }
        GovernanceCommand::Submit { file, node } => {
            let tx = read_tx(&file)?;
            let client = HttpClient::new(node, Duration::from_secs(30));
            let body = serde_json::to_vec(&tx)?;
            let response = client.post_json("/v1/governance", &body)?;
            if response.status != 202 {
                return Err(response.unexpected_status().into());
            }
            writeln!(
                out,
                "accepted: governance transaction {} will be included in the next block",
                hex::encode(tx.id())
            )?;
        }
    }
    Ok(())
}

fn parse_action(text: &str) -> anyhow::Result<GovernanceAction> {
    let json = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the action file {path}"))?,
        None => text.to_owned(),
    };
    serde_json::from_str(&json).context(
        "the action is not a governance action; examples: \
         {\"action\":\"set_validator_power\",\"name\":\"Org\",\"power\":1}, \
         {\"action\":\"revoke_key\",\"name\":\"Org\"}",
    )
}

fn read_tx(path: &Path) -> anyhow::Result<GovernanceTx> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a governance transaction", path.display()))
}

fn write_new(path: &Path, tx: &GovernanceTx) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(tx)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(&json)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;
    use provenance_protocol::genesis::{
        ConsensusParams, Genesis, GenesisValidator, Participant, Role,
    };
    use provenance_protocol::ledger::ValidatorSet;

    #[test]
    fn draft_approve_and_the_file_verifies_against_the_set() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<SigningKey> = (1..=3).map(|i| SigningKey::from_seed([i; 32])).collect();
        let genesis = Genesis {
            chain_id: "gov-cli".into(),
            genesis_time_ms: 1,
            participants: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Participant {
                    name: format!("Org {i}"),
                    roles: vec![Role::Validator],
                    signing_key: k.public_key(),
                    network_key: SigningKey::from_seed([100 + i as u8; 32]).public_key(),
                    company_prefixes: vec![],
                })
                .collect(),
            validators: (0..3)
                .map(|i| GenesisValidator {
                    participant: format!("Org {i}"),
                    power: 1,
                })
                .collect(),
            params: ConsensusParams::default(),
        };
        let genesis_path = dir.path().join("genesis.json");
        std::fs::write(&genesis_path, serde_json::to_vec(&genesis).unwrap()).unwrap();
        let tx_path = dir.path().join("change.json");
        let mut out = Vec::new();
        run(
            GovernanceCommand::Propose {
                genesis: genesis_path,
                action: r#"{"action":"set_validator_power","name":"Org 2","power":2}"#.into(),
                nonce: 7,
                expires_at_height: 50,
                out: tx_path.clone(),
            },
            &mut out,
        )
        .unwrap();
        let set: ValidatorSet = genesis.validator_set().unwrap();
        assert!(read_tx(&tx_path).unwrap().verify(&set, "gov-cli").is_err());
        for (i, key) in keys.iter().enumerate().take(3) {
            let key_path = dir.path().join(format!("k{i}.key"));
            keyfile::create_key_file(&key_path, key).unwrap();
            run(
                GovernanceCommand::Approve {
                    file: tx_path.clone(),
                    key: key_path.clone(),
                },
                &mut out,
            )
            .unwrap();
            // The same validator cannot approve twice.
            let again = run(
                GovernanceCommand::Approve {
                    file: tx_path.clone(),
                    key: key_path,
                },
                &mut out,
            )
            .unwrap_err();
            assert!(again.to_string().contains("already holds"), "{again}");
        }
        read_tx(&tx_path).unwrap().verify(&set, "gov-cli").unwrap();
    }

    #[test]
    fn a_bad_action_says_what_an_action_looks_like() {
        let error = parse_action(r#"{"action":"make_me_king"}"#).unwrap_err();
        assert!(
            format!("{error:#}").contains("set_validator_power"),
            "{error:#}"
        );
    }
}
