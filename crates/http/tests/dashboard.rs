//! The teachers' live dashboard: only a teacher of the activity sees it (students and another
//! activity's teachers get 403), its event stream delivers each cell a student runs as it is
//! stored, the number of open streams is bounded, a stream ends with the teacher's session, and
//! the board comes back after a restart from the store's history.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use futures_util::StreamExt;
use lticontainer_core::clock::ManualClock;
use lticontainer_core::store::{AnalyticsStore, InMemoryStore};
use serde_json::Value;

use crate::analytics::{
    AnalyticsHub, TOKEN, add_destination, analytics_hub_tuned, execute_request, open_channels,
    run_cell,
};
use crate::fake_moodle::FakeMoodle;
use crate::util::*;

/// Launches `user` from activity `lti_id` of a course whose teachers are `teachers`
/// (`lms_teachers`, as mod_lticontainer's LTI Edit tab writes it); `analytics` adds the
/// learning analytics parameters.
async fn launch_from(
    h: &AnalyticsHub,
    user: &str,
    id: u32,
    lti_id: u32,
    teachers: &str,
    moodle: Option<&FakeMoodle>,
) {
    launch_claiming(h, user, id, lti_id, lti_id, teachers, moodle).await;
}

/// As [`launch_from`], from the activity whose signed `resource_link_id` is `link_id`, with
/// an `lms_sessioninfo` naming `lti_id` (what a teacher may write in their own activity's
/// custom parameters).
async fn launch_claiming(
    h: &AnalyticsHub,
    user: &str,
    id: u32,
    link_id: u32,
    lti_id: u32,
    teachers: &str,
    moodle: Option<&FakeMoodle>,
) {
    let mut params = launch_params(user, id);
    for (k, v) in &mut params {
        if k == "resource_link_id" {
            *v = link_id.to_string();
        }
    }
    params.push(("custom_lms_teachers".into(), teachers.into()));
    if let Some(m) = moodle {
        params.push(("custom_lms_sessioninfo".to_owned(), format!("3,{lti_id}")));
        add_destination(&mut params, m, &m.server_url(), TOKEN);
    }
    let nonce = format!("n-{user}-{}", rand_suffix());
    let resp = h
        .hub
        .send(launch_request(signed_body(params, now(), &nonce)))
        .await;
    assert_status(&resp, StatusCode::FOUND);
    assert!(h.hub.wait_spawn(user).await.ready);
}

/// An open event stream, read event by event.
struct Events {
    body: axum::body::BodyDataStream,
    buf: String,
}

impl Events {
    async fn open(h: &AnalyticsHub, user: &str, lti_id: u32) -> Self {
        let resp = h
            .hub
            .send(
                h.hub
                    .get_as(&format!("/hub/dashboard/{lti_id}/events"), Some(user)),
            )
            .await;
        assert_status(&resp, StatusCode::OK);
        assert_eq!(header_str(&resp, header::CONTENT_TYPE), "text/event-stream");
        Self::from(resp)
    }

    fn from(resp: Response<Body>) -> Self {
        Self {
            body: resp.into_body().into_data_stream(),
            buf: String::new(),
        }
    }

    /// The next event's name and data; `None` when the stream ended.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        v.clone_into(&mut name);
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if block.lines().all(|l| l.starts_with(':')) {
                    continue; // keep-alive
                }
                return Some((name, data));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.body.next())
                .await
                .expect("an event within 5 s")?
                .unwrap();
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn expect(&mut self, name: &str) -> Value {
        let (n, data) = self.next().await.expect("the stream goes on");
        assert_eq!(n, name, "{data}");
        serde_json::from_str(&data).unwrap()
    }
}

async fn get(h: &AnalyticsHub, path: &str, user: &str) -> Response<Body> {
    h.hub.send(h.hub.get_as(path, Some(user))).await
}

/// A hub with analytics over `outbox` where tina teaches activity 76 and amy is her student
/// there, otto teaches activity 77; all launched.
async fn class(
    moodle: &FakeMoodle,
    outbox: Arc<dyn AnalyticsStore>,
    adjust: impl FnOnce(&mut lticontainer_http::state::AppParts),
) -> AnalyticsHub {
    let h = analytics_hub_tuned(outbox, adjust).await;
    launch_from(&h, "tina", 201, 76, "tina,tom", Some(moodle)).await;
    launch_from(&h, "amy", 202, 76, "tina,tom", Some(moodle)).await;
    launch_from(&h, "otto", 203, 77, "otto", Some(moodle)).await;
    h
}

