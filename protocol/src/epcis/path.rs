//! JSON paths (`$.epcisBody.eventList[2].action`) naming the place of a problem.
//!
//! Keys that are plain identifiers use dot notation; any other key (`@context`,
//! `example:myField`) uses bracket notation with single quotes, so every path is unambiguous.

/// The suffix that selects member `key` (`.key` or `['key']`).
pub fn key_suffix(key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!(".{key}")
    } else {
        format!("['{}']", key.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// Path of member `key` of the value at `base`.
pub fn child(base: &str, key: &str) -> String {
    format!("{base}{}", key_suffix(key))
}

/// Path of element `index` of the array at `base`.
pub fn index(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_bracket_notation() {
        assert_eq!(child("$", "epcisBody"), "$.epcisBody");
        assert_eq!(child("$", "@context"), "$['@context']");
        assert_eq!(child("$.e", "example:myField"), "$.e['example:myField']");
        assert_eq!(child("$", "it's"), "$['it\\'s']");
        assert_eq!(index("$.eventList", 2), "$.eventList[2]");
        assert_eq!(child("$", "_x1"), "$._x1");
        assert_eq!(child("$", "1x"), "$['1x']");
    }
}
