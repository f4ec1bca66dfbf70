//! The pre-hash string: an event's members serialised in canonical order.
//!
//! Every member becomes `name=value` (scalars) or `name` followed by its serialised children
//! (objects, lists), all concatenated without separators. The order comes from [`schema`]; values
//! are canonicalised by [`value`].

use serde_json::{Map, Value};

use super::context::JsonLdContext;
use super::error::{EventHashError, FieldPath, json_type};
use super::schema::{self, Field, Placement, Shape};
use super::value::{self, ValueKind};

/// Deepest JSON nesting we hash (serde_json's own parser stops at 128 as well).
const MAX_DEPTH: usize = 128;

/// How empty members are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Members at their schema position: an empty member (empty string, empty object or list)
    /// contributes nothing.
    Ordered,
    /// Members of the trailing sorted group (user extensions, `ilmd`, the transaction and
    /// source/destination lists): an empty member still contributes its bare name.
    Sorted,
}

pub(super) fn prehash(event: &Value, context: &JsonLdContext) -> Result<String, EventHashError> {
    let Value::Object(members) = event else {
        return Err(EventHashError::EventNotAnObject {
            found: json_type(event),
        });
    };
    let event_type = match members.get("type") {
        None => return Err(EventHashError::MissingEventType),
        Some(Value::String(name)) if !name.is_empty() => name,
        Some(other) => {
            return Err(EventHashError::InvalidEventType {
                found: truncated_json(other),
            });
        }
    };
    let context = context.scoped(event);
    let body = object_text(members, schema::EVENT, &context, &FieldPath::Event, 0)?;
    Ok(format!("eventType={event_type}{body}"))
}

/// The members of one object: its `Ordered` known fields in schema order, then everything else
/// (`Sorted` known fields and unknown members, i.e. user extensions) sorted as strings.
fn object_text(
    members: &Map<String, Value>,
    fields: &[Field],
    context: &JsonLdContext,
    path: &FieldPath<'_>,
    depth: usize,
) -> Result<String, EventHashError> {
    let mut text = String::new();
    for field in fields.iter().filter(|f| f.placement == Placement::Ordered) {
        if let Some(value) = members.get(field.name) {
            let field_path = path.member(field.name);
            let mut parts = occurrences(
                field.name,
                field.shape,
                value,
                Mode::Ordered,
                context,
                &field_path,
                depth,
            )?;
            parts.sort_unstable();
            text.extend(parts);
        }
    }

    let mut trailing = Vec::new();
    for (key, value) in members {
        if is_ignored(key, context) {
            continue;
        }
        let member_path = path.member(key);
        match fields.iter().find(|f| f.name == key) {
            Some(field) if field.placement == Placement::Sorted => {
                trailing.extend(occurrences(
                    field.name,
                    field.shape,
                    value,
                    Mode::Sorted,
                    context,
                    &member_path,
                    depth,
                )?);
            }
            Some(_) => {}
            None => {
                let name = context.expand_member_name(key);
                trailing.extend(extension_occurrences(
                    &name,
                    value,
                    context,
                    &member_path,
                    depth,
                )?);
            }
        }
    }
    trailing.sort_unstable();
    text.extend(trailing);
    Ok(text)
}

/// Members that are never event data: JSON-LD keywords (`@context`, `@id`, ...) and comments.
fn is_ignored(key: &str, context: &JsonLdContext) -> bool {
    key.starts_with('@')
        || key == "comment"
        || context.expand_member_name(key) == "{http://www.w3.org/2000/01/rdf-schema#}comment"
}

