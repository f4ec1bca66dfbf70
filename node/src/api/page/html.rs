//! The one way text gets into the product page: an HTML writer that escapes every dynamic string.
//!
//! Everything an event says (names, places, master data, certificate URIs, failure messages) was
//! written by whoever signed the event, so it is attacker-controlled. [`Html`] only accepts
//! markup as `&'static str` (literals in this crate), and everything else through [`Html::text`]
//! or [`Html::attr`], which escape; numbers go through [`Html::num`] and [`Html::int`]. A
//! dynamic string therefore cannot reach the page as markup without a compile error.
//!
//! The escaping is the OWASP rule for HTML text and *quoted* attribute values: `&`, `<`, `>`,
//! `"`, `'` become character references. The writer never emits unquoted attributes and never
//! puts dynamic text inside `<script>` or `<style>`. Besides, characters that would let text
//! misbehave without any markup are neutralised: C0 controls and DEL (invalid in HTML), and the
//! bidirectional embedding, override and isolate controls (a "Trojan Source" right-to-left
//! override in a name could make the rest of the line read backwards). They become U+FFFD, so a
//! reader sees that something was there.

use std::fmt::Write as _;

/// Replaces what [`push_escaped`] must not pass through.
const REPLACEMENT: char = '\u{fffd}';

/// Appends `text` to `out`, escaped for HTML text and double- or single-quoted attribute values.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if is_neutralised(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
}

/// `text` escaped (see [`push_escaped`]); the page itself writes through [`Html`].
#[cfg(test)]
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Control characters HTML forbids, and the explicit bidirectional formatting characters.
fn is_neutralised(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// An HTML document under construction. See the module docs for why markup is `&'static str`.
#[derive(Debug, Default)]
pub(crate) struct Html {
    out: String,
}

impl Html {
    pub(crate) fn new() -> Self {
        Self {
            out: String::with_capacity(32 * 1024),
        }
    }

    /// Literal markup written in this crate.
    pub(crate) fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Text, escaped.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        push_escaped(&mut self.out, text);
        self
    }

    /// `<name>text</name>` with `text` escaped.
    pub(crate) fn tag(&mut self, name: &'static str, text: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        push_escaped(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// ` name="value"` with `value` escaped; written inside an open tag.
    pub(crate) fn attr(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        push_escaped(&mut self.out, value);
        self.out.push('"');
        self
    }

    /// A number for SVG coordinates: at most two decimals, no exponent, `0` for what is not
    /// finite (never reached with real data; keeps the markup valid regardless).
    pub(crate) fn num(&mut self, value: f64) -> &mut Self {
        let value = if value.is_finite() { value } else { 0.0 };
        let text = format!("{value:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        self.out.push_str(if text == "-0" || text.is_empty() {
            "0"
        } else {
            text
        });
        self
    }

    /// An integer.
    pub(crate) fn int(&mut self, value: impl Into<i128>) -> &mut Self {
        let _ = write!(self.out, "{}", value.into());
        self
    }

    /// A link whose target comes from data: only `http(s)` targets become links (a
    /// `javascript:` or `data:` URI in an event must not), and they open without a referrer.
    /// Anything else is shown as text.
    pub(crate) fn link_or_text(&mut self, href: &str, text: &str) -> &mut Self {
        if is_web_link(href) {
            self.raw("<a rel=\"nofollow noopener noreferrer\"")
                .attr("href", href)
                .raw(">")
                .text(text)
                .raw("</a>")
        } else {
            self.text(text)
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Whether `uri` is an absolute `http:` or `https:` URL without characters a browser would
/// strip or reinterpret (whitespace, controls, backslashes).
pub(crate) fn is_web_link(uri: &str) -> bool {
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && uri.len() > "http://".len()
        && !uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || is_neutralised(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters_of_html() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>Tom & Jerry</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;"
        );
        assert_eq!(escape("plain café ✓"), "plain café ✓");
        assert_eq!(
            escape("&amp;"),
            "&amp;amp;",
            "already-escaped text is escaped again"
        );
    }

    #[test]
    fn hostile_strings_cannot_open_or_close_markup() {
        for hostile in [
            "<script>alert(1)</script>",
            "</style><script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "' onmouseover='alert(1)",
            "<!-- comment -->",
            "<![CDATA[x]]>",
            "</textarea></title></svg></html>",
        ] {
            let escaped = escape(hostile);
            assert!(!escaped.contains(['<', '>', '"', '\'']), "{escaped}");
        }
    }

    #[test]
    fn controls_and_bidi_overrides_are_neutralised() {
        assert_eq!(
            escape("a\u{0}b\u{7}c\u{7f}d"),
            "a\u{fffd}b\u{fffd}c\u{fffd}d"
        );
        assert_eq!(escape("evil\u{202e}gnp.exe"), "evil\u{fffd}gnp.exe");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\u{fffd}x\u{fffd}");
        assert_eq!(escape("line\nnext\ttab"), "line\nnext\ttab");
        // Ordinary right-to-left text is left alone.
        assert_eq!(escape("مرحبا שלום"), "مرحبا שלום");
    }

    #[test]
    fn attributes_are_quoted_and_escaped() {
        let mut html = Html::new();
        html.raw("<p").attr("title", "\" onload=\"x").raw(">");
        assert_eq!(html.finish(), "<p title=\"&quot; onload=&quot;x\">");
    }

    #[test]
    fn only_web_links_become_links() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "https://ex ample.org",
            "https:\\\\evil.example",
            "http://",
            "//evil.example/x",
        ] {
            let mut html = Html::new();
            html.link_or_text(bad, bad);
            let out = html.finish();
            assert!(!out.contains("<a"), "{bad:?} became a link: {out}");
        }
        let mut html = Html::new();
        html.link_or_text("https://cert.example/a?b=1&c=\"2\"", "the <cert>");
        assert_eq!(
            html.finish(),
            "<a rel=\"nofollow noopener noreferrer\" href=\"https://cert.example/a?b=1&amp;c=&quot;2&quot;\">the &lt;cert&gt;</a>"
        );
    }

    #[test]
    fn numbers_are_plain_decimals() {
        let mut html = Html::new();
        html.num(1.0)
            .raw(" ")
            .num(-0.001)
            .raw(" ")
            .num(12.345_6)
            .raw(" ");
        html.num(f64::NAN).raw(" ").num(1e21).raw(" ").int(-3i64);
        assert_eq!(html.finish(), "1 0 12.35 0 1000000000000000000000 -3");
    }

    proptest::proptest! {
        /// Whatever the input, escaped text contains no character that can start a tag, end an
        /// attribute value or begin a character reference of the input's making.
        #[test]
        fn escaped_text_is_inert(text in ".*") {
            let escaped = escape(&text);
            proptest::prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
            // Every `&` starts one of our own references.
            for (i, _) in escaped.match_indices('&') {
                let rest = &escaped[i..];
                proptest::prop_assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|r| rest.starts_with(r)),
                    "{rest}"
                );
            }
        }

        /// Unescaping gives back the input, bar the neutralised characters.
        #[test]
        fn escaping_is_reversible_for_ordinary_text(text in "[^\\p{Cc}\u{202a}-\u{202e}\u{2066}-\u{2069}]*") {
            let back = escape(&text)
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            proptest::prop_assert_eq!(back, text);
        }
    }
}
