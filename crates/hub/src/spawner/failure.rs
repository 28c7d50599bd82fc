//! [`SpawnFailure`]: why a spawn failed, in words for the student and for the admin.

use lticontainer_core::Error;

/// Why a spawn failed: what the student reads, and what the admin's log gets.
#[derive(Debug)]
pub(crate) struct SpawnFailure {
    /// For the student's page.
    pub(crate) student: String,
    /// For the admin's log: the cause.
    pub(crate) admin: String,
}

impl SpawnFailure {
    pub(crate) fn new(student: impl Into<String>, admin: impl Into<String>) -> Self {
        Self {
            student: student.into(),
            admin: admin.into(),
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
        Self::new(student, format!("{step}: {e}{}", source_suffix(e)))
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
}