#[tokio::test]
async fn only_the_activitys_teachers_see_it_and_it_updates_live() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let outbox: Arc<dyn AnalyticsStore> = Arc::new(InMemoryStore::new());
    let h = class(&moodle, Arc::clone(&outbox), |_| {}).await;

    let resp = get(&h, "/hub/dashboard", "tina").await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(header_str(&resp, header::LOCATION), "/hub/dashboard/76");
    let resp = get(&h, "/hub/dashboard/76", "tina").await;
    assert_status(&resp, StatusCode::OK);
    let csp = header_str(&resp, header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors"),
        "{csp}"
    );
    let page = body_string(resp).await;
    assert!(page.contains("/hub/dashboard/76/events") && page.contains("/hub/static/dashboard.js"));
    assert!(!page.contains("<script>"), "no inline script");
    let js = get(&h, "/hub/static/dashboard.js", "tina").await;
    assert_status(&js, StatusCode::OK);
    assert!(body_string(js).await.contains("EventSource"));

    // A student, and a teacher of another activity: 403, the page and the stream alike.
    for (user, path) in [
        ("amy", "/hub/dashboard"),
        ("amy", "/hub/dashboard/76"),
        ("amy", "/hub/dashboard/76/events"),
        ("otto", "/hub/dashboard/76"),
        ("otto", "/hub/dashboard/76/events"),
    ] {
        let resp = get(&h, path, user).await;
        assert_status(&resp, StatusCode::FORBIDDEN);
        assert!(
            body_string(resp).await.contains("teachers only"),
            "{user} {path}"
        );
    }
    let resp = get(&h, "/hub/dashboard", "otto").await;
    assert_eq!(header_str(&resp, header::LOCATION), "/hub/dashboard/77");
    let resp = h.hub.send(h.hub.get_as("/hub/dashboard/76", None)).await;
    assert_status(&resp, StatusCode::UNAUTHORIZED);

    let mut tina = Events::open(&h, "tina", 76).await;
    let mut otto = Events::open(&h, "otto", 77).await;
    assert_eq!(
        tina.expect("board").await["students"],
        serde_json::json!([])
    );
    otto.expect("board").await;

    let mut ws = open_channels(&h, "amy", "sess-amy", true).await;
    let ok = execute_request("sess-amy", "m1", "c1", 1, "x = 1");
    assert_eq!(run_cell(&mut ws, true, &ok).await, "ok");
    let run = tina.expect("run").await;
    assert_eq!(
        (
            &run["user"],
            &run["codenum"],
            &run["filename"],
            &run["status"]
        ),
        (
            &"amy".into(),
            &"1".into(),
            &"ex1.ipynb".into(),
            &"ok".into()
        )
    );
    let bad = execute_request("sess-amy", "m2", "c2", 2, "raise ValueError()");
    assert_eq!(run_cell(&mut ws, true, &bad).await, "error");
    let run = tina.expect("run").await;
    assert_eq!(
        (&run["codenum"], &run["status"]),
        (&"2".into(), &"error".into())
    );
    assert!(run.get("course").is_none(), "{run}");

    // The other activity's teacher got nothing of it.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), otto.next())
            .await
            .is_err(),
        "nothing for activity 77"
    );

    // A teacher by name who never launched has no launch to show it: 403.
    let resp = get(&h, "/hub/dashboard/76/events", "tom").await;
    assert_status(&resp, StatusCode::FORBIDDEN);
    // A new stream starts from the board as it is.
    let mut again = Events::open(&h, "tina", 76).await;
    let view = again.expect("board").await;
    let amy = &view["students"][0];
    assert_eq!(amy["user"], "amy");
    let cells: Vec<(String, u64, u64, String)> = amy["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0]["codenum"].as_str().unwrap().to_owned(),
                c[1]["ok"].as_u64().unwrap(),
                c[1]["error"].as_u64().unwrap(),
                c[1]["last"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("1".into(), 1, 0, "ok".into()),
            ("2".into(), 0, 1, "error".into())
        ]
    );
    assert_eq!(amy["steps"].as_array().unwrap().len(), 2);
    drop(ws);
    drop((tina, otto, again));

    // After a restart the board comes back from the store's history.
    let h2 = analytics_hub_tuned(outbox, |_| {}).await;
    launch_from(&h2, "tina", 201, 76, "tina", Some(&moodle)).await;
    let mut after = Events::open(&h2, "tina", 76).await;
    let view = after.expect("board").await;
    assert_eq!(view["students"][0]["user"], "amy");
    assert_eq!(view["feed"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_teacher_of_one_activity_cannot_claim_anothers_dashboard_by_its_sessioninfo() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = class(&moodle, Arc::new(InMemoryStore::new()), |_| {}).await;
    // otto teaches activity 77 and writes activity 76's ids into its custom parameters.
    launch_claiming(&h, "otto", 203, 77, 76, "otto", Some(&moodle)).await;
    for path in ["/hub/dashboard/76", "/hub/dashboard/76/events"] {
        assert_status(&get(&h, path, "otto").await, StatusCode::FORBIDDEN);
    }
    // What 76's teacher sees is still hers only; otto keeps his own 77 from before.
    assert_status(&get(&h, "/hub/dashboard/76", "tina").await, StatusCode::OK);
    let resp = get(&h, "/hub/dashboard", "otto").await;
    assert_eq!(header_str(&resp, header::LOCATION), "/hub/dashboard/77");
}

#[tokio::test]
async fn a_teacher_without_analytics_parameters_gets_a_page_not_a_dashboard() {
    let h = analytics_hub_tuned(Arc::new(InMemoryStore::new()), |_| {}).await;
    launch_from(&h, "tess", 301, 80, "tess", None).await;
    let resp = get(&h, "/hub/dashboard", "tess").await;
    assert_status(&resp, StatusCode::NOT_FOUND);
    assert!(body_string(resp).await.contains("lms_sessioninfo"));
}

#[tokio::test]
async fn open_streams_are_bounded_per_teacher() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let h = class(&moodle, Arc::new(InMemoryStore::new()), |_| {}).await;
    let mut open = Vec::new();
    for _ in 0..lticontainer_hub::analytics::watchers::MAX_PER_TEACHER {
        open.push(Events::open(&h, "tina", 76).await);
    }
    let resp = get(&h, "/hub/dashboard/76/events", "tina").await;
    assert_status(&resp, StatusCode::SERVICE_UNAVAILABLE);
    // Another teacher is not held back by tina's tabs.
    Events::open(&h, "otto", 77).await;
    // A closed tab frees its place.
    open.pop();
    Events::open(&h, "tina", 76).await;
}

