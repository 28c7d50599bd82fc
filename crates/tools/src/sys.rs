//! What the tools need from the system without libc calls: the user's name and the time.

use std::time::{SystemTime, UNIX_EPOCH};

/// The effective uid of this process, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The name of `uid` in a passwd file's text.
pub fn name_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// The login name of the user running the tool (what `whoami` prints): the effective uid looked up
/// in `/etc/passwd`, else `$USER`, else `$NB_USER`, else the uid number.
pub fn current_user() -> String {
    let uid = effective_uid();
    if let Some(uid) = uid
        && let Ok(passwd) = std::fs::read_to_string("/etc/passwd")
        && let Some(name) = name_in_passwd(&passwd, uid)
    {
        return name;
    }
    ["USER", "NB_USER"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| uid.map_or_else(|| "unknown".into(), |u| u.to_string()))
}

/// The current time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_798_761_599), "2026-12-31 23:59:59 UTC");
    }

    #[test]
    fn finds_names_in_passwd() {
        let p =
            "root:x:0:0:root:/root:/bin/bash\nst_01:x:1001:100::/home/st_01:/bin/bash\nbad line\n";
        assert_eq!(name_in_passwd(p, 1001).as_deref(), Some("st_01"));
        assert_eq!(name_in_passwd(p, 0).as_deref(), Some("root"));
        assert_eq!(name_in_passwd(p, 5), None);
    }
}
