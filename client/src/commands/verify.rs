//! `provenance verify` and `provenance bundle`.
//!
//! Verification itself is [`provenance_protocol::bundle::verify`]; this command adds what only
//! the consumer's side knows:
//!
//! * **The request.** A node could answer with a valid bundle about another product, or the
//!   other scope: what was asked is passed to the verifier (`expected_subject`,
//!   `expected_scope`), which holds the bundle to it.
//! * **Freshness across runs** ([`crate::freshness`]): the highest anchor this client verified
//!   is the lowest it accepts (`min_anchor_height`), and a different header at a height it has
//!   seen fails (`conflicting_anchor`).

use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use provenance_protocol::bundle::verdict::{Failure, Site};
use provenance_protocol::bundle::{
    BundleFormatError, MAX_BUNDLE_BYTES, ProvenanceBundle, Scope, Subject, Verdict, VerdictStatus,
    VerifyOptions, compare,
};

use crate::cli::{BundleArgs, BundleFormat, Context, FreshnessArgs, TrustArgs, VerifyArgs, warn};
use crate::error::{CommandError, EXIT_OK};
use crate::freshness::HeadStore;
use crate::http::NodeClient;
use crate::output::write_output;
use crate::render;
use crate::trust::Trust;

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleInputError {
    #[error("cannot read bundle file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle file {} is larger than {MAX_BUNDLE_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    #[error("{origin}: {source}")]
    Format {
        /// The file or URL the bytes came from.
        origin: String,
        #[source]
        source: BundleFormatError,
    },
}

impl From<BundleInputError> for CommandError {
    fn from(error: BundleInputError) -> Self {
        CommandError::input(error)
    }
}

/// Reads a saved bundle (JSON or CBOR).
pub fn read_bundle_file(path: &Path) -> Result<ProvenanceBundle, BundleInputError> {
    let read_error = |source| BundleInputError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleInputError::TooLarge {
            path: path.to_owned(),
        });
    }
    ProvenanceBundle::from_bytes(&bytes).map_err(|source| BundleInputError::Format {
        origin: format!("bundle file {}", path.display()),
        source,
    })
}

/// Fetches and parses a bundle from the node.
pub fn fetch_bundle(
    client: &NodeClient,
    id: &str,
    scope: Scope,
) -> Result<ProvenanceBundle, CommandError> {
    let fetched = client.bundle(id, scope)?;
    ProvenanceBundle::from_bytes(&fetched.bytes).map_err(|source| {
        BundleInputError::Format {
            origin: format!("the bundle from {}", fetched.url),
            source,
        }
        .into()
    })
}

/// What a verification was asked for, to hold the bundle to.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The identifier as the user gave it (URN or Digital Link).
    pub id: Option<String>,
    pub scope: Option<Scope>,
}

/// Verifies `bundle` against `trust`, with the request checks and the remembered head.
pub fn check(
    context: &Context,
    bundle: &ProvenanceBundle,
    trust: &Trust,
    request: &Request,
    freshness: &FreshnessArgs,
    err: &mut dyn Write,
) -> Result<Verdict, CommandError> {
    let policy = context.settings()?.cold_chain_policy()?;
    let remember = !freshness.no_remember;
    let store = match (remember, context.state_dir()) {
        (false, _) => None,
        (true, None) => {
            warn(
                err,
                "no state directory (set --state-dir, PROVENANCE_STATE_DIR, XDG_STATE_HOME or HOME): the highest verified head is not remembered",
            );
            None
        }
        (true, Some(dir)) => {
            let (store, problem) = HeadStore::load(&dir);
            if let Some(problem) = problem {
                warn(err, problem);
            }
            Some(store)
        }
    };
    let remembered = store
        .as_ref()
        .and_then(|s| s.min_height(&trust.genesis_hash));
    let min_anchor_height = match (freshness.min_height, remembered) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let options = VerifyOptions {
        policy,
        now_ms: Some(now_ms()),
        max_age_ms: freshness
            .max_age
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        min_anchor_height,
        expected_subject: request.id.clone(),
        expected_scope: request.scope,
    };
    let mut verdict = provenance_protocol::bundle::verify(bundle, &trust.root, &options);

    if let (Some(store), Some(anchor)) = (&store, &verdict.anchor)
        && let Some(conflict) = store.conflict(&trust.genesis_hash, anchor)
    {
        fail(
            &mut verdict,
            "conflicting_anchor",
            format!(
                "block {} has header {} in this bundle but this client verified header {} at that height before ({}): two finalised blocks at one height mean the network's finality was broken or its validators' keys misused",
                conflict.height,
                conflict.presented,
                conflict.remembered,
                store.path().display()
            ),
            Site::Anchor,
        );
    }
    if let (Some(remembered), Some(anchor)) = (remembered, &verdict.anchor)
        && anchor.height < remembered
        && freshness.min_height.is_none_or(|m| m < remembered)
    {
        warn(
            err,
            format!(
                "this client has verified block {remembered} of this network before; a bundle anchored at block {} may leave out later events such as a recall (--no-remember skips this check)",
                anchor.height
            ),
        );
    }
    if let (Some(mut store), Some(anchor)) = (store, &verdict.anchor)
        && verdict.status != VerdictStatus::Failed
        && store.record(&trust.genesis_hash, &verdict.chain_id, anchor)
        && let Err(problem) = store.save()
    {
        warn(err, problem);
    }
    Ok(verdict)
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Upstream => "upstream",
        Scope::Downstream => "downstream",
    }
}

