//! The shared AWS files (`~/.aws/credentials`, `~/.aws/config`): just enough
//! of their INI dialect to find a profile's keys and region.

use std::collections::HashMap;

/// A profile's settings, keys lower-cased (`aws_access_key_id`, `region`).
pub(crate) type Profile = HashMap<String, String>;

/// Which file a profile comes from: the config file names profiles
/// `[profile name]` (except `[default]`), the credentials file `[name]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Credentials,
    Config,
}

/// The profile `name` in `text`, if the file has it.
pub(crate) fn find(text: &str, kind: FileKind, name: &str) -> Option<Profile> {
    let mut current: Option<bool> = None;
    let mut found: Option<Profile> = None;
    for line in text.lines() {
        // Indented lines continue a nested block (`s3 =` then `  max_concurrent_requests = 2`).
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            let profile = match kind {
                FileKind::Credentials => Some(section),
                FileKind::Config if section == "default" => Some(section),
                FileKind::Config => section
                    .strip_prefix("profile")
                    .filter(|r| r.starts_with([' ', '\t']))
                    .map(str::trim),
            };
            let matches = profile == Some(name);
            if matches && found.is_none() {
                found = Some(Profile::new());
            }
            current = Some(matches);
            continue;
        }
        if current == Some(true)
            && let (Some(profile), Some((key, value))) = (found.as_mut(), line.split_once('='))
        {
            profile.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_profiles_in_both_files() {
        let credentials = "[default]\naws_access_key_id = AKIDDEFAULT\n\n[ci]\n# comment\nAWS_ACCESS_KEY_ID=AKIDCI\naws_secret_access_key = s/e+c=ret\n";
        let ci = find(credentials, FileKind::Credentials, "ci").unwrap();
        assert_eq!(ci["aws_access_key_id"], "AKIDCI");
        assert_eq!(ci["aws_secret_access_key"], "s/e+c=ret");
        assert!(find(credentials, FileKind::Credentials, "prod").is_none());

        let config = "[default]\nregion = eu-west-1\n[profile ci]\nregion = us-east-2\ns3 =\n  max_concurrent_requests = 2\n[ci]\nregion = wrong\n";
        assert_eq!(
            find(config, FileKind::Config, "default").unwrap()["region"],
            "eu-west-1"
        );
        let ci = find(config, FileKind::Config, "ci").unwrap();
        assert_eq!(ci["region"], "us-east-2");
        assert!(!ci.contains_key("max_concurrent_requests"));
    }
}
