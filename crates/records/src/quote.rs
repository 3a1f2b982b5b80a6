//! Caller input inside error messages: at most a short prefix, escaped, so a hostile
//! value can neither bloat a message nor forge log lines with raw newlines.

use std::fmt;

/// The most characters of caller input an error message quotes.
pub const QUOTE_LIMIT: usize = 64;

/// At most the first [`QUOTE_LIMIT`] characters of `text`, kept raw; errors store this
/// and print it through [`Quoted`].
pub(crate) fn prefix(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT + 1) {
        // One character past the limit is kept, so `Quoted` knows to add the ellipsis.
        Some((end, _)) => text.get(..end).unwrap_or_default().to_owned(),
        None => text.to_owned(),
    }
}

/// Displays at most [`QUOTE_LIMIT`] characters of the text, each escaped with
/// `char::escape_debug`, followed by `…` when the text was longer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == QUOTE_LIMIT {
                return f.write_str("…");
            }
            write!(f, "{}", c.escape_debug())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(Quoted("ab").to_string(), "ab");
        assert_eq!(Quoted("a\nb\"c").to_string(), "a\\nb\\\"c");
        let long = "!".repeat(1 << 20);
        let quoted = Quoted(&prefix(&long)).to_string();
        assert_eq!(quoted, format!("{}…", "!".repeat(QUOTE_LIMIT)));
        assert_eq!(Quoted(&"x".repeat(QUOTE_LIMIT)).to_string(), "x".repeat(QUOTE_LIMIT));
        assert_eq!(prefix(&"é".repeat(100)).chars().count(), QUOTE_LIMIT + 1);
        assert_eq!(prefix("short"), "short");
    }
}
