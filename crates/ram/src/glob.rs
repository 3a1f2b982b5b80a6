//! Wildcard patterns: `*` matches any run of characters (including `:` and `/`), `?`
//! exactly one character, and the pattern always covers the whole string. Patterns are
//! compiled once at parse time; matching never allocates. There is no escape syntax,
//! as in RAM. Owns matching only — where patterns come from is `document`'s business.

use std::fmt;

/// Whether letters must match exactly or only up to ASCII case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    /// `A` matches only `A` (resources).
    Sensitive,
    /// `A` matches `a` (actions).
    AsciiInsensitive,
}

/// A compiled wildcard pattern.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    source: Box<str>,
    /// The pattern as matched: lower-cased when case-insensitive.
    folded: Box<str>,
    shape: Shape,
    case: Case,
}

/// Fast paths chosen at compile time; `General` handles everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Shape {
    /// No wildcard at all.
    Exact,
    /// Only `*` characters: matches everything.
    Anything,
    /// `literal*`.
    Prefix,
    /// Any other combination.
    General,
}

impl Pattern {
    /// Compiles `source`.
    pub fn new(source: &str, case: Case) -> Pattern {
        let folded: Box<str> = match case {
            Case::Sensitive => source.into(),
            Case::AsciiInsensitive => source.to_ascii_lowercase().into(),
        };
        let wild = |c: char| c == '*' || c == '?';
        let shape = if !source.contains(wild) {
            Shape::Exact
        } else if !source.is_empty() && source.chars().all(|c| c == '*') {
            Shape::Anything
        } else if source.ends_with('*') && !source.trim_end_matches('*').contains(wild) {
            Shape::Prefix
        } else {
            Shape::General
        };
        Pattern { source: source.into(), folded, shape, case }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern contains a wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.shape != Shape::Exact
    }

    /// The (case-folded) literal text before the first wildcard.
    pub(crate) fn literal_prefix(&self) -> &str {
        let end = self.folded.find(['*', '?']).unwrap_or(self.folded.len());
        self.folded.get(..end).unwrap_or_default()
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let pattern = self.folded.as_bytes();
        let text_bytes = text.as_bytes();
        match self.shape {
            Shape::Exact => self.eq_bytes(pattern, text_bytes),
            Shape::Anything => true,
            Shape::Prefix => {
                let literal = self.folded.trim_end_matches('*').as_bytes();
                text_bytes.get(..literal.len()).is_some_and(|head| self.eq_bytes(literal, head))
            }
            Shape::General => self.general(pattern, text),
        }
    }

    fn eq_bytes(&self, pattern: &[u8], text: &[u8]) -> bool {
        match self.case {
            Case::Sensitive => pattern == text,
            Case::AsciiInsensitive => pattern.eq_ignore_ascii_case(text),
        }
    }

    fn eq_char(&self, pattern: char, text: char) -> bool {
        match self.case {
            Case::Sensitive => pattern == text,
            Case::AsciiInsensitive => pattern.eq_ignore_ascii_case(&text),
        }
    }

