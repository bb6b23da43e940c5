//! Reading an app's messages from the SMTP capture server's maildir
//! (`.ci/services/smtp_capture.py`), which every app of a run shares.
//!
//! The capture server stores each message as `new/<key>` and its envelope as
//! `meta/<key>.json`. Recipients are not unique across apps (every app has
//! an `admin@example.com`, many suites register the same addresses), so an
//! app's messages are told apart by the envelope sender: the harness gives
//! each app a sender of its own ([`tagged_sender`]). Filtering on the
//! envelope needs no parsing of other apps' messages and does not depend on
//! what the platform puts in the headers.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, anyhow, bail};

use super::{Mail, parse_eml};

/// The tag the harness adds to the sender's local part, before the app's id.
const TAG: &str = "+app-";

/// The capture server's maildir: `PLATFORM_TEST_SMTP_MAILDIR`, else
/// `smtp/maildir` under `PLATFORM_CI_CACHE` (default `~/.cache/platform-ci`),
/// where `.ci/services/smtp.sh` puts it.
#[must_use]
pub fn capture_maildir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLATFORM_TEST_SMTP_MAILDIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("PLATFORM_CI_CACHE")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/platform-ci"),
            PathBuf::from,
        );
    cache.join("smtp/maildir")
}

/// `from` (`Name <local@domain>` or `local@domain`) with `+app-<id>` on its
/// local part, replacing a tag an earlier app put there (an instance started
/// from another's settings gets a sender of its own, as it gets a mail
/// directory of its own in file mode). Returns the new `mail.from` and its
/// bare address.
///
/// # Errors
/// When `from` holds no `local@domain` address.
pub(crate) fn tagged_sender(from: &str, id: &str) -> anyhow::Result<(String, String)> {
    let (prefix, address, suffix) = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => (&from[..=open], &from[open + 1..close], &from[close..]),
        _ => ("", from.trim(), ""),
    };
    let (local, domain) = address
        .rsplit_once('@')
        .ok_or_else(|| anyhow!("mail.from {from:?} holds no local@domain address"))?;
    let local = local.find(TAG).map_or(local, |at| &local[..at]);
    let tagged = format!("{local}{TAG}{id}@{domain}");
    Ok((format!("{prefix}{tagged}{suffix}"), tagged))
}

/// One app's view of the shared maildir.
#[derive(Debug)]
pub(crate) struct CaptureOutbox {
    maildir: PathBuf,
    /// The app's envelope sender, lowercased.
    sender: String,
    index: Mutex<Index>,
}

/// What earlier looks found, so each message's envelope is read once.
#[derive(Debug, Default)]
struct Index {
    /// Keys of other apps' messages, and of messages stored before the app started.
    foreign: HashSet<OsString>,
    /// The app's messages, with the key's arrival order.
    ours: Vec<(ArrivalKey, Mail)>,
}

impl CaptureOutbox {
    /// The outbox of the app sending as `sender`. Messages already in the
    /// maildir are not the app's (its sender is new), so they are only listed.
    pub(crate) fn new(maildir: PathBuf, sender: &str) -> Self {
        let foreign = list_meta(&maildir)
            .map(|keys| keys.into_iter().collect())
            .unwrap_or_default();
        Self {
            maildir,
            sender: sender.to_lowercase(),
            index: Mutex::new(Index {
                foreign,
                ours: Vec::new(),
            }),
        }
    }

    /// The maildir read.
    pub(crate) fn maildir(&self) -> &Path {
        &self.maildir
    }

    /// The app's messages stored so far, in arrival order.
    ///
    /// Blocking file I/O on a handful of small files, under a lock that is
    /// never held across an await.
    pub(crate) fn mails(&self) -> anyhow::Result<Vec<Mail>> {
        let mut index = self.index.lock().map_err(|_| anyhow!("mail index poisoned"))?;
        for key in list_meta(&self.maildir)? {
            if index.foreign.contains(&key) || index.ours.iter().any(|(k, _)| k.name == key) {
                continue;
            }
            match self.read_if_ours(&key)? {
                Seen::Ours(mail) => index.ours.push((ArrivalKey::parse(key), *mail)),
                Seen::Foreign => {
                    index.foreign.insert(key);
                }
                // Its envelope is still being written: look again next time.
                Seen::NotYet => {}
            }
        }
        index.ours.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(index.ours.iter().map(|(_, mail)| mail.clone()).collect())
    }

