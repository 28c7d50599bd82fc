//! The spawn plan of a launch, and which image it may run: the default image, one matching
//! `spec.allowed_images` (pulled when missing), or, with `spec.allow_local_images` (the default),
//! any image the engine already has locally — what mod_lticontainer's LTI Edit tab offers a
//! teacher, the images an admin put on the container host. Such an image is never pulled (see
//! `get_image`), so a launch cannot make the hub fetch an image from anywhere.

use lticontainer_core::spec::{SpawnPlan, SpecError, build_spawn_plan};

use super::failure::SpawnFailure;
use super::{SpawnRequest, SpawnStep, Spawner};

impl Spawner {
    /// The spawn plan for `request` on `port`; its warnings go to the admin's log.
    pub(super) async fn plan(
        &self,
        request: &SpawnRequest,
        port: u16,
    ) -> Result<SpawnPlan, SpawnFailure> {
        let user = request.user();
        let build = |allow_also: Option<&str>| {
            let extended;
            let cfg = match allow_also {
                Some(image) => {
                    let mut cfg = lticontainer_core::spec::SpecConfig::clone(&self.spec);
                    cfg.allowed_images.push(image.to_owned());
                    extended = cfg;
                    &extended
                }
                None => &self.spec,
            };
            build_spawn_plan(
                cfg,
                request.launch(),
                request.params(),
                self.identity.as_ref(),
                self.clock.now_unix(),
                port,
            )
        };
        let planned = match build(None) {
            Err(SpecError::ImageNotAllowed { image, .. }) if self.spec.allow_local_images => {
                match self.runtime.has_image(&image).await {
                    Ok(true) => {
                        tracing::info!(%user, %image, "lms_image is not on allowed_images, but the engine has it locally: using it without pulling (spec.allow_local_images)");
                        build(Some(&image)).map_err(|e| e.to_string())
                    }
                    Ok(false) => build(None)
                        .map_err(|e| format!("{e} (nor does the engine have it locally)")),
                    Err(e) => {
                        return Err(SpawnFailure::engine(
                            "checking whether the engine has the launch's image",
                            &e,
                        ));
                    }
                }
            }
            other => other.map_err(|e| e.to_string()),
        };
        let plan = planned.map_err(refused)?;
        for w in &plan.warnings {
            tracing::warn!(%user, warning = %w, "container spec");
        }
        Ok(plan)
    }
}

/// The failure of a launch whose settings the configuration refuses; `why` for the admin.
fn refused(why: String) -> SpawnFailure {
    SpawnFailure::new(
        "The settings of this activity ask for something the hub does not allow, so no server was started. Please tell your teacher.",
        format!("{}: {why}", SpawnStep::Planning.admin_text()),
    )
}