/// Adds a failure found on the client's side; the verdict becomes `Failed` and its summary is
/// rewritten the way the verifier writes it.
fn fail(verdict: &mut Verdict, code: &str, message: String, site: Site) {
    verdict.status = VerdictStatus::Failed;
    verdict.failures.push(Failure {
        code: code.to_owned(),
        message,
        site,
    });
    let count = verdict.failures.len();
    let first = verdict.failures.first().map_or("", |f| f.message.as_str());
    verdict.summary = format!(
        "FAILED: {count} problem{} found; first: {first}",
        if count == 1 { "" } else { "s" }
    );
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Loads the trust root from flags, environment or config.
pub fn load_trust(context: &Context, args: &TrustArgs) -> Result<Trust, CommandError> {
    let setting = context
        .settings()?
        .trust(args.genesis.as_deref(), args.genesis_hash.as_deref())?;
    Trust::load(&setting.value).map_err(CommandError::input)
}

/// A closed stdout (`| head`) does not change a verdict's exit code: scripts rely on it.
pub fn ignore_broken_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints a verdict as JSON (`--json`) or for people.
pub fn print_verdict(out: &mut dyn Write, verdict: &Verdict, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, verdict).map_err(std::io::Error::from)?;
        writeln!(out)
    } else {
        render::verdict(out, verdict)
    }
}

/// `provenance verify`.
pub fn verify(
    args: &VerifyArgs,
    context: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    let trust = load_trust(context, &args.trust)?;
    // A malformed identifier is a usage error, found before any network traffic.
    if let Some(id) = &args.id {
        Subject::parse(id)?;
    }
    let (bundle, scope) = match &args.bundle {
        Some(path) => (read_bundle_file(path)?, args.scope.map(Scope::from)),
        None => {
            let id = args.id.as_deref().unwrap_or_default();
            let scope = args.scope.map_or(Scope::Upstream, Scope::from);
            let client = context.node_client(&args.node)?;
            (fetch_bundle(&client, id, scope)?, Some(scope))
        }
    };
    let request = Request {
        id: args.id.clone(),
        scope,
    };
    let mut verdict = check(context, &bundle, &trust, &request, &args.freshness, err)?;
    for url in &args.cross_check {
        cross_check(&mut verdict, &bundle, &trust, &request, url, err)?;
    }
    ignore_broken_pipe(print_verdict(out, &verdict, args.json))?;
    Ok(verdict.exit_code())
}

/// Fetches the same story from the node at `url`, verifies it against the same trust root, and
/// fails `verdict` for every event of the story it proves that `bundle` withheld
/// ([`provenance_protocol::bundle::compare`]). A node that cannot answer, or whose bundle does not
/// verify, proves nothing either way: that is a warning, not a failure.
fn cross_check(
    verdict: &mut Verdict,
    bundle: &ProvenanceBundle,
    trust: &Trust,
    request: &Request,
    url: &str,
    err: &mut dyn Write,
) -> Result<(), CommandError> {
    let client = NodeClient::new(url)?;
    let other = match fetch_bundle(&client, &bundle.subject, bundle.scope) {
        Ok(other) => other,
        Err(problem) => {
            warn(err, format!("cross-check with {url} skipped: {problem}"));
            return Ok(());
        }
    };
    let options = VerifyOptions {
        now_ms: Some(now_ms()),
        expected_subject: request.id.clone().or_else(|| Some(bundle.subject.clone())),
        expected_scope: Some(bundle.scope),
        ..VerifyOptions::default()
    };
    let other_verdict = provenance_protocol::bundle::verify(&other, &trust.root, &options);
    if other_verdict.status == VerdictStatus::Failed {
        warn(
            err,
            format!(
                "cross-check with {url} skipped: its bundle does not verify ({})",
                other_verdict.summary
            ),
        );
        return Ok(());
    }
    for omission in compare::omissions(bundle, &other) {
        fail(
            verdict,
            "omitted_event",
            format!(
                "{url} proves event {} final at block {} (leaf {}), before this bundle's anchor, but this bundle leaves it out: the node that served it withheld part of the story",
                omission.event_hash_id, omission.height, omission.leaf_index
            ),
            Site::Story,
        );
    }
    Ok(())
}

/// `provenance bundle`.
pub fn save_bundle(
    args: &BundleArgs,
    context: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    Subject::parse(&args.id)?;
    let client = context.node_client(&args.node)?;
    let bundle = fetch_bundle(&client, &args.id, args.scope.into())?;
    let format = args.format.unwrap_or_else(|| {
        if args
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("cbor"))
        {
            BundleFormat::Cbor
        } else {
            BundleFormat::Json
        }
    });
    let bytes = match format {
        BundleFormat::Cbor => bundle.to_cbor(),
        BundleFormat::Json => {
            let mut json = bundle.to_json().into_bytes();
            json.push(b'\n');
            json
        }
    };
    write_output(&args.output, &bytes, out)?;
    let _ = writeln!(
        err,
        "saved the {} bundle of {} ({} events, anchored at block {}, {} bytes) to {}",
        scope_name(bundle.scope),
        bundle.subject,
        bundle.events.len(),
        bundle.anchor.header.height,
        bytes.len(),
        args.output.display()
    );
    Ok(EXIT_OK)
}
