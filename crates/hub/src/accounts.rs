//! Which LMS user a hub account belongs to.
//!
//! A hub account (its name, home directory, server and files) is bound to the consumer key and
//! the LMS `user_id` of the launch that created it. Usernames are normalised (trimmed,
//! lower-cased), so `RT4IU4A`, `Rt4iu4a` and `" rt4iu4a\t"` all name one account; a launch that
//! names it with another LMS identity is refused instead of being let into someone else's work.

use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::store::UserRecord;

/// A launch claimed a hub account that belongs to another LMS user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the launch of LMS user {user_id:?} (consumer {consumer:?}) names the hub account {username:?}, \
     which belongs to LMS user {owner_user_id:?} (consumer {owner_consumer:?}); refused. Two LMS \
     accounts whose usernames differ only in case or spaces, or two LMS sites with one consumer \
     each, map to one hub name: rename one, or delete the hub user (DELETE /hub/api/users/<name>) \
     if the account really changed hands"
)]
pub struct AccountConflict {
    /// The hub account.
    pub username: String,
    /// The `user_id` the launch carried.
    pub user_id: String,
    /// The consumer key of the launch.
    pub consumer: String,
    /// The `user_id` the account is bound to.
    pub owner_user_id: String,
    /// The consumer key the account is bound to.
    pub owner_consumer: String,
}

/// Succeeds when `launch` may use the hub account `existing` (its record, if there is one): no
/// account yet, an account not bound to anyone (a record without a `user_id`), or one bound to
/// the launch's consumer and `user_id`.
///
/// # Errors
/// [`AccountConflict`] when the account is bound to another LMS user.
pub fn check_owner(
    existing: Option<&UserRecord>,
    launch: &LtiLaunch,
) -> Result<(), AccountConflict> {
    let Some(rec) = existing else { return Ok(()) };
    if rec.lti_user_id.is_empty()
        || (rec.lti_user_id == launch.user_id && rec.consumer_key == launch.consumer_key)
    {
        return Ok(());
    }
    Err(AccountConflict {
        username: launch.username.clone(),
        user_id: launch.user_id.clone(),
        consumer: launch.consumer_key.clone(),
        owner_user_id: rec.lti_user_id.clone(),
        owner_consumer: rec.consumer_key.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use lticontainer_core::launch::DEFAULT_USERNAME_KEY;

    use super::*;

    fn launch(consumer: &str, username: &str, user_id: &str) -> LtiLaunch {
        let params: Vec<(String, String)> = [
            ("user_id", user_id),
            ("ext_user_username", username),
            ("resource_link_id", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        LtiLaunch::from_params(consumer, &params, DEFAULT_USERNAME_KEY).expect("a launch")
    }

    fn record(consumer: &str, user_id: &str) -> UserRecord {
        UserRecord {
            name: "rt4iu4a".into(),
            lti_user_id: user_id.into(),
            consumer_key: consumer.into(),
            is_admin: false,
            last_launch: None,
            created: SystemTime::UNIX_EPOCH,
            last_activity: None,
        }
    }

    #[test]
    fn the_owner_and_new_accounts_pass() {
        let owner = record("moodle", "17");
        assert!(check_owner(None, &launch("moodle", "rt4iu4a", "17")).is_ok());
        assert!(check_owner(Some(&owner), &launch("moodle", "RT4IU4A", "17")).is_ok());
        assert!(
            check_owner(
                Some(&record("moodle", "")),
                &launch("moodle", "rt4iu4a", "9")
            )
            .is_ok()
        );
    }

    #[test]
    fn another_identity_with_the_same_name_is_refused() {
        let owner = record("moodle", "17");
        for other in [
            launch("moodle", "RT4IU4A", "18"),
            launch("moodle", "Rt4iu4a", "19"),
            launch("moodle", "  rt4iu4a\t", "20"),
            launch("other-moodle", "rt4iu4a", "17"),
        ] {
            let e = check_owner(Some(&owner), &other).expect_err("refused");
            assert_eq!(e.owner_user_id, "17");
            assert!(e.to_string().contains("belongs to LMS user \"17\""), "{e}");
        }
    }
}
