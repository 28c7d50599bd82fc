//! The public launch URL: configured base first, forwarded headers only from trusted proxies.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use lticontainer_core::auth::{
    IpCidr, LaunchError, PublicUrlConfig, RequestOrigin, public_launch_url,
};

const PATH: &str = "/hub/lti/launch?course=1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn origin(peer: &str) -> RequestOrigin<'static> {
    RequestOrigin {
        peer: ip(peer),
        tls: false,
        host: Some("127.0.0.1:8000"),
        forwarded_proto: Some("https"),
        forwarded_host: Some("hub.school.edu"),
        path_and_query: PATH,
    }
}

fn proxies(list: &[&str]) -> PublicUrlConfig {
    list.iter().fold(PublicUrlConfig::default(), |c, p| {
        c.with_trusted_proxy(p.parse::<IpCidr>().unwrap())
    })
}

#[test]
fn configured_base_url_wins_over_every_header() {
    let config = proxies(&["10.0.0.0/8"]).with_base_url("https://school.edu/jupyter/");
    for peer in ["10.0.0.1", "203.0.113.9"] {
        assert_eq!(
            public_launch_url(&config, &origin(peer)).unwrap(),
            "https://school.edu/jupyter/hub/lti/launch?course=1"
        );
    }
}

#[test]
fn forwarded_headers_count_from_a_trusted_proxy() {
    let config = proxies(&["10.0.0.0/8", "::1"]);
    assert_eq!(
        public_launch_url(&config, &origin("10.1.2.3")).unwrap(),
        "https://hub.school.edu/hub/lti/launch?course=1"
    );
    assert_eq!(
        public_launch_url(&config, &origin("::1")).unwrap(),
        "https://hub.school.edu/hub/lti/launch?course=1"
    );
    assert_eq!(
        public_launch_url(&config, &origin("::ffff:10.9.9.9")).unwrap(),
        "https://hub.school.edu/hub/lti/launch?course=1"
    );
}

#[test]
fn forwarded_headers_from_anyone_else_are_ignored() {
    let config = proxies(&["10.0.0.0/8"]);
    assert_eq!(
        public_launch_url(&config, &origin("203.0.113.9")).unwrap(),
        "http://127.0.0.1:8000/hub/lti/launch?course=1"
    );
    // No trusted proxies at all: the headers never count.
    assert_eq!(
        public_launch_url(&PublicUrlConfig::default(), &origin("10.0.0.1")).unwrap(),
        "http://127.0.0.1:8000/hub/lti/launch?course=1"
    );
}

#[test]
fn hub_terminating_tls_itself_is_https() {
    let mut o = origin("203.0.113.9");
    o.tls = true;
    o.host = Some("hub.school.edu");
    assert_eq!(
        public_launch_url(&PublicUrlConfig::default(), &o).unwrap(),
        "https://hub.school.edu/hub/lti/launch?course=1"
    );
}

#[test]
fn chained_proxies_use_the_first_value_and_missing_headers_fall_back() {
    let config = proxies(&["10.0.0.0/8"]);
    let mut o = origin("10.0.0.1");
    o.forwarded_proto = Some("https, http");
    o.forwarded_host = Some("hub.school.edu:8443, internal:80");
    assert_eq!(
        public_launch_url(&config, &o).unwrap(),
        "https://hub.school.edu:8443/hub/lti/launch?course=1"
    );
    o.forwarded_proto = None;
    o.forwarded_host = None;
    assert_eq!(
        public_launch_url(&config, &o).unwrap(),
        "http://127.0.0.1:8000/hub/lti/launch?course=1"
    );
    o.forwarded_proto = Some("HTTPS");
    assert_eq!(
        public_launch_url(&config, &o).unwrap(),
        "https://127.0.0.1:8000/hub/lti/launch?course=1"
    );
}

#[test]
fn bad_inputs_are_malformed() {
    let config = proxies(&["10.0.0.0/8"]);
    let mut o = origin("10.0.0.1");
    o.forwarded_proto = Some("gopher");
    let err = public_launch_url(&config, &o).unwrap_err();
    assert!(
        matches!(err, LaunchError::Malformed { .. }) && err.to_string().contains("gopher"),
        "{err}"
    );

    let mut o = origin("203.0.113.9");
    o.host = None;
    let err = public_launch_url(&config, &o).unwrap_err();
    assert!(err.to_string().contains("base_url"), "{err}");

    for host in ["evil.com/x?", "a b", "user@host", ""] {
        let mut o = origin("203.0.113.9");
        o.host = Some(host);
        assert_eq!(
            public_launch_url(&config, &o).unwrap_err().status(),
            400,
            "{host:?}"
        );
    }
}

#[test]
fn path_without_leading_slash_is_fixed() {
    let mut o = origin("203.0.113.9");
    o.path_and_query = "hub/lti/launch";
    assert_eq!(
        public_launch_url(&PublicUrlConfig::default(), &o).unwrap(),
        "http://127.0.0.1:8000/hub/lti/launch"
    );
}

#[test]
fn config_deserialises_from_strings() {
    let c: PublicUrlConfig = serde_json::from_str(
        r#"{"base_url": "https://hub.school.edu", "trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}"#,
    )
    .unwrap();
    assert_eq!(c.trusted_proxies.len(), 2);
    c.validate().unwrap();
    let err = serde_json::from_str::<PublicUrlConfig>(r#"{"trusted_proxies": ["10.0.0.0/99"]}"#)
        .unwrap_err();
    assert!(err.to_string().contains("10.0.0.0/99"), "{err}");
}
