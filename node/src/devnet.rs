//! A one-validator development network: five demo organisations of a coffee supply chain, their
//! key files and a genesis, in one directory.
//!
//! `provenance-node dev` calls [`setup`] and runs a node on the result, so a developer gets a
//! working network with one command. Setup is idempotent: keys and genesis that exist are reused
//! and never overwritten, because a dev ledger already written under them would otherwise no
//! longer match its genesis. If the files on disk disagree with each other, setup stops and says
//! so rather than guessing.
//!
//! Layout of the data directory:
//!
//! ```text
//! genesis.json           the genesis (pretty JSON)
//! node.key               the validator's network identity key
//! keys/<slug>.key        each organisation's event-signing key (mode 0600)
//! keys/<slug>.node.key   the network key of each non-validating organisation
//! ```

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use provenance_client::keyfile::{self, KeyFileError};
use provenance_protocol::crypto::{PublicKey, SigningKey};
use provenance_protocol::genesis::{
    ConsensusParams, Genesis, GenesisError, GenesisValidator, Participant, Role,
};

use crate::config::{GENESIS_FILE, NODE_KEY_FILE, NodeConfig};

/// Chain id of every dev network.
pub const DEV_CHAIN_ID: &str = "provenance-dev";
/// Where `provenance-node dev` keeps its network unless told otherwise.
pub const DEFAULT_DEV_DATA_DIR: &str = "./.provenance-dev";
/// Sub-directory holding the organisations' key files.
pub const KEYS_DIR: &str = "keys";

/// The coffee cooperative that grows and commissions green coffee.
pub const FARM: &str = "Finca La Esperanza Cooperative";
/// The roaster; also the network's single validator.
pub const ROASTER: &str = "Nordic Roasters AB";
/// The logistics company that moves pallets.
pub const DISTRIBUTOR: &str = "TransEuropa Logistics";
/// The shop that sells to consumers.
pub const RETAILER: &str = "GreenGrocer Retail";
/// The organic certification body.
pub const CERTIFIER: &str = "EcoCert Organic";

/// One organisation of the dev network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevParticipant {
    /// Name as registered in the genesis.
    pub name: &'static str,
    /// File-name form of the name (`keys/<slug>.key`).
    pub slug: &'static str,
    pub roles: &'static [Role],
    /// Its GS1 company prefix (the GS1 documentation range 0614141..0614145).
    pub company_prefix: &'static str,
    /// Voting power, for the validator.
    pub validator_power: Option<u64>,
}

impl DevParticipant {
    /// The organisation's party GLN as an EPC URN (`urn:epc:id:pgln:<prefix>.00000`), the way
    /// events name it as a source or destination.
    pub fn pgln(&self) -> String {
        format!("urn:epc:id:pgln:{}.00000", self.company_prefix)
    }
}

/// The five organisations, in the order their products travel.
pub const PARTICIPANTS: [DevParticipant; 5] = [
    DevParticipant {
        name: FARM,
        slug: "finca-la-esperanza",
        roles: &[Role::Manufacturer],
        company_prefix: "0614141",
        validator_power: None,
    },
    DevParticipant {
        name: ROASTER,
        slug: "nordic-roasters",
        roles: &[Role::Manufacturer, Role::Validator],
        company_prefix: "0614142",
        validator_power: Some(1),
    },
    DevParticipant {
        name: DISTRIBUTOR,
        slug: "transeuropa-logistics",
        roles: &[Role::Distributor],
        company_prefix: "0614143",
        validator_power: None,
    },
    DevParticipant {
        name: RETAILER,
        slug: "greengrocer-retail",
        roles: &[Role::Retailer],
        company_prefix: "0614144",
        validator_power: None,
    },
    DevParticipant {
        name: CERTIFIER,
        slug: "ecocert-organic",
        roles: &[Role::Certifier],
        company_prefix: "0614145",
        validator_power: None,
    },
];

/// The dev participant with this name.
pub fn participant(name: &str) -> Option<&'static DevParticipant> {
    PARTICIPANTS.iter().find(|p| p.name == name)
}

/// A dev network on disk.
#[derive(Debug, Clone)]
pub struct DevNetwork {
    pub data_dir: PathBuf,
    pub genesis_path: PathBuf,
    pub genesis: Genesis,
    /// Each organisation's name and signing key file, in [`PARTICIPANTS`] order.
    pub participants: Vec<(String, PathBuf)>,
    /// The validator's network identity key file.
    pub node_key: PathBuf,
}

