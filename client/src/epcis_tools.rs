//! EPCIS document tools: reading input, Event Hash IDs, validation.

use std::io::Read;
use std::path::Path;

use provenance_protocol::epcis::{self, ValidationReport};
use provenance_protocol::event_hash::{self, EventHashError, EventHashId};

/// Largest EPCIS input the tools read (bytes). Large capture documents fit; a runaway pipe does
/// not exhaust memory.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// Why input could not be processed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("cannot read {source_name}: {source}")]
    Read {
        source_name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name} is larger than the limit of {MAX_INPUT_BYTES} bytes")]
    TooLarge { source_name: String },
    #[error("{source_name} is not valid UTF-8 JSON text: {detail}")]
    NotUtf8 { source_name: String, detail: String },
    #[error("{source_name} is not valid JSON: {detail}")]
    Json { source_name: String, detail: String },
    #[error("{source_name}: cannot compute Event Hash IDs: {source}")]
    Hash {
        source_name: String,
        #[source]
        source: EventHashError,
    },
}

/// Input text with the name to use for it in messages.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub text: String,
}

/// Reads `path`, or standard input when `path` is `-`, up to [`MAX_INPUT_BYTES`].
pub fn read_input(path: &Path) -> Result<Input, InputError> {
    let name = if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|source| InputError::Read {
        source_name: name.clone(),
        source,
    })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge { source_name: name });
    }
    let text = String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        source_name: name.clone(),
        detail: e.utf8_error().to_string(),
    })?;
    Ok(Input { name, text })
}

/// Event Hash IDs of every event in an EPCISDocument, EPCISQueryDocument or single event, in
/// document order.
pub fn hash_ids(input: &Input) -> Result<Vec<EventHashId>, InputError> {
    let value: serde_json::Value =
        serde_json::from_str(&input.text).map_err(|e| InputError::Json {
            source_name: input.name.clone(),
            detail: e.to_string(),
        })?;
    event_hash::document_event_hash_ids(&value).map_err(|source| InputError::Hash {
        source_name: input.name.clone(),
        source,
    })
}

/// What a valid input contained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSummary {
    /// Number of events per type, in first-seen order.
    pub counts: Vec<(String, usize)>,
    pub total: usize,
}

impl std::fmt::Display for ValidSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let noun = if self.total == 1 { "event" } else { "events" };
        write!(f, "valid EPCIS 2.0: {} {noun}", self.total)?;
        if !self.counts.is_empty() {
            let parts: Vec<String> = self
                .counts
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Validates the input; every problem is in the report, with its JSON path.
pub fn validate(input: &Input) -> Result<ValidSummary, ValidationReport> {
    let events = epcis::validate_text(&input.text)?;
    let mut counts: Vec<(String, usize)> = Vec::new();
    for event in &events {
        let kind = event.event().event_type().to_string();
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    Ok(ValidSummary {
        counts,
        total: events.len(),
    })
}
