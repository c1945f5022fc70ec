//! Entra Connect Sync build numbers such as `2.5.190.0`.
//!
//! Microsoft numbers every build with four dotted integers and compares them
//! part by part, so `2.4.129.0` is newer than `2.4.27.0` although it sorts
//! before it as text. The order derived here is that numeric order.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A four-part product version, `major.minor.build.revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductVersion([u32; 4]);

impl ProductVersion {
    pub const fn new(major: u32, minor: u32, build: u32, revision: u32) -> ProductVersion {
        ProductVersion([major, minor, build, revision])
    }

    pub fn major(&self) -> u32 {
        self.0[0]
    }

    pub fn parts(&self) -> [u32; 4] {
        self.0
    }
}

/// Why a text is not a four-part version; the text itself is named by whoever shows the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseVersionError {
    Empty,
    /// Not exactly four dot-separated parts (the count found).
    PartCount(usize),
    /// A part that is empty or not made of ASCII digits (its 1-based position).
    NotANumber(usize),
    /// A part larger than 4294967295 (its 1-based position).
    TooLarge(usize),
}

impl fmt::Display for ParseVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseVersionError::Empty => write!(f, "the version is empty"),
            ParseVersionError::PartCount(n) => write!(f, "expected four dot-separated numbers, found {n} part(s)"),
            ParseVersionError::NotANumber(i) => write!(f, "part {i} is not a number"),
            ParseVersionError::TooLarge(i) => write!(f, "part {i} is too large"),
        }
    }
}

impl std::error::Error for ParseVersionError {}

impl FromStr for ProductVersion {
    type Err = ParseVersionError;

    /// Surrounding whitespace is tolerated (exports and cmdlet output pad
    /// values); anything else than four groups of digits is refused, so a
    /// garbled value is reported instead of being judged as some other build.
    fn from_str(text: &str) -> Result<ProductVersion, ParseVersionError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseVersionError::Empty);
        }
        let pieces: Vec<&str> = text.split('.').collect();
        if pieces.len() != 4 {
            return Err(ParseVersionError::PartCount(pieces.len()));
        }
        let mut parts = [0u32; 4];
        for (i, piece) in pieces.iter().enumerate() {
            if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseVersionError::NotANumber(i + 1));
            }
            parts[i] = piece.parse().map_err(|_| ParseVersionError::TooLarge(i + 1))?;
        }
        Ok(ProductVersion(parts))
    }
}

impl fmt::Display for ProductVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

impl TryFrom<String> for ProductVersion {
    type Error = ParseVersionError;

    fn try_from(text: String) -> Result<ProductVersion, ParseVersionError> {
        text.parse()
    }
}

impl From<ProductVersion> for String {
    fn from(v: ProductVersion) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ProductVersion {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_four_parts() {
        assert_eq!(v("2.5.190.0"), ProductVersion::new(2, 5, 190, 0));
        assert_eq!(v(" 2.4.27.0\r\n").to_string(), "2.4.27.0");
        // Leading zeros are digits like any other (1.x had builds such as 1.0.419.0911).
        assert_eq!(v("1.0.419.0911"), ProductVersion::new(1, 0, 419, 911));
        assert_eq!(v("2.6.91.0").major(), 2);
    }

    #[test]
    fn compares_numerically_not_as_text() {
        assert!(v("2.4.129.0") > v("2.4.27.0"));
        assert!(v("2.10.0.0") > v("2.9.99.99"));
        assert!(v("2.5.79.0") < v("2.5.190.0"));
        assert!(v("1.6.16.0") < v("2.0.3.0"));
        assert_eq!(v("2.4.27.0").cmp(&v("2.4.27.0")), std::cmp::Ordering::Equal);
        let mut all = [v("2.4.27.0"), v("2.4.129.0"), v("2.4.131.0"), v("2.4.18.0")];
        all.sort();
        assert_eq!(
            all.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["2.4.18.0", "2.4.27.0", "2.4.129.0", "2.4.131.0"]
        );
    }

    #[test]
    fn refuses_what_is_not_a_four_part_version() {
        assert_eq!("".parse::<ProductVersion>(), Err(ParseVersionError::Empty));
        assert_eq!("  ".parse::<ProductVersion>(), Err(ParseVersionError::Empty));
        assert_eq!("2.4.27".parse::<ProductVersion>(), Err(ParseVersionError::PartCount(3)));
        assert_eq!("2.4.27.0.1".parse::<ProductVersion>(), Err(ParseVersionError::PartCount(5)));
        assert_eq!("2.4..0".parse::<ProductVersion>(), Err(ParseVersionError::NotANumber(3)));
        assert_eq!("2.4.27.x".parse::<ProductVersion>(), Err(ParseVersionError::NotANumber(4)));
        assert_eq!("v2.4.27.0".parse::<ProductVersion>(), Err(ParseVersionError::NotANumber(1)));
        assert_eq!("2.+4.27.0".parse::<ProductVersion>(), Err(ParseVersionError::NotANumber(2)));
        assert_eq!("2.4.27.99999999999".parse::<ProductVersion>(), Err(ParseVersionError::TooLarge(4)));
        assert_eq!(
            "2.4.27".parse::<ProductVersion>().unwrap_err().to_string(),
            "expected four dot-separated numbers, found 3 part(s)"
        );
    }

    #[test]
    fn serialises_as_its_text() {
        let json = serde_json::to_string(&v("2.5.190.0")).unwrap();
        assert_eq!(json, "\"2.5.190.0\"");
        assert_eq!(serde_json::from_str::<ProductVersion>(&json).unwrap(), v("2.5.190.0"));
        assert!(serde_json::from_str::<ProductVersion>("\"2.5\"").is_err());
    }
}