impl DevNetwork {
    /// The signing key file of the organisation with this name.
    pub fn key_path(&self, name: &str) -> Option<&Path> {
        self.participants
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, path)| path.as_path())
    }

    /// Loads the signing key of the organisation with this name.
    pub fn signing_key(&self, name: &str) -> Result<SigningKey, DevnetError> {
        let path = self
            .key_path(name)
            .ok_or_else(|| DevnetError::UnknownParticipant(name.to_owned()))?;
        Ok(keyfile::load_key_file(path)?)
    }

    /// A node configuration for the validator: this directory, this genesis, the roaster's
    /// signing key, no peer-to-peer listener (a one-validator network needs no peers, and a
    /// dev node should not open a port on every interface); every other setting at its
    /// default.
    pub fn node_config(&self) -> NodeConfig {
        let mut config = NodeConfig::for_data_dir(self.data_dir.clone());
        config.genesis = self.genesis_path.clone();
        config.node_key = self.node_key.clone();
        config.signing_key = self.key_path(ROASTER).map(Path::to_owned);
        config.p2p.listen = Vec::new();
        config
    }
}

/// Why a dev network could not be set up. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevnetError {
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("cannot read genesis {}: {source}", path.display())]
    GenesisRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("genesis {} is not a valid genesis: {reason}", path.display())]
    GenesisInvalid { path: PathBuf, reason: String },
    #[error(
        "genesis {} does not match the key files in {} ({difference}); delete {} to start a fresh dev network",
        path.display(), keys_dir.display(), data_dir.display()
    )]
    GenesisMismatch {
        path: PathBuf,
        keys_dir: PathBuf,
        data_dir: PathBuf,
        difference: String,
    },
    #[error("cannot write genesis {}: {source}", path.display())]
    GenesisWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the dev genesis is invalid (a bug in the dev network definition): {0}")]
    BadDefinition(#[source] GenesisError),
    #[error("the system clock is before 1970; cannot date the genesis")]
    Clock,
    #[error("{0:?} is not an organisation of the dev network")]
    UnknownParticipant(String),
}

/// Signing and network public key of each organisation, in [`PARTICIPANTS`] order.
pub type DevKeys = [(PublicKey, PublicKey); PARTICIPANTS.len()];

/// The dev genesis for the given keys. Pure, so tests build the same genesis from seeded keys.
pub fn build_genesis(genesis_time_ms: u64, keys: &DevKeys) -> Genesis {
    let participants = PARTICIPANTS
        .iter()
        .zip(keys)
        .map(|(p, (signing_key, network_key))| Participant {
            name: p.name.to_owned(),
            roles: p.roles.to_vec(),
            signing_key: *signing_key,
            network_key: *network_key,
            company_prefixes: vec![p.company_prefix.to_owned()],
        })
        .collect();
    let validators = PARTICIPANTS
        .iter()
        .filter_map(|p| {
            p.validator_power.map(|power| GenesisValidator {
                participant: p.name.to_owned(),
                power,
            })
        })
        .collect();
    Genesis {
        chain_id: DEV_CHAIN_ID.to_owned(),
        genesis_time_ms,
        participants,
        validators,
        params: ConsensusParams::default(),
    }
}

/// Creates the dev network in `data_dir`, or reuses what is already there.
pub fn setup(data_dir: &Path) -> Result<DevNetwork, DevnetError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| DevnetError::Clock)?;
    setup_at(data_dir, u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
}

