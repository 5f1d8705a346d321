//! Git's door: which account answers for a host and repository path (the rules `setup-git`
//! writes, the most specific one winning), the provider's git conventions, and what a refused
//! token means.

use serde::Serialize;
use subtle::ConstantTimeEq;
use ts_rs::TS;

use crate::account::{self, AccountRow, AccountStatus};
use crate::db::{now_ms, Db};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::model::Spec;

/// One rule: git at `host` under `path` uses `account_id`. An empty path is the whole host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
pub struct GitRule {
    pub host: String,
    /// `acme/` (always ending in `/`), or empty for every repository on the host.
    pub path: String,
    pub account_id: String,
    /// `setup-git` turned on `credential.useHttpPath` for this rule (so `--undo` turns it off).
    pub set_use_http_path: bool,
}

/// What the provider's git servers expect (from its profile).
#[derive(Debug, Clone, Serialize, TS)]
pub struct GitProfile {
    /// `github.com`; `None` when the provider has no git host of its own.
    pub host: Option<String>,
    /// The username that goes with a token (`x-access-token` at GitHub).
    pub username: String,
    /// Granted scopes of which at least one is needed for git; empty when the provider has none
    /// for it (then nothing is checked).
    pub scopes: Vec<String>,
}

/// Why an account answers for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Chosen {
    /// `CONNECTED_ACCOUNTS_ACCOUNT` named it.
    Override,
    /// Git's request named it as its `username`.
    Username,
    /// The most specific rule for the host and path.
    Rule { path: String },
}

impl GitProfile {
    /// What a provider's spec says about git.
    pub fn of(spec: &Spec) -> Self {
        // GitHub Apps (client IDs starting `Iv`) have no scopes: their permissions are the app's.
        let scopes = if spec.id == "github" && spec.client_id.starts_with("Iv") {
            vec![]
        } else {
            spec.tools.git_scopes.clone()
        };
        GitProfile {
            host: spec.tools.git_host.as_deref().and_then(host_of),
            username: spec
                .tools
                .git_username
                .clone()
                .unwrap_or_else(|| "oauth".into()),
            scopes,
        }
    }

    /// The scopes git needs when the granted ones include none of them (`None`: fine, or the
    /// provider has no scopes for git).
    pub fn missing_scopes(&self, granted: &[String]) -> Option<&[String]> {
        let lacking = !self.scopes.is_empty() && !self.scopes.iter().any(|s| granted.contains(s));
        lacking.then_some(self.scopes.as_slice())
    }
}

/// A path as rules hold it: no leading `/`, and a trailing `/` unless empty.
pub fn normalize_path(path: &str) -> String {
    let p = path.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    }
}

/// The rule for `host` and git's `path` (`acme/tools.git`): the longest path that contains it.
pub fn pick<'a>(rules: &'a [GitRule], host: &str, path: Option<&str>) -> Option<&'a GitRule> {
    let path = path.map(|p| p.trim_start_matches('/')).unwrap_or("");
    rules
        .iter()
        .filter(|r| r.host.eq_ignore_ascii_case(host))
        .filter(|r| {
            r.path.is_empty() || path.starts_with(&r.path) || path == r.path.trim_end_matches('/')
        })
        .max_by_key(|r| r.path.len())
}

pub async fn rules(db: &Db) -> Result<Vec<GitRule>> {
    Ok(sqlx::query_as(
        "SELECT host, path, account_id, set_use_http_path FROM git_rules ORDER BY host, path",
    )
    .fetch_all(db)
    .await?)
}

impl Engine {
    pub async fn git_rules(&self) -> Result<Vec<GitRule>> {
        rules(&self.db).await
    }

