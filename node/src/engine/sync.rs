//! Catch-up: a node that was offline, partitioned or is new asks its peers for their head and
//! fetches the finalised blocks it lacks, in ranges, with their certificates. Every block is
//! verified before it is applied (certificate against the validator set the node's own state
//! assigns to that height, then full re-execution: every event's signature and the rules, the
//! Merkle root, the app-state root), so a peer can waste this node's time but never make it
//! accept a block the validators did not finalise. Progress is logged every few seconds (height,
//! target, rate, ETA) and exported as metrics.
//!
//! Also here: answering peers' sync requests from the store.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use libp2p::PeerId;

use super::{Shared, lock};
use crate::service::CommitOutcome;
use crate::wire::{self, CertifiedBlock, MAX_SYNC_BLOCKS, SyncRequest, SyncResponse};

/// Largest sync request accepted.
const MAX_REQUEST_BYTES: usize = 1024;
/// How often progress is logged while catching up.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Starts one sync round in the background unless one is running.
pub(super) fn spawn_round(shared: Arc<Shared>) {
    if shared.net.is_none() || shared.sync_running.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async move {
        catch_up(&shared).await;
        shared.sync_running.store(false, Ordering::Release);
    });
}

/// Asks every connected peer for its head; fetches from the highest until this node has it.
async fn catch_up(shared: &Shared) {
    let Some(net) = &shared.net else {
        return;
    };
    let limit = shared.config.max_response_bytes;
    let mut best: Option<(PeerId, u64)> = None;
    let excluded: Vec<PeerId> = {
        let mut penalised = lock(&shared.sync_penalised);
        penalised.retain(|_, until| *until > Instant::now());
        penalised.keys().copied().collect()
    };
    for info in net.peers().await {
        if excluded.contains(&info.peer) {
            continue;
        }
        let Ok(bytes) = net
            .request(info.peer, wire::encode(&SyncRequest::Status))
            .await
        else {
            continue;
        };
        if let Ok(SyncResponse::Status(Some(header))) = wire::decode::<SyncResponse>(&bytes, limit)
            && best.is_none_or(|(_, h)| header.height > h)
        {
            best = Some((info.peer, header.height));
        }
    }
    let Some((peer, target)) = best else {
        return;
    };
    // Unverified until the blocks arrive: replaced, not accumulated, so a peer that lied about
    // its head stops showing once it is set aside.
    shared
        .sync_target
        .store(target.max(shared.service.tip().height), Ordering::Relaxed);
    shared.service.metrics().set_sync_target(target);
    let start_height = shared.service.tip().height;
    if target <= start_height {
        return;
    }
    tracing::info!(%peer, height = start_height, target, "catching up");
    let started = Instant::now();
    let mut last_log = Instant::now();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    loop {
        let height = shared.service.tip().height;
        if height >= target {
            break;
        }
        let count = u32::try_from((target - height).min(u64::from(MAX_SYNC_BLOCKS))).unwrap_or(1);
        let request = SyncRequest::Blocks {
            from: height + 1,
            count,
        };
        let blocks = match net.request(peer, wire::encode(&request)).await {
            Ok(bytes) => match wire::decode::<SyncResponse>(&bytes, limit) {
                Ok(SyncResponse::Blocks(blocks)) if !blocks.is_empty() => blocks,
                Ok(other) => {
                    // It claimed a head it does not serve.
                    tracing::debug!(%peer, response = ?std::mem::discriminant(&other), "peer returned no blocks");
                    penalise(shared, peer);
                    return;
                }
                Err(error) => {
                    tracing::warn!(%peer, %error, "peer sent a malformed sync response");
                    penalise(shared, peer);
                    return;
                }
            },
            Err(error) => {
                tracing::debug!(%peer, %error, "sync request failed");
                return;
            }
        };
        for CertifiedBlock { block, certificate } in blocks {
            let service = shared.service.clone();
            let height = block.header.height;
            let result =
                tokio::task::spawn_blocking(move || service.commit_finalised(&block, &certificate))
                    .await;
            match result {
                Ok(Ok(CommitOutcome::Committed { .. } | CommitOutcome::AlreadyFinal { .. })) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%peer, height, %error, "block from peer refused; syncing from other peers for a while");
                    penalise(shared, peer);
                    return;
                }
                Err(error) => {
                    tracing::error!(%error, "sync commit task failed");
                    return;
                }
            }
        }
        if terminal {
            draw_progress(shared.service.tip().height, start_height, target, started);
        }
        if last_log.elapsed() >= PROGRESS_EVERY {
            last_log = Instant::now();
            let height = shared.service.tip().height;
            let done = height.saturating_sub(start_height) as f64;
            let rate = done / started.elapsed().as_secs_f64().max(0.001);
            let eta = if rate > 0.0 {
                Duration::from_secs_f64(target.saturating_sub(height) as f64 / rate)
            } else {
                Duration::ZERO
            };
            tracing::info!(
                height,
                target,
                blocks_per_s = format!("{rate:.1}"),
                eta = %humantime::format_duration(Duration::from_secs(eta.as_secs())),
                "catching up"
            );
        }
    }
    let height = shared.service.tip().height;
    if terminal {
        eprintln!();
    }
    tracing::info!(
        height,
        blocks = height.saturating_sub(start_height),
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "caught up"
    );
}