/// [`setup`] with the genesis time given (used only when the genesis is created).
pub fn setup_at(data_dir: &Path, genesis_time_ms: u64) -> Result<DevNetwork, DevnetError> {
    let keys_dir = data_dir.join(KEYS_DIR);
    create_private_dir(data_dir)?;
    create_private_dir(&keys_dir)?;

    let genesis_path = data_dir.join(GENESIS_FILE);
    // Keys are only created for a new network: under an existing genesis a missing key file is
    // an inconsistency to report, not a gap to fill.
    let existing = genesis_path.exists().then(|| Existing {
        genesis_path: genesis_path.clone(),
        keys_dir: keys_dir.clone(),
        data_dir: data_dir.to_owned(),
    });
    let node_key = data_dir.join(NODE_KEY_FILE);
    let mut participants = Vec::with_capacity(PARTICIPANTS.len());
    let mut keys: Vec<(PublicKey, PublicKey)> = Vec::with_capacity(PARTICIPANTS.len());
    for p in &PARTICIPANTS {
        let signing_path = keys_dir.join(format!("{}.key", p.slug));
        let network_path = if p.validator_power.is_some() {
            node_key.clone()
        } else {
            keys_dir.join(format!("{}.node.key", p.slug))
        };
        let signing = obtain_key(&signing_path, existing.as_ref())?.public_key();
        let network = obtain_key(&network_path, existing.as_ref())?.public_key();
        keys.push((signing, network));
        participants.push((p.name.to_owned(), signing_path));
    }
    // One entry was pushed per participant, so the conversion cannot fail; it is still handled
    // rather than unwrapped.
    let keys: DevKeys = keys
        .try_into()
        .map_err(|_| DevnetError::UnknownParticipant("(key count)".to_owned()))?;

    let genesis = if let Some(existing) = &existing {
        let genesis = read_genesis(&genesis_path)?;
        check_matches(&genesis, existing, &keys)?;
        genesis
    } else {
        let genesis = build_genesis(genesis_time_ms, &keys);
        genesis.validate().map_err(DevnetError::BadDefinition)?;
        write_new_file(&genesis_path, &genesis)?;
        genesis
    };
    Ok(DevNetwork {
        data_dir: data_dir.to_owned(),
        genesis_path,
        genesis,
        participants,
        node_key,
    })
}

/// Creates `dir` (and parents) if absent; a new directory gets mode 0700 on Unix because it
/// holds private keys. An existing directory is left as it is.
fn create_private_dir(dir: &Path) -> Result<(), DevnetError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|source| DevnetError::CreateDir {
            path: dir.to_owned(),
            source,
        })
}

/// Where an existing network's files are, for error messages.
struct Existing {
    genesis_path: PathBuf,
    keys_dir: PathBuf,
    data_dir: PathBuf,
}

impl Existing {
    fn mismatch(&self, difference: String) -> DevnetError {
        DevnetError::GenesisMismatch {
            path: self.genesis_path.clone(),
            keys_dir: self.keys_dir.clone(),
            data_dir: self.data_dir.clone(),
            difference,
        }
    }
}

/// Loads the key at `path`; for a new network (`existing` is `None`) creates it if absent.
/// Never overwrites.
fn obtain_key(path: &Path, existing: Option<&Existing>) -> Result<SigningKey, DevnetError> {
    if path.symlink_metadata().is_ok() {
        return Ok(keyfile::load_key_file(path)?);
    }
    if let Some(existing) = existing {
        return Err(existing.mismatch(format!("key file {} is missing", path.display())));
    }
    match keyfile::generate_key_file(path) {
        Ok(key) => Ok(key),
        // Another process created it in between: use theirs.
        Err(KeyFileError::AlreadyExists { .. }) => Ok(keyfile::load_key_file(path)?),
        Err(e) => Err(e.into()),
    }
}

