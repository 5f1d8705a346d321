//! The TypeScript declarations of every type that crosses to the window, generated from these Rust
//! types (ts-rs) into `ui/src/bindings.ts`. The test command regenerates and diffs it.

use ts_rs::{Config, TS};

use crate::{
    Account, AccountStatus, AuditEvent, ConnectStarted, DisconnectOutcome, NewProvider,
    ProbeResult, ProviderView, ScopesSource, UiError,
};

pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        ProviderView::decl(&cfg),
        crate::spec::Capabilities::decl(&cfg),
        crate::spec::SetupGuide::decl(&cfg),
        crate::spec::SetupParam::decl(&cfg),
        crate::spec::ConnectKind::decl(&cfg),
        crate::spec::RevocationStyle::decl(&cfg),
        crate::catalog::Protocol::decl(&cfg),
        crate::catalog::Pkce::decl(&cfg),
        crate::catalog::SecretRule::decl(&cfg),
        crate::catalog::GrantedScopesFrom::decl(&cfg),
        NewProvider::decl(&cfg),
        crate::engine::ProviderSettings::decl(&cfg),
        AccountStatus::decl(&cfg),
        ScopesSource::decl(&cfg),
        crate::Policy::decl(&cfg),
        Account::decl(&cfg),
        crate::AccountUpdate::decl(&cfg),
        crate::engine::StartupSnapshot::decl(&cfg),
        crate::engine::AppInfo::decl(&cfg),
        crate::AppSettings::decl(&cfg),
        crate::CloseAction::decl(&cfg),
        crate::prefs::SettingsView::decl(&cfg),
        crate::prefs::AppNotice::decl(&cfg),
        crate::catalog::RedirectKind::decl(&cfg),
        ConnectStarted::decl(&cfg),
        crate::DeviceStarted::decl(&cfg),
        crate::resource::ProtectedResource::decl(&cfg),
        crate::resource::ResourcePlan::decl(&cfg),
        crate::ProviderRemoved::decl(&cfg),
        ProbeResult::decl(&cfg),
        DisconnectOutcome::decl(&cfg),
        crate::ForgetReport::decl(&cfg),
        AuditEvent::decl(&cfg),
        crate::consumer::Consumer::decl(&cfg),
        crate::consumer::ReadKind::decl(&cfg),
        crate::audit::LastRead::decl(&cfg),
        crate::approval::Purpose::decl(&cfg),
        crate::approval::Question::decl(&cfg),
        crate::approval::Choice::decl(&cfg),
        crate::approval::LiveApproval::decl(&cfg),
        crate::Remedy::decl(&cfg),
        UiError::decl(&cfg),
        <serde_json::Value as TS>::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by `cargo run -p ca-core --example gen-bindings`. Do not edit.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
