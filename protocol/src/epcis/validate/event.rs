//! Validation of one event: its members, then the per-type rules of EPCIS 2.0.

use serde_json::{Map, Value};

use super::ProblemKind;
use super::fields::{self, Checker, Openness};
use crate::epcis::context::{NamespaceScope, inspect_context};
use crate::epcis::model::{Action, EpcisEvent, EventType};
use crate::epcis::path;
use crate::epcis::uri::Quoted;
use crate::epcis::vocab::Vocabulary;

/// Members every event type has besides the common ones matched in [`check_event`]
/// (`eventTime`, `eventID`, …): the why, where and how of the event.
const SHARED_FIELDS: &[&str] = &[
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
];

/// Members specific to each event type (EPCIS 2.0 JSON schema `propertyNames`, less
/// [`SHARED_FIELDS`]): mostly which objects it is about.
fn own_fields(event_type: EventType) -> &'static [&'static str] {
    match event_type {
        EventType::ObjectEvent => &["action", "epcList", "quantityList", "ilmd"],
        EventType::AggregationEvent | EventType::AssociationEvent => {
            &["action", "parentID", "childEPCs", "childQuantityList"]
        }
        EventType::TransactionEvent => &["action", "parentID", "epcList", "quantityList"],
        EventType::TransformationEvent => &[
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "ilmd",
        ],
    }
}

fn is_field_of(event_type: EventType, key: &str) -> bool {
    SHARED_FIELDS.contains(&key) || own_fields(event_type).contains(&key)
}

fn is_event_field_of_any_type(key: &str) -> bool {
    EventType::ALL.iter().any(|t| is_field_of(*t, key))
}

/// The EPC and quantity list members, whose lengths [`Facts`] records.
const OBJECT_LISTS: [&str; 8] = [
    "epcList",
    "childEPCs",
    "inputEPCList",
    "outputEPCList",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
];