/// How long a peer that served a bad or missing block is not asked again.
const PENALTY: Duration = Duration::from_secs(120);

/// Sets `peer` aside for sync: it claimed a head it did not serve or served a block that does
/// not verify (the head in a status answer carries no certificate, so a liar could otherwise
/// keep this node asking it forever).
fn penalise(shared: &Shared, peer: PeerId) {
    lock(&shared.sync_penalised).insert(peer, Instant::now() + PENALTY);
}

/// A one-line progress bar on stderr (only when it is a terminal).
fn draw_progress(height: u64, start: u64, target: u64, started: Instant) {
    const WIDTH: u64 = 30;
    let total = target.saturating_sub(start).max(1);
    let done = height.saturating_sub(start).min(total);
    let filled = (done * WIDTH / total) as usize;
    let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
    let eta = if rate > 0.0 {
        (target.saturating_sub(height) as f64 / rate) as u64
    } else {
        0
    };
    eprint!(
        "\rcatching up [{}{}] {height}/{target} blocks, {rate:.0}/s, ETA {eta}s   ",
        "#".repeat(filled),
        ".".repeat(WIDTH as usize - filled),
    );
}

/// Answers a peer's sync request from the store (and the cache of proposed blocks).
pub async fn serve_request(shared: &Shared, peer: PeerId, data: &[u8]) -> Vec<u8> {
    let request = match wire::decode::<SyncRequest>(data, MAX_REQUEST_BYTES) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%peer, %error, "malformed sync request");
            return wire::encode(&SyncResponse::Refused(format!(
                "malformed request: {error}"
            )));
        }
    };
    let response = match request {
        SyncRequest::Status => {
            let store = shared.service.store().clone();
            let head = tokio::task::spawn_blocking(move || store.head())
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            SyncResponse::Status(head.map(|h| h.header))
        }
        SyncRequest::Blocks { from, count } => {
            if count == 0 || count > MAX_SYNC_BLOCKS || from == 0 {
                SyncResponse::Refused(format!(
                    "ask for 1 to {MAX_SYNC_BLOCKS} blocks from height 1 or above"
                ))
            } else {
                let store = shared.service.store().clone();
                // Stay well under the requester's limit (it is at least ours by configuration).
                let budget = shared.config.max_response_bytes / 2;
                let blocks = tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    let mut size = 0usize;
                    for height in from..from.saturating_add(u64::from(count)) {
                        let Ok(Some(stored)) = store.block(height) else {
                            break;
                        };
                        let certified = CertifiedBlock {
                            block: stored.block,
                            certificate: stored.certificate,
                        };
                        let len = provenance_protocol::codec::to_canonical_bytes(&certified).len();
                        if !out.is_empty() && size + len > budget {
                            break;
                        }
                        size += len;
                        out.push(certified);
                    }
                    out
                })
                .await
                .unwrap_or_default();
                SyncResponse::Blocks(blocks)
            }
        }
        SyncRequest::Proposed { hash } => {
            let cached = lock(&shared.blocks).get(&hash);
            let block = match cached {
                Some(block) => Some(block),
                None => {
                    let store = shared.service.store().clone();
                    let height = shared.service.tip().height + 1;
                    tokio::task::spawn_blocking(move || store.proposal(height, &hash))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten()
                }
            };
            SyncResponse::Proposed(block)
        }
    };
    wire::encode(&response)
}
