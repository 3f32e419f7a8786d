//! Ids: [`JobId`], and the check every id passes before it becomes a path segment.
//!
//! Below the error type, the transport and the resource handles, which all use it; it
//! imports nothing of the crate.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job's id, e.g. `LeeKa`: short, opaque and case-sensitive.
///
/// Methods that take a job id accept a `&str`, a `String` or a `&JobId` alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        JobId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl From<String> for JobId {
    fn from(id: String) -> Self {
        JobId(id)
    }
}

impl From<&str> for JobId {
    fn from(id: &str) -> Self {
        JobId(id.to_owned())
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> Self {
        id.0
    }
}

impl PartialEq<str> for JobId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for JobId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Input refused before anything was sent; becomes [`Error::InvalidInput`] with `?`.
/// Kept apart from `Error` because it is cloneable: a list request holds it until used.
///
/// [`Error::InvalidInput`]: crate::Error::InvalidInput
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) field: String,
    pub(crate) reason: String,
}

impl Invalid {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Checks an id, from the caller or from the service, before it becomes one path
/// segment. It may hold any printable character (each is escaped), but not be blank, a
/// dot segment that would change the path, or hold a control character: the URL parser
/// drops tabs and line breaks, so `".\t."` would become `..` after this check.
pub(crate) fn check_id<'a>(field: &str, id: &'a str) -> Result<&'a str, Invalid> {
    if id.trim().is_empty() {
        return Err(Invalid::new(field, "must not be blank"));
    }
    if let Some(c) = id.chars().find(|c| c.is_ascii_control()) {
        return Err(Invalid::new(
            field,
            format!(
                "must not hold control characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    if id == "." || id == ".." {
        return Err(Invalid::new(field, "must not be `.` or `..`"));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::check_id;

    #[test]
    fn control_characters_blank_and_dot_segments_are_refused() {
        for bad in [
            "", " ", ".", "..", ".\t.", "a\tb", "a\nb", "a\rb", "\0", "x\u{7f}",
        ] {
            assert!(check_id("id", bad).is_err(), "{bad:?}");
        }
        for good in ["LeeKa", "a b", "a/b", "...", "é", "%2e%2e"] {
            assert_eq!(check_id("id", good), Ok(good));
        }
    }
}
