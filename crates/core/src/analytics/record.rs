//! [`NbLog`]: one notebook-log record as mod_lticontainer's web service
//! `mod_lticontainer_write_nblogs` takes it, and its form encoding.

use serde::{Deserialize, Serialize};

use super::kernel::KernelEvent;
use crate::params::SessionInfo;

/// The web-service function that stores notebook logs.
pub const WS_FUNCTION: &str = "mod_lticontainer_write_nblogs";

/// The path of Moodle's REST server under its wwwroot.
pub const REST_PATH: &str = "/webservice/rest/server.php";

/// Which table a record goes to (`nb_logs[0][host]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NbHost {
    /// The binding of a notebook session to the course activity (`lticontainer_session`).
    Ltictr,
    /// An `execute_request` (`lticontainer_client_data`, `lticontainer_tags`).
    Client,
    /// An `execute_reply` (`lticontainer_server_data`).
    Server,
}

impl NbHost {
    /// The value Moodle expects: `ltictr`, `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ltictr => "ltictr",
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// One record: the ten fields ltictr_proxy sent, each as text (empty when not set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NbLog {
    /// The record's kind.
    pub host: NbHost,
    /// The mod_lticontainer instance id (`ltictr` records).
    pub inst_id: String,
    /// The LTI activity id (`ltictr` records).
    pub lti_id: String,
    /// The notebook's kernel session.
    pub session: String,
    /// The request's `msg_id` (client) or the reply's parent `msg_id` (server).
    pub message: String,
    /// `ok`, `error`, `aborted` (server records).
    pub status: String,
    /// The kernel's user name (server records).
    pub username: String,
    /// The cell id (client records).
    pub cell_id: String,
    /// The cell's tags as JSON text (client records).
    pub tags: String,
    /// The message date as the sender wrote it.
    pub date: String,
}

impl NbLog {
    fn empty(host: NbHost) -> Self {
        Self {
            host,
            inst_id: String::new(),
            lti_id: String::new(),
            session: String::new(),
            message: String::new(),
            status: String::new(),
            username: String::new(),
            cell_id: String::new(),
            tags: String::new(),
            date: String::new(),
        }
    }

    /// The `ltictr` record that binds the notebook `session` to the activity of `info`.
    pub fn session_binding(info: SessionInfo, session: &str) -> Self {
        Self {
            inst_id: info.ltictr_id.to_string(),
            lti_id: info.lti_id.to_string(),
            session: session.to_owned(),
            ..Self::empty(NbHost::Ltictr)
        }
    }

    /// The record of a captured kernel event.
    pub fn from_event(event: KernelEvent) -> Self {
        match event {
            KernelEvent::Request(r) => Self {
                session: r.session,
                message: r.msg_id,
                cell_id: r.cell_id,
                tags: r.tags,
                date: r.date,
                ..Self::empty(NbHost::Client)
            },
            KernelEvent::Reply(r) => Self {
                session: r.session,
                message: r.msg_id,
                status: r.status,
                username: r.username,
                date: r.date,
                ..Self::empty(NbHost::Server)
            },
        }
    }

    /// The notebook session the record belongs to: records of one session are delivered in
    /// the order they were captured.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The request body: `nb_logs[0][host]=…&nb_logs[0][inst_id]=…&…`, all ten fields in
    /// ltictr_proxy's order, as the only record of the request (the plugin stores only
    /// `nb_logs[0]`).
    pub fn form_body(&self) -> String {
        crate::form::encode_urlencoded(&[
            ("nb_logs[0][host]", self.host.as_str()),
            ("nb_logs[0][inst_id]", &self.inst_id),
            ("nb_logs[0][lti_id]", &self.lti_id),
            ("nb_logs[0][session]", &self.session),
            ("nb_logs[0][message]", &self.message),
            ("nb_logs[0][status]", &self.status),
            ("nb_logs[0][username]", &self.username),
            ("nb_logs[0][cell_id]", &self.cell_id),
            ("nb_logs[0][tags]", &self.tags),
            ("nb_logs[0][date]", &self.date),
        ])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::analytics::kernel::{ExecuteReply, ExecuteRequest};

    #[test]
    fn client_record_body_has_all_ten_fields_in_order() {
        let log = NbLog::from_event(KernelEvent::Request(ExecuteRequest {
            session: "s 1".into(),
            msg_id: "m1".into(),
            cell_id: "c1".into(),
            tags: r#"["codenum: 3"]"#.into(),
            date: "2026-12-01T10:00:00Z".into(),
        }));
        assert_eq!(
            log.form_body(),
            "nb_logs%5B0%5D%5Bhost%5D=client&nb_logs%5B0%5D%5Binst_id%5D=&nb_logs%5B0%5D%5Blti_id%5D=\
             &nb_logs%5B0%5D%5Bsession%5D=s%201&nb_logs%5B0%5D%5Bmessage%5D=m1\
             &nb_logs%5B0%5D%5Bstatus%5D=&nb_logs%5B0%5D%5Busername%5D=\
             &nb_logs%5B0%5D%5Bcell_id%5D=c1&nb_logs%5B0%5D%5Btags%5D=%5B%22codenum%3A%203%22%5D\
             &nb_logs%5B0%5D%5Bdate%5D=2026-12-01T10%3A00%3A00Z"
        );
        let pairs = crate::form::parse_urlencoded(log.form_body().as_bytes()).unwrap();
        assert_eq!(pairs.len(), 10);
        assert_eq!(
            pairs[8],
            ("nb_logs[0][tags]".into(), r#"["codenum: 3"]"#.into())
        );
    }

    #[test]
    fn server_and_binding_records() {
        let log = NbLog::from_event(KernelEvent::Reply(ExecuteReply {
            session: "s".into(),
            msg_id: "m".into(),
            status: "error".into(),
            username: "alice".into(),
            date: "d".into(),
        }));
        assert_eq!(
            (log.host, log.status.as_str(), log.message.as_str()),
            (NbHost::Server, "error", "m")
        );
        let b = NbLog::session_binding(
            SessionInfo {
                ltictr_id: 3,
                lti_id: 76,
            },
            "s",
        );
        let pairs = crate::form::parse_urlencoded(b.form_body().as_bytes()).unwrap();
        assert_eq!(pairs[0].1, "ltictr");
        assert_eq!(
            (
                pairs[1].1.as_str(),
                pairs[2].1.as_str(),
                pairs[3].1.as_str()
            ),
            ("3", "76", "s")
        );
    }

    #[test]
    fn records_round_trip_through_json() {
        let b = NbLog::session_binding(
            SessionInfo {
                ltictr_id: 1,
                lti_id: 2,
            },
            "s",
        );
        let back: NbLog = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(back, b);
    }
}
