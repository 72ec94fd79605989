//! Credentials shared by the platforms: secrets that never print, tokens compared in constant
//! time, HMAC keys prepared once.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::Rejection;

type HmacSha256 = Hmac<Sha256>;

/// A secret value (token, signing key). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_boxed_str())
    }

    /// The secret itself. Call only to use it, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Splits a comma-separated list (for rotation: any one verifies), trimming blanks.
    pub fn list(value: &str) -> Vec<Self> {
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::new)
            .collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Accepted tokens, compared in constant time. Each is kept as its SHA-256 digest, so the
/// comparison takes the same time whatever the length of the token presented.
#[derive(Clone, Default)]
pub struct TokenSet {
    digests: Vec<[u8; 32]>,
}

impl TokenSet {
    /// Accepts any of `tokens`.
    pub fn new(tokens: &[Secret]) -> Self {
        Self {
            digests: tokens
                .iter()
                .map(|t| digest(t.expose().as_bytes()))
                .collect(),
        }
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the tokens. Checks every token, not only up to a match.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let presented = digest(presented);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, d| {
                found | d.ct_eq(&presented)
            })
            .into()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSet({} × ***)", self.digests.len())
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// HMAC-SHA256 keys, each keyed once and cloned per request. Any one verifies (rotation).
#[derive(Clone, Default)]
pub struct HmacKeys {
    keys: Vec<HmacSha256>,
}

impl HmacKeys {
    /// Keys from raw key bytes.
    pub fn new<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| keyed(k.as_ref())).collect(),
        }
    }

    /// Keys from secrets, each used as its UTF-8 bytes.
    pub fn from_secrets(secrets: &[Secret]) -> Self {
        Self::new(secrets.iter().map(|s| s.expose().as_bytes()))
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `tag` is the HMAC of the concatenation of `parts` under any key, compared in
    /// constant time. Every key is tried, not only up to a match.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.keys.iter().fold(false, |found, key| {
            let mut mac = key.clone();
            for part in parts {
                mac.update(part);
            }
            mac.verify_slice(tag).is_ok() | found
        })
    }

    /// The HMAC of the concatenation of `parts` under the first key (for signing test
    /// deliveries), or `None` when there is no key.
    pub fn sign(&self, parts: &[&[u8]]) -> Option<[u8; 32]> {
        let mut mac = self.keys.first()?.clone();
        for part in parts {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed first), so this cannot fail.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKeys({} × ***)", self.keys.len())
    }
}

/// The value of header `name` when it is given exactly once; a header given twice is refused
/// rather than guessed at.
///
/// # Errors
/// A 401 with `code` when the header appears more than once.
pub fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &str,
    code: &'static str,
) -> Result<Option<&'h [u8]>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Rejection::unauthorized(
            code,
            "the header is given more than once",
        ));
    }
    Ok(first.map(http::HeaderValue::as_bytes))
}