/// What the member checks learned, for the cross-field rules.
#[derive(Debug, Default)]
struct Facts {
    action: Option<Action>,
    action_present: bool,
    /// Length of each list-valued member that was an array.
    list_len: Vec<(&'static str, usize)>,
}

impl Facts {
    fn non_empty(&self, field: &str) -> bool {
        self.list_len.iter().any(|(f, n)| *f == field && *n > 0)
    }
}

/// Checks one event; returns its typed form when the event has no problem.
pub(crate) fn check_event(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    outer_scope: &NamespaceScope,
) -> Option<EpcisEvent> {
    let before = ck.problems.len();
    let event = fields::expect_object(ck, at, value)?;

    let own_scope;
    let scope = match event.get("@context") {
        Some(context) => {
            let info = inspect_context(context);
            fields::report_context_issues(ck, &path::child(at, "@context"), &info.issues);
            own_scope = outer_scope.extended(&info);
            &own_scope
        }
        None => outer_scope,
    };

    let event_type = match event.get("type") {
        None => {
            ck.report(
                path::child(at, "type"),
                ProblemKind::MissingField,
                "event `type` is required (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent)",
            );
            None
        }
        Some(Value::String(name)) => {
            let found = EventType::from_name(name);
            if found.is_none() {
                ck.report(
                    path::child(at, "type"),
                    ProblemKind::UnknownEventType,
                    format!(
                        "{} is not an EPCIS 2.0 event type; use ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent",
                        Quoted(name)
                    ),
                );
            }
            found
        }
        Some(other) => {
            ck.report(
                path::child(at, "type"),
                ProblemKind::WrongType,
                format!("event `type` must be a string, found {other}"),
            );
            None
        }
    };

    let mut facts = Facts::default();
    for (key, member) in event {
        let key_at = path::child(at, key);
        match key.as_str() {
            "@context" | "type" => {}
            "eventTime" | "recordTime" => {
                fields::check_timestamp(ck, &key_at, member);
            }
            "eventTimeZoneOffset" => fields::check_time_zone_offset(ck, &key_at, member),
            "eventID" => fields::check_uri(ck, &key_at, member),
            "certificationInfo" => check_certification_info(ck, &key_at, member),
            "errorDeclaration" => check_error_declaration(ck, &key_at, member, scope),
            _ => match event_type {
                // Without a known type, which members are allowed is unknowable.
                None => {}
                Some(t) if is_field_of(t, key) => {
                    check_type_field(ck, &key_at, key, member, scope, &mut facts);
                }
                Some(t) if is_event_field_of_any_type(key) => ck.report(
                    key_at,
                    ProblemKind::FieldNotAllowed,
                    format!("`{key}` is not a field of {t}"),
                ),
                Some(t) => {
                    fields::unknown_key(ck, at, key, member, scope, Openness::Open, t.as_str());
                }
            },
        }
    }

    for required in ["eventTime", "eventTimeZoneOffset"] {
        fields::require(ck, at, event, required, "every event");
    }
    if let Some(event_type) = event_type {
        check_type_rules(ck, at, event, event_type, &facts);
    }

    if ck.problems.len() != before {
        return None;
    }
    match EpcisEvent::from_value(value) {
        Ok(typed) => Some(typed),
        Err(e) => {
            ck.report(
                at,
                ProblemKind::ModelMismatch,
                format!("event passed validation but the typed model rejected it: {e}"),
            );
            None
        }
    }
}

fn check_type_field(
    ck: &mut Checker,
    at: &str,
    key: &str,
    value: &Value,
    scope: &NamespaceScope,
    facts: &mut Facts,
) {
    match key {
        "action" => {
            facts.action_present = true;
            if let Some(text) = fields::expect_string(ck, at, value) {
                facts.action = Action::from_name(text);
                if facts.action.is_none() {
                    ck.report(
                        at,
                        ProblemKind::InvalidAction,
                        format!(
                            "action {} is not one of ADD, OBSERVE, DELETE (upper case)",
                            Quoted(text)
                        ),
                    );
                }
            }
        }
        "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
            if let Some(n) = fields::check_uri_list(ck, at, value, true, true) {
                facts.list_len.push((static_name(key), n));
            }
        }
        "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
            if let Some(n) = fields::check_quantity_list(ck, at, value, scope) {
                facts.list_len.push((static_name(key), n));
            }
        }
        "parentID" => fields::check_epc(ck, at, value),
        "transformationID" => fields::check_uri(ck, at, value),
        "bizStep" => fields::check_vocab(ck, at, value, Vocabulary::BizStep),
        "disposition" => fields::check_vocab(ck, at, value, Vocabulary::Disposition),
        "persistentDisposition" => check_persistent_disposition(ck, at, value, scope),
        "readPoint" | "bizLocation" => check_location(ck, at, value, scope, key),
        "bizTransactionList" => {
            let vocabulary = Vocabulary::BizTransactionType;
            let entries =
                check_typed_uri_list(ck, at, value, scope, "bizTransaction", vocabulary, false);
            if let Some(n) = entries {
                facts.list_len.push(("bizTransactionList", n));
            }
        }
        "sourceList" | "destinationList" => {
            let member_name = key.trim_end_matches("List");
            let vocabulary = Vocabulary::SourceDestinationType;
            check_typed_uri_list(ck, at, value, scope, member_name, vocabulary, true);
        }
        "sensorElementList" => {
            if let Some(n) = super::sensor::check_sensor_elements(ck, at, value, scope) {
                facts.list_len.push(("sensorElementList", n));
            }
        }
        "ilmd" => fields::check_ilmd(ck, at, value, scope),
        _ => {}
    }
}

/// The `'static` spelling of an object list member name (for [`Facts`]).
fn static_name(key: &str) -> &'static str {
    OBJECT_LISTS
        .iter()
        .copied()
        .find(|n| *n == key)
        .unwrap_or("")
}