/// The serialised occurrences of member `name` holding `value`. A JSON array (unless the shape is
/// a list wrapper) means the member occurs once per element; `null` means it does not occur.
fn occurrences(
    name: &str,
    shape: Shape,
    value: &Value,
    mode: Mode,
    context: &JsonLdContext,
    path: &FieldPath<'_>,
    depth: usize,
) -> Result<Vec<String>, EventHashError> {
    if depth > MAX_DEPTH {
        return Err(EventHashError::TooDeep {
            field: path.to_string(),
            max: MAX_DEPTH,
        });
    }
    if let Shape::List { item, shape } = shape {
        let mut items = Vec::new();
        for_each_element(value, path, |element, element_path| {
            items.extend(occurrences(
                item,
                *shape,
                element,
                mode,
                context,
                element_path,
                depth + 1,
            )?);
            Ok(())
        })?;
        return Ok(wrapped(name, items, mode));
    }
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(elements) => {
            let mut all = Vec::new();
            for (index, element) in elements.iter().enumerate() {
                all.extend(occurrences(
                    name,
                    shape,
                    element,
                    mode,
                    context,
                    &path.element(index),
                    depth + 1,
                )?);
            }
            Ok(all)
        }
        Value::Object(members) => {
            let fields = match shape {
                Shape::Object(fields) => fields,
                _ => &[],
            };
            let scoped = context.scoped(value);
            let body = object_text(members, fields, &scoped, path, depth + 1)?;
            Ok(match (mode, body.is_empty()) {
                (Mode::Ordered, true) => Vec::new(),
                _ => vec![format!("{name}{body}")],
            })
        }
        scalar => {
            let kind = match shape {
                Shape::Value(kind) => kind,
                _ => ValueKind::Plain,
            };
            let text = value::canonical_scalar(scalar, kind, context).map_err(|invalid| {
                EventHashError::InvalidTimestamp {
                    field: path.to_string(),
                    value: truncated_json(scalar),
                    reason: invalid.0,
                }
            })?;
            Ok(match text {
                None => Vec::new(),
                Some(text) if text.is_empty() => match mode {
                    Mode::Ordered => Vec::new(),
                    Mode::Sorted => vec![name.to_owned()],
                },
                Some(text) => vec![format!("{name}={text}")],
            })
        }
    }
}

/// A user extension (or any member the schema does not know), always in [`Mode::Sorted`].
///
/// A name ending in `List` is written as a list wrapper whose elements are named without the
/// suffix (`{ns}sensorList{ns}sensor=...`), mirroring how EPCIS models lists; the reference
/// implementation does this for every such member, so extension lists hash the same everywhere.
fn extension_occurrences(
    name: &str,
    value: &Value,
    context: &JsonLdContext,
    path: &FieldPath<'_>,
    depth: usize,
) -> Result<Vec<String>, EventHashError> {
    let plain = Shape::Value(ValueKind::Plain);
    let Some(item) = name.strip_suffix("List") else {
        return occurrences(name, plain, value, Mode::Sorted, context, path, depth);
    };
    if depth > MAX_DEPTH {
        return Err(EventHashError::TooDeep {
            field: path.to_string(),
            max: MAX_DEPTH,
        });
    }
    let mut items = Vec::new();
    for_each_element(value, path, |element, element_path| {
        items.extend(occurrences(
            item,
            plain,
            element,
            Mode::Sorted,
            context,
            element_path,
            depth + 1,
        )?);
        Ok(())
    })?;
    Ok(wrapped(name, items, Mode::Sorted))
}

/// Calls `visit` for each element of an array, or once for a lone non-array value.
fn for_each_element(
    value: &Value,
    path: &FieldPath<'_>,
    mut visit: impl FnMut(&Value, &FieldPath<'_>) -> Result<(), EventHashError>,
) -> Result<(), EventHashError> {
    match value {
        Value::Array(elements) => {
            for (index, element) in elements.iter().enumerate() {
                visit(element, &path.element(index))?;
            }
            Ok(())
        }
        Value::Null => Ok(()),
        single => visit(single, path),
    }
}

/// A list wrapper: its name followed by its items, sorted. Nothing if it has no items (or, at a
/// schema position, only empty ones).
fn wrapped(name: &str, mut items: Vec<String>, mode: Mode) -> Vec<String> {
    items.sort_unstable();
    let body = items.concat();
    let omit = match mode {
        Mode::Ordered => body.is_empty(),
        Mode::Sorted => items.is_empty(),
    };
    if omit {
        Vec::new()
    } else {
        vec![format!("{name}{body}")]
    }
}

/// JSON text of a value for an error message, cut to a readable length.
fn truncated_json(value: &Value) -> String {
    const LIMIT: usize = 80;
    let text = value.to_string();
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
