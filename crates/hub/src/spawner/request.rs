//! [`SpawnRequest`]: a verified launch with its `lms_*` parameters read once.

use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::LmsParams;

/// What a spawn starts from: the launch and its `custom_lms_*` parameters, read once (the launch
/// handler needs `lms_iframe` before the spawn; the spawn needs the rest).
#[derive(Debug, Clone)]
pub struct SpawnRequest {
    launch: LtiLaunch,
    params: LmsParams,
}

impl SpawnRequest {
    /// Reads the launch's parameters; each warning (a value dropped or corrected) goes to the
    /// admin's log with the user's name.
    pub fn new(launch: LtiLaunch) -> Self {
        let (params, warnings) = LmsParams::from_launch(&launch);
        for w in &warnings {
            tracing::warn!(user = %launch.username, warning = %w, "launch parameter");
        }
        Self { launch, params }
    }

    /// The hub user the server is for.
    pub fn user(&self) -> &str {
        &self.launch.username
    }

    /// The verified launch.
    pub fn launch(&self) -> &LtiLaunch {
        &self.launch
    }

    /// Its `lms_*` parameters.
    pub fn params(&self) -> &LmsParams {
        &self.params
    }
}