fn read_genesis(path: &Path) -> Result<Genesis, DevnetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DevnetError::GenesisRead {
        path: path.to_owned(),
        source,
    })?;
    let genesis: Genesis =
        serde_json::from_str(&text).map_err(|e| DevnetError::GenesisInvalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    genesis
        .validate()
        .map_err(|e| DevnetError::GenesisInvalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(genesis)
}

/// An existing genesis must be the dev genesis of exactly these keys.
fn check_matches(
    genesis: &Genesis,
    existing: &Existing,
    keys: &DevKeys,
) -> Result<(), DevnetError> {
    let rebuilt = build_genesis(genesis.genesis_time_ms, keys);
    if rebuilt.hash() == genesis.hash() {
        return Ok(());
    }
    let difference = if genesis.chain_id != DEV_CHAIN_ID {
        format!(
            "its chain id is {:?}, not {DEV_CHAIN_ID:?}",
            genesis.chain_id
        )
    } else {
        PARTICIPANTS
            .iter()
            .find(|p| genesis.participant(p.name) != rebuilt.participant(p.name))
            .map_or_else(
                || "participants, validators or parameters differ".to_owned(),
                |p| format!("participant {:?} differs", p.name),
            )
    };
    Err(existing.mismatch(difference))
}

/// Writes `genesis` as pretty JSON to a file that must not exist yet.
fn write_new_file(path: &Path, genesis: &Genesis) -> Result<(), DevnetError> {
    let write_error = |source| DevnetError::GenesisWrite {
        path: path.to_owned(),
        source,
    };
    let mut json =
        serde_json::to_string_pretty(genesis).map_err(|e| write_error(std::io::Error::other(e)))?;
    json.push('\n');
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(write_error)?;
    let written = file
        .write_all(json.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        // This call created the file, so removing the partial file destroys nothing else.
        let _ = std::fs::remove_file(path);
        return Err(write_error(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_735_725_600_000;

    #[test]
    fn setup_twice_reuses_keys_and_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let first = setup_at(dir.path(), T).unwrap();
        let key_bytes: Vec<Vec<u8>> = first
            .participants
            .iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect();
        let node_key = std::fs::read(&first.node_key).unwrap();

        // A later time must not produce a new genesis.
        let second = setup_at(dir.path(), T + 60_000).unwrap();
        assert_eq!(second.genesis.hash(), first.genesis.hash());
        assert_eq!(second.genesis.genesis_time_ms, T);
        assert_eq!(second.participants, first.participants);
        for ((_, path), bytes) in second.participants.iter().zip(&key_bytes) {
            assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
        }
        assert_eq!(std::fs::read(&second.node_key).unwrap(), node_key);
    }

    #[test]
    fn genesis_is_valid_and_has_the_demo_organisations() {
        let dir = tempfile::tempdir().unwrap();
        let net = setup_at(dir.path(), T).unwrap();
        net.genesis.validate().unwrap();
        assert_eq!(net.genesis.chain_id, DEV_CHAIN_ID);
        assert_eq!(net.genesis.params, ConsensusParams::default());
        assert_eq!(net.genesis.validators.len(), 1);
        assert_eq!(net.genesis.validators[0].participant, ROASTER);
        assert_eq!(net.genesis.validators[0].power, 1);
        assert_eq!(net.participants.len(), 5);
        // The file on disk is the genesis returned, as pretty JSON.
        let text = std::fs::read_to_string(dir.path().join("genesis.json")).unwrap();
        assert!(
            text.contains("\n  \"chain_id\": \"provenance-dev\""),
            "{text}"
        );
        let parsed: Genesis = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.hash(), net.genesis.hash());
        // Each key file holds the key the genesis registers.
        for (name, path) in &net.participants {
            let key = keyfile::load_key_file(path).unwrap();
            assert_eq!(
                net.genesis.participant(name).unwrap().signing_key,
                key.public_key()
            );
        }
        let roaster = net.genesis.participant(ROASTER).unwrap();
        let node_key = keyfile::load_key_file(&net.node_key).unwrap();
        assert_eq!(roaster.network_key, node_key.public_key());
        let config = net.node_config();
        assert_eq!(config.signing_key.as_deref(), net.key_path(ROASTER));
        assert_eq!(config.genesis, net.genesis_path);
        config.validate().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let net = setup_at(&dir.path().join("dev"), T).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for (_, path) in &net.participants {
            assert_eq!(mode(path), 0o600, "{}", path.display());
        }
        assert_eq!(mode(&net.node_key), 0o600);
        assert_eq!(mode(&net.data_dir.join(KEYS_DIR)), 0o700);
    }

    #[test]
    fn a_replaced_or_missing_key_is_reported_not_papered_over() {
        let dir = tempfile::tempdir().unwrap();
        let net = setup_at(dir.path(), T).unwrap();
        let retailer = net.key_path(RETAILER).unwrap().to_owned();

        std::fs::remove_file(&retailer).unwrap();
        let err = setup_at(dir.path(), T).unwrap_err();
        assert!(matches!(err, DevnetError::GenesisMismatch { .. }), "{err}");
        assert!(err.to_string().contains("is missing"), "{err}");
        assert!(
            !retailer.exists(),
            "no key is created under an existing genesis"
        );

        keyfile::create_key_file(&retailer, &SigningKey::from_seed([9; 32])).unwrap();
        let message = setup_at(dir.path(), T).unwrap_err().to_string();
        assert!(message.contains(RETAILER), "{message}");
        assert!(message.contains("delete"), "{message}");
        // The genesis was not rewritten.
        let text = std::fs::read_to_string(&net.genesis_path).unwrap();
        let on_disk: Genesis = serde_json::from_str(&text).unwrap();
        assert_eq!(on_disk.hash(), net.genesis.hash());
    }

    #[test]
    fn pglns_and_prefixes_are_distinct() {
        let mut prefixes: Vec<_> = PARTICIPANTS.iter().map(|p| p.company_prefix).collect();
        prefixes.dedup();
        assert_eq!(prefixes.len(), PARTICIPANTS.len());
        assert_eq!(
            participant(ROASTER).unwrap().pgln(),
            "urn:epc:id:pgln:0614142.00000"
        );
        assert!(participant("Nobody").is_none());
    }
}