/// Required members and "what is this event about" rules per event type.
///
/// Deliberately stricter than the EPCIS 2.0 JSON schema in one respect: the schema accepts an
/// ObjectEvent or TransactionEvent whose only subject is an EMPTY `epcList` (a leftover of the
/// XML binding, where `<epcList/>` is mandatory). Such an event says nothing about any object,
/// so a ledger cannot attribute it; we require a non-empty list instead.
fn check_type_rules(
    ck: &mut Checker,
    at: &str,
    event: &Map<String, Value>,
    event_type: EventType,
    facts: &Facts,
) {
    let article = if event_type.as_str().starts_with(['A', 'O']) {
        "an"
    } else {
        "a"
    };
    let owner = format!("{article} {event_type}");
    if event_type != EventType::TransformationEvent {
        fields::require(ck, at, event, "action", &owner);
    }
    let action = facts.action;
    let has = |key: &str| event.contains_key(key);
    match event_type {
        EventType::ObjectEvent => {
            let about_objects = facts.non_empty("epcList") || facts.non_empty("quantityList");
            let sensor_at_place = facts.non_empty("sensorElementList") && has("readPoint");
            if !about_objects && !sensor_at_place && facts.list_len_known(event) {
                ck.report(
                    at,
                    ProblemKind::MissingObjects,
                    "an ObjectEvent needs a non-empty epcList or quantityList (or sensorElementList together with readPoint)",
                );
            }
            if has("ilmd") && action.is_some_and(|a| a != Action::Add) {
                ck.report(
                    path::child(at, "ilmd"),
                    ProblemKind::FieldNotAllowed,
                    "ilmd describes newly commissioned objects and is only allowed with action ADD",
                );
            }
        }
        EventType::AggregationEvent | EventType::AssociationEvent => {
            let parent_required = event_type == EventType::AssociationEvent
                || matches!(action, Some(Action::Add | Action::Delete));
            if parent_required {
                fields::require(ck, at, event, "parentID", &owner);
            }
            let has_children = facts.non_empty("childEPCs") || facts.non_empty("childQuantityList");
            let needs_children = matches!(action, Some(Action::Add | Action::Observe));
            if needs_children && !has_children && facts.list_len_known(event) {
                ck.report(
                    at,
                    ProblemKind::MissingObjects,
                    format!(
                        "{owner} with action {} needs a non-empty childEPCs or childQuantityList (only DELETE may omit children, meaning all of them)",
                        action.map(Action::as_str).unwrap_or_default()
                    ),
                );
            }
        }
        EventType::TransactionEvent => {
            fields::require(ck, at, event, "bizTransactionList", &owner);
            if facts
                .list_len
                .iter()
                .any(|(f, n)| *f == "bizTransactionList" && *n == 0)
            {
                ck.report(
                    path::child(at, "bizTransactionList"),
                    ProblemKind::EmptyList,
                    "a TransactionEvent needs at least one business transaction",
                );
            }
            let about_objects = facts.non_empty("epcList") || facts.non_empty("quantityList");
            let needs_objects = matches!(action, Some(Action::Add | Action::Observe));
            if needs_objects && !about_objects && facts.list_len_known(event) {
                ck.report(
                    at,
                    ProblemKind::MissingObjects,
                    "a TransactionEvent with action ADD or OBSERVE needs a non-empty epcList or quantityList",
                );
            }
        }
        EventType::TransformationEvent => {
            let inputs = facts.non_empty("inputEPCList") || facts.non_empty("inputQuantityList");
            let outputs = facts.non_empty("outputEPCList") || facts.non_empty("outputQuantityList");
            let ok = (inputs && outputs) || ((inputs || outputs) && has("transformationID"));
            if !ok && facts.list_len_known(event) {
                ck.report(
                    at,
                    ProblemKind::MissingObjects,
                    "a TransformationEvent needs inputs and outputs, or at least one of them together with transformationID",
                );
            }
        }
    }
}

impl Facts {
    /// Whether every list member present was an array (so emptiness rules are meaningful and
    /// a wrong type is not reported twice).
    fn list_len_known(&self, event: &Map<String, Value>) -> bool {
        OBJECT_LISTS
            .iter()
            .chain(&["sensorElementList"])
            .all(|l| !event.contains_key(*l) || self.list_len.iter().any(|(f, _)| f == l))
    }
}

