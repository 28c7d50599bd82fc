//! Where notebook logs may go: to the LMS that signed the launch, or to an origin the admin
//! lists (`hub.analytics_origins`).
//!
//! `lms_serverurl` is one of the activity's custom parameters, which a Moodle teacher can edit.
//! Taken as it came, it let a teacher make the hub POST every record of their students (with
//! the web-service token) to any address the hub reaches, loopback and the hub's own networks
//! included, as the original's ltictr_proxy did. The LMS's own origin is read instead from the
//! URLs Moodle itself puts in every signed launch and a teacher cannot set
//! (`launch_presentation_return_url`, `lis_outcome_service_url`).

use lticontainer_core::launch::LtiLaunch;

use crate::origin::normalise_origin;

/// The signed launch parameters that Moodle sets itself (from its `wwwroot`), never from the
/// activity's custom parameters: their origins are the LMS's.
pub const LMS_SET_URLS: [&str; 2] = ["launch_presentation_return_url", "lis_outcome_service_url"];

/// The origins notebook logs may be sent to besides the launching LMS's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsDestinations {
    configured: Vec<String>,
}

/// A destination refused by [`AnalyticsDestinations::check`]; its `Display` is the admin's log
/// line (the endpoint's origin only: the token is never part of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationRefused {
    /// The origin the launch asked records to be sent to.
    pub destination: String,
    /// The origins of the LMS that signed the launch (empty when it named none).
    pub lms: Vec<String>,
}

impl std::fmt::Display for DestinationRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lms = if self.lms.is_empty() {
            "none: the launch has no launch_presentation_return_url or lis_outcome_service_url"
                .to_owned()
        } else {
            self.lms.join(", ")
        };
        write!(
            f,
            "the launch's lms_serverurl sends notebook logs to {}, which is not the origin of the LMS \
             that signed it ({lms}) nor in hub.analytics_origins; if that is the LMS's web-service \
             address (e.g. Moodle's internal name), add it to hub.analytics_origins",
            self.destination
        )
    }
}

impl AnalyticsDestinations {
    /// The destinations allowed besides the launching LMS: `origins` as the configuration lists
    /// them (`https://moodle.internal:8443`); an entry that is not an origin is left out
    /// (`HubConfig::validate` refuses it before this).
    pub fn new(origins: &[String]) -> Self {
        Self {
            configured: origins.iter().filter_map(|o| normalise_origin(o)).collect(),
        }
    }

    /// Whether records may go to `endpoint` (an `LmsTarget`'s URL) for `launch`: its origin is
    /// the origin of one of the URLs the LMS set in the launch ([`LMS_SET_URLS`]), or one the
    /// admin listed.
    ///
    /// # Errors
    /// The refusal, naming the destination and the LMS's origins.
    pub fn check(&self, endpoint: &str, launch: &LtiLaunch) -> Result<(), DestinationRefused> {
        let mut lms: Vec<String> = LMS_SET_URLS
            .iter()
            .filter_map(|name| launch.params.get(name))
            .filter_map(normalise_origin)
            .collect();
        // Two URLs, usually of one origin: named once in the refusal.
        lms.dedup();
        let destination = normalise_origin(endpoint).unwrap_or_else(|| endpoint.to_owned());
        if lms.contains(&destination) || self.configured.contains(&destination) {
            Ok(())
        } else {
            Err(DestinationRefused { destination, lms })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lticontainer_core::launch::DEFAULT_USERNAME_KEY;

    use super::*;

    fn launch(pairs: &[(&str, &str)]) -> LtiLaunch {
        let params: Vec<(String, String)> = [("user_id", "7"), ("resource_link_id", "1")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).unwrap()
    }

    const ENDPOINT: &str = "https://Moodle.School.edu:443/moodle//webservice/rest/server.php";

    #[test]
    fn the_launching_lms_is_allowed_by_either_url_it_set() {
        let none = AnalyticsDestinations::default();
        let by_return = launch(&[(
            "launch_presentation_return_url",
            "https://moodle.school.edu/mod/lti/return.php?course=2",
        )]);
        assert_eq!(none.check(ENDPOINT, &by_return), Ok(()));
        let by_outcome = launch(&[(
            "lis_outcome_service_url",
            "https://moodle.school.edu/mod/lti/service.php",
        )]);
        assert_eq!(none.check(ENDPOINT, &by_outcome), Ok(()));
    }

    #[test]
    fn another_origin_is_refused_unless_configured() {
        let lms = launch(&[
            (
                "launch_presentation_return_url",
                "https://moodle.school.edu/mod/lti/return.php",
            ),
            // A teacher's custom parameter is no evidence of the LMS's origin.
            ("custom_lms_serverurl", "http://127.0.0.1:2375"),
        ]);
        let endpoint = "http://127.0.0.1:2375//webservice/rest/server.php";
        let refused = AnalyticsDestinations::default()
            .check(endpoint, &lms)
            .unwrap_err();
        assert_eq!(refused.destination, "http://127.0.0.1:2375");
        assert_eq!(refused.lms, vec!["https://moodle.school.edu".to_owned()]);
        let line = refused.to_string();
        assert!(line.contains("hub.analytics_origins") && line.contains("http://127.0.0.1:2375"));
        // Another port or scheme of the LMS's host is another origin.
        for other in [
            "https://moodle.school.edu:8443/webservice/rest/server.php",
            "http://moodle.school.edu/webservice/rest/server.php",
        ] {
            assert!(AnalyticsDestinations::default().check(other, &lms).is_err());
        }
        let listed = AnalyticsDestinations::new(&["HTTP://127.0.0.1:2375/".to_owned()]);
        assert_eq!(listed.check(endpoint, &lms), Ok(()));
    }

    #[test]
    fn the_lms_is_named_once_when_both_its_urls_share_an_origin() {
        let both = launch(&[
            (
                "launch_presentation_return_url",
                "https://moodle.school.edu/mod/lti/return.php",
            ),
            (
                "lis_outcome_service_url",
                "https://moodle.school.edu/mod/lti/service.php",
            ),
        ]);
        let refused = AnalyticsDestinations::default()
            .check(
                "https://elsewhere.example/webservice/rest/server.php",
                &both,
            )
            .unwrap_err();
        assert_eq!(refused.lms, vec!["https://moodle.school.edu".to_owned()]);
    }

    #[test]
    fn a_launch_without_lms_urls_sends_only_to_listed_origins() {
        let bare = launch(&[("custom_lms_serverurl", "https://moodle.school.edu")]);
        let refused = AnalyticsDestinations::default()
            .check(ENDPOINT, &bare)
            .unwrap_err();
        assert!(refused.lms.is_empty() && refused.to_string().contains("has no"));
        let listed = AnalyticsDestinations::new(&["https://moodle.school.edu".to_owned()]);
        assert_eq!(listed.check(ENDPOINT, &bare), Ok(()));
    }
}
