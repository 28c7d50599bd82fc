//! Learning analytics, sans-IO: what the proxy reads off the students' kernel WebSockets and
//! what it sends to mod_lticontainer's web service (the original's ltictr_proxy,
//! `docs/original-system.md`, "Learning analytics").
//!
//! * [`ws`]: a bounded, incremental WebSocket frame reader for one direction;
//! * [`kernel`]: kernel messages in the JSON and the `v1.kernel.websocket.jupyter.org`
//!   protocols → [`KernelEvent`];
//! * [`capture`]: both directions of one connection;
//! * [`record`]: [`NbLog`], the web service's record, and its form body;
//! * [`answer`]: what Moodle's answer means (errors come with HTTP 200);
//! * [`target`]: [`LmsTarget`], where a user's records go, from their latest launch;
//! * [`board`]: [`ClassBoard`], the teachers' live view of a class, joined from the records.
//!
//! The IO (the proxy's bridge, the outbox, the delivery) is in `lticontainer-hub` and
//! `lticontainer-http`.

pub mod answer;
pub mod board;
pub mod capture;
pub mod kernel;
pub mod record;
pub mod target;
pub mod ws;

pub use answer::{Answer, classify};
pub use board::{ClassBoard, CourseView, Execution};
pub use capture::{CaptureCounters, KernelCapture};
pub use kernel::{Direction, KernelEvent, KernelProtocol};
pub use record::{NbHost, NbLog};
pub use target::LmsTarget;
