//! Character sets and value checks shared by EPC URN components and Digital Link values.
//!
//! GS1 restricts alphanumeric data to "AI encodable character set 82" (CS82) and, for component
//! and part identifiers, "character set 39" (CS39). Both the EPC URN and the Digital Link carry
//! exactly these values (only the escaping differs), so one checker serves both and the two
//! forms can never disagree on what is a valid serial, lot or extension.

use thiserror::Error;

use super::check_digit::KeyError;

/// Why a component value (serial, lot, extension, asset reference, AI value, ...) is invalid.
///
/// The surrounding error says which component or AI this is about.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value has no characters.
    #[error("must not be empty")]
    Empty,
    /// More characters than the standard allows.
    #[error("is {found} characters long; at most {max} allowed")]
    TooLong {
        /// Maximum length.
        max: usize,
        /// Actual length (after unescaping).
        found: usize,
    },
    /// A fixed-length value of the wrong length.
    #[error("must be exactly {expected} characters long, found {found}")]
    WrongLength {
        /// Required length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// A character outside the allowed set.
    #[error("illegal character {ch:?} at position {position} (allowed: {allowed})")]
    IllegalCharacter {
        /// The offending character (after unescaping).
        ch: char,
        /// 1-based character position: in an EPC URN component, of the text as written
        /// (an escape counts 3); in a Digital Link value, of the percent-decoded text.
        position: usize,
        /// The allowed set in words.
        allowed: &'static str,
    },
    /// A character that the EPC URN syntax requires to be percent-escaped appeared literally.
    #[error("character {ch:?} at position {position} must be written as {escape} in an EPC URN")]
    MustBeEscaped {
        /// The literal character.
        ch: char,
        /// 1-based position in the value as written.
        position: usize,
        /// The escape to use instead.
        escape: &'static str,
    },
    /// A `%` not followed by two hex digits, or an escape the syntax does not permit.
    #[error("bad escape {found:?} at position {position}: {reason}")]
    BadEscape {
        /// The escape as written (up to 3 characters).
        found: String,
        /// 1-based position of the `%`.
        position: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("percent-decoded bytes are not valid UTF-8")]
    InvalidUtf8,
    /// The GRAI element string (AI 8003) must begin with the filler digit 0.
    #[error("must start with the filler digit 0, found {found:?}")]
    MissingFillerDigit {
        /// The first character found.
        found: char,
    },
    /// An embedded numeric GS1 key is invalid (length, digit or check digit).
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// An allowed character repertoire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// `0`-`9`.
    Digits,
    /// GS1 AI encodable character set 82.
    Cs82,
    /// GS1 AI encodable character set 39 (component/part identifiers).
    Cs39,
}

impl Charset {
    pub(crate) fn allows(self, c: char) -> bool {
        match self {
            Charset::Digits => c.is_ascii_digit(),
            Charset::Cs82 => is_cs82(c),
            Charset::Cs39 => matches!(c, '#' | '-' | '/' | '0'..='9' | 'A'..='Z'),
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Charset::Digits => "digits 0-9",
            Charset::Cs82 => {
                "GS1 character set 82: 0-9 A-Z a-z ! \" % & ' ( ) * + , - . / : ; < = > ? _"
            }
            Charset::Cs39 => "GS1 character set 39: 0-9 A-Z # - /",
        }
    }
}

/// GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1).
pub(crate) fn is_cs82(c: char) -> bool {
    matches!(c,
        '!' | '"' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/'
        | '0'..='9' | ':' | ';' | '<' | '=' | '>' | '?' | 'A'..='Z' | '_' | 'a'..='z')
}

/// Checks that `s` is 1..=`max` characters, all from `charset`.
pub(crate) fn check_text(s: &str, charset: Charset, max: usize) -> Result<(), ValueError> {
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    check_chars(s, charset)?;
    let found = s.chars().count();
    if found > max {
        return Err(ValueError::TooLong { max, found });
    }
    Ok(())
}

/// Checks that every character of `s` is from `charset`.
pub(crate) fn check_chars(s: &str, charset: Charset) -> Result<(), ValueError> {
    match s.chars().enumerate().find(|(_, c)| !charset.allows(*c)) {
        Some((i, ch)) => Err(ValueError::IllegalCharacter {
            ch,
            position: i + 1,
            allowed: charset.describe(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cs82_has_82_members() {
        let count = (0u8..=127).filter(|b| is_cs82(char::from(*b))).count();
        assert_eq!(count, 82);
        assert!(!is_cs82('#'));
        assert!(!is_cs82(' '));
        assert!(!is_cs82('~'));
        assert!(!is_cs82('é'));
    }

    #[test]
    fn cs39_has_39_members() {
        let count = (0u8..=127)
            .filter(|b| Charset::Cs39.allows(char::from(*b)))
            .count();
        assert_eq!(count, 39);
    }

    #[test]
    fn check_text_reports_problem() {
        assert_eq!(check_text("", Charset::Cs82, 20), Err(ValueError::Empty));
        assert_eq!(
            check_text("abc def", Charset::Cs82, 20),
            Err(ValueError::IllegalCharacter {
                ch: ' ',
                position: 4,
                allowed: Charset::Cs82.describe()
            })
        );
        assert_eq!(
            check_text("123456", Charset::Digits, 5),
            Err(ValueError::TooLong { max: 5, found: 6 })
        );
        check_text("A-1/#", Charset::Cs39, 30).unwrap();
    }
}
