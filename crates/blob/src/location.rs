//! Parsing store locations and building canonical base URLs.

use std::path::{Path, PathBuf};

use crate::{error::Error, error::Result, name::validate_name};

/// What a location names, before the store is built.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// A local directory (absolute or relative, not yet created or canonicalised).
    Local(PathBuf),
    /// The in-memory store.
    Memory,
    /// An S3 bucket and an optional key prefix (`a/b`, no leading or trailing `/`).
    S3 {
        bucket: String,
        prefix: Option<String>,
    },
}

impl Location {
    /// Parses a filesystem path, `file:///abs/dir`, `memory://` or `s3://bucket/prefix`.
    pub(crate) fn parse(location: &str) -> Result<Self> {
        if location.is_empty() {
            return Err(Error::location(location, "empty"));
        }
        let Some((scheme, rest)) = location
            .split_once("://")
            .filter(|(scheme, _)| is_scheme(scheme))
        else {
            return Ok(Self::Local(PathBuf::from(location)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(Error::location(
                        location,
                        "a file URL must name an absolute path and no host: file:///abs/dir",
                    ));
                }
                let path = percent_decode(path).ok_or_else(|| {
                    Error::location(location, "bad percent-encoding or not UTF-8")
                })?;
                Ok(Self::Local(PathBuf::from(path)))
            }
            "memory" => {
                if !rest.trim_matches('/').is_empty() {
                    return Err(Error::location(location, "memory:// takes no path"));
                }
                Ok(Self::Memory)
            }
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(Error::location(location, "no bucket: s3://bucket/prefix"));
                }
                if validate_name(bucket).is_err() {
                    return Err(Error::location(location, "invalid bucket name"));
                }
                let prefix = prefix.trim_end_matches('/');
                if prefix.is_empty() {
                    return Ok(Self::S3 {
                        bucket: bucket.to_owned(),
                        prefix: None,
                    });
                }
                for segment in prefix.split('/') {
                    if let Err(Error::InvalidName { reason, .. }) = validate_name(segment) {
                        return Err(Error::location(
                            location,
                            format!("invalid prefix segment {segment:?}: {reason}"),
                        ));
                    }
                }
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix: Some(prefix.to_owned()),
                })
            }
            _ => Err(Error::UnsupportedScheme {
                scheme: scheme.to_owned(),
                location: location.to_owned(),
            }),
        }
    }
}

/// `file://` URL of an absolute directory, without a trailing `/`.
pub(crate) fn file_url(location: &str, dir: &Path) -> Result<String> {
    let path = dir
        .to_str()
        .ok_or_else(|| Error::location(location, "the directory's path is not UTF-8"))?;
    if !path.starts_with('/') {
        return Err(Error::location(
            location,
            "the directory's path is not absolute",
        ));
    }
    Ok(format!(
        "file://{}",
        percent_encode(path.trim_end_matches('/'))
    ))
}

/// RFC 3986 scheme syntax: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Percent-encodes a path for a URL: keeps unreserved characters, `/` and the sub-delimiters
/// allowed in paths.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` on a bad escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("data/blobs").ok(),
            Some(Location::Local("data/blobs".into()))
        );
        assert_eq!(
            Location::parse("file:///srv/my%20blobs").ok(),
            Some(Location::Local("/srv/my blobs".into()))
        );
        assert_eq!(
            Location::parse("file://localhost/srv").ok(),
            Some(Location::Local("/srv".into()))
        );
        assert!(Location::parse("file://host/srv").is_err());
        assert!(Location::parse("file://%zz").is_err());
        assert_eq!(Location::parse("memory://").ok(), Some(Location::Memory));
        assert_eq!(
            Location::parse("s3://bucket/a/b/").ok(),
            Some(Location::S3 {
                bucket: "bucket".into(),
                prefix: Some("a/b".into())
            })
        );
        assert_eq!(
            Location::parse("s3://bucket").ok(),
            Some(Location::S3 {
                bucket: "bucket".into(),
                prefix: None
            })
        );
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("s3://b/a//c").is_err());
        assert!(Location::parse("s3://b/../c").is_err());
        assert!(matches!(
            Location::parse("gs://bucket"),
            Err(Error::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn percent_round_trip() {
        let path = "/tmp/a b/ü%#?";
        let encoded = percent_encode(path);
        assert_eq!(encoded, "/tmp/a%20b/%C3%BC%25%23%3F");
        assert_eq!(percent_decode(&encoded).as_deref(), Some(path));
    }
}