    /// Iterative matcher with single-star backtracking: O(len(pattern) · len(text)) in
    /// the worst case, linear in practice, no recursion and no allocation. `?` matches
    /// one character (not one byte), so multi-byte UTF-8 text behaves as expected.
    fn general(&self, pattern: &[u8], text: &str) -> bool {
        let mut p = 0; // byte index into pattern
        let mut t = 0; // byte index into text
        let mut star: Option<(usize, usize)> = None; // (pattern after `*`, text at `*`)
        loop {
            let pc = pattern.get(p).copied();
            let tc = text.get(t..).and_then(|rest| rest.chars().next());
            match (pc, tc) {
                (Some(b'*'), _) => {
                    p += 1;
                    star = Some((p, t));
                    continue;
                }
                (Some(b'?'), Some(c)) => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                (Some(_), Some(c)) => {
                    let pch = self.folded.get(p..).and_then(|rest| rest.chars().next());
                    if let Some(pch) = pch
                        && self.eq_char(pch, c)
                    {
                        p += pch.len_utf8();
                        t += c.len_utf8();
                        continue;
                    }
                }
                (None, None) => return true,
                _ => {}
            }
            // Mismatch: let the last `*` swallow one more character, or fail.
            match star {
                Some((star_p, star_t)) => {
                    let Some(c) = text.get(star_t..).and_then(|rest| rest.chars().next()) else {
                        return false;
                    };
                    let next_t = star_t + c.len_utf8();
                    star = Some((star_p, next_t));
                    p = star_p;
                    t = next_t;
                }
                None => return false,
            }
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?}, {:?})", self.source, self.case)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    macro_rules! glob_table {
        ($($name:ident: $pattern:expr, $case:expr, $text:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                let pattern = Pattern::new($pattern, $case);
                assert_eq!(pattern.matches($text), $expected, "{:?} vs {:?}", $pattern, $text);
            }
        )*};
    }

    use Case::{AsciiInsensitive as I, Sensitive as S};
    glob_table! {
        exact_match: "abc", S, "abc" => true;
        exact_is_whole_string: "abc", S, "abcd" => false;
        exact_case_sensitive: "ABC", S, "abc" => false;
        exact_case_insensitive: "antcloudauth:InitFaceVerify", I, "ANTCLOUDAUTH:initfaceverify" => true;
        star_matches_empty: "a*", S, "a" => true;
        star_crosses_colon: "acs:*", S, "acs:oss:cn-shanghai:123:bucket/x" => true;
        star_crosses_slash: "a*z", S, "a/b/c/z" => true;
        question_only_pattern_is_wildcard: "?", S, "x" => true;
        question_only_needs_one_char: "?", S, "" => false;
        question_only_not_two: "?", S, "xy" => false;
        three_questions: "???", S, "a:b" => true;
        question_one_char_not_byte: "?", S, "é" => true;
        star_alone_matches_empty: "*", S, "" => true;
        empty_pattern_matches_empty_only: "", S, "" => true;
        empty_pattern_rejects_text: "", S, "a" => false;
        infix_star: "antcloudauth:Describe*Verify", I, "antcloudauth:DescribeFaceVerify" => true;
        infix_star_mismatch: "antcloudauth:Describe*Verify", I, "antcloudauth:DescribeFaceVerifyX" => false;
        backtracking: "*a*b*c", S, "xxaxxbxxbxxc" => true;
        backtracking_fail: "*a*b*c", S, "xxaxxbxxbxx" => false;
        arn_with_colon_in_relative_id: "acs:oss:*:123:bucket/a:b", S, "acs:oss:*:123:bucket/a:b" => true;
        wildcard_in_service: "acs:*:*cn-beijing*:*:*", S, "acs:ecs:cn-beijing:123:instance/i-1" => true;
        prefix_case_insensitive: "antcloudauth:describe*", I, "AntCloudAuth:DescribeFaceVerify" => true;
        prefix_too_short: "antcloudauth:describe*", I, "antcloudauth:desc" => false;
        resource_case_sensitive: "acs:oss:*:*:Bucket", S, "acs:oss:*:*:bucket" => false;
        consecutive_stars: "a**b", S, "ab" => true;
        unicode_literal: "名*", S, "名字" => true;
    }

    fn to_regex(pattern: &str) -> regex::Regex {
        let mut re = String::from("(?s)^");
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
        re.push('$');
        regex::Regex::new(&re).unwrap()
    }

    proptest! {
        /// The matcher agrees with a regex translation of the same pattern.
        #[test]
        fn agrees_with_regex(pattern in "[ab:/*?é]{0,8}", text in "[ab:/é]{0,10}") {
            let expected = to_regex(&pattern).is_match(&text);
            prop_assert_eq!(Pattern::new(&pattern, Case::Sensitive).matches(&text), expected);
        }

        /// Case-insensitive matching equals matching the lower-cased forms.
        #[test]
        fn insensitive_is_lowercase_sensitive(pattern in "[aAbB:*?]{0,8}", text in "[aAbB:]{0,10}") {
            let expected = to_regex(&pattern.to_ascii_lowercase()).is_match(&text.to_ascii_lowercase());
            prop_assert_eq!(Pattern::new(&pattern, Case::AsciiInsensitive).matches(&text), expected);
        }

        /// A literal (wildcard-free) string always matches itself.
        #[test]
        fn literal_matches_itself(text in "[^*?]{0,20}") {
            prop_assert!(Pattern::new(&text, Case::Sensitive).matches(&text));
        }
    }
}
