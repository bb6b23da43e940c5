use super::*;

fn rejected(key: &str) -> bool {
    BlobKey::parse(key).is_err()
}

#[test]
fn accepts_ordinary_keys() {
    for key in [
        "blog/post/42/cover.png",
        "file",
        "a/b/c/d/e/f",
        ".hidden/x",
        "a..b/c",
        "données/été.txt",
        "a b/c+d?e#f&g=h%",
    ] {
        assert_eq!(BlobKey::parse(key).unwrap().as_str(), key);
    }
}

#[test]
fn rejects_empty_absolute_and_dot_segments() {
    for key in ["", "/etc/passwd", "/", "a/../b", "..", "./a", "a/.", "a//b", "a/b/"] {
        assert!(rejected(key), "{key:?}");
    }
}

#[test]
fn rejects_backslash_nul_and_control_characters() {
    for key in ["a\\b", "..\\..\\x", "a\0b", "a\nb", "a\u{7f}b"] {
        assert!(rejected(key), "{key:?}");
    }
}

#[test]
fn enforces_length_limits() {
    let segment = "s".repeat(BlobKey::MAX_SEGMENT_LEN);
    assert!(BlobKey::parse(&segment).is_ok());
    assert!(rejected(&format!("{segment}x")));
    let dir = "d".repeat(100);
    let long = format!("{}{}", format!("{dir}/").repeat(10), "f".repeat(14));
    assert_eq!(long.len(), BlobKey::MAX_LEN);
    assert!(BlobKey::parse(&long).is_ok());
    assert!(rejected(&format!("{long}x")));
}

#[test]
fn errors_name_the_field_and_stay_short() {
    let err = BlobKey::parse(&"x/".repeat(1000)).unwrap_err();
    assert_eq!(err.field, "key");
    assert!(err.message.len() < 200, "{}", err.message);
}

#[test]
fn from_parts_names_the_bad_part() {
    let key = BlobKey::from_parts("blog", "post", "42", "cover.png").unwrap();
    assert_eq!(key.as_str(), "blog/post/42/cover.png");
    assert_eq!(key.file_name(), "cover.png");
    assert_eq!(key.segments().count(), 4);
    assert_eq!(
        BlobKey::from_parts("blog", "post", "42", "../x").unwrap_err().field,
        "filename"
    );
    assert_eq!(
        BlobKey::from_parts("blog", "po/st", "42", "x").unwrap_err().field,
        "resource_type"
    );
    assert_eq!(BlobKey::from_parts("", "post", "42", "x").unwrap_err().field, "module");
    assert_eq!(BlobKey::from_parts("blog", "post", "..", "x").unwrap_err().field, "id");
}

#[test]
fn serde_validates() {
    let key: BlobKey = serde_json::from_str("\"a/b\"").unwrap();
    assert_eq!(serde_json::to_string(&key).unwrap(), "\"a/b\"");
    assert!(serde_json::from_str::<BlobKey>("\"a/../b\"").is_err());
}

#[test]
fn prefixes_check_complete_segments_only() {
    for prefix in ["", "blog", "blog/", "blog/post/4", "blog/po", "a/.", "a/.."] {
        assert!(BlobPrefix::parse(prefix).is_ok(), "{prefix:?}");
    }
    for prefix in ["/", "/blog", "a//", "../a", "a/../b/", "a\\b", "a\0"] {
        assert!(BlobPrefix::parse(prefix).is_err(), "{prefix:?}");
    }
    let prefix = BlobPrefix::parse("blog/post/4").unwrap();
    assert_eq!(prefix.split(), (Some("blog/post"), "4"));
    assert!(prefix.matches("blog/post/42/a"));
    assert!(!prefix.matches("blog/post/5"));
    assert_eq!(BlobPrefix::parse("x").unwrap().split(), (None, "x"));
    assert_eq!(BlobPrefix::parse("x/").unwrap().split(), (Some("x"), ""));
}
