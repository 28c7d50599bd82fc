//! Memory near the limit, told to the student: [`Spawner::memory_warning`] reads the running
//! server's memory use from the engine ([`Runtime::memory_usage`](lticontainer_core::Runtime::memory_usage))
//! when a student's page asks, and words a warning from `hub.memory_warn_percent` of the limit.

use lticontainer_core::container::MemoryUsage;

use super::Spawner;

impl Spawner {
    /// The warning for `user`'s running server when its memory use has reached
    /// `hub.memory_warn_percent` of its limit; `None` when it has not, when no server runs, when
    /// the warning is off or the engine cannot say (logged).
    pub async fn memory_warning(&self, user: &str) -> Option<String> {
        let threshold = u64::from(self.hub.memory_warn_percent);
        if threshold == 0 {
            return None;
        }
        let server = self.running(user)?;
        let usage = match self.runtime.memory_usage(&server.container_id).await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(%user, container = %server.container_id, error = %e, "cannot read the server's memory use");
                return None;
            }
        };
        (usage.percent()? >= threshold).then(|| memory_text(usage))
    }
}

/// What the student reads when memory runs short.
fn memory_text(usage: MemoryUsage) -> String {
    let mib = |b: u64| b.div_ceil(1024 * 1024);
    format!(
        "Your server uses {}% of its memory ({} of {} MiB). Save your work; free memory by \
         shutting down kernels you no longer need. When memory runs out, the kernel is restarted \
         and results not saved are lost.",
        usage.percent().unwrap_or_default(),
        mib(usage.used_bytes),
        mib(usage.limit_bytes.unwrap_or_default())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_the_share_and_the_sizes() {
        let text = memory_text(MemoryUsage {
            used_bytes: 243 * 1024 * 1024,
            limit_bytes: Some(256 * 1024 * 1024),
        });
        assert!(
            text.starts_with("Your server uses 94% of its memory (243 of 256 MiB)."),
            "{text}"
        );
    }
}
