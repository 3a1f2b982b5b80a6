//! Caller input as a message may quote it: at most [`QUOTE_LIMIT`] characters, each
//! escaped (`char::escape_debug`: control characters, quotes, backslashes), with `…`
//! when cut — so a hostile value can neither grow a message nor forge a log line. Every
//! error here that names its input holds the quoted form, never the raw text.

/// The most characters of caller input a message quotes.
pub const QUOTE_LIMIT: usize = 64;

/// `text`, quoted for a message.
pub fn quote(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == QUOTE_LIMIT {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a\nb\"c"), "a\\nb\\\"c");
        assert_eq!(quote(&"x".repeat(1 << 20)).chars().count(), QUOTE_LIMIT + 1);
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