    /// Removes the app's messages from the shared maildir, so it does not
    /// grow with every run: those a test never read too (a last look finds
    /// them). Best effort: it runs on drop, and a message the app's workers
    /// deliver after it stays (a later app only lists its name).
    pub(crate) fn discard(&self) {
        let _ = self.mails();
        let Ok(index) = self.index.lock() else { return };
        for (key, mail) in &index.ours {
            let _ = std::fs::remove_file(self.meta_path(&key.name));
            let _ = std::fs::remove_file(&mail.path);
        }
    }

    fn meta_path(&self, key: &OsString) -> PathBuf {
        let mut name = key.clone();
        name.push(".json");
        self.maildir.join("meta").join(name)
    }

    fn read_if_ours(&self, key: &OsString) -> anyhow::Result<Seen> {
        let meta_path = self.meta_path(key);
        let meta = match std::fs::read_to_string(&meta_path) {
            Ok(meta) => meta,
            // Removed meanwhile by the app (or test) it belongs to.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Seen::Foreign),
            Err(e) => return Err(e).with_context(|| format!("reading {}", meta_path.display())),
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&meta) else {
            return Ok(Seen::NotYet);
        };
        let from = meta["mail_from"].as_str().unwrap_or_default();
        if from.to_lowercase() != self.sender {
            return Ok(Seen::Foreign);
        }
        // The capture server moves the message into new/ before it writes the envelope.
        let path = self.maildir.join("new").join(key);
        let raw = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut mail = parse_eml(&raw).with_context(|| format!("parsing {}", path.display()))?;
        mail.path = path;
        Ok(Seen::Ours(Box::new(mail)))
    }
}

/// What one envelope said.
enum Seen {
    Ours(Box<Mail>),
    Foreign,
    NotYet,
}

/// The message keys with an envelope in `maildir/meta` (none when the
/// capture server has not created it yet).
fn list_meta(maildir: &Path) -> anyhow::Result<Vec<OsString>> {
    let dir = maildir.join("meta");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let name = entry.with_context(|| format!("listing {}", dir.display()))?.file_name();
        let Some(key) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        keys.push(OsString::from(key));
    }
    Ok(keys)
}

/// A maildir key as Python's `mailbox` makes it,
/// `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`, ordered by its numbers:
/// the microseconds are not zero-padded, so the names do not sort as strings.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ArrivalKey {
    /// Seconds, microseconds and the server's counter (zeros when the name has another form).
    numbers: (u64, u64, u64),
    name: OsString,
}

impl ArrivalKey {
    fn parse(name: OsString) -> Self {
        let numbers = name.to_str().and_then(parse_numbers).unwrap_or_default();
        Self { numbers, name }
    }
}

fn parse_numbers(name: &str) -> Option<(u64, u64, u64)> {
    let (seconds, rest) = name.split_once(".M")?;
    let (micros, rest) = rest.split_once('P')?;
    let (_pid, rest) = rest.split_once('Q')?;
    let counter = rest.split('.').next()?;
    Some((seconds.parse().ok()?, micros.parse().ok()?, counter.parse().ok()?))
}

/// Fails with the reason when the driver is smtp and no capture server
/// stores messages where the harness looks.
///
/// # Errors
/// When `maildir` does not exist.
pub(crate) fn check_maildir(maildir: &Path) -> anyhow::Result<()> {
    if !maildir.is_dir() {
        bail!(
            "mail.driver is smtp but the SMTP capture server's maildir {} does not exist \
             (start it with `bash .ci/services/smtp.sh`, or set PLATFORM_TEST_SMTP_MAILDIR)",
            maildir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn the_tag_goes_on_the_local_part_and_replaces_an_earlier_one() {
        let (from, address) = tagged_sender("Platform <no-reply@localhost>", "a1").unwrap();
        assert_eq!(from, "Platform <no-reply+app-a1@localhost>");
        assert_eq!(address, "no-reply+app-a1@localhost");
        let (again, address) = tagged_sender(&from, "b2").unwrap();
        assert_eq!(again, "Platform <no-reply+app-b2@localhost>");
        assert_eq!(address, "no-reply+app-b2@localhost");
        let (bare, _) = tagged_sender("ops@example.com", "c3").unwrap();
        assert_eq!(bare, "ops+app-c3@example.com");
        assert!(tagged_sender("Platform", "d4").is_err());
    }

    #[test]
    fn keys_order_by_their_numbers_not_as_strings() {
        let later = ArrivalKey::parse("1765130000.M100P7Q3.host".into());
        let earlier = ArrivalKey::parse("1765130000.M99P7Q2.host".into());
        assert!(earlier < later);
        assert_eq!(earlier.numbers, (1_765_130_000, 99, 2));
    }
}
