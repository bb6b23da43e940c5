//! The platform's own templates, compiled into the binary.

/// Names of the built-in templates, in the order the start-up check renders them.
pub const BUILTIN_TEMPLATES: [&str; 5] = [
    "email_verification",
    "password_reset",
    "welcome",
    "password_changed",
    "digest",
];

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("builtin/", $path)))),*]
    };
}

/// Every built-in file, by its path relative to a templates directory
/// (the same layout an override directory uses).
pub(super) const BUILTIN_FILES: &[(&str, &str)] = files![
    "layout.html",
    "en/email_verification.subject.txt",
    "en/email_verification.txt",
    "en/email_verification.html",
    "en/password_reset.subject.txt",
    "en/password_reset.txt",
    "en/password_reset.html",
    "en/welcome.subject.txt",
    "en/welcome.txt",
    "en/welcome.html",
    "en/password_changed.subject.txt",
    "en/password_changed.txt",
    "en/password_changed.html",
    "en/digest.subject.txt",
    "en/digest.txt",
    "en/digest.html",
    "samples/email_verification.json",
    "samples/password_reset.json",
    "samples/welcome.json",
    "samples/password_changed.json",
    "samples/digest.json",
];
