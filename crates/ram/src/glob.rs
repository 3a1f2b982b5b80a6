//! Wildcard patterns: `*` matches any run of characters (including `:` and `/`), `?`
//! exactly one character, and the pattern always covers the whole string. Patterns are
//! compiled once at parse time; matching never allocates. There is no escape syntax,
//! as in RAM. Owns matching only — where patterns come from is `document`'s business.
//!
//! Matching is greedy and never backtracks: the part before the first `*` must match
//! at the start, the part after the last `*` at the end, and each part in between is
//! taken at its leftmost occurrence after the previous one (for `*`/`?` globs the
//! leftmost occurrence is always a safe choice). Parts are found with Knuth–Morris–
//! Pratt tables built at compile time, so a pattern whose `?`s all touch a `*` or an
//! end matches in O(pattern + text). A part with a `?` strictly inside literal text
//! (`*a?b*`) is searched position by position: O(part × text) for that part, which the
//! request limits of [`crate::Request`] keep small.

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
    /// For `General` patterns: the parts between stars, ready to match.
    plan: Plan,
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

/// A general pattern split at its stars. `head` and `tail` hold literal bytes and `?`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Plan {
    /// Whether the pattern has a `*` at all; without one, `head` is the whole pattern.
    starred: bool,
    /// Before the first `*`: matches at the start.
    head: Box<[u8]>,
    /// Between stars, in order: each taken at its leftmost occurrence.
    middle: Box<[Part]>,
    /// After the last `*`: matches at the end.
    tail: Box<[u8]>,
}

/// One part between two stars: `skip_before` `?`s, a core, `skip_after` `?`s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Part {
    skip_before: usize,
    core: Box<[u8]>,
    /// The KMP failure table of `core` when it holds no `?`; `None` otherwise.
    failure: Option<Box<[usize]>>,
    skip_after: usize,
}

/// The byte length of the UTF-8 character that starts with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Byte offset just after `count` characters of `text` from `at`, if they fit before
/// `end`.
fn skip_chars(text: &[u8], mut at: usize, count: usize, end: usize) -> Option<usize> {
    for _ in 0..count {
        at += char_len(*text.get(at)?);
        if at > end {
            return None;
        }
    }
    Some(at)
}

/// KMP failure table: entry `i` is the length of the longest proper prefix of
/// `needle[..=i]` that is also its suffix.
fn failure_table(needle: &[u8]) -> Box<[usize]> {
    let mut table = vec![0; needle.len()];
    let mut k = 0;
    for (i, &b) in needle.iter().enumerate().skip(1) {
        while k > 0 && needle.get(k) != Some(&b) {
            k = table.get(k - 1).copied().unwrap_or(0);
        }
        if needle.get(k) == Some(&b) {
            k += 1;
        }
        if let Some(slot) = table.get_mut(i) {
            *slot = k;
        }
    }
    table.into_boxed_slice()
}

impl Plan {
    fn new(folded: &str) -> Plan {
        let pieces: Vec<&[u8]> = folded.as_bytes().split(|&b| b == b'*').collect();
        let [head, middle @ .., tail] = pieces.as_slice() else {
            // A single piece: no star at all.
            return Plan { starred: false, head: folded.as_bytes().into(), ..Plan::default() };
        };
        let middle = middle
            .iter()
            .filter(|part| !part.is_empty())
            .map(|part| {
                let skip_before = part.iter().take_while(|&&b| b == b'?').count();
                let rest = part.get(skip_before..).unwrap_or_default();
                let skip_after = rest.iter().rev().take_while(|&&b| b == b'?').count();
                let core = rest.get(..rest.len() - skip_after).unwrap_or_default();
                let failure = (!core.contains(&b'?')).then(|| failure_table(core));
                Part { skip_before, core: core.into(), failure, skip_after }
            })
            .collect();
        Plan { starred: true, head: (*head).into(), middle, tail: (*tail).into() }
    }
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
        let plan = if shape == Shape::General { Plan::new(&folded) } else { Plan::default() };
        Pattern { source: source.into(), folded, shape, case, plan }
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

