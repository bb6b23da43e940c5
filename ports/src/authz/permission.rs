use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::FieldError;

/// A permission: `module.resource.action` (e.g. `blog.post.create`) or the
/// seed's two-part form `resource.action` (e.g. `user.read`).
///
/// Each segment is lower-case ASCII letters, digits or `_`, starting with a
/// letter. Constants are built with [`Permission::declare`], which checks the
/// same rule at compile time.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission(Cow<'static, str>);

const fn segment_byte_ok(b: u8, first: bool) -> bool {
    b.is_ascii_lowercase() || (!first && (b.is_ascii_digit() || b == b'_'))
}

const fn is_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > 128 {
        return false;
    }
    let mut dots = 0;
    let mut at_segment_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'.' {
            if at_segment_start {
                return false;
            }
            dots += 1;
            at_segment_start = true;
        } else {
            if !segment_byte_ok(b, at_segment_start) {
                return false;
            }
            at_segment_start = false;
        }
        i += 1;
    }
    !at_segment_start && (dots == 1 || dots == 2)
}

impl Permission {
    /// Declares a permission constant; an invalid literal fails the build.
    #[must_use]
    pub const fn declare(value: &'static str) -> Self {
        assert!(is_valid(value), "invalid permission literal");
        Self(Cow::Borrowed(value))
    }

    /// Validates a permission from input.
    ///
    /// # Errors
    /// A [`FieldError`] on field `permission` when the value is malformed.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        if is_valid(value) {
            Ok(Self(Cow::Owned(value.to_owned())))
        } else {
            Err(FieldError::new(
                "permission",
                "invalid",
                format!("`{value}` is not of the form module.resource.action"),
            ))
        }
    }

    /// The permission as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first segment (`blog` in `blog.post.create`).
    #[must_use]
    pub fn module(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }
}

impl TryFrom<String> for Permission {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Permission> for String {
    fn from(value: Permission) -> Self {
        value.0.into_owned()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permission({})", self.0)
    }
}

/// Declares a module's permissions once: a constant per permission and an
/// `ALL` slice listing them, so registries and the admin role never drift
/// from the constants.
///
/// ```
/// platform_ports::declare_permissions! {
///     /// Read posts.
///     POST_READ = "blog.post.read",
/// }
/// assert_eq!(ALL.len(), 1);
/// ```
#[macro_export]
macro_rules! declare_permissions {
    ($( $(#[$doc:meta])* $name:ident = $value:literal ),+ $(,)?) => {
        $( $(#[$doc])* pub const $name: $crate::authz::Permission = $crate::authz::Permission::declare($value); )+
        /// Every permission this module declares.
        pub const ALL: &[$crate::authz::Permission] = &[$($name),+];
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_two_and_three_segments() {
        assert!(Permission::parse("user.read").is_ok());
        assert!(Permission::parse("blog.post.create").is_ok());
        assert!(Permission::parse("audit.log_entry.read2").is_ok());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "user",
            "a.b.c.d",
            "User.read",
            ".a.b",
            "a..b",
            "a.b.",
            "1a.b",
            "a.b-c",
        ] {
            assert!(Permission::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn module_is_first_segment() {
        assert_eq!(Permission::declare("blog.post.read").module(), "blog");
    }
}