fn check_certification_info(ck: &mut Checker, at: &str, value: &Value) {
    match value {
        Value::String(_) => fields::check_uri(ck, at, value),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_at = path::index(at, i);
                if item.is_string() {
                    fields::check_uri(ck, &item_at, item);
                } else {
                    ck.report(
                        item_at,
                        ProblemKind::WrongType,
                        "certificationInfo entries must be URI strings (e.g. a link to the certificate)",
                    );
                }
            }
        }
        _ => ck.report(
            at,
            ProblemKind::WrongType,
            "certificationInfo must be a URI string or an array of URI strings",
        ),
    }
}

fn check_error_declaration(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope) {
    let Some(declaration) = fields::expect_object(ck, at, value) else {
        return;
    };
    for (key, member) in declaration {
        let key_at = path::child(at, key);
        match key.as_str() {
            "declarationTime" => {
                fields::check_timestamp(ck, &key_at, member);
            }
            "reason" => fields::check_vocab(ck, &key_at, member, Vocabulary::ErrorReason),
            "correctiveEventIDs" => {
                fields::check_uri_list(ck, &key_at, member, false, true);
            }
            _ => fields::unknown_key(
                ck,
                at,
                key,
                member,
                scope,
                Openness::Open,
                "errorDeclaration",
            ),
        }
    }
    fields::require(ck, at, declaration, "declarationTime", "errorDeclaration");
}

fn check_persistent_disposition(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope) {
    let Some(object) = fields::expect_object(ck, at, value) else {
        return;
    };
    for (key, member) in object {
        let key_at = path::child(at, key);
        match key.as_str() {
            "set" | "unset" => {
                let Some(items) = fields::expect_array(ck, &key_at, member) else {
                    continue;
                };
                if items.is_empty() {
                    ck.report(
                        &key_at,
                        ProblemKind::EmptyList,
                        format!("persistentDisposition.{key} must list at least one disposition; omit it instead"),
                    );
                }
                let mut seen = std::collections::HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    let item_at = path::index(&key_at, i);
                    fields::check_vocab(ck, &item_at, item, Vocabulary::Disposition);
                    if item.as_str().is_some_and(|d| !seen.insert(d)) {
                        ck.report(
                            item_at,
                            ProblemKind::DuplicateEntry,
                            "the same disposition is listed twice",
                        );
                    }
                }
            }
            _ => fields::unknown_key(
                ck,
                at,
                key,
                member,
                scope,
                Openness::Closed,
                "persistentDisposition",
            ),
        }
    }
    if !object.contains_key("set") && !object.contains_key("unset") {
        ck.report(
            at,
            ProblemKind::MissingField,
            "persistentDisposition needs `set` or `unset`",
        );
    }
}

fn check_location(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope, owner: &str) {
    let Some(object) = fields::expect_object(ck, at, value) else {
        return;
    };
    for (key, member) in object {
        if key == "id" {
            fields::check_uri(ck, &path::child(at, key), member);
        } else {
            fields::unknown_key(ck, at, key, member, scope, Openness::Open, owner);
        }
    }
    fields::require(ck, at, object, "id", owner);
}

/// `bizTransactionList`, `sourceList` or `destinationList`: entries of a `type` from
/// `vocabulary` (required or not) and a URI under `member_name`, nothing else. Returns the
/// number of entries.
fn check_typed_uri_list(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    scope: &NamespaceScope,
    member_name: &str,
    vocabulary: Vocabulary,
    type_required: bool,
) -> Option<usize> {
    let owner = format!("a {member_name}List entry");
    fields::check_object_list(ck, at, value, |ck, item_at, entry| {
        for (key, member) in entry {
            let key_at = path::child(item_at, key);
            if key == "type" {
                fields::check_vocab(ck, &key_at, member, vocabulary);
            } else if key == member_name {
                fields::check_uri(ck, &key_at, member);
            } else {
                fields::unknown_key(ck, item_at, key, member, scope, Openness::Closed, &owner);
            }
        }
        if type_required {
            fields::require(ck, item_at, entry, "type", &owner);
        }
        fields::require(ck, item_at, entry, member_name, &owner);
    })
}
