//! Text cut where a platform's message ends: by characters (as the platforms count), never
//! inside one.

/// At most `limit` characters of `text`.
pub(crate) fn first_chars(text: &str, limit: usize) -> &str {
    text.char_indices()
        .nth(limit)
        .map_or(text, |(at, _)| &text[..at])
}

/// `text` in pieces of at most `limit` characters, in order (none for an empty text).
#[cfg_attr(not(feature = "send-api"), allow(dead_code))]
pub(crate) fn pieces(text: &str, limit: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let piece = first_chars(rest, limit);
        rest = &rest[piece.len()..];
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_count_characters_not_bytes() {
        assert_eq!(first_chars("héllo", 2), "hé");
        assert_eq!(first_chars("hi", 5), "hi");
        assert_eq!(
            pieces("字字字字字", 2).collect::<Vec<_>>(),
            ["字字", "字字", "字"]
        );
        assert_eq!(pieces("", 2).count(), 0);
        assert_eq!(pieces("ab", 2).collect::<Vec<_>>(), ["ab"]);
    }
}
