//! Input rules of the identity use cases: passwords, names, permissions,
//! and the links mailed to users.

use platform_ports::authz::Permission;
use platform_ports::model::{Email, FieldError, SecretString, TextKind, ValidationErrors, check_storable};

use super::settings::{IdentitySettings, PermissionCatalog};

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 100;
/// Longest role description, in characters.
pub const DESCRIPTION_MAX: usize = 500;
/// Longest role name, in characters.
pub const ROLE_NAME_MAX: usize = 64;

/// The length rule alone: it needs no account, so it can run before a
/// mailed token is looked at.
pub(crate) fn check_password_length(
    settings: &IdentitySettings,
    field: &str,
    password: &SecretString,
) -> Result<(), FieldError> {
    let length = password.expose().chars().count();
    if length < settings.password_min_length {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("must be at least {} characters", settings.password_min_length),
        ));
    }
    if length > IdentitySettings::PASSWORD_MAX_LENGTH {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {} characters", IdentitySettings::PASSWORD_MAX_LENGTH),
        ));
    }
    Ok(())
}

/// The rule that needs the account: the password must not be its email.
pub(crate) fn check_password_not_email(field: &str, password: &SecretString, email: &Email) -> Result<(), FieldError> {
    if password.expose().trim().to_lowercase() == email.as_str() {
        return Err(FieldError::new(field, "equals_email", "must not be the email address"));
    }
    Ok(())
}

/// The whole password policy for `email`'s account.
pub(crate) fn check_password(
    settings: &IdentitySettings,
    field: &str,
    password: &SecretString,
    email: &Email,
) -> Result<(), FieldError> {
    check_password_length(settings, field, password)?;
    check_password_not_email(field, password, email)
}

