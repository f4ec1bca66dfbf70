//! Where the CLI's settings come from: flags, then environment variables, then a small TOML
//! config file.
//!
//! ```toml
//! # $XDG_CONFIG_HOME/provenance/client.toml (or --config FILE, or $PROVENANCE_CONFIG)
//! node = "http://localhost:8080"
//! genesis = "genesis.json"          # relative paths are relative to this file
//! # genesis_hash = "ab12..."        # instead of `genesis`: pin only the hash
//! key = "keys/acme.key"
//!
//! [cold_chain]                      # thresholds for products whose events declare none
//! "09506000134352" = { min = 2.0, max = 8.0, uom = "CEL" }
//! default = { max = 25.0 }
//! ```
//!
//! The process environment is captured once into an [`Environment`] so that resolution is a
//! pure function of its inputs (and tests never touch the real environment).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use provenance_protocol::bundle::ColdChainPolicy;
use provenance_protocol::bundle::verdict::Threshold;
use serde::Deserialize;

/// Environment variable: node URL.
pub const ENV_NODE: &str = "PROVENANCE_NODE";
/// Environment variable: genesis file.
pub const ENV_GENESIS: &str = "PROVENANCE_GENESIS";
/// Environment variable: signing key file.
pub const ENV_KEY: &str = "PROVENANCE_KEY";
/// Environment variable: client config file.
pub const ENV_CONFIG: &str = "PROVENANCE_CONFIG";
/// Environment variable: state directory (remembered heads, signing sequences).
pub const ENV_STATE_DIR: &str = "PROVENANCE_STATE_DIR";

/// Largest config file read; a config is a few lines.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Default unit of a cold-chain threshold: degrees Celsius (UN/CEFACT `CEL`).
pub const DEFAULT_UOM: &str = "CEL";

/// The variables the CLI reads, captured from the process (or built by a test).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, OsString>,
}

impl Environment {
    /// Every variable the CLI may read, from the process environment.
    pub fn from_process() -> Self {
        let names = [
            ENV_NODE,
            ENV_GENESIS,
            ENV_KEY,
            ENV_CONFIG,
            ENV_STATE_DIR,
            "XDG_CONFIG_HOME",
            "XDG_STATE_HOME",
            "HOME",
        ];
        let vars = names
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|v| ((*name).to_owned(), v)))
            .collect();
        Environment { vars }
    }

    /// An environment with exactly these variables.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; unset and empty are the same (an empty value is never a setting).
    pub fn get(&self, name: &str) -> Option<&OsString> {
        self.vars.get(name).filter(|v| !v.is_empty())
    }

    /// A variable as UTF-8 text.
    fn text(&self, name: &str) -> Result<Option<String>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => {
                value
                    .to_str()
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| ConfigError::EnvNotUtf8 {
                        name: name.to_owned(),
                    })
            }
        }
    }

    /// `$XDG_<kind>_HOME`, else `$HOME/<fallback>`, joined with `provenance`.
    fn xdg_dir(&self, xdg: &str, fallback: &str) -> Option<PathBuf> {
        let base = match self.get(xdg).map(PathBuf::from) {
            // The XDG spec says relative values are invalid and must be ignored.
            Some(dir) if dir.is_absolute() => dir,
            _ => PathBuf::from(self.get("HOME")?).join(fallback),
        };
        Some(base.join("provenance"))
    }

    /// The default config file: `$XDG_CONFIG_HOME/provenance/client.toml`.
    pub fn default_config_path(&self) -> Option<PathBuf> {
        self.xdg_dir("XDG_CONFIG_HOME", ".config")
            .map(|dir| dir.join("client.toml"))
    }

    /// The state directory: `$PROVENANCE_STATE_DIR`, else `$XDG_STATE_HOME/provenance`.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.get(ENV_STATE_DIR)
            .map(PathBuf::from)
            .or_else(|| self.xdg_dir("XDG_STATE_HOME", ".local/state"))
    }
}

/// Why the settings could not be determined. Every variant names the setting or file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{}", missing_message(*setting, config_path.as_deref()))]
    Missing {
        setting: Setting,
        /// The config file consulted (or that would have been), for the message.
        config_path: Option<PathBuf>,
    },
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {} is larger than {MAX_CONFIG_BYTES} bytes; is the path right?", path.display())]
    TooLarge { path: PathBuf },
    #[error("config file {} is not valid: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "config file {}: [cold_chain] key {key:?} is neither a 14-digit GTIN nor \"default\"",
        path.display()
    )]
    BadGtin { path: PathBuf, key: String },
    #[error("config file {}: [cold_chain] {key:?}: {reason}", path.display())]
    BadThreshold {
        path: PathBuf,
        key: String,
        reason: String,
    },
    #[error("environment variable {name} is not valid UTF-8")]
    EnvNotUtf8 { name: String },
}

