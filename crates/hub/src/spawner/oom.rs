//! Out of memory, told to the student: when the kernel's OOM killer kills a process in a
//! student's server (the engine's `oom` event, [`ContainerEventKind::OutOfMemory`]), the server
//! usually goes on running — the process killed is most often a notebook kernel, which Jupyter
//! restarts — and the student only sees "kernel restarting". The hub keeps routing to the
//! server, tells the student what happened (in JupyterLab's notice bar and on `/hub/home`, for
//! [`OOM_NOTICE_SECS`]), and logs it for the admin. When the server's main process was the one
//! killed, the container's end follows within [`OOM_END_WINDOW_SECS`] and the student's pages say
//! the server stopped because it ran out of memory.
//!
//! [`ContainerEventKind::OutOfMemory`]: lticontainer_core::container::ContainerEventKind::OutOfMemory

use std::sync::PoisonError;

use super::Spawner;

/// How long after the last OOM kill the running server's pages say it (seconds).
const OOM_NOTICE_SECS: u64 = 600;

/// A container that ends within this many seconds of an OOM kill in it ended for lack of memory.
const OOM_END_WINDOW_SECS: u64 = 10;

/// The last OOM kill in a user's server.
#[derive(Debug, Clone)]
pub(super) struct OutOfMemory {
    /// The container it happened in.
    container_id: String,
    /// When (unix seconds).
    at: u64,
}

impl Spawner {
    /// Records that the OOM killer killed a process in `user`'s server container `container_id`.
    pub(super) fn record_out_of_memory(&self, user: &str, container_id: &str) {
        tracing::warn!(%user, container = %container_id, "a process in the server's container was killed for lack of memory (the kernel's OOM killer); the server keeps running unless it was its main process — the student is told; raise the memory limit (lms_memlimit / spec.mem_limit) if this recurs");
        *self
            .slot(user)
            .out_of_memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(OutOfMemory {
            container_id: container_id.to_owned(),
            at: self.clock.now_secs(),
        });
    }

    /// True while `user`'s pages should tell of an OOM kill in their server container
    /// `container_id`: for [`OOM_NOTICE_SECS`] after it.
    pub(super) fn out_of_memory_recently(&self, user: &str, container_id: &str) -> bool {
        self.seconds_since_out_of_memory(user, container_id)
            .is_some_and(|ago| ago <= OOM_NOTICE_SECS)
    }

    /// The stop note for a server whose container `container_id` just ended: set when an OOM
    /// kill in it came at most [`OOM_END_WINDOW_SECS`] before.
    pub(super) fn note_if_ended_by_out_of_memory(&self, user: &str, container_id: &str) {
        if self
            .seconds_since_out_of_memory(user, container_id)
            .is_some_and(|ago| ago <= OOM_END_WINDOW_SECS)
        {
            tracing::warn!(%user, container = %container_id, "the server stopped because it ran out of memory");
            self.set_stop_note(
                user,
                Some(
                    "Your server was stopped because it ran out of memory. Your files are kept; \
                     you can start it again. Use less memory, or ask your teacher for a higher \
                     limit."
                        .to_owned(),
                ),
            );
        }
    }

    /// Seconds since the last OOM kill in `user`'s container `container_id`, if there was one.
    fn seconds_since_out_of_memory(&self, user: &str, container_id: &str) -> Option<u64> {
        let last = self
            .slot(user)
            .out_of_memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        (last.container_id == container_id).then(|| self.clock.now_secs().saturating_sub(last.at))
    }
}

/// The running server's notice, with the limit when known. The same words for as long as it
/// shows, so a student who hid it in JupyterLab's bar sees it again only for a new kill.
pub(super) fn notice_text(limit_bytes: Option<u64>) -> String {
    let limit = limit_bytes
        .map(|b| format!(" (its limit is {} MiB)", b.div_ceil(1024 * 1024)))
        .unwrap_or_default();
    format!(
        "A program in your server ran out of memory{limit} and was stopped by the system — most \
         often a notebook's kernel: JupyterLab restarts it, and what it held in memory is lost. \
         Your files are kept. Use less memory, or ask your teacher for a higher limit."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_the_limit_when_known() {
        let text = notice_text(Some(512 * 1024 * 1024));
        assert!(
            text.starts_with(
                "A program in your server ran out of memory (its limit is 512 MiB) and was \
                 stopped by the system"
            ),
            "{text}"
        );
        assert!(
            notice_text(None).starts_with("A program in your server ran out of memory and was")
        );
    }
}