/// A display name as stored: trimmed, `None` when blank.
pub(crate) fn display_name(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    check_storable("display_name", name, TextKind::SingleLine)?;
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(FieldError::new(
            "display_name",
            "too_long",
            format!("must be at most {DISPLAY_NAME_MAX} characters"),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// A role name: trimmed, starting with a letter or digit, then letters,
/// digits, spaces, `_`, `.` or `-`, at most [`ROLE_NAME_MAX`] characters.
pub(crate) fn role_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-'));
    if !first_ok || !rest_ok || name.len() > ROLE_NAME_MAX {
        return Err(FieldError::new(
            "name",
            "invalid",
            format!(
                "must be 1 to {ROLE_NAME_MAX} letters, digits, spaces, '_', '.' or '-', starting with a letter or digit"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// A role description as stored: trimmed, `None` when blank.
pub(crate) fn description(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    // Free text: line breaks are fine, other control characters are not.
    check_storable("description", text, TextKind::MultiLine)?;
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(FieldError::new(
            "description",
            "too_long",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// The permissions sorted and deduplicated, or one error per undeclared one.
pub(crate) fn declared(
    catalog: &PermissionCatalog,
    permissions: Vec<Permission>,
) -> Result<Vec<Permission>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for unknown in permissions.iter().filter(|p| !catalog.contains(p)) {
        errors.push(FieldError::new(
            "permissions",
            "unknown_permission",
            format!("`{unknown}` is not a declared permission"),
        ));
    }
    errors.into_result()?;
    let mut set = permissions;
    set.sort();
    set.dedup();
    Ok(set)
}

/// `{public_url}{path}?token=<token>`, the token percent-encoded so any
/// token format survives the query string.
pub(crate) fn token_link(public_url: &str, path: &str, token: &str) -> String {
    let mut link = format!("{}{path}?token=", public_url.trim_end_matches('/'));
    for byte in token.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            link.push(char::from(byte));
        } else {
            link.push_str(&format!("%{byte:02X}"));
        }
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> IdentitySettings {
        IdentitySettings::default()
    }

    #[test]
    fn password_length_counts_characters() {
        let email = Email::parse("ada@example.com").unwrap();
        // 12 characters but 24 bytes: accepted, length is in characters.
        let accented = SecretString::new("éééééééééééé");
        assert!(check_password(&settings(), "password", &accented, &email).is_ok());
        let short = SecretString::new("short-pw");
        let err = check_password(&settings(), "password", &short, &email).unwrap_err();
        assert_eq!((err.field.as_str(), err.code.as_str()), ("password", "too_short"));
        let huge = SecretString::new("x".repeat(IdentitySettings::PASSWORD_MAX_LENGTH + 1));
        let err = check_password(&settings(), "password", &huge, &email).unwrap_err();
        assert_eq!(err.code, "too_long");
    }

    #[test]
    fn password_must_not_be_the_email_in_any_case() {
        let email = Email::parse("Long.Name@Example.com").unwrap();
        let same = SecretString::new("LONG.NAME@example.COM");
        let err = check_password(&settings(), "new_password", &same, &email).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.code.as_str()),
            ("new_password", "equals_email")
        );
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(display_name(Some("  Ada  ")).unwrap(), Some("Ada".to_owned()));
        assert_eq!(display_name(Some("   ")).unwrap(), None);
        assert_eq!(display_name(None).unwrap(), None);
        assert!(display_name(Some(&"a".repeat(DISPLAY_NAME_MAX))).is_ok());
        let err = display_name(Some(&"a".repeat(DISPLAY_NAME_MAX + 1))).unwrap_err();
        assert_eq!((err.field.as_str(), err.code.as_str()), ("display_name", "too_long"));
    }

    #[test]
    fn names_and_descriptions_refuse_control_characters() {
        let err = display_name(Some("a\0b")).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.code.as_str()),
            ("display_name", "invalid_character")
        );
        assert!(display_name(Some("Ada\nLovelace")).is_err());
        let err = description(Some("a\0b")).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.code.as_str()),
            ("description", "invalid_character")
        );
        assert_eq!(
            description(Some("line 1\nline 2")).unwrap().as_deref(),
            Some("line 1\nline 2")
        );
        assert!(role_name("a\0b").is_err());
    }

    #[test]
    fn role_names_follow_the_pattern() {
        assert_eq!(role_name("  Editors-2.0 team_x ").unwrap(), "Editors-2.0 team_x");
        for bad in ["", "  ", "-lead", "a/b", "ünïcode", &"a".repeat(ROLE_NAME_MAX + 1)] {
            let err = role_name(bad).unwrap_err();
            assert_eq!((err.field.as_str(), err.code.as_str()), ("name", "invalid"), "{bad}");
        }
        assert!(role_name(&"a".repeat(ROLE_NAME_MAX)).is_ok());
    }

    #[test]
    fn undeclared_permissions_are_each_reported() {
        let catalog = PermissionCatalog::platform();
        let ok = declared(
            &catalog,
            vec![
                crate::permissions::USER_READ,
                crate::permissions::AUDIT_READ,
                crate::permissions::USER_READ,
            ],
        )
        .unwrap();
        assert_eq!(ok, vec![crate::permissions::AUDIT_READ, crate::permissions::USER_READ]);
        let errors = declared(
            &catalog,
            vec![Permission::declare("blog.post.read"), Permission::declare("x.y")],
        )
        .unwrap_err();
        assert_eq!(errors.0.len(), 2);
        assert!(
            errors
                .0
                .iter()
                .all(|e| e.field == "permissions" && e.code == "unknown_permission")
        );
    }

    #[test]
    fn links_join_the_public_url_and_encode_the_token() {
        assert_eq!(
            token_link("https://x.test/", "/verify-email", "aB-_9"),
            "https://x.test/verify-email?token=aB-_9"
        );
        assert_eq!(
            token_link("http://h", "/reset-password", "a+b/="),
            "http://h/reset-password?token=a%2Bb%2F%3D"
        );
    }
}
