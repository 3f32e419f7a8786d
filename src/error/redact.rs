//! Takes the API key out of text the server sends, before it reaches an error or a log.

use std::borrow::Cow;

use secrecy::{ExposeSecret, SecretString};

use super::Error;

/// What stands in for the key.
pub(crate) const REDACTED: &str = "[redacted]";

/// Keys shorter than this are not searched for: they would match ordinary words, and no
/// Rescale key is that short (they are 40 hexadecimal digits, or a JWT).
const MIN_SECRET_CHARS: usize = 8;

/// Replaces the key wherever it appears. The raw key covers its `Token <key>` and
/// `Bearer <key>` forms too.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secret: Option<SecretString>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

impl Redactor {
    /// A redactor of `key`.
    pub(crate) fn new(key: &str) -> Self {
        let secret =
            (key.chars().count() >= MIN_SECRET_CHARS).then(|| SecretString::from(key.to_owned()));
        Redactor { secret }
    }

    /// `text` with every occurrence of the key replaced.
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.secret {
            Some(key) if text.contains(key.expose_secret()) => {
                Cow::Owned(text.replace(key.expose_secret(), REDACTED))
            }
            _ => Cow::Borrowed(text),
        }
    }

    fn string(&self, s: &mut String) {
        if let Cow::Owned(clean) = self.text(s) {
            *s = clean;
        }
    }

    /// `err` with the key taken out of every text it carries.
    pub(crate) fn error(&self, mut err: Error) -> Error {
        if self.secret.is_none() {
            return err;
        }
        match &mut err {
            Error::Api(e) => {
                for s in [&mut e.message, &mut e.body, &mut e.path, &mut e.host] {
                    self.string(s);
                }
                for (path, message) in &mut e.field_errors {
                    self.string(path);
                    self.string(message);
                }
            }
            Error::Decode {
                call,
                path,
                message,
                snippet,
                ..
            } => {
                for s in [call, path, message, snippet] {
                    self.string(s);
                }
            }
            Error::Transport { message, .. }
            | Error::Timeout(message)
            | Error::Config(message)
            | Error::Pagination(message)
            | Error::Throttled { scope: message, .. } => self.string(message),
            Error::InvalidInput { field, reason }
            | Error::UnsafePath {
                path: field,
                reason,
            } => {
                self.string(field);
                self.string(reason);
            }
            Error::ChecksumMismatch {
                file,
                expected,
                actual,
                ..
            } => {
                for s in [file, expected, actual] {
                    self.string(s);
                }
            }
            Error::OutcomeUnknown {
                operation, source, ..
            } => {
                self.string(operation);
                super::rewrite(source, |inner| self.error(inner));
            }
            // The path may hold the service's text (a `relativePath`).
            Error::Io { path, .. } => {
                if let Cow::Owned(clean) = self.text(&path.to_string_lossy()) {
                    *path = clean.into();
                }
            }
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_key_is_replaced_and_short_keys_are_left_alone() {
        let r = Redactor::new("0123456789abcdef");
        assert_eq!(
            r.text("Invalid token header: Token 0123456789abcdef, Bearer 0123456789abcdef"),
            "Invalid token header: Token [redacted], Bearer [redacted]"
        );
        assert!(matches!(r.text("nothing here"), Cow::Borrowed(_)));
        assert_eq!(Redactor::new("k").text("keep"), "keep");
        assert_eq!(Redactor::default().text("x"), "x");
    }
}
