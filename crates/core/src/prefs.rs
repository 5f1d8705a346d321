//! The app's own settings, as the person chose them: what closing the window does, and whether
//! automatic refresh is paused. Stored in SQLite, one row per setting that differs from its
//! default; a value this version does not know (written by a newer one) reads as the default.

use std::collections::HashMap;

use crate::db::Db;
use crate::error::Result;

/// What closing the window does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum CloseAction {
    /// Ask the first time (where the app can keep running at all); the answer becomes the setting.
    #[default]
    Ask,
    /// Keep running in the background, reachable from the tray.
    KeepRunning,
    /// Quit.
    Quit,
}

impl CloseAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::KeepRunning => "keep_running",
            Self::Quit => "quit",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Ask, Self::KeepRunning, Self::Quit]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// The settings the window shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct AppSettings {
    pub close_action: CloseAction,
    /// The scheduler refreshes nothing on its own (a read through `token` still refreshes).
    pub refresh_paused: bool,
}

/// The settings as the window shows them, with what this desktop allows.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct SettingsView {
    pub settings: AppSettings,
    /// The desktop can show a tray item, so the app can keep running with its window closed
    /// (else closing the window quits, whatever `close_action` says).
    pub can_keep_running: bool,
    /// Whether the app starts at login (resident, with no window); null where that is not
    /// offered (a profile other than the default, or no XDG autostart).
    pub start_at_login: Option<bool>,
}

/// What the app asks of its window's page (over the channel `watch_app` hands over).
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppNotice {
    /// The window is closing and the person has not said what closing does: ask, then answer
    /// with `answer_close`.
    CloseAsked,
    /// The window is closing, the app cannot keep running (no tray), and the person was never
    /// told: say why, then `quit_app`. Said in the window, not a notification: a desktop with no
    /// tray (stock GNOME) removes a notification once the app that sent it has gone.
    ClosingQuits,
}

const CLOSE_ACTION: &str = "close_action";
const REFRESH_PAUSED: &str = "refresh_paused";
/// Set once the person was told that closing quits because no tray can show the app.
const TOLD_NO_TRAY: &str = "told_no_tray";

async fn all(db: &Db) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM app_settings")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn load(db: &Db) -> Result<AppSettings> {
    let stored = all(db).await?;
    Ok(AppSettings {
        close_action: stored
            .get(CLOSE_ACTION)
            .and_then(|v| CloseAction::parse(v))
            .unwrap_or_default(),
        refresh_paused: stored.get(REFRESH_PAUSED).is_some_and(|v| v == "1"),
    })
}

async fn put(db: &Db, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_settings (key, value) VALUES (?, ?) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_close_action(db: &Db, action: CloseAction) -> Result<()> {
    put(db, CLOSE_ACTION, action.as_str()).await
}

pub async fn set_refresh_paused(db: &Db, paused: bool) -> Result<()> {
    put(db, REFRESH_PAUSED, if paused { "1" } else { "0" }).await
}

pub async fn refresh_paused(db: &Db) -> Result<bool> {
    Ok(load(db).await?.refresh_paused)
}

/// True the first time only: whoever gets true says why closing quits, once.
pub async fn claim_told_no_tray(db: &Db) -> Result<bool> {
    let done = sqlx::query("INSERT OR IGNORE INTO app_settings (key, value) VALUES (?, '1')")
        .bind(TOLD_NO_TRAY)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (crate::db::scratch::Scratch, Db) {
        crate::db::scratch::db("prefs").await
    }

    #[tokio::test]
    async fn defaults_until_set_and_each_setting_is_kept() {
        let (_dir, db) = db().await;
        assert_eq!(load(&db).await.unwrap(), AppSettings::default());
        set_close_action(&db, CloseAction::KeepRunning)
            .await
            .unwrap();
        set_refresh_paused(&db, true).await.unwrap();
        let got = load(&db).await.unwrap();
        assert_eq!(got.close_action, CloseAction::KeepRunning);
        assert!(got.refresh_paused);
        set_refresh_paused(&db, false).await.unwrap();
        assert!(!refresh_paused(&db).await.unwrap());
    }

    #[tokio::test]
    async fn a_value_from_a_newer_version_reads_as_the_default() {
        let (_dir, db) = db().await;
        put(&db, CLOSE_ACTION, "minimise_to_dock").await.unwrap();
        assert_eq!(load(&db).await.unwrap().close_action, CloseAction::Ask);
    }

    #[tokio::test]
    async fn the_no_tray_explanation_is_claimed_once() {
        let (_dir, db) = db().await;
        assert!(claim_told_no_tray(&db).await.unwrap());
        assert!(!claim_told_no_tray(&db).await.unwrap());
    }
}
