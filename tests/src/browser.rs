//! [`Chromium`]: Debian's `chromium`, headless, for tests that look at pages the way a person's
//! browser does: the DOM after parsing (`--dump-dom`) and a screenshot (`--screenshot`).
//!
//! Every run gets a fresh profile directory and a time limit, so runs never share state and a
//! wedged browser fails the test instead of hanging it. `$PROVENANCE_CHROMIUM` names another
//! binary; otherwise `chromium` (Debian) or `chromium-browser` is looked up on `PATH`.
//!
//! A machine without a browser must not pass a browser test silently: [`Chromium::find`] fails
//! with the command that installs it, unless `PROVENANCE_SKIP_BROWSER=1` says to skip.

use std::ffi::OsString;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Names the browser binary, overriding the `PATH` lookup.
pub const CHROMIUM_ENV: &str = "PROVENANCE_CHROMIUM";
/// `1` skips browser tests (with a message) instead of failing them when there is no browser.
pub const SKIP_ENV: &str = "PROVENANCE_SKIP_BROWSER";
/// Binaries tried on `PATH`, in order.
const CANDIDATES: [&str; 2] = ["chromium", "chromium-browser"];
/// Longest a single browser run may take (a cold start on a loaded CI machine is seconds).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a browser run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BrowserError {
    /// The process could not be started, or its output not read.
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    /// It ran longer than [`RUN_TIMEOUT`] and was killed.
    TimedOut { args: String, stderr: String },
    /// It exited unsuccessfully.
    Failed {
        args: String,
        status: String,
        stderr: String,
    },
    /// `--screenshot` exited successfully but wrote no PNG.
    NoScreenshot { path: PathBuf, stderr: String },
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrowserError::Spawn { binary, source } => {
                write!(f, "cannot run {}: {source}", binary.display())
            }
            BrowserError::TimedOut { args, stderr } => write!(
                f,
                "chromium {args} took longer than {}s and was killed; its stderr:\n{stderr}",
                RUN_TIMEOUT.as_secs()
            ),
            BrowserError::Failed {
                args,
                status,
                stderr,
            } => write!(
                f,
                "chromium {args} failed ({status}); its stderr:\n{stderr}"
            ),
            BrowserError::NoScreenshot { path, stderr } => write!(
                f,
                "chromium reported success but wrote no PNG at {}; its stderr:\n{stderr}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for BrowserError {}

/// A headless Chromium.
#[derive(Debug, Clone)]
pub struct Chromium {
    binary: PathBuf,
}

impl Chromium {
    /// The browser to test with; `None` when `PROVENANCE_SKIP_BROWSER=1` (the caller prints why
    /// it skips).
    ///
    /// # Panics
    /// When there is no browser and skipping was not asked for; the message says how to install
    /// one.
    pub fn find() -> Option<Chromium> {
        if skip_requested() {
            return None;
        }
        match locate() {
            Some(binary) => Some(Chromium { binary }),
            None => panic!(
                "this test needs a headless Chromium and none was found (tried ${CHROMIUM_ENV}, then {} on PATH). \
                 Install Debian's: `sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core` \
                 (.ci/run does this), or set {CHROMIUM_ENV}=/path/to/chromium, or set {SKIP_ENV}=1 to skip browser tests",
                CANDIDATES.join(" or ")
            ),
        }
    }

    /// The binary this runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The DOM of `url` after the page loaded, serialised as HTML.
    pub fn dump_dom(&self, url: &str) -> Result<String, BrowserError> {
        let (stdout, _) = self.run(&[OsString::from("--dump-dom"), OsString::from(url)])?;
        Ok(stdout)
    }

    /// A PNG of the first `width` × `height` CSS pixels of `url`, written to `path` (replaced if
    /// it exists).
    pub fn screenshot(
        &self,
        url: &str,
        width: u32,
        height: u32,
        path: &Path,
    ) -> Result<(), BrowserError> {
        let _ = std::fs::remove_file(path);
        let mut screenshot = OsString::from("--screenshot=");
        screenshot.push(path);
        let args = [
            screenshot,
            OsString::from(format!("--window-size={width},{height}")),
            OsString::from("--hide-scrollbars"),
            OsString::from(url),
        ];
        let (_, stderr) = self.run(&args)?;
        if path.is_file() {
            Ok(())
        } else {
            Err(BrowserError::NoScreenshot {
                path: path.to_owned(),
                stderr,
            })
        }
    }

    /// Runs the browser with a fresh profile and `args`; returns (stdout, stderr).
    fn run(&self, args: &[OsString]) -> Result<(String, String), BrowserError> {
        let spawn_error = |source| BrowserError::Spawn {
            binary: self.binary.clone(),
            source,
        };
        let profile = tempfile::tempdir().map_err(spawn_error)?;
        let mut user_data = OsString::from("--user-data-dir=");
        user_data.push(profile.path());
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let shown = shown.join(" ");
        let mut child = Command::new(&self.binary)
            .args([
                "--headless=new",
                // Containers and CI run as root, where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--force-color-profile=srgb",
                "--lang=en-GB",
            ])
            .arg(&user_data)
            .args(args)
            .env("HOME", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        // Drain both pipes on threads so a chatty browser never blocks on a full pipe.
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<_>));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<_>));
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            match child.try_wait().map_err(spawn_error)? {
                Some(status) => break Some(status),
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                None => thread::sleep(Duration::from_millis(50)),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        match status {
            None => Err(BrowserError::TimedOut {
                args: shown,
                stderr,
            }),
            Some(status) if !status.success() => Err(BrowserError::Failed {
                args: shown,
                status: status.to_string(),
                stderr,
            }),
            Some(_) => Ok((stdout, stderr)),
        }
    }
}

/// Whether `PROVENANCE_SKIP_BROWSER=1`.
pub fn skip_requested() -> bool {
    std::env::var_os(SKIP_ENV).is_some_and(|v| v == "1")
}

/// `$PROVENANCE_CHROMIUM`, else the first of [`CANDIDATES`] on `PATH`.
fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CHROMIUM_ENV) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    CANDIDATES.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Width and height of a PNG, from its header; `None` if `bytes` is not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) || bytes.get(12..16) != Some(b"IHDR") {
        return None;
    }
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
    };
    Some((word(16)?, word(20)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_size_reads_the_header() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&412u32.to_be_bytes());
        png.extend_from_slice(&915u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((412, 915)));
        assert_eq!(png_size(b"GIF89a"), None);
        assert_eq!(png_size(&png[..20]), None);
    }
}
