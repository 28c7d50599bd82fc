//! `lticontainer lti13 registration-url`: a one-use LTI Dynamic Registration URL for the admin to
//! paste into the LMS (Moodle: Site administration > Plugins > Activity modules > External tool >
//! Manage tools > "Tool URL…" > Add LTI Advantage).

use lticontainer_hub::lti13::RegistrationSecrets;

use crate::config::Config;

/// The registration URL under `base` (the hub's public URL; `[public_url] base_url` when not
/// given), with a new secret valid for `valid_secs`, issued in the configuration's state
/// directory.
///
/// # Errors
/// For the admin: Dynamic Registration off, no public URL known, the state directory not
/// writable.
pub(crate) fn registration_url(
    cfg: &Config,
    base: Option<&str>,
    valid_secs: u64,
) -> Result<String, String> {
    if !cfg.lti13.dynamic_registration {
        return Err(
            "LTI Dynamic Registration is off: set [lti13] dynamic_registration = true (and restart the hub) first"
                .to_owned(),
        );
    }
    let base = base
        .map(str::to_owned)
        .or_else(|| cfg.public_url.base_url.clone())
        .ok_or(
            "the hub's public URL is not known: set [public_url] base_url, or pass --base-url https://<your hub>",
        )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let secret = RegistrationSecrets::new(&cfg.hub.state_dir)
        .issue(now, valid_secs)
        .map_err(|e| {
            format!(
                "cannot keep the registration secret in {}: {e} (run this as the hub's user)",
                cfg.hub.state_dir.display()
            )
        })?;
    Ok(format!(
        "{}/hub/lti13/register?secret={secret}",
        base.trim_end_matches('/')
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, registration: bool) -> Config {
        Config::parse(&format!(
            "[hub]\nstate_dir = {:?}\n[lti]\nconsumers = {{ \"k\" = \"s\" }}\n[lti13]\ndynamic_registration = {registration}\n",
            dir.display().to_string()
        ))
        .unwrap()
    }

    #[test]
    fn prints_a_url_whose_secret_the_hub_takes_once() {
        let dir = tempfile::tempdir().unwrap();
        let url =
            registration_url(&config(dir.path(), true), Some("https://hub.example/"), 60).unwrap();
        let secret = url
            .strip_prefix("https://hub.example/hub/lti13/register?secret=")
            .unwrap();
        let secrets = RegistrationSecrets::new(dir.path());
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        assert!(secrets.take(secret, now).is_ok());
        assert!(secrets.take(secret, now).is_err());
    }

    #[test]
    fn says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let off = registration_url(&config(dir.path(), false), Some("https://h"), 60).unwrap_err();
        assert!(off.contains("dynamic_registration = true"), "{off}");
        let no_base = registration_url(&config(dir.path(), true), None, 60).unwrap_err();
        assert!(no_base.contains("--base-url"), "{no_base}");
    }
}
