//! Caller input as a message may quote it: at most [`QUOTE_LIMIT`] characters, each
//! escaped (`char::escape_debug`: control characters, quotes, backslashes), with `…`
//! when cut — so a hostile value can neither grow a message nor forge a log line. Every
//! error of the domain crates that names its input holds at most [`quote_prefix`] of it
//! and prints it through [`Quoted`] (or holds [`quote`]'s text).

use std::fmt;

/// The most characters of caller input a message quotes.
pub const QUOTE_LIMIT: usize = 64;

/// At most the first [`QUOTE_LIMIT`] + 1 characters of `text`, kept raw (the extra one
/// tells [`Quoted`] to add the ellipsis): what an error stores of its input.
pub fn quote_prefix(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT + 1) {
        Some((end, _)) => text.get(..end).unwrap_or_default().to_owned(),
        None => text.to_owned(),
    }
}

/// Displays at most [`QUOTE_LIMIT`] characters of the text, each escaped, followed by
/// `…` when the text was longer.
#[derive(Clone, Copy, Debug)]
pub struct Quoted<'a>(pub &'a str);

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

/// `text`, quoted for a message.
pub fn quote(text: &str) -> String {
    Quoted(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a\nb\"c"), "a\\nb\\\"c");
        assert_eq!(quote(&"x".repeat(1 << 20)).chars().count(), QUOTE_LIMIT + 1);
        let long = "!".repeat(1 << 20);
        assert_eq!(Quoted(&quote_prefix(&long)).to_string(), format!("{}…", "!".repeat(QUOTE_LIMIT)));
        assert_eq!(Quoted(&"x".repeat(QUOTE_LIMIT)).to_string(), "x".repeat(QUOTE_LIMIT));
        assert_eq!(quote_prefix(&"é".repeat(100)).chars().count(), QUOTE_LIMIT + 1);
        assert_eq!(quote_prefix("short"), "short");
    }

    #[test]
    fn errors_quote_hostile_input_short_and_escaped() {
        let hostile = format!("{}\nforged log line{}", "9".repeat(30), "!".repeat(1 << 20));
        let messages = [
            crate::AccountId::new(&hostile).map(|_| ()).map_err(|e| e.to_string()),
            crate::OuterOrderNo::new(&hostile).map(|_| ()).map_err(|e| e.to_string()),
            hostile.parse::<crate::CertifyId>().map(|_| ()).map_err(|e| e.to_string()),
            hostile.parse::<crate::ProductCode>().map(|_| ()).map_err(|e| e.to_string()),
            hostile.parse::<crate::LivenessModel>().map(|_| ()).map_err(|e| e.to_string()),
        ];
        for message in messages {
            let message = message.expect_err("hostile input is refused");
            assert!(message.len() < 200, "{} bytes", message.len());
            assert!(!message.contains('\n'), "{message}");
        }
    }
}