/// A setting that can come from a flag, the environment or the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Node,
    Genesis,
    Key,
}

impl Setting {
    /// What the setting is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Setting::Node => "no node URL given",
            Setting::Genesis => {
                "no genesis given (the network's genesis is the one thing verification trusts)"
            }
            Setting::Key => "no signing key given",
        }
    }

    /// The command-line form.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::Node => "--node URL",
            Setting::Genesis => "--genesis FILE (or --genesis-hash HEX)",
            Setting::Key => "--key FILE",
        }
    }

    /// The environment variable.
    pub fn env_var(self) -> &'static str {
        match self {
            Setting::Node => ENV_NODE,
            Setting::Genesis => ENV_GENESIS,
            Setting::Key => ENV_KEY,
        }
    }

    /// The config file line.
    pub fn file_line(self) -> &'static str {
        match self {
            Setting::Node => "node = \"http://HOST:PORT\"",
            Setting::Genesis => "genesis = \"/path/to/genesis.json\"",
            Setting::Key => "key = \"/path/to/org.key\"",
        }
    }
}

fn missing_message(setting: Setting, config_path: Option<&Path>) -> String {
    let file = match config_path {
        Some(path) => format!("add `{}` to {}", setting.file_line(), path.display()),
        None => format!(
            "add `{}` to a config file given with --config or ${ENV_CONFIG}",
            setting.file_line()
        ),
    };
    format!(
        "{}: pass {}, set {}, or {file}",
        setting.describe(),
        setting.flag(),
        setting.env_var()
    )
}

/// Where a resolved setting came from (for messages such as "genesis from $PROVENANCE_GENESIS").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env(&'static str),
    File(PathBuf),
}

/// A resolved setting and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<T> {
    pub value: T,
    pub origin: Origin,
}

/// One `[cold_chain]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdEntry {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub uom: Option<String>,
}

/// The config file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub node: Option<String>,
    pub genesis: Option<PathBuf>,
    pub genesis_hash: Option<String>,
    pub key: Option<PathBuf>,
    #[serde(default)]
    pub cold_chain: BTreeMap<String, ThresholdEntry>,
}

/// A config file read from disk, relative paths resolved against its directory.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub file: ConfigFile,
}

impl LoadedConfig {
    /// Parses config text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let mut file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            reason: e.message().to_owned() + &location(text, e.span()),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for entry in [&mut file.genesis, &mut file.key].into_iter().flatten() {
            if entry.is_relative() {
                *entry = base.join(&*entry);
            }
        }
        let loaded = LoadedConfig {
            path: path.to_owned(),
            file,
        };
        loaded.cold_chain_policy()?;
        Ok(loaded)
    }

    /// Reads and parses the config file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read as _;
        let read_error = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
            });
        }
        Self::parse(path, &text)
    }

    /// The `[cold_chain]` table as a verification policy.
    pub fn cold_chain_policy(&self) -> Result<ColdChainPolicy, ConfigError> {
        let mut policy = ColdChainPolicy::default();
        for (key, entry) in &self.file.cold_chain {
            let bad = |reason: &str| ConfigError::BadThreshold {
                path: self.path.clone(),
                key: key.clone(),
                reason: reason.to_owned(),
            };
            if entry.min.is_none() && entry.max.is_none() {
                return Err(bad("give `min`, `max` or both"));
            }
            if [entry.min, entry.max]
                .into_iter()
                .flatten()
                .any(|v| !v.is_finite())
            {
                return Err(bad("limits must be finite numbers"));
            }
            if let (Some(min), Some(max)) = (entry.min, entry.max)
                && min > max
            {
                return Err(bad("`min` is above `max`"));
            }
            let uom = entry.uom.clone().unwrap_or_else(|| DEFAULT_UOM.to_owned());
            if key == "default" {
                policy.default = Some(Threshold {
                    min: entry.min,
                    max: entry.max,
                    uom,
                    source: format!("client default ({})", self.path.display()),
                });
            } else if key.len() == 14 && key.bytes().all(|b| b.is_ascii_digit()) {
                policy.by_gtin.insert(
                    key.clone(),
                    Threshold {
                        min: entry.min,
                        max: entry.max,
                        uom,
                        source: format!("client default for GTIN {key} ({})", self.path.display()),
                    },
                );
            } else {
                return Err(ConfigError::BadGtin {
                    path: self.path.clone(),
                    key: key.clone(),
                });
            }
        }
        Ok(policy)
    }
}