    /// Binds git at `host`/`path` to an account (replacing the rule there, if any).
    pub async fn set_git_rule(&self, rule: &GitRule) -> Result<()> {
        sqlx::query(
            "INSERT INTO git_rules (host, path, account_id, set_use_http_path, created_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (host, path) DO UPDATE SET account_id = excluded.account_id,
                 set_use_http_path = git_rules.set_use_http_path OR excluded.set_use_http_path",
        )
        .bind(rule.host.to_ascii_lowercase())
        .bind(&rule.path)
        .bind(&rule.account_id)
        .bind(rule.set_use_http_path)
        .bind(now_ms())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Removes the rule at `host`/`path`, returning it. A read and a delete in one transaction,
    /// not `DELETE … RETURNING`: the system's SQLite may predate 3.35 (RHEL 9 has 3.34).
    pub async fn remove_git_rule(&self, host: &str, path: &str) -> Result<Option<GitRule>> {
        let host = host.to_ascii_lowercase();
        let mut tx = self.db.begin().await?;
        let rule: Option<GitRule> = sqlx::query_as(
            "SELECT host, path, account_id, set_use_http_path FROM git_rules
             WHERE host = ? AND path = ?",
        )
        .bind(&host)
        .bind(path)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM git_rules WHERE host = ? AND path = ?")
            .bind(&host)
            .bind(path)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// The provider's git conventions for an account.
    pub async fn git_profile(&self, query: &str) -> Result<GitProfile> {
        let row = self.row(query).await?;
        Ok(GitProfile::of(&self.spec_for_tokens(&row).await?))
    }

    /// Which account answers git for `host` and `path`: the override, else the account git's
    /// request names among those set up for the host, else the most specific rule.
    pub async fn git_account(
        &self,
        host: &str,
        path: Option<&str>,
        username: Option<&str>,
        overridden: Option<&str>,
    ) -> Result<(AccountRow, Chosen)> {
        if let Some(query) = overridden {
            return Ok((self.row(query).await?, Chosen::Override));
        }
        let rules = rules(&self.db).await?;
        let on_host: Vec<&GitRule> = rules
            .iter()
            .filter(|r| r.host.eq_ignore_ascii_case(host))
            .collect();
        if let Some(name) = username.filter(|n| !n.is_empty()) {
            for rule in &on_host {
                if let Some(row) = account::find(&self.db, &rule.account_id).await? {
                    let names = [Some(row.display_name.as_str()), row.email.as_deref()];
                    if names.iter().flatten().any(|n| n.eq_ignore_ascii_case(name)) {
                        return Ok((row, Chosen::Username));
                    }
                }
            }
        }
        let Some(rule) = pick(&rules, host, path) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no account is set up for git at {host}"),
            )
            .remedy(Remedy::SetupGit {
                host: host.to_owned(),
            }));
        };
        match account::find(&self.db, &rule.account_id).await? {
            Some(row) => Ok((
                row,
                Chosen::Rule {
                    path: rule.path.clone(),
                },
            )),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the account set up for git at {host}/{} was disconnected",
                    rule.path
                ),
            )
            .remedy(Remedy::SetupGit {
                host: host.to_owned(),
            })),
        }
    }

    /// Git's server refused `presented`. If it is the account's current access token, that token
    /// is spent: the next read refreshes, or, with nothing to refresh with, the account needs
    /// reconnecting. Any other value (an old token, a stranger's) changes nothing.
    pub async fn token_refused(&self, account_id: &str, presented: &str) -> Result<bool> {
        let row = self.row(account_id).await?;
        let _guard = self.locks.lock(&row.id).await?;
        let Some(mut tokens) = self.read_tokens(&row.id).await? else {
            return Ok(false);
        };
        if !bool::from(
            tokens
                .access_token
                .expose()
                .as_bytes()
                .ct_eq(presented.as_bytes()),
        ) {
            return Ok(false);
        }
        if tokens.refresh_token.is_some() {
            tokens.expires_at_ms = Some(now_ms());
            self.write_tokens(&row.id, tokens, None).await?;
        } else {
            account::set_status(
                &self.db,
                &row.id,
                AccountStatus::NeedsReconnect,
                Some("the git server refused its token, and there is no refresh token"),
            )
            .await?;
        }
        self.audit(
            crate::audit::AuditKind::TokenRefused,
            &row,
            "a git server refused the access token",
        )
        .await;
        Ok(true)
    }
}

/// `github.com` from `https://github.com`, keeping a port (`127.0.0.1:8080`).
pub fn host_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// Loopback hosts, where git may speak plain http.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host: &str, path: &str, account: &str) -> GitRule {
        GitRule {
            host: host.into(),
            path: normalize_path(path),
            account_id: account.into(),
            set_use_http_path: false,
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let rules = [
            rule("github.com", "", "personal"),
            rule("github.com", "acme", "work"),
            rule("github.com", "acme/secret", "admin"),
            rule("gitlab.com", "", "lab"),
        ];
        let at = |host, path| pick(&rules, host, path).map(|r| r.account_id.as_str());
        assert_eq!(at("github.com", Some("me/dotfiles.git")), Some("personal"));
        assert_eq!(at("github.com", None), Some("personal"));
        assert_eq!(at("github.com", Some("acme/tools.git")), Some("work"));
        assert_eq!(at("GitHub.com", Some("/acme/tools.git")), Some("work"));
        assert_eq!(at("github.com", Some("acme/secret/x.git")), Some("admin"));
        // A prefix of a name is not its folder.
        assert_eq!(at("github.com", Some("acmeco/x.git")), Some("personal"));
        assert_eq!(at("github.com", Some("acme")), Some("work"));
        assert_eq!(at("example.com", Some("acme/x.git")), None);
    }

    #[test]
    fn git_needs_one_of_the_providers_git_scopes() {
        let github = GitProfile {
            host: Some("github.com".into()),
            username: "x-access-token".into(),
            scopes: vec!["repo".into(), "public_repo".into()],
        };
        let granted = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            github.missing_scopes(&granted(&["read:user"])),
            Some(github.scopes.as_slice())
        );
        assert_eq!(
            github.missing_scopes(&granted(&["read:user", "public_repo"])),
            None
        );
        let app = GitProfile {
            scopes: vec![],
            ..github
        };
        assert_eq!(app.missing_scopes(&granted(&[])), None, "nothing to check");
    }

    #[test]
    fn paths_and_hosts_are_read_the_same_way_everywhere() {
        assert_eq!(normalize_path("/acme/"), "acme/");
        assert_eq!(normalize_path("acme"), "acme/");
        assert_eq!(normalize_path(""), "");
        assert_eq!(
            host_of("https://GitHub.com/x").as_deref(),
            Some("github.com")
        );
        assert_eq!(
            host_of("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert!(
            is_loopback("127.0.0.1:8080") && is_loopback("localhost") && is_loopback("[::1]:9")
        );
        assert!(!is_loopback("github.com") && !is_loopback("127.0.0.1.example.com"));
    }
}