    /// Whether the whole of `text` matches. Never allocates; see the module
    /// documentation for the cost.
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
            Shape::General => self.general(text_bytes),
        }
    }

    fn eq_bytes(&self, pattern: &[u8], text: &[u8]) -> bool {
        match self.case {
            Case::Sensitive => pattern == text,
            Case::AsciiInsensitive => pattern.eq_ignore_ascii_case(text),
        }
    }

    /// One text byte as the (folded) pattern sees it.
    fn fold(&self, b: u8) -> u8 {
        match self.case {
            Case::Sensitive => b,
            Case::AsciiInsensitive => b.to_ascii_lowercase(),
        }
    }

    fn general(&self, text: &[u8]) -> bool {
        let plan = &self.plan;
        let Some(mut at) = self.match_forward(&plan.head, text, 0, text.len()) else { return false };
        if !plan.starred {
            return at == text.len();
        }
        let Some(end) = self.match_backward(&plan.tail, text, at) else { return false };
        for part in &plan.middle {
            let Some(from) = skip_chars(text, at, part.skip_before, end) else { return false };
            let found = match &part.failure {
                Some(failure) => self.find_literal(&part.core, failure, text, from, end),
                None => self.find_with_questions(&part.core, text, from, end),
            };
            let Some(after) = found.and_then(|f| skip_chars(text, f, part.skip_after, end)) else {
                return false;
            };
            at = after;
        }
        true
    }

    /// Matches `part` (literal bytes and `?`) at byte `at` of `text`, not beyond `end`;
    /// returns where the match ends.
    fn match_forward(&self, part: &[u8], text: &[u8], mut at: usize, end: usize) -> Option<usize> {
        for &p in part {
            let &t = text.get(at..end)?.first()?;
            at += if p == b'?' {
                char_len(t)
            } else if p == self.fold(t) {
                1
            } else {
                return None;
            };
        }
        (at <= end).then_some(at)
    }

    /// Matches `part` so that it ends at the end of `text` and starts no earlier than
    /// `start`; returns where the match starts.
    fn match_backward(&self, part: &[u8], text: &[u8], start: usize) -> Option<usize> {
        let mut at = text.len();
        for &p in part.iter().rev() {
            if at <= start {
                return None;
            }
            if p == b'?' {
                // Step back over continuation bytes to the start of the character.
                at -= 1;
                while at > start && text.get(at).is_some_and(|&b| (b as i8) < -0x40) {
                    at -= 1;
                }
            } else if text.get(at - 1).is_some_and(|&t| self.fold(t) == p) {
                at -= 1;
            } else {
                return None;
            }
        }
        Some(at)
    }

    /// The end of the leftmost occurrence of the literal `needle` in `text[from..end]`:
    /// Knuth–Morris–Pratt, O(needle + end − from).
    fn find_literal(
        &self,
        needle: &[u8],
        failure: &[usize],
        text: &[u8],
        from: usize,
        end: usize,
    ) -> Option<usize> {
        if needle.is_empty() {
            return Some(from);
        }
        let mut k = 0;
        for (i, &t) in text.get(from..end)?.iter().enumerate() {
            let t = self.fold(t);
            while k > 0 && needle.get(k) != Some(&t) {
                k = failure.get(k - 1).copied().unwrap_or(0);
            }
            if needle.get(k) == Some(&t) {
                k += 1;
                if k == needle.len() {
                    return Some(from + i + 1);
                }
            }
        }
        None
    }

    /// The end of the leftmost occurrence of `needle` (with `?`s inside) in
    /// `text[from..end]`, trying each character position in turn.
    fn find_with_questions(&self, needle: &[u8], text: &[u8], mut from: usize, end: usize) -> Option<usize> {
        while from < end {
            if let Some(after) = self.match_forward(needle, text, from, end) {
                return Some(after);
            }
            from += char_len(*text.get(from)?);
        }
        None
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
        head_and_tail_do_not_overlap: "a*a", S, "a" => false;
        head_and_tail_meet: "a*a", S, "aa" => true;
        questions_around_a_part: "*??abc?*", S, "xyabcz" => true;
        questions_around_a_part_need_room_before: "*??abc?*", S, "xabcz" => false;
        questions_around_a_part_need_room_after: "*??abc?*", S, "xyabc" => false;
        question_inside_a_part: "*a?c*", S, "xxabbcaxc" => true;
        question_inside_a_part_multibyte: "*a?c*", S, "xa名c" => true;
        question_inside_a_part_fails: "*a?c*", S, "abbc" => false;
        question_tail_multibyte: "*?", S, "名" => true;
        question_tail_needs_a_char: "a*?", S, "a" => false;
        kmp_overlapping_prefix: "*aab*", S, "aaaab" => true;
        kmp_case_insensitive: "*AAB*", I, "xaAaAbx" => true;
        middle_must_fit_before_tail: "*ab*b", S, "ab" => false;
        only_question_parts: "*??*", S, "名字" => true;
        only_question_parts_too_short: "*??*", S, "名" => false;
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

        /// The same on longer patterns with several stars, `?` and multi-byte characters.
        #[test]
        fn agrees_with_regex_on_longer_inputs(pattern in "[ab:é名*?]{0,24}", text in "[ab:é名]{0,40}") {
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
