//! `provenance submit`: sign one event locally and submit it.
//!
//! The chain id comes from the node (`GET /v1/status`); when a genesis is configured, the node
//! must run that network (otherwise the event would be signed for the wrong one). The sequence
//! comes from the journal ([`crate::sequence`]), corrected by the node when stale.

use std::io::Write;

use provenance_protocol::crypto::SigningKey;

use crate::cli::{Context, KeyArg, NodeArg, SubmitArgs, warn};
use crate::error::{CommandError, EXIT_OK};
use crate::events::{self, PreparedEvent};
use crate::http::{NodeClient, NodeStatus};
use crate::sequence::SequenceJournal;
use crate::submission::{Submitted, Submitter};
use crate::{epcis_tools, keyfile, trust};

/// Why a submission could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error(
        "the node at {node} runs network {chain_id:?} with genesis {node_genesis}, but the configured genesis {} has hash {configured}; refusing to sign for another network",
        path.display()
    )]
    WrongNetwork {
        node: String,
        chain_id: String,
        node_genesis: String,
        path: std::path::PathBuf,
        configured: String,
    },
    #[error(
        "{name} holds {count} events; `provenance submit` sends one, `provenance import` a whole document"
    )]
    NotOneEvent { name: String, count: usize },
}

impl From<SetupError> for CommandError {
    fn from(error: SetupError) -> Self {
        CommandError::input(error)
    }
}

/// Everything a submission needs.
#[derive(Debug)]
pub struct Session {
    pub client: NodeClient,
    pub key: SigningKey,
    pub status: NodeStatus,
    pub journal: SequenceJournal,
}

/// Loads the key, asks the node which network it runs, checks it against a configured genesis
/// and opens the signer's journal.
pub fn session(
    context: &Context,
    key: &KeyArg,
    node: &NodeArg,
    err: &mut dyn Write,
) -> Result<Session, CommandError> {
    let settings = context.settings()?;
    let key_path = settings.key(key.key.as_deref())?;
    let key = keyfile::load_key_file(&key_path.value)?;
    let client = context.node_client(node)?;
    let status = client.status()?;
    if let Some(genesis) = settings.genesis_file(None) {
        match trust::read_genesis(&genesis.value) {
            Ok(genesis_doc) => {
                let configured = genesis_doc.hash().to_string();
                if !configured.eq_ignore_ascii_case(&status.genesis_hash) {
                    return Err(SetupError::WrongNetwork {
                        node: client.base().to_owned(),
                        chain_id: status.chain_id,
                        node_genesis: status.genesis_hash,
                        path: genesis.value,
                        configured,
                    }
                    .into());
                }
            }
            Err(problem) => warn(
                err,
                format_args!("cannot check the node's network: {problem}"),
            ),
        }
    }
    let path = context
        .state_dir()
        .map(|dir| SequenceJournal::path_for(&dir, &status.chain_id, &key.public_key()));
    let journal = SequenceJournal::open(path);
    Ok(Session {
        client,
        key,
        status,
        journal,
    })
}

/// Signs and submits `events` with `session`, warning about journal problems whatever happens.
pub fn run_submission(
    session: Session,
    events: &[PreparedEvent],
    batch: usize,
    progress: &mut dyn FnMut(usize),
    err: &mut dyn Write,
) -> Result<Vec<Submitted>, CommandError> {
    let Session {
        client,
        key,
        status,
        journal,
    } = session;
    let mut submitter = Submitter::new(&client, &key, status.chain_id, journal, batch);
    let result = submitter.submit(events, progress);
    for problem in submitter.take_problems() {
        warn(err, problem);
    }
    Ok(result?)
}

/// `provenance submit`.
pub fn submit(
    args: &SubmitArgs,
    context: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    let input = epcis_tools::read_input(&args.event)?;
    let prepared = events::prepare(&input)?;
    if prepared.len() != 1 {
        return Err(SetupError::NotOneEvent {
            name: input.name,
            count: prepared.len(),
        }
        .into());
    }
    let session = session(context, &args.key, &args.node, err)?;
    let signer = session.key.public_key().to_did_key();
    let done = run_submission(session, &prepared, 1, &mut |_| {}, err)?;
    for item in done {
        let state = if item.already_recorded {
            "already recorded"
        } else {
            "accepted"
        };
        writeln!(
            out,
            "{state}: {} (sequence {} of {signer})",
            item.event_hash_id, item.sequence
        )?;
    }
    Ok(EXIT_OK)
}