/// " at line L, column C" for a TOML error span.
fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(start) = span.map(|s| s.start) else {
        return String::new();
    };
    let before = text.get(..start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" (line {line}, column {column})")
}

/// Settings given on the command line, the environment and the config file, resolved in that
/// order.
#[derive(Debug, Clone)]
pub struct Settings {
    env: Environment,
    config: Option<LoadedConfig>,
    /// The config file consulted or the default path, for "add it to ..." messages.
    config_path: Option<PathBuf>,
}

impl Settings {
    /// Loads the config file: `--config` (`config_flag`), else `$PROVENANCE_CONFIG`, else the
    /// default path. A file named explicitly must exist; the default one may be absent.
    pub fn load(config_flag: Option<&Path>, env: Environment) -> Result<Self, ConfigError> {
        let explicit = match config_flag {
            Some(path) => Some(path.to_owned()),
            None => env.get(ENV_CONFIG).map(PathBuf::from),
        };
        let (config, config_path) = match explicit {
            Some(path) => (Some(LoadedConfig::read(&path)?), Some(path)),
            None => match env.default_config_path() {
                Some(path) if path.exists() => (Some(LoadedConfig::read(&path)?), Some(path)),
                other => (None, other),
            },
        };
        Ok(Settings {
            env,
            config,
            config_path,
        })
    }

    /// Settings from an environment and an already parsed config (tests, embedding).
    pub fn from_parts(env: Environment, config: Option<LoadedConfig>) -> Self {
        let config_path = config.as_ref().map(|c| c.path.clone());
        Settings {
            env,
            config,
            config_path,
        }
    }

    /// The captured environment.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The loaded config file, if any.
    pub fn config(&self) -> Option<&LoadedConfig> {
        self.config.as_ref()
    }

    fn file<T>(&self, pick: impl Fn(&ConfigFile) -> Option<T>) -> Option<Resolved<T>> {
        let config = self.config.as_ref()?;
        pick(&config.file).map(|value| Resolved {
            value,
            origin: Origin::File(config.path.clone()),
        })
    }

    fn missing(&self, setting: Setting) -> ConfigError {
        ConfigError::Missing {
            setting,
            config_path: self.config_path.clone(),
        }
    }

    /// The node URL: `--node`, `$PROVENANCE_NODE`, `node =`.
    pub fn node(&self, flag: Option<&str>) -> Result<Resolved<String>, ConfigError> {
        if let Some(value) = flag {
            return Ok(Resolved {
                value: value.to_owned(),
                origin: Origin::Flag,
            });
        }
        if let Some(value) = self.env.text(ENV_NODE)? {
            return Ok(Resolved {
                value,
                origin: Origin::Env(ENV_NODE),
            });
        }
        self.file(|f| f.node.clone())
            .ok_or_else(|| self.missing(Setting::Node))
    }

    /// The signing key file: `--key`, `$PROVENANCE_KEY`, `key =`.
    pub fn key(&self, flag: Option<&Path>) -> Result<Resolved<PathBuf>, ConfigError> {
        self.path_setting(flag, ENV_KEY, |f| f.key.clone())
            .ok_or_else(|| self.missing(Setting::Key))
    }

    /// What verification trusts: `--genesis-hash`, `--genesis`, `$PROVENANCE_GENESIS`, then the
    /// config's `genesis` or `genesis_hash`.
    pub fn trust(
        &self,
        genesis_flag: Option<&Path>,
        hash_flag: Option<&str>,
    ) -> Result<Resolved<TrustSetting>, ConfigError> {
        if let Some(hash) = hash_flag {
            return Ok(Resolved {
                value: TrustSetting::Hash(hash.to_owned()),
                origin: Origin::Flag,
            });
        }
        if let Some(found) = self.path_setting(genesis_flag, ENV_GENESIS, |f| f.genesis.clone()) {
            return Ok(Resolved {
                value: TrustSetting::File(found.value),
                origin: found.origin,
            });
        }
        self.file(|f| f.genesis_hash.clone().map(TrustSetting::Hash))
            .ok_or_else(|| self.missing(Setting::Genesis))
    }

