//! Personal data as types: a person's name ([`PersonName`]), the customer's user ID
//! ([`UserId`]), an ID number as received, before it is validated ([`CertNo`]), and
//! face photos ([`Photo`]) — with [`ResidentId`](crate::ResidentId), every personal
//! value a shiren crate holds.
//!
//! One rule for all of them: `Debug` and `Display` print a mask, never the value, so a
//! value can be logged, put in an error or debug-printed inside any struct without
//! leaking; the value itself is read only through `expose()`. Serde writes the full
//! value, because that is what persistence (and the wire) needs; each crate decides,
//! and documents, which of its serialized forms keeps which personal value, for how
//! long. The text and the bytes are overwritten with zeros when the last copy drops.
//! Masks are bounded: however long a hostile value is, its mask is at most
//! [`MASK_CHARS`] characters, with control characters escaped.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// Most characters a mask prints (the first character, `*`s, and `…` when cut).
pub const MASK_CHARS: usize = 16;

/// A person's name for display: the first character, then one `*` per further
/// character (`张三丰` → `张**`). For names already validated (at most 64 characters);
/// the wrappers print the bounded [`MaskedName`].
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// Displays the first character of a value (escaped), then one `*` per further
/// character, at most [`MASK_CHARS`] characters in all, then `…` when the value was
/// longer.
#[derive(Clone, Copy)]
pub struct MaskedName<'a>(pub &'a str);

impl fmt::Display for MaskedName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        let Some(first) = chars.next() else { return Ok(()) };
        fmt::Display::fmt(&first.escape_debug(), f)?;
        for (i, _) in chars.enumerate() {
            if i + 1 == MASK_CHARS {
                return f.write_str("…");
            }
            f.write_str("*")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MaskedName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Displays an ID number as received the way [`ResidentId`](crate::ResidentId) masks a
/// valid one: the first three and the last four characters, `*` between — but only
/// when it has 18 ASCII characters; anything else prints `*`s only (one per
/// character, at most [`MASK_CHARS`], then `…`), so a malformed number never shows.
#[derive(Clone, Copy)]
pub struct MaskedIdNumber<'a>(pub &'a str);

impl fmt::Display for MaskedIdNumber<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let printable = text.bytes().all(|b| b.is_ascii_alphanumeric());
        match (text.len() == 18 && printable, text.get(..3), text.get(14..)) {
            (true, Some(head), Some(tail)) => write!(f, "{head}{}{tail}", "*".repeat(11)),
            _ => {
                for (i, _) in text.chars().enumerate() {
                    if i == MASK_CHARS {
                        return f.write_str("…");
                    }
                    f.write_str("*")?;
                }
                Ok(())
            }
        }
    }
}

macro_rules! personal_text {
    ($(#[$doc:meta])* $name:ident, $mask:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> $name {
                $name(value.into())
            }

            /// The full value. Personal data: display it masked (`Display`).
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// The masked form, as `Display` prints it.
            pub fn masked(&self) -> String {
                $mask(&self.0).to_string()
            }

            /// The value's length in characters.
            pub fn char_count(&self) -> usize {
                self.0.chars().count()
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> $name {
                $name(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> $name {
                $name(value)
            }
        }

        impl fmt::Display for $name {
            /// The masked form.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&$mask(&self.0), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), $mask(&self.0))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }
    };
}

personal_text!(
    /// A person's name (`CertName`). Printed as its first character and `*`s (`张**`).
    PersonName,
    MaskedName
);

personal_text!(
    /// The customer's identifier of the person (`UserId`). Printed as its first
    /// character and `*`s.
    UserId,
    MaskedName
);

personal_text!(
    /// A resident ID number as received (`CertNo`), before validation turns it into a
    /// [`ResidentId`](crate::ResidentId). Printed as `110***********002X` when it has 18
    /// characters, as `*`s otherwise.
    CertNo,
    MaskedIdNumber
);

/// A face photo's encoded bytes (a selfie, a comparison photo, an authority portrait).
/// Cloning shares the bytes (no copy); `Debug` and `Display` print only the length;
/// serde writes the bytes as `bytes::Bytes` does. When the last copy of a buffer the
/// photo owns drops, the buffer is overwritten with zeros (a photo over `'static` or
/// borrowed-elsewhere bytes is not: it does not own them).
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Photo(Bytes);

impl Photo {
    /// Wraps encoded image bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Photo {
        Photo(bytes.into())
    }

    /// The bytes. Personal data: never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Bytes> for Photo {
    fn from(bytes: Bytes) -> Photo {
        Photo(bytes)
    }
}

impl From<Vec<u8>> for Photo {
    fn from(bytes: Vec<u8>) -> Photo {
        Photo(Bytes::from(bytes))
    }
}

impl From<&'static [u8]> for Photo {
    fn from(bytes: &'static [u8]) -> Photo {
        Photo(Bytes::from_static(bytes))
    }
}

impl<const N: usize> From<&'static [u8; N]> for Photo {
    fn from(bytes: &'static [u8; N]) -> Photo {
        Photo(Bytes::from_static(bytes))
    }
}

impl std::ops::Deref for Photo {
    type Target = [u8];
    /// The bytes (as [`Photo::expose`]); printing them is the caller's explicit choice.
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Photo {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Photo({} bytes)", self.0.len())
    }
}

impl fmt::Display for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "photo of {} bytes", self.0.len())
    }
}

impl Drop for Photo {
    fn drop(&mut self) {
        // Only the last holder of an owned buffer gets it back mutable; shared, static
        // and foreign buffers are left to their owners.
        if let Ok(mut owned) = std::mem::take(&mut self.0).try_into_mut() {
            owned.as_mut().zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        let name = PersonName::from("张三丰");
        assert_eq!(name.to_string(), "张**");
        assert_eq!(format!("{name:?}"), "PersonName(张**)");
        assert_eq!(name.expose(), "张三丰");
        assert_eq!(serde_json::to_string(&name).ok().as_deref(), Some("\"张三丰\""));
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("Alice"), "A****");
        let long = UserId::from("\nforged".repeat(1000));
        assert_eq!(long.to_string(), format!("\\n{}…", "*".repeat(MASK_CHARS - 1)));
        assert_eq!(CertNo::from("11010519491231002X").to_string(), "110***********002X");
        assert_eq!(CertNo::from("1101051949").to_string(), "**********");
        assert_eq!(CertNo::from("11010519491231002é").to_string(), "*".repeat(MASK_CHARS) + "…");
        assert_eq!(CertNo::from("x".repeat(100)).to_string(), format!("{}…", "*".repeat(MASK_CHARS)));
    }

    #[test]
    fn photos_print_their_length_only_and_round_trip() {
        let photo = Photo::from(b"PHOTO-BYTES".to_vec());
        assert_eq!(format!("{photo:?}"), "Photo(11 bytes)");
        assert_eq!(photo.to_string(), "photo of 11 bytes");
        let json = serde_json::to_string(&photo).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Photo>(&json).ok(), Some(photo.clone()));
        let shared = photo.clone();
        drop(photo);
        assert_eq!(shared.expose(), b"PHOTO-BYTES", "a shared buffer is not wiped under another holder");
    }
}
