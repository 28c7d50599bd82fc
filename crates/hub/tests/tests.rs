//! Integration tests of lticontainer-hub's public API.

mod analytics_tls;
mod listener_owner;
mod nss_accounts;
mod server_spec;
