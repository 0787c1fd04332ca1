//! The escapes of `--send` and `--reply`: `\r \n \t \\ \xHH`, nothing else, nothing appended;
//! and the escaping of what the human output shows ([`for_terminal`]).

/// `text` made safe for a terminal: control characters (C0, DEL, C1: ESC, BEL, CR, LF…) and
/// the bidirectional overrides (U+202A–U+202E, U+2066–U+2069) become Rust escapes
/// (`\u{1b}`, `\r`, `\n`), so a peer's certificate subject cannot move the cursor, set the
/// title, ring the bell or rewrite a line. Everything else is kept as it is; JSON output is
/// escaped by its encoder and does not go through here.
#[must_use]
pub fn for_terminal(text: &str) -> String {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes `text`: the escapes become their bytes, every other character its UTF-8 bytes.
///
/// # Errors
/// A message naming the first bad escape (an unknown letter, a trailing `\`, or `\x` not
/// followed by two hex digits).
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hi = chars.next().and_then(|c| c.to_digit(16));
                let lo = chars.next().and_then(|c| c.to_digit(16));
                match (hi, lo) {
                    // Two hex digits: at most 0xff, so the cast cannot truncate.
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err("\\x must be followed by two hex digits".to_owned()),
                }
            }
            Some(other) => {
                return Err(format!("unknown escape \\{other} (use \\r, \\n, \\t, \\\\ or \\xHH)"))
            }
            None => return Err("a trailing \\ escapes nothing (write \\\\)".to_owned()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{decode, for_terminal};

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(
            for_terminal("CN=evil\x1b]0;pwned\x07\r\nx"),
            "CN=evil\\u{1b}]0;pwned\\u{7}\\r\\nx"
        );
        assert_eq!(for_terminal("a\u{9b}31m\u{202e}b\tc\x7f"), "a\\u{9b}31m\\u{202e}b\\tc\\u{7f}");
        assert_eq!(for_terminal("CN=héllo, O=a\\,b"), "CN=héllo, O=a\\,b");
    }

    #[test]
    fn plain_text_is_its_utf8_bytes_with_nothing_appended() {
        assert_eq!(decode("hi").unwrap(), b"hi");
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode("é").unwrap(), "é".as_bytes());
    }

    #[test]
    fn the_five_escapes_are_decoded() {
        assert_eq!(decode(r"a\r\n\tb\\c").unwrap(), b"a\r\n\tb\\c");
        assert_eq!(decode(r"\x00\xff\x7F").unwrap(), [0x00, 0xff, 0x7f]);
        assert_eq!(decode(r"GET / HTTP/1.0\r\n\r\n").unwrap(), b"GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn bad_escapes_are_refused_with_a_reason() {
        assert!(decode(r"\q").unwrap_err().contains("unknown escape \\q"));
        assert!(decode("abc\\").unwrap_err().contains("trailing"));
        assert!(decode(r"\x4").unwrap_err().contains("two hex digits"));
        assert!(decode(r"\xzz").unwrap_err().contains("two hex digits"));
    }
}