/// The value of query parameter `name` (percent-decoded) when it is given exactly once.
///
/// # Errors
/// A 401 with `code` when the parameter appears more than once.
pub fn single_query_param(
    query: Option<&str>,
    name: &str,
    code: &'static str,
) -> Result<Option<String>, Rejection> {
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == name {
            if found.is_some() {
                return Err(Rejection::unauthorized(
                    code,
                    "the parameter is given more than once",
                ));
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

/// The length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// How a signature header encodes its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagEncoding {
    /// Lower- or upper-case hex.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// Checks that header `name` (given once) holds `prefix` followed by the HMAC of the
/// concatenation of `signed`, encoded as `encoding`, under any of `keys`. The comparison is in
/// constant time; a malformed header is simply a mismatch.
///
/// # Errors
/// 401 `missing_signature` without the header, `invalid_signature` when it does not match.
pub fn verify_signature_header(
    headers: &HeaderMap,
    name: &'static str,
    prefix: &[u8],
    encoding: TagEncoding,
    keys: &HmacKeys,
    signed: &[&[u8]],
) -> Result<(), Rejection> {
    let header = single_header(headers, name, "invalid_signature")?.ok_or_else(|| {
        Rejection::new(
            http::StatusCode::UNAUTHORIZED,
            "missing_signature",
            format!("no {name} header"),
        )
    })?;
    verify_tag(header.strip_prefix(prefix), encoding, keys, signed)
}

/// Checks an encoded tag (already taken from wherever the platform puts it).
///
/// # Errors
/// 401 `invalid_signature` when the tag is absent, malformed or does not match.
pub fn verify_tag(
    encoded: Option<&[u8]>,
    encoding: TagEncoding,
    keys: &HmacKeys,
    signed: &[&[u8]],
) -> Result<(), Rejection> {
    // Decoded in place: every delivery passes here, and a tag of any other length is a
    // mismatch anyway.
    let mut tag = [0u8; TAG_LEN];
    let decoded = encoded.is_some_and(|encoded| {
        let encoded = encoded.trim_ascii();
        match encoding {
            TagEncoding::Hex => hex::decode_to_slice(encoded, &mut tag).is_ok(),
            TagEncoding::Base64 => BASE64.decode_slice(encoded, &mut tag) == Ok(TAG_LEN),
        }
    });
    if decoded && keys.verify(signed, &tag) {
        Ok(())
    } else {
        Err(Rejection::unauthorized(
            "invalid_signature",
            "the signature does not match the body",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(
            format!("{:?}", TokenSet::new(std::slice::from_ref(&secret))),
            "TokenSet(1 × ***)"
        );
        assert_eq!(
            format!("{:?}", HmacKeys::from_secrets(&[secret])),
            "HmacKeys(1 × ***)"
        );
    }

    #[test]
    fn secret_lists_split_and_trim() {
        let list = Secret::list(" a , b,,c ");
        let exposed: Vec<_> = list.iter().map(Secret::expose).collect();
        assert_eq!(exposed, ["a", "b", "c"]);
    }

    #[test]
    fn token_set_matches_any_token_exactly() {
        let set = TokenSet::new(&Secret::list("old,new"));
        assert!(set.matches(b"old"));
        assert!(set.matches(b"new"));
        for wrong in [&b"OLD"[..], b"ol", b"old ", b"", b"newer"] {
            assert!(!set.matches(wrong), "{wrong:?}");
        }
        assert!(!TokenSet::default().matches(b""));
    }

    #[test]
    fn hmac_keys_verify_what_they_sign() {
        let keys = HmacKeys::from_secrets(&Secret::list("k1,k2"));
        let tag = keys.sign(&[b"ts:", b"body"]).expect("has a key");
        assert!(keys.verify(&[b"ts:body"], &tag));
        assert!(!keys.verify(&[b"ts:bodY"], &tag));
        assert!(!keys.verify(&[b"ts:body"], &tag[..31]));
        // Any key verifies: a tag made with the second key alone.
        let second = HmacKeys::new([b"k2"]).sign(&[b"x"]).expect("has a key");
        assert!(keys.verify(&[b"x"], &second));
        assert!(HmacKeys::default().sign(&[b"x"]).is_none());
        // RFC 4231 test case 2.
        let rfc = HmacKeys::new([b"Jefe"]).sign(&[b"what do ya want for nothing?"]);
        assert_eq!(
            hex::encode(rfc.expect("has a key")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tags_decode_in_either_case_and_any_other_length_is_a_mismatch() {
        let keys = HmacKeys::new([b"k"]);
        let signed: &[&[u8]] = &[b"body"];
        let tag = keys.sign(signed).expect("has a key");
        let check =
            |encoded: &str, encoding| verify_tag(Some(encoded.as_bytes()), encoding, &keys, signed);
        let lower = hex::encode(tag);
        assert!(check(&lower, TagEncoding::Hex).is_ok());
        assert!(check(&lower.to_uppercase(), TagEncoding::Hex).is_ok());
        assert!(check(&format!(" {lower}\n"), TagEncoding::Hex).is_ok());
        let b64 = BASE64.encode(tag);
        assert!(check(&b64, TagEncoding::Base64).is_ok());
        let mut longer = tag.to_vec();
        longer.push(0);
        for (encoded, encoding) in [
            (hex::encode(&tag[..31]), TagEncoding::Hex),
            (hex::encode(&longer), TagEncoding::Hex),
            (format!("{lower}0"), TagEncoding::Hex),
            (lower.replace('a', "g"), TagEncoding::Hex),
            (BASE64.encode(&tag[..31]), TagEncoding::Base64),
            (BASE64.encode(&longer), TagEncoding::Base64),
            (b64.trim_end_matches('=').to_owned(), TagEncoding::Base64),
            (lower.clone(), TagEncoding::Base64),
            (String::new(), TagEncoding::Hex),
        ] {
            let refused = check(&encoded, encoding).unwrap_err();
            assert_eq!(refused.code, "invalid_signature", "{encoded:?}");
        }
        assert!(verify_tag(None, TagEncoding::Hex, &keys, signed).is_err());
    }

    #[test]
    fn duplicated_headers_and_params_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append("x-sig", "a".parse().expect("valid header"));
        assert_eq!(
            single_header(&headers, "x-sig", "c").expect("once"),
            Some(&b"a"[..])
        );
        headers.append("x-sig", "b".parse().expect("valid header"));
        assert_eq!(single_header(&headers, "x-sig", "c").unwrap_err().code, "c");
        assert_eq!(
            single_header(&headers, "x-none", "c").expect("absent"),
            None
        );

        assert_eq!(
            single_query_param(Some("a=1&token=x%2By"), "token", "c").expect("once"),
            Some("x+y".into())
        );
        assert!(single_query_param(Some("token=1&token=2"), "token", "c").is_err());
        assert_eq!(
            single_query_param(None, "token", "c").expect("absent"),
            None
        );
    }
}
