//! [`SpawnFailure`]: why a spawn failed, in words for the student and for the admin.

use lticontainer_core::Error;

/// Why a spawn failed: what the student reads, and what the admin's log gets.
#[derive(Debug)]
pub(crate) struct SpawnFailure {
    /// For the student's page.
    pub(crate) student: String,
    /// For the admin's log: the cause.
    pub(crate) admin: String,
    /// Set when the hub may fix the cause itself by starting again (on another port).
    pub(crate) retry: Option<Retry>,
}

/// A cause the hub may fix itself by starting the server once more (on a fresh port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Something else took the server's port before the server could listen on it.
    PortTaken,
    /// The engine did not answer (a refused or reset connection, a request that timed out):
    /// often a moment's hiccup (a restarting daemon, a burst of load); tried again after a pause.
    EngineUnavailable,
}

impl SpawnFailure {
    pub(crate) fn new(student: impl Into<String>, admin: impl Into<String>) -> Self {
        Self {
            student: student.into(),
            admin: admin.into(),
            retry: None,
        }
    }

    /// The same failure, with the container's last log lines for the admin; a server that died
    /// because its port was taken (Jupyter Server: "port … is not available"; others:
    /// "Address already in use") is marked for a retry on another port.
    pub(crate) fn with_logs(self, container_id: &str, logs: &str) -> Self {
        let port_taken = (logs.contains("port") && logs.contains("is not available"))
            || logs.contains("Address already in use");
        Self {
            admin: format!("{}; last log lines of {container_id}:\n{logs}", self.admin),
            retry: self.retry.or(port_taken.then_some(Retry::PortTaken)),
            ..self
        }
    }

    pub(crate) fn engine(step: &str, e: &Error) -> Self {
        let student = match e {
            Error::Unavailable { .. } => format!(
                "The container engine is not reachable, so your server could not start ({step}). \
                 Please try again in a few minutes; if it keeps failing, tell your teacher."
            ),
            // What is missing (an image name, the engine's reason) goes to the admin's log only:
            // it can carry registry and resolver details that mean nothing to a student.
            Error::NotFound { .. } => format!(
                "Your server could not start: something this activity needs is missing on the hub \
                 ({step}). Please tell your teacher; the hub's log names what is missing."
            ),
            _ => format!(
                "Your server could not start ({step}). Please try again; if it keeps failing, tell your teacher."
            ),
        };
        Self {
            retry: matches!(e, Error::Unavailable { .. }).then_some(Retry::EngineUnavailable),
            ..Self::new(student, format!("{step}: {e}{}", source_suffix(e)))
        }
    }
}

impl SpawnFailure {
    /// A start that failed with `e` after the engine's scheduler reported its task failed for
    /// `reason` (a Swarm task's error): the student reads the reason (shortened), the admin
    /// the error as [`Self::engine`] gives it.
    pub(crate) fn task(step: &str, e: &Error, reason: &str) -> Self {
        const MAX: usize = 300;
        let short = match reason.char_indices().nth(MAX) {
            Some((at, _)) => format!("{}…", &reason[..at]),
            None => reason.to_owned(),
        };
        Self {
            student: format!(
                "Your server could not start ({step}): the cluster reported \"{short}\". \
                 Please try again; if it keeps failing, tell your teacher."
            ),
            ..Self::engine(step, e)
        }
    }
}

fn source_suffix(e: &Error) -> String {
    std::error::Error::source(e).map_or_else(String::new, |s| format!(": {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_image_tells_the_student_to_ask_and_the_admin_what() {
        let e = Error::not_found(
            "image \"ghcr.io/x/y:latest\" is not present and pulling it failed: lookup ghcr.io on 10.0.0.53:53",
        );
        let f = SpawnFailure::engine("getting the image", &e);
        assert!(f.student.contains("tell your teacher"), "{}", f.student);
        assert!(f.student.contains("getting the image"), "{}", f.student);
        assert!(!f.student.contains("10.0.0.53"), "{}", f.student);
        assert!(!f.student.contains("ghcr.io"), "{}", f.student);
        assert!(f.admin.contains("ghcr.io/x/y:latest"), "{}", f.admin);
        assert!(f.admin.contains("getting the image"), "{}", f.admin);
    }

    #[test]
    fn an_unreachable_engine_says_try_again() {
        let e = Error::unavailable("docker", "no Docker socket at /var/run/docker.sock");
        let f = SpawnFailure::engine("starting the container", &e);
        assert!(f.student.contains("try again"), "{}", f.student);
        assert!(!f.student.contains("/var/run"), "{}", f.student);
        assert!(f.admin.contains("/var/run/docker.sock"), "{}", f.admin);
    }

    #[test]
    fn a_server_whose_port_was_taken_is_marked_for_a_retry() {
        let died =
            || SpawnFailure::new("stopped", "container c1 exited before its server answered");
        let jupyter = "[C ServerApp] ERROR: the Jupyter server could not be started because port 20010 is not available.";
        let f = died().with_logs("c1", jupyter);
        assert_eq!(f.retry, Some(Retry::PortTaken));
        assert!(
            f.admin.contains("port 20010 is not available"),
            "{}",
            f.admin
        );
        assert_eq!(
            died()
                .with_logs("c1", "OSError: [Errno 98] Address already in use")
                .retry,
            Some(Retry::PortTaken)
        );
        assert_eq!(
            died()
                .with_logs("c1", "ImportError: no module named x")
                .retry,
            None
        );
    }
}
