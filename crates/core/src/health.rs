//! How long a sign-in lasts, and what the person is told before it ends or when refreshing
//! breaks. Everything here reads account rows only, never the keychain, so the scheduler can
//! look at every account as often as it likes.
//!
//! Two limits end a sign-in (its refresh token): a fixed end (the server's
//! `refresh_token_expires_in`, or the provider's sign-in limit, e.g. 7 days for a Google app in
//! "Testing"), and disuse (Google: 6 months unused). The second is avoided by refreshing halfway
//! through the idle window; the first can only be announced: 7 days ahead and 1 day ahead.

use std::time::Duration;

use crate::account::{AccountRow, AccountStatus};

const DAY_MS: i64 = 86_400_000;
/// Warnings before a fixed end, most distant first, in days.
pub const WARN_DAYS: [i64; 2] = [7, 1];

/// A provider's limits on a sign-in: its whole life, and how long it may go unused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max: Option<Duration>,
    pub idle: Option<Duration>,
}

impl Limits {
    /// The person's settings (seconds, from the provider's row) over the profile's.
    pub fn over(self, profile: Limits) -> Limits {
        Limits {
            max: self.max.or(profile.max),
            idle: self.idle.or(profile.idle),
        }
    }
}

/// The person's change to a provider's limits: `None` leaves one as it is, `Some(None)` removes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitsChange {
    pub max: Option<Option<Duration>>,
    pub idle: Option<Option<Duration>>,
}

/// The lifetime columns a new grant writes (connect or refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub sign_in_ends_at: Option<i64>,
    pub idle_ends_at: Option<i64>,
    pub used_at: i64,
    /// Warnings already "given": those the person could read off the page at sign-in.
    pub ending_notified: Option<i64>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// At sign-in: the server's word on its refresh token, capped by the provider's limit.
pub fn at_connect(now: i64, limits: Limits, server_says: Option<Duration>) -> Lifetime {
    let ends = [server_says, limits.max]
        .into_iter()
        .flatten()
        .map(|d| now.saturating_add(ms(d)))
        .min();
    Lifetime {
        sign_in_ends_at: ends,
        idle_ends_at: limits.idle.map(|d| now.saturating_add(ms(d))),
        used_at: now,
        // A 7-day Google "Testing" sign-in gets only the 1-day warning: the 7-day one would
        // arrive with the sign-in itself.
        ending_notified: ends.and_then(|end| within(end, now)),
    }
}

/// After a refresh: the idle window starts again; the fixed end moves only if the server says
/// so (GitHub issues a new six-month refresh token with each refresh).
pub fn at_refresh(
    now: i64,
    row: &AccountRow,
    limits: Limits,
    server_says: Option<Duration>,
) -> Lifetime {
    let ends = server_says
        .map(|d| now.saturating_add(ms(d)))
        .or(row.sign_in_ends_at);
    let moved = ends != row.sign_in_ends_at;
    Lifetime {
        sign_in_ends_at: ends,
        idle_ends_at: limits.idle.map(|d| now.saturating_add(ms(d))),
        used_at: now,
        ending_notified: if moved {
            ends.and_then(|end| within(end, now))
        } else {
            row.ending_notified
        },
    }
}

/// The nearest warning whose time has come: 1 if the end is a day away or less, else 7 if a
/// week away or less.
fn within(end: i64, now: i64) -> Option<i64> {
    WARN_DAYS
        .iter()
        .rev()
        .find(|d| end - now <= **d * DAY_MS)
        .copied()
}

/// When an idle sign-in should be refreshed to keep it alive: halfway through its idle window.
pub fn keep_alive_at(row: &AccountRow) -> Option<i64> {
    let (used, ends) = (row.grant_used_at?, row.idle_ends_at?);
    Some(used + (ends - used) / 2)
}

