//! `lticontainer grades send`: the scores of one column of `tocsv`'s CSV sent to the LMS as
//! an activity's grades, through the running hub's admin API (`POST /hub/api/grades/<activity>`,
//! [`AdminClient::send_grades`](lticontainer_hub::admin_client::AdminClient::send_grades)), the
//! same work as the teachers' grades page.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::admin::HubArgs;

/// `lticontainer grades …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GradesCommand {
    /// Sends the scores of one CSV column to the LMS's gradebook (re-sending replaces them).
    Send(SendArgs),
}

/// What `grades send` sends.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The activity: the launch's `resource_link_id` (Moodle: the External tool's instance id,
    /// the `l=` of its URL; the grades page `/hub/grades/<activity>` shows it).
    #[arg(long)]
    activity: String,
    /// The CSV `tocsv` wrote (`Name,P001,…,Total`, or the legacy layout).
    #[arg(long)]
    csv: PathBuf,
    /// The column to send: one exercise (`P001`) or `Total`.
    #[arg(long, default_value = "Total")]
    column: String,
    /// The maximum score of the column (the LMS gets score / max).
    #[arg(long)]
    max: String,
    /// Only shows which students match a launch of the activity; sends nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    hub: HubArgs,
}

/// Runs `command`; the text to print, or the error for the admin (also when the LMS refused a
/// grade, so scripts see it in the exit status).
pub(crate) async fn run(command: GradesCommand) -> Result<String, String> {
    let GradesCommand::Send(args) = command;
    let csv = std::fs::read_to_string(&args.csv)
        .map_err(|e| format!("cannot read the CSV {}: {e}", args.csv.display()))?;
    let client = crate::admin::client(&args.hub)?;
    let answer = client
        .send_grades(&args.activity, &csv, &args.column, &args.max, args.dry_run)
        .await
        .map_err(|e| e.to_string())?;
    let text = if args.hub.json() {
        serde_json::to_string_pretty(&answer).unwrap_or_default() + "\n"
    } else {
        report(&answer)
    };
    let refused = answer
        .get("results")
        .and_then(Value::as_array)
        .is_some_and(|rows| {
            rows.iter().any(|r| {
                r.get("status").and_then(Value::as_str) == Some("ready")
                    && r.get("success").and_then(Value::as_bool) != Some(true)
            })
        });
    if refused {
        Err(format!(
            "{text}the LMS did not take every grade (see above)"
        ))
    } else {
        Ok(text)
    }
}

/// One line per student: the hub's plan or the LMS's answer.
fn report(answer: &Value) -> String {
    let field = |r: &Value, k: &str| match r.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_owned(),
        Some(v) => v.to_string(),
    };
    let mut out = String::new();
    if let Some(plan) = answer.get("plan") {
        for r in plan
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}",
                field(r, "name"),
                field(r, "user"),
                field(r, "score"),
                field(r, "status")
            );
        }
        for user in plan
            .get("not_in_csv")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                out,
                "{}\tlaunched with a grade, not in the CSV",
                field(user, "")
            );
        }
        return out;
    }
    for r in answer
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mark = if r.get("success").and_then(Value::as_bool) == Some(true) {
            "sent"
        } else {
            "NOT SENT"
        };
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{mark}\t{}",
            field(r, "name"),
            field(r, "user"),
            field(r, "score"),
            field(r, "answer")
        );
    }
    out
}
