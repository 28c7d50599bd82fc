//! The launch the store keeps of each user ([`launch_to_json`], [`launch_from_json`]) and the
//! start of a server from it without a new launch ([`start_last_launch`]): the hub's pages and
//! the admin API start servers that way.

use std::sync::Arc;

use lticontainer_core::launch::{DEFAULT_USERNAME_KEY, LtiLaunch};
use lticontainer_core::store::Store;
use lticontainer_hub::spawner::{SpawnRequest, Spawner};
use serde_json::json;

/// Starts `name`'s server with the parameters of their last launch (or joins the spawn under
/// way, or finds the server running): the one way the hub's pages and the admin API start a
/// server without a new launch. `None` when the hub has no usable launch of theirs.
///
/// # Errors
/// The store cannot be read.
pub(crate) async fn start_last_launch(
    spawner: &Arc<Spawner>,
    store: &dyn Store,
    name: &str,
) -> Result<Option<lticontainer_hub::progress::SpawnProgress>, lticontainer_core::Error> {
    let user = store.user(name).await?;
    let Some(launch) = user
        .and_then(|u| u.last_launch)
        .as_ref()
        .and_then(launch_from_json)
    else {
        return Ok(None);
    };
    Ok(Some(spawner.request(SpawnRequest::new(launch)).await))
}

/// Launch parameters that are secrets of the LMS and not stored with the launch: `lms_rpctoken`
/// is a Moodle web-service token, kept only as the user's analytics target
/// (`lticontainer_hub::analytics`), for delivery.
const NOT_STORED: [&str; 1] = ["custom_lms_rpctoken"];

/// What the store keeps of a launch: enough to spawn again with the same parameters, without
/// the LMS's secrets ([`NOT_STORED`]).
pub(crate) fn launch_to_json(launch: &LtiLaunch) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> = launch
        .params
        .iter()
        .filter(|(k, _)| !NOT_STORED.contains(k))
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect();
    json!({
        "consumer_key": launch.consumer_key,
        "username": launch.username,
        "lms_login": launch.lms_login,
        "params": params,
    })
}

/// Rebuilds a launch stored by [`launch_to_json`]; `None` when the record is unusable.
pub(crate) fn launch_from_json(value: &serde_json::Value) -> Option<LtiLaunch> {
    let consumer = value.get("consumer_key")?.as_str()?;
    let username = value.get("username")?.as_str()?;
    let params: Vec<(String, String)> = value
        .get("params")?
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    let mut launch = LtiLaunch::from_params(consumer, &params, DEFAULT_USERNAME_KEY).ok()?;
    launch.username = username.to_owned();
    if let Some(login) = value.get("lms_login") {
        launch.lms_login = login.as_str().map(str::to_owned);
    }
    Some(launch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn launch() -> LtiLaunch {
        let params: Vec<(String, String)> = [
            ("user_id", "17"),
            ("resource_link_id", "r1"),
            ("ext_user_username", "Alice"),
            ("custom_lms_defurl", "/tree"),
            ("oauth_nonce", "n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).unwrap()
    }

    #[test]
    fn stored_launch_round_trips() {
        let l = launch();
        let back = launch_from_json(&launch_to_json(&l)).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.username, "alice");
        assert_eq!(back.lms_login.as_deref(), Some("alice"));
        assert!(
            !back.params.contains_key("oauth_nonce"),
            "OAuth parameters are never stored"
        );
    }

    #[test]
    fn the_lms_web_service_token_is_not_stored() {
        let mut params: Vec<(String, String)> = launch()
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        params.push(("custom_lms_rpctoken".into(), "0123456789abcdef".into()));
        let l = LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).unwrap();
        let stored = launch_to_json(&l).to_string();
        assert!(!stored.contains("0123456789abcdef"), "{stored}");
        assert!(!stored.contains("rpctoken"), "{stored}");
        let back = launch_from_json(&launch_to_json(&l)).unwrap();
        assert_eq!(back.params.get("custom_lms_defurl"), Some("/tree"));
    }

    #[test]
    fn unusable_stored_launch_is_none() {
        for v in [
            json!(null),
            json!({"consumer_key": "k", "username": "a"}),
            json!({"consumer_key": "k", "username": "a", "params": {"resource_link_id": "r"}}),
        ] {
            assert!(launch_from_json(&v).is_none(), "{v}");
        }
    }
}