/// What to tell the person about one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The sign-in ends in at most this many days (7 or 1).
    SignInEnding(i64),
    /// Refreshing fails and programs can no longer get a working token.
    Failing,
    /// It refreshes again after a `Failing`.
    Recovered,
}

/// The notice due for `row` now, if any. Each is given once: the row records it.
pub fn notice(row: &AccountRow, now: i64) -> Option<Notice> {
    let status = row.status();
    if row.failing_notified_at.is_some() && status == AccountStatus::Connected {
        return Some(Notice::Recovered);
    }
    // Offline for a moment is not failing: only once the access token has run out, since then
    // programs asking for one get an error. A provider's error counts at once.
    let expired = row.expires_at.is_some_and(|e| e <= now);
    if row.failing_notified_at.is_none()
        && (status == AccountStatus::Error || (status == AccountStatus::Offline && expired))
    {
        return Some(Notice::Failing);
    }
    if !matches!(
        status,
        AccountStatus::Connected | AccountStatus::Offline | AccountStatus::Error
    ) {
        return None;
    }
    let end = row.sign_in_ends_at.filter(|end| *end > now)?;
    let due = within(end, now)?;
    (row.ending_notified.is_none_or(|given| given > due)).then_some(Notice::SignInEnding(due))
}

/// When the next "sign-in ends" warning falls due, for the scheduler's timer.
pub fn next_warning_at(row: &AccountRow, now: i64) -> Option<i64> {
    let end = row.sign_in_ends_at.filter(|end| *end > now)?;
    WARN_DAYS
        .iter()
        .filter(|d| row.ending_notified.is_none_or(|given| given > **d))
        .map(|d| end - d * DAY_MS)
        .filter(|at| *at > now)
        .min()
}

/// A limit for the audit log and the terminal: "7d", or "none".
pub fn describe(d: Option<Duration>) -> String {
    d.map_or_else(
        || "none".into(),
        |d| humantime::format_duration(d).to_string(),
    )
}

/// A notice's words for a sign-in ending at `end` (RFC 3339, as in `Account`): the whole days
/// left and the day itself, "3 March 2027" (UTC).
pub fn ending_words(end: &str, now: i64) -> Option<(i64, String)> {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(end, &Rfc3339).ok()?;
    let end_ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    let day = at
        .format(time::macros::format_description!(
            "[day padding:none] [month repr:long] [year]"
        ))
        .ok()?;
    Some((days_left(end_ms, now), day))
}

