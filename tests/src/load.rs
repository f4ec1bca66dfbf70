//! Continuous submission from one signer to one node, for tests that change the network under
//! load.
//!
//! The loop counts only what the node acknowledged. A batch whose answer was lost (connection
//! reset) is in doubt: it is resubmitted unchanged until acknowledged, since its sequence numbers
//! are taken and the node answers an identical resubmission idempotently. So when the loop
//! returns, every event it generated is either acknowledged (and in the returned list) or was
//! never sent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::record::SignedEvent;

use crate::client::{NodeClient, SubmitError};
use crate::events::SignerStream;

/// Shape of a load: batch size and the pause between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadShape {
    /// Events per batch.
    pub batch: usize,
    /// Pause after each acknowledged batch, so the load leaves CPU to the nodes.
    pub pause: Duration,
}

impl Default for LoadShape {
    fn default() -> Self {
        LoadShape {
            batch: 5,
            pause: Duration::from_millis(50),
        }
    }
}

/// How long an in-doubt batch is retried after `stop` before the loop gives up.
pub const IN_DOUBT_PATIENCE: Duration = Duration::from_secs(30);
/// Pause before resubmitting an in-doubt batch.
const IN_DOUBT_PAUSE: Duration = Duration::from_millis(100);

/// Submits `stream`'s events to `client` in `shape` batches until `stop` is set; the acknowledged
/// ids.
///
/// # Panics
/// If the node refuses an event, stays busy beyond the client's patience, or leaves a batch in
/// doubt for [`IN_DOUBT_PATIENCE`] after `stop`.
pub fn submit_until(
    client: &NodeClient,
    stream: &mut SignerStream,
    shape: LoadShape,
    stop: &AtomicBool,
) -> Vec<EventHashId> {
    let mut acked = Vec::new();
    let mut in_doubt: Option<Vec<SignedEvent>> = None;
    let mut stopped_at: Option<Instant> = None;
    loop {
        if stopped_at.is_none() && stop.load(Ordering::SeqCst) {
            stopped_at = Some(Instant::now());
        }
        let batch = match (in_doubt.take(), stopped_at) {
            (Some(batch), _) => batch,
            (None, Some(_)) => return acked,
            (None, None) => stream.batch(shape.batch),
        };
        match client.submit(&batch) {
            Ok(ids) => {
                acked.extend(ids);
                thread::sleep(shape.pause);
            }
            // Resubmitting an acknowledged prefix is harmless (idempotent) and keeps the batch
            // identical; its ids are counted once the whole batch is acknowledged.
            Err(SubmitError::InDoubt { .. }) => {
                if stopped_at.is_some_and(|t| t.elapsed() > IN_DOUBT_PATIENCE) {
                    panic!(
                        "signer {}: a batch of {} events stayed in doubt at {} for {IN_DOUBT_PATIENCE:?} after the load stopped",
                        stream.index(),
                        batch.len(),
                        client.base_url()
                    );
                }
                in_doubt = Some(batch);
                thread::sleep(IN_DOUBT_PAUSE);
            }
            Err(e) => panic!("signer {}: {e}", stream.index()),
        }
    }
}

/// Runs `during` while every `(client, stream)` pair submits in `shape` batches on its own
/// thread; then stops the load (also when `during` panics) and returns `during`'s result with
/// every acknowledged id.
///
/// A stream must not be submitted to a node that `during` kills for good: its batch in flight
/// would stay in doubt (see [`submit_until`]).
pub fn under_load<R>(
    load: Vec<(NodeClient, SignerStream)>,
    shape: LoadShape,
    during: impl FnOnce() -> R,
) -> (R, Vec<EventHashId>) {
    /// Sets the flag when dropped, so the submitters stop even if `during` unwinds.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::new());
    let result = thread::scope(|scope| {
        for (client, mut stream) in load {
            let (stop, acked) = (&stop, &acked);
            scope.spawn(move || {
                let ids = submit_until(&client, &mut stream, shape, stop);
                acked
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(ids);
            });
        }
        let _stop = StopOnDrop(&stop);
        during()
    });
    let acked = acked
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (result, acked)
}
