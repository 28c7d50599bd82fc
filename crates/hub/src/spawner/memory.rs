//! What a student's pages say about their running server's memory ([`Spawner::memory_notices`]):
//! an OOM kill in it lately ([`super::oom`]) and use near the limit (`hub.memory_warn_percent`),
//! from one read of the engine's figures
//! ([`Runtime::memory_usage`](lticontainer_core::Runtime::memory_usage)) when a page asks.

use lticontainer_core::container::MemoryUsage;

use super::Spawner;
use super::oom::notice_text;

/// What `user`'s pages say about their running server's memory; both `None` when there is
/// nothing to say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryNotices {
    /// A process in the server was killed for lack of memory in the last ten minutes.
    pub out_of_memory: Option<String>,
    /// The server's memory use has reached `hub.memory_warn_percent` of its limit.
    pub near_limit: Option<String>,
}

impl Spawner {
    /// What `user`'s running server's memory calls for telling them: an OOM kill in it lately
    /// (with the limit when the engine tells it) and use at or above `hub.memory_warn_percent`
    /// of its limit (unless that warning is off). The engine is asked once, and only when either
    /// could be said; when it cannot answer (logged), the kill is still told, without the limit.
    pub async fn memory_notices(&self, user: &str) -> MemoryNotices {
        let Some(server) = self.running(user) else {
            return MemoryNotices::default();
        };
        let killed = self.out_of_memory_recently(user, &server.container_id);
        let threshold = u64::from(self.hub.memory_warn_percent);
        if !killed && threshold == 0 {
            return MemoryNotices::default();
        }
        let usage = match self.runtime.memory_usage(&server.container_id).await {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::debug!(%user, container = %server.container_id, error = %e, "cannot read the server's memory use");
                None
            }
        };
        MemoryNotices {
            out_of_memory: killed.then(|| notice_text(usage.and_then(|u| u.limit_bytes))),
            near_limit: usage
                .filter(|u| threshold > 0 && u.percent().is_some_and(|p| p >= threshold))
                .map(memory_text),
        }
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