    /// The genesis file alone (no pinned hash), when one is configured.
    pub fn genesis_file(&self, flag: Option<&Path>) -> Option<Resolved<PathBuf>> {
        self.path_setting(flag, ENV_GENESIS, |f| f.genesis.clone())
    }

    fn path_setting(
        &self,
        flag: Option<&Path>,
        env_var: &'static str,
        pick: impl Fn(&ConfigFile) -> Option<PathBuf>,
    ) -> Option<Resolved<PathBuf>> {
        if let Some(path) = flag {
            return Some(Resolved {
                value: path.to_owned(),
                origin: Origin::Flag,
            });
        }
        if let Some(value) = self.env.get(env_var) {
            return Some(Resolved {
                value: PathBuf::from(value),
                origin: Origin::Env(env_var),
            });
        }
        self.file(pick)
    }

    /// The cold-chain policy of the config file (empty without one).
    pub fn cold_chain_policy(&self) -> Result<ColdChainPolicy, ConfigError> {
        self.config
            .as_ref()
            .map_or_else(|| Ok(ColdChainPolicy::default()), |c| c.cold_chain_policy())
    }
}

/// What a consumer pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSetting {
    /// A genesis document on disk.
    File(PathBuf),
    /// Only the genesis hash (hex); the bundle's genesis must hash to it.
    Hash(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> LoadedConfig {
        LoadedConfig::parse(Path::new("/etc/prov/client.toml"), text).unwrap()
    }

    #[test]
    fn flags_override_env_override_file() {
        let file = config("node = \"http://file:1\"\nkey = \"org.key\"\ngenesis = \"g.json\"");
        let env = Environment::from_pairs([
            (ENV_NODE, "http://env:2"),
            (ENV_KEY, "/env.key"),
            (ENV_GENESIS, "/env-genesis.json"),
        ]);
        let all = Settings::from_parts(env, Some(file.clone()));
        let node = all.node(Some("http://flag:3")).unwrap();
        assert_eq!(
            (node.value.as_str(), node.origin),
            ("http://flag:3", Origin::Flag)
        );
        let node = all.node(None).unwrap();
        assert_eq!(
            (node.value.as_str(), node.origin),
            ("http://env:2", Origin::Env(ENV_NODE))
        );
        assert_eq!(all.key(None).unwrap().value, PathBuf::from("/env.key"));
        assert_eq!(
            all.trust(None, None).unwrap().value,
            TrustSetting::File("/env-genesis.json".into())
        );

        let file_only = Settings::from_parts(Environment::default(), Some(file));
        let node = file_only.node(None).unwrap();
        assert_eq!(node.value, "http://file:1");
        assert_eq!(
            node.origin,
            Origin::File(PathBuf::from("/etc/prov/client.toml"))
        );
        // Relative paths in the file are relative to the file.
        assert_eq!(
            file_only.key(None).unwrap().value,
            PathBuf::from("/etc/prov/org.key")
        );
        assert_eq!(
            file_only.trust(None, None).unwrap().value,
            TrustSetting::File("/etc/prov/g.json".into())
        );
        // A pinned hash on the command line wins over every genesis file.
        assert_eq!(
            file_only.trust(None, Some("ab")).unwrap().value,
            TrustSetting::Hash("ab".into())
        );
    }

    #[test]
    fn empty_env_values_are_unset() {
        let file = config("node = \"http://file:1\"");
        let env = Environment::from_pairs([(ENV_NODE, "")]);
        let settings = Settings::from_parts(env, Some(file));
        assert_eq!(settings.node(None).unwrap().value, "http://file:1");
    }

    #[test]
    fn missing_settings_name_all_three_ways() {
        let settings = Settings::from_parts(Environment::default(), None);
        let message = settings.node(None).unwrap_err().to_string();
        assert_eq!(
            message,
            "no node URL given: pass --node URL, set PROVENANCE_NODE, or add `node = \"http://HOST:PORT\"` to a config file given with --config or $PROVENANCE_CONFIG"
        );
        let env = Environment::from_pairs([("HOME", "/home/ana")]);
        let settings = Settings::load(None, env).unwrap();
        let message = settings.trust(None, None).unwrap_err().to_string();
        assert!(message.contains("--genesis FILE"), "{message}");
        assert!(message.contains("PROVENANCE_GENESIS"), "{message}");
        assert!(
            message.contains("/home/ana/.config/provenance/client.toml"),
            "{message}"
        );
        let message = settings.key(None).unwrap_err().to_string();
        assert!(
            message.starts_with("no signing key given: pass --key FILE, set PROVENANCE_KEY"),
            "{message}"
        );
    }

    #[test]
    fn config_file_is_found_by_flag_env_and_default_path() {
        let dir = tempfile::tempdir().unwrap();
        let default = dir.path().join("xdg/provenance/client.toml");
        std::fs::create_dir_all(default.parent().unwrap()).unwrap();
        std::fs::write(&default, "node = \"http://default:1\"").unwrap();
        let named = dir.path().join("named.toml");
        std::fs::write(&named, "node = \"http://named:1\"").unwrap();

        let xdg = dir.path().join("xdg");
        let env = Environment::from_pairs([("XDG_CONFIG_HOME", xdg.as_os_str())]);
        let node = |s: Settings| s.node(None).unwrap().value;
        assert_eq!(
            node(Settings::load(None, env.clone()).unwrap()),
            "http://default:1"
        );
        assert_eq!(
            node(Settings::load(Some(&named), env.clone()).unwrap()),
            "http://named:1"
        );
        let mut with_env = env.clone();
        with_env
            .vars
            .insert(ENV_CONFIG.into(), named.clone().into_os_string());
        assert_eq!(
            node(Settings::load(None, with_env).unwrap()),
            "http://named:1"
        );

        // An explicitly named file must exist; the default may be absent.
        let absent = dir.path().join("absent.toml");
        let err = Settings::load(Some(&absent), env).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read config file {}", absent.display())),
            "{err}"
        );
        let empty = Environment::from_pairs([("HOME", dir.path().join("nohome"))]);
        assert!(Settings::load(None, empty).unwrap().config().is_none());
    }

    #[test]
    fn invalid_config_names_file_and_position() {
        let err =
            LoadedConfig::parse(Path::new("c.toml"), "node = \"x\"\nnodes = 1\n").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("config file c.toml is not valid: "),
            "{message}"
        );
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn cold_chain_table_becomes_a_policy() {
        let loaded = config(
            "[cold_chain]\n\"09506000134352\" = { min = 2.0, max = 8.0, uom = \"CEL\" }\ndefault = { max = 25.0 }\n",
        );
        let policy = loaded.cold_chain_policy().unwrap();
        let gtin = &policy.by_gtin["09506000134352"];
        assert_eq!(
            (gtin.min, gtin.max, gtin.uom.as_str()),
            (Some(2.0), Some(8.0), "CEL")
        );
        assert!(
            gtin.source.contains("GTIN 09506000134352"),
            "{}",
            gtin.source
        );
        let default = policy.default.unwrap();
        assert_eq!(
            (default.min, default.max, default.uom.as_str()),
            (None, Some(25.0), "CEL")
        );
    }

    #[test]
    fn bad_cold_chain_entries_are_refused_by_name() {
        for (text, needle) in [
            (
                "[cold_chain]\n\"123\" = { max = 1.0 }",
                "neither a 14-digit GTIN",
            ),
            (
                "[cold_chain]\ndefault = { uom = \"CEL\" }",
                "give `min`, `max` or both",
            ),
            (
                "[cold_chain]\ndefault = { min = 9.0, max = 1.0 }",
                "`min` is above `max`",
            ),
            ("[cold_chain]\ndefault = { max = nan }", "finite"),
            (
                "[cold_chain]\ndefault = { max = 1.0, unit = \"CEL\" }",
                "unit",
            ),
        ] {
            let err = LoadedConfig::parse(Path::new("c.toml"), text).unwrap_err();
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn state_dir_precedence() {
        let env = Environment::from_pairs([
            (ENV_STATE_DIR, "/explicit"),
            ("XDG_STATE_HOME", "/xdg"),
            ("HOME", "/home/ana"),
        ]);
        assert_eq!(env.state_dir(), Some(PathBuf::from("/explicit")));
        let env = Environment::from_pairs([("XDG_STATE_HOME", "/xdg"), ("HOME", "/home/ana")]);
        assert_eq!(env.state_dir(), Some(PathBuf::from("/xdg/provenance")));
        let env = Environment::from_pairs([("XDG_STATE_HOME", "relative"), ("HOME", "/home/ana")]);
        assert_eq!(
            env.state_dir(),
            Some(PathBuf::from("/home/ana/.local/state/provenance"))
        );
        assert_eq!(Environment::default().state_dir(), None);
    }
}