/// Whole days left until `end`, rounded up (for the wording: "in 7 days").
pub fn days_left(end: i64, now: i64) -> i64 {
    ((end - now).max(0) + DAY_MS - 1) / DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::tests::row;

    const HOUR: Duration = Duration::from_secs(3600);

    fn days(n: u64) -> Duration {
        Duration::from_secs(n * 86_400)
    }

    #[test]
    fn the_end_is_the_nearer_of_the_servers_word_and_the_providers_limit() {
        let limits = Limits {
            max: Some(days(7)),
            idle: Some(days(180)),
        };
        let l = at_connect(0, limits, Some(days(180)));
        assert_eq!(l.sign_in_ends_at, Some(7 * DAY_MS));
        assert_eq!(l.idle_ends_at, Some(180 * DAY_MS));
        assert_eq!(
            l.ending_notified,
            Some(7),
            "a 7-day sign-in skips the 7-day warning"
        );
        let l = at_connect(0, Limits::default(), Some(days(30)));
        assert_eq!(
            (l.sign_in_ends_at, l.ending_notified),
            (Some(30 * DAY_MS), None)
        );
        let l = at_connect(0, Limits::default(), None);
        assert_eq!((l.sign_in_ends_at, l.idle_ends_at), (None, None));
        let l = at_connect(
            0,
            Limits {
                max: Some(HOUR),
                idle: None,
            },
            None,
        );
        assert_eq!(l.ending_notified, Some(1));
    }

    #[test]
    fn a_refresh_restarts_the_idle_window_and_keeps_the_fixed_end() {
        let mut r = row("connected", 0, Some(3_600_000));
        r.sign_in_ends_at = Some(30 * DAY_MS);
        r.ending_notified = None;
        let limits = Limits {
            max: None,
            idle: Some(days(10)),
        };
        let l = at_refresh(DAY_MS, &r, limits, None);
        assert_eq!(l.sign_in_ends_at, Some(30 * DAY_MS));
        assert_eq!(l.idle_ends_at, Some(11 * DAY_MS));
        // GitHub: each refresh brings a new refresh token with its own lifetime.
        let l = at_refresh(DAY_MS, &r, limits, Some(days(3)));
        assert_eq!(
            (l.sign_in_ends_at, l.ending_notified),
            (Some(4 * DAY_MS), Some(7))
        );
    }

    #[test]
    fn warnings_come_seven_days_and_one_day_ahead_once_each() {
        let mut r = row("connected", 0, Some(i64::MAX));
        r.sign_in_ends_at = Some(30 * DAY_MS);
        assert_eq!(notice(&r, 22 * DAY_MS), None);
        assert_eq!(next_warning_at(&r, 0), Some(23 * DAY_MS));
        assert_eq!(notice(&r, 23 * DAY_MS), Some(Notice::SignInEnding(7)));
        r.ending_notified = Some(7);
        assert_eq!(notice(&r, 25 * DAY_MS), None, "not twice");
        assert_eq!(next_warning_at(&r, 25 * DAY_MS), Some(29 * DAY_MS));
        assert_eq!(notice(&r, 29 * DAY_MS), Some(Notice::SignInEnding(1)));
        r.ending_notified = Some(1);
        assert_eq!(notice(&r, 29 * DAY_MS + 1), None);
        assert_eq!(next_warning_at(&r, 29 * DAY_MS + 1), None);
        // Asleep through the 7-day mark: only the nearer warning is given.
        r.ending_notified = None;
        assert_eq!(notice(&r, 29 * DAY_MS + 5), Some(Notice::SignInEnding(1)));
        // Over: refreshing now fails, and that is its own notice.
        assert_eq!(notice(&r, 31 * DAY_MS), None);
        r.status = "needs_reconnect".into();
        assert_eq!(notice(&r, 29 * DAY_MS + 5), None);
    }

    #[test]
    fn failing_is_told_once_and_so_is_the_recovery() {
        let mut r = row("offline", 0, Some(10_000));
        assert_eq!(
            notice(&r, 5_000),
            None,
            "offline, but the token still works"
        );
        assert_eq!(notice(&r, 10_000), Some(Notice::Failing));
        r.status = "error".into();
        r.expires_at = Some(i64::MAX);
        assert_eq!(
            notice(&r, 5_000),
            Some(Notice::Failing),
            "a provider's error at once"
        );
        r.failing_notified_at = Some(5_000);
        assert_eq!(notice(&r, 6_000), None, "no storm");
        r.status = "refreshing".into();
        assert_eq!(notice(&r, 6_000), None);
        r.status = "connected".into();
        assert_eq!(notice(&r, 7_000), Some(Notice::Recovered));
    }

    #[test]
    fn an_idle_sign_in_is_refreshed_halfway_through_its_window() {
        let mut r = row("connected", 0, None);
        assert_eq!(keep_alive_at(&r), None);
        r.grant_used_at = Some(1_000);
        r.idle_ends_at = Some(181_000);
        assert_eq!(keep_alive_at(&r), Some(91_000));
        assert_eq!(days_left(7 * DAY_MS, 1), 7);
        assert_eq!(
            ending_words("1970-01-08T00:00:00Z", 0),
            Some((7, "8 January 1970".into()))
        );
        assert_eq!(ending_words("not a date", 0), None);
        assert_eq!(days_left(DAY_MS + 1, 0), 2);
    }
}
