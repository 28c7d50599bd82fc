//! The activities each teacher may open the dashboard of: every activity a launch made them a
//! teacher of, kept in the [`AnalyticsStore`] (so across restarts), until a later launch from
//! the same activity makes them a student there.

use lticontainer_core::params::LmsParams;
use lticontainer_core::store::TaughtActivity;

use super::Analytics;

impl Analytics {
    /// Records what a launch of `user` from the activity of `params` (`lms_sessioninfo`) makes
    /// them there: a teacher (`teacher`) may open its dashboard from now on, anyone else no
    /// longer. A launch that names no activity changes nothing.
    ///
    /// # Errors
    /// The store's error (the caller logs it; the launch goes on).
    pub async fn note_teaching(
        &self,
        user: &str,
        params: &LmsParams,
        teacher: bool,
    ) -> lticontainer_core::Result<()> {
        let Some(session) = params.session else {
            return Ok(());
        };
        if !teacher {
            return self.store.remove_taught(user, session.lti_id).await;
        }
        let title = title(params, session.lti_id);
        self.store
            .add_taught(user, TaughtActivity { session, title })
            .await
    }

    /// The activities `user` teaches, by LTI activity id.
    ///
    /// # Errors
    /// The store's error.
    pub async fn taught(&self, user: &str) -> lticontainer_core::Result<Vec<TaughtActivity>> {
        self.store.taught(user).await
    }
}

/// What a teacher knows an activity by: `<course> – <activity>` from `lms_course` and
/// `lms_ltiname` (mod_lticontainer's LTI Edit tab writes both), else `Activity <lti id>`.
fn title(params: &LmsParams, lti_id: u64) -> String {
    let names: Vec<&str> = [params.course_name.as_deref(), params.lti_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        format!("Activity {lti_id}")
    } else {
        names.join(" – ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_names_course_and_activity_or_the_id() {
        let mut p = LmsParams::default();
        assert_eq!(title(&p, 7), "Activity 7");
        p.lti_name = Some(" Jupyter ".into());
        assert_eq!(title(&p, 7), "Jupyter");
        p.course_name = Some("Data Science 101".into());
        assert_eq!(title(&p, 7), "Data Science 101 – Jupyter");
    }
}
