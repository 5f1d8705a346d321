//! Text that came from outside (a provider's names and e-mails, a server's error text, audit
//! details), made safe for where it is shown. JSON output needs none of this: it stays exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What a terminal would act on rather than show: C0 controls, DEL and C1 controls (escape
/// sequences that recolour, retitle or rewrite the screen), and the bidirectional overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) that make text read differently from what it is.
fn acted_on(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line for a terminal: each character a terminal acts on (newlines and tabs included)
/// becomes a visible `\u{..}` escape; everything else is kept as it is.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Like [`for_terminal`], but line breaks stay (for our own multi-line messages that carry
/// outside text).
pub fn for_terminal_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| acted_on(c) && !(keep_newlines && c == '\n'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if acted_on(c) && !(keep_newlines && c == '\n') {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// For a desktop notification's body, which notification servers read as markup
/// (the Desktop Notifications spec's `body-markup`): `<`, `>` and `&` become entities, and
/// controls are escaped as for a terminal.
pub fn for_notification(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in for_terminal(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept_as_it_is() {
        for s in [
            "Alice Example",
            "élodie@example.fr",
            "東京",
            "a\u{200d}b",
            "",
        ] {
            assert!(matches!(for_terminal(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn what_a_terminal_acts_on_is_shown_escaped() {
        assert_eq!(
            for_terminal("\u{1b}]0;pwned\u{7}\u{1b}[31mEve"),
            "\\u{1b}]0;pwned\\u{7}\\u{1b}[31mEve"
        );
        assert_eq!(
            for_terminal("a\nb\tc\rd\u{7f}"),
            "a\\u{a}b\\u{9}c\\u{d}d\\u{7f}"
        );
        // C1: the 8-bit CSI and OSC.
        assert_eq!(for_terminal("\u{9b}2J\u{9d}x"), "\\u{9b}2J\\u{9d}x");
        // Bidi overrides and isolates.
        assert_eq!(for_terminal("eve\u{202e}gnp.exe"), "eve\\u{202e}gnp.exe");
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            assert!(!for_terminal(&c.to_string()).contains(c), "{c:?}");
        }
        assert_eq!(for_terminal_lines("one\ntwo\u{1b}"), "one\ntwo\\u{1b}");
    }

    #[test]
    fn notification_bodies_escape_markup() {
        assert_eq!(
            for_notification("<b>Bob</b> & <a href=\"x\">co</a>\u{1b}"),
            "&lt;b&gt;Bob&lt;/b&gt; &amp; &lt;a href=\"x\"&gt;co&lt;/a&gt;\\u{1b}"
        );
    }
}