#[tokio::test]
async fn the_stream_ends_with_the_teachers_session() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let clock = Arc::new(ManualClock::new(now()));
    let c = Arc::clone(&clock);
    let h = class(&moodle, Arc::new(InMemoryStore::new()), move |p| {
        p.clock = c
    })
    .await;
    let mut tina = Events::open(&h, "tina", 76).await;
    tina.expect("board").await;
    let mut ws = open_channels(&h, "amy", "sess-x", false).await;
    // The cookie (util's, valid for an hour) expires; the next execution ends the stream.
    clock.advance(3601);
    let req = execute_request("sess-x", "m1", "c1", 1, "x = 1");
    assert_eq!(run_cell(&mut ws, false, &req).await, "ok");
    let (name, data) = tina.next().await.expect("an end event");
    assert_eq!(name, "end");
    assert!(data.contains("session ended"), "{data}");
    assert!(tina.next().await.is_none(), "then the stream is over");
}

#[tokio::test]
async fn a_teacher_of_two_activities_reaches_both_from_home_also_after_a_restart() {
    let moodle = FakeMoodle::start(TOKEN).await;
    let outbox: Arc<dyn AnalyticsStore> = Arc::new(InMemoryStore::new());
    let h = class(&moodle, Arc::clone(&outbox), |_| {}).await;
    // tina also teaches activity 78 (the latest launch), where amy is her student too.
    launch_from(&h, "tina", 201, 78, "tina", Some(&moodle)).await;
    launch_from(&h, "amy", 202, 78, "tina", Some(&moodle)).await;

    let home = body_string(get(&h, "/hub/home", "tina").await).await;
    assert!(
        home.contains("id=\"dashboard\" href=\"/hub/dashboard\""),
        "{home}"
    );
    let home = body_string(get(&h, "/hub/home", "amy").await).await;
    assert!(
        !home.contains("/hub/dashboard"),
        "no link for a student: {home}"
    );

    let resp = get(&h, "/hub/dashboard", "tina").await;
    assert_status(&resp, StatusCode::OK);
    let index = body_string(resp).await;
    for id in [76, 78] {
        assert!(
            index.contains(&format!("href=\"/hub/dashboard/{id}\"")),
            "{index}"
        );
        assert_status(
            &get(&h, &format!("/hub/dashboard/{id}"), "tina").await,
            StatusCode::OK,
        );
        Events::open(&h, "tina", id).await.expect("board").await;
    }
    assert!(!index.contains("/hub/dashboard/77"), "{index}");
    // Still each activity's own: otto teaches 77 only, amy none.
    assert_status(
        &get(&h, "/hub/dashboard/78", "otto").await,
        StatusCode::FORBIDDEN,
    );
    assert_status(
        &get(&h, "/hub/dashboard", "amy").await,
        StatusCode::FORBIDDEN,
    );

    // After a restart (a new hub over the same analytics store, no launch since) both stay.
    drop(h);
    let h2 = analytics_hub_tuned(Arc::clone(&outbox), |_| {}).await;
    let resp = get(&h2, "/hub/dashboard", "tina").await;
    assert_status(&resp, StatusCode::OK);
    let index = body_string(resp).await;
    assert!(
        index.contains("/hub/dashboard/76") && index.contains("/hub/dashboard/78"),
        "{index}"
    );
    Events::open(&h2, "tina", 76).await.expect("board").await;

    // A launch from 76 that no longer names tina a teacher takes that dashboard away, not 78's.
    launch_from(&h2, "tina", 201, 76, "tom", Some(&moodle)).await;
    assert_status(
        &get(&h2, "/hub/dashboard/76", "tina").await,
        StatusCode::FORBIDDEN,
    );
    let resp = get(&h2, "/hub/dashboard", "tina").await;
    assert_status(&resp, StatusCode::FOUND);
    assert_eq!(header_str(&resp, header::LOCATION), "/hub/dashboard/78");
    let home = body_string(get(&h2, "/hub/home", "tina").await).await;
    assert!(home.contains("id=\"dashboard\""), "{home}");
}
