use futures::executor::block_on;

use super::*;

fn chunks(parts: &[&'static [u8]]) -> BlobBody {
    BlobBody::from_stream(stream::iter(
        parts
            .iter()
            .map(|p| Ok::<_, BoxError>(Bytes::from_static(p)))
            .collect::<Vec<_>>(),
    ))
}

fn failing_after(part: &'static [u8]) -> BlobBody {
    BlobBody::from_stream(stream::iter([
        Ok(Bytes::from_static(part)),
        Err(BoxError::from("client went away")),
    ]))
}

fn drain(mut metered: MeteredBody) -> Result<Vec<u8>, BlobError> {
    block_on(async {
        let mut out = Vec::new();
        while let Some(chunk) = metered.next_chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    })
}

#[test]
fn collect_reads_everything_within_the_limit() {
    assert_eq!(block_on(chunks(&[b"ab", b"", b"cd"]).collect(4)).unwrap(), "abcd");
    assert!(block_on(BlobBody::empty().collect(0)).unwrap().is_empty());
    assert!(
        block_on(BlobBody::from_bytes(Vec::new()).collect(0))
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        block_on(chunks(&[b"ab", b"cde"]).collect(4)),
        Err(BlobError::TooLarge { limit: 4 })
    ));
    assert!(matches!(
        block_on(failing_after(b"x").collect(10)),
        Err(BlobError::Body(_))
    ));
}

#[test]
fn metered_body_passes_a_body_that_meets_every_rule() {
    let options = PutOptions::new("text/plain").with_length(5).with_max_size(5);
    let metered = MeteredBody::new(chunks(&[b"he", b"llo"]), &options).unwrap();
    assert_eq!(drain(metered).unwrap(), b"hello");
}

#[test]
fn metered_body_stops_at_the_chunk_that_crosses_the_limit() {
    let options = PutOptions::new("text/plain").with_max_size(3);
    let mut metered = MeteredBody::new(chunks(&[b"ab", b"cd", b"never read"]), &options).unwrap();
    assert_eq!(block_on(metered.next_chunk()).unwrap().unwrap(), "ab");
    assert!(matches!(
        block_on(metered.next_chunk()),
        Err(BlobError::TooLarge { limit: 3 })
    ));
    assert_eq!(metered.received(), 4);
}

#[test]
fn a_declared_length_over_the_limit_fails_before_reading() {
    let options = PutOptions::new("text/plain").with_length(10).with_max_size(9);
    assert!(matches!(
        MeteredBody::new(BlobBody::empty(), &options),
        Err(BlobError::TooLarge { limit: 9 })
    ));
}

#[test]
fn bodies_longer_or_shorter_than_declared_are_refused() {
    for (parts, declared) in [(&[b"abc" as &[u8]][..], 2), (&[b"a" as &[u8]][..], 2)] {
        let options = PutOptions::new("text/plain").with_length(declared);
        let err = drain(MeteredBody::new(chunks(parts), &options).unwrap()).unwrap_err();
        assert!(matches!(&err, BlobError::Invalid(e) if e.field == "length"), "{err:?}");
    }
}

#[test]
fn input_errors_keep_their_source() {
    let metered = MeteredBody::new(failing_after(b"x"), &PutOptions::new("a/b")).unwrap();
    let BlobError::Body(source) = drain(metered).unwrap_err() else {
        panic!("expected Body");
    };
    assert_eq!(source.to_string(), "client went away");
}

#[test]
fn fill_splits_chunks_at_the_capacity() {
    let mut metered = MeteredBody::new(chunks(&[b"abc", b"defgh", b"ij"]), &PutOptions::new("a/b")).unwrap();
    let mut carry = None;
    let mut parts = Vec::new();
    loop {
        let part = block_on(metered.fill(&mut carry, 4)).unwrap();
        if part.is_empty() {
            break;
        }
        parts.push(String::from_utf8(part.to_vec()).unwrap());
    }
    assert_eq!(parts, ["abcd", "efgh", "ij"]);
}

#[test]
fn content_types_are_checked() {
    for ok in ["image/png", "text/plain; charset=utf-8", "application/vnd.a+json"] {
        assert!(PutOptions::new(ok).validate().is_ok(), "{ok}");
    }
    for bad in ["", "png", "/png", "image/", "text/plain\r\nx: y", "imagé/png"] {
        let err = PutOptions::new(bad).validate().unwrap_err();
        assert!(
            matches!(&err, BlobError::Invalid(e) if e.field == "content_type"),
            "{bad:?}"
        );
    }
    assert!(PutOptions::new("a/".to_owned() + &"b".repeat(300)).validate().is_err());
}
