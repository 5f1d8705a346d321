//! The command line's grammar (clap): every command, its arguments and its help text.

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "connected-accounts",
    version,
    about = "Connect, inspect, test, refresh and disconnect your OAuth accounts",
    after_help = "Run without a command to open the window.\n\
                  Exit codes: 0 success, 1 failure, 2 usage or refused confirmation, 3 needs reconnect, \
                  4 refused by your access policy."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print the result as JSON on standard output (for scripts)
    #[arg(long, global = true)]
    pub json: bool,
    /// Never ask the person in the window: a read that needs an answer (policy `ask`) is refused
    /// (also when the CI environment variable is set)
    #[arg(long, global = true)]
    pub no_interactive: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// List providers, or add one by its issuer URL
    Providers(ProvidersArgs),
    /// Sign in to a provider in the browser and connect the account
    Connect(ConnectArgs),
    /// List connected accounts
    List,
    /// Show one account
    Show {
        /// Account id, a unique id prefix, or the account's e-mail
        account: String,
    },
    /// Call the provider's user endpoint with the account's token and show the answer
    Test { account: String },
    /// Refresh the account's access token now
    Refresh { account: String },
    /// Disconnect: revoke the tokens at the provider and forget the account
    Revoke {
        account: String,
        /// Do not ask; where the provider cannot revoke, remove locally and warn
        #[arg(long)]
        yes: bool,
    },
    /// Print only an access token that stays valid for at least the refresh margin
    #[command(
        after_help = "Exit codes: 0 the token is on standard output; 1 failure; 3 the account \
                  needs to be connected again; 4 refused by your access policy; 5 the account's \
                  tokens are bound to this device (use `request`). Nothing is printed on standard \
                  output then; one line on standard error says why."
    )]
    Token { account: String },
    /// Call the account's API with its token, like `gh api`; the token never leaves the app, so
    /// this works for tokens bound to this device too
    #[command(
        after_help = "The response body goes to standard output (-i: status and headers first).\n\
                  Exit codes: 0 the API answered 2xx; 1 it answered otherwise, or the call failed; \
                  2 a bad request, or a URL not on the account's API origins (name it with \
                  --allow-origin if it is meant); 3 the account needs to be connected again; \
                  4 refused by your access policy."
    )]
    Request(RequestArgs),
    /// Set who may read the account's token through Connected Accounts: allow (any program of
    /// yours), ask (the window asks you each time) or deny (no program)
    #[command(
        after_help = "Tightening (allow → ask → deny) works here. Loosening needs a click \
                  in the window, so a program that was refused cannot lift its own refusal: from \
                  here it is refused (exit 4)."
    )]
    Policy {
        /// Account id, a unique id prefix, or the account's e-mail
        account: String,
        #[arg(value_enum)]
        policy: PolicyArg,
    },
    /// Run a program with a fresh access token in its environment (never on a command line)
    #[command(
        after_help = "The token stays valid for at least 5 minutes when the program starts \
                  (or half its lifetime, where the provider issues shorter-lived tokens).\n\
                  Exit codes, as env(1): 125 when Connected Accounts failed (the message says why), \
                  126 when the program cannot run, 127 when it is not found; otherwise the program's own."
    )]
    Exec(ExecArgs),
    /// Finish or roll back operations an interruption left half done (the window does this
    /// after it starts)
    Recover,
    /// Show the security audit log, newest first
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only this account's entries
        #[arg(long, value_name = "ACCOUNT")]
        account: Option<String>,
    },
    /// Where tokens are kept, each account's health, the git rules, and whether a browser can
    /// be opened here
    Status {
        /// Also say which account git would use at this host…
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
        /// …for a repository under this path (`acme/tools.git`)
        #[arg(long, value_name = "PATH", requires = "host")]
        path: Option<String>,
    },
    /// Git's credential helper (git runs it; see setup-git): answers `get` with a fresh token
    GitCredential {
        #[arg(value_enum)]
        action: GitAction,
    },
    /// Make this program git's credential helper for a host, using ACCOUNT there
    SetupGit(SetupGitArgs),
    /// Print a shell completion script (bash, zsh or fish) on standard output
    #[command(
        after_help = "bash: connected-accounts completions bash > ~/.local/share/bash-completion/completions/connected-accounts\n\
                  zsh:  connected-accounts completions zsh > \"${fpath[1]}/_connected-accounts\"\n\
                  fish: connected-accounts completions fish > ~/.config/fish/completions/connected-accounts.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff) on standard output; the packages install it
    #[command(hide = true)]
    Man,
    /// Remove all my data: disconnect every account (revoking where the provider allows),
    /// delete this app's keychain entries, its database and its logs
    ForgetAll {
        /// Required: there is no undo
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
pub struct ExecArgs {
    /// Account id, a unique id prefix, or the account's e-mail
    pub account: String,
    /// The environment variable to put the token in (repeatable; default: the one the
    /// provider's own tools read, e.g. GH_TOKEN, else OAUTH_ACCESS_TOKEN)
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,
    /// For long-running programs: stay as the parent and keep a token file fresh while the
    /// program runs. NAME_FILE holds its path; the file is removed when the program ends
    #[arg(long)]
    pub keep_fresh: bool,
    /// The program to run and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args)]
pub struct ConnectArgs {
    /// The provider's id (see `connected-accounts providers`)
    #[arg(required_unless_present_any = ["resource", "account"])]
    pub provider: Option<String>,
    /// Connect to an API by its URL: its RFC 9728 metadata names the authorization server,
    /// which is added (the app registering itself) when not set up yet; tokens are for that API
    /// alone (RFC 8707)
    #[arg(long, value_name = "URL", conflicts_with_all = ["provider", "account"])]
    pub resource: Option<String>,
    /// With --resource: do not ask before a resource on another site than its authorization
    /// server receives that server's tokens
    #[arg(long, requires = "resource")]
    pub yes: bool,
    /// A scope to request instead of the provider's defaults (repeatable)
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// How long to wait for the browser, in seconds
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub timeout: u64,
    /// How the sign-in comes back: a loopback redirect, or a code entered in any browser.
    /// Default: loopback where a browser can be opened here; with no display (or over SSH)
    /// and no $BROWSER, a device code where the provider offers one, else the address the
    /// browser ended on, pasted back into this terminal
    #[arg(long, value_enum)]
    pub redirect: Option<Redirect>,
    /// Change the scopes of this existing account instead (PROVIDER is then ignored): its
    /// granted scopes plus each --scope, less each --drop-scope
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// With --account: a scope to give up (repeatable)
    #[arg(long = "drop-scope", value_name = "SCOPE", requires = "account")]
    pub drop_scopes: Vec<String>,
    /// Plain bearer tokens even where the server would bind them to this device (DPoP), for
    /// scripts that need `token` or `exec`
    #[arg(long)]
    pub no_dpop: bool,
}

#[derive(Args)]
pub struct RequestArgs {
    /// Account id, a unique id prefix, or the account's e-mail
    pub account: String,
    /// The API's URL: on the account's API origins (see `show`), its resource, or --allow-origin
    pub url: String,
    /// The HTTP method (default GET, or POST with --data)
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header, 'Name: value' (repeatable); the app sets Authorization itself
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The request body: @FILE, or - for standard input
    #[arg(long, value_name = "@FILE|-")]
    pub data: Option<String>,
    /// Print the status line and the response headers before the body
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Also send the token to this origin (https://host[:port]), which is not the account's API
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GitAction {
    Get,
    Store,
    Erase,
}

#[derive(Args)]
pub struct SetupGitArgs {
    /// Account id, a unique id prefix, or the account's e-mail
    #[arg(long, value_name = "ACCOUNT")]
    pub account: String,
    /// The git server (default: the provider's: github.com, the GitLab host, bitbucket.org)
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only repositories under this path (`acme/`): the most specific rule wins
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub path: String,
    /// Remove exactly what this setup added
    #[arg(long)]
    pub undo: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    Allow,
    Ask,
    Deny,
}

impl From<PolicyArg> for ca_core::Policy {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Allow => Self::Allow,
            PolicyArg::Ask => Self::Ask,
            PolicyArg::Deny => Self::Deny,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Redirect {
    Loopback,
    Device,
    /// The app's custom URI scheme: only the window can receive it.
    Scheme,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProvidersArgs {
    #[command(subcommand)]
    pub action: Option<ProvidersAction>,
}

#[derive(Subcommand)]
pub enum ProvidersAction {
    /// Set up a built-in provider with the client ID of the app you registered there
    Configure {
        /// The provider's id (see `connected-accounts providers`)
        provider: String,
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// Read the client secret from standard input (GitHub and Google require theirs)
        #[arg(long)]
        client_secret_stdin: bool,
        /// A provider setting, e.g. `--set base=https://gitlab.example.com` or `--set tenant=organizations`
        #[arg(long = "set", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Add an OpenID or OAuth provider from its issuer URL (endpoints come from discovery;
    /// without --client-id the app registers itself there, where the server allows it)
    Add {
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// The client ID of an app you registered there (default: the app registers itself by
        /// RFC 7591 dynamic registration)
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Read the initial access token that the server requires for registering from standard
        /// input (Keycloak and others)
        #[arg(long, conflicts_with = "client_id")]
        initial_access_token_stdin: bool,
        /// The exact redirect URI the server registered, e.g. http://127.0.0.1:8765/callback
        /// (repeatable: add io.github.connectedaccounts:/oauth/callback for the window's sign-in)
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// A scope to request by default (repeatable; default: what the server supports among
        /// openid, profile, email, offline_access)
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// The user ("who am I") endpoint, when no metadata document gives one
        #[arg(long, value_name = "URL")]
        userinfo_url: Option<String>,
        /// The RFC 7009 revocation endpoint, when no metadata document gives one
        #[arg(long, value_name = "URL")]
        revocation_url: Option<String>,
    },
    /// Remove a provider: its registration at the server, its keychain items and its settings
    Remove {
        /// The provider's id (see `connected-accounts providers`)
        provider: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Disconnect its accounts first (revoking their tokens), instead of refusing
        #[arg(long)]
        disconnect_accounts: bool,
    },
    /// Show or set how long a provider's sign-ins last, when the provider does not say
    Lifetime {
        /// The provider's id (see `connected-accounts providers`)
        provider: String,
        /// Sign-ins end this long after they start, e.g. `7d` for a Google app in "Testing"
        /// (`none` removes your setting)
        #[arg(long, value_name = "DURATION")]
        sign_in_max: Option<String>,
        /// Sign-ins unused this long end, e.g. `30d` for a Keycloak offline session; the app
        /// refreshes them before then (`none` removes your setting)
        #[arg(long, value_name = "DURATION")]
        refresh_idle: Option<String>,
    },
}

impl Command {
    /// Whether the command reads a token, so its keychain connection can open alongside the
    /// database (`Engine::open_from_env_for_command`).
    pub fn reads_a_secret(&self) -> bool {
        matches!(
            self,
            Command::Token { .. }
                | Command::Request(_)
                | Command::Exec(_)
                | Command::Test { .. }
                | Command::Refresh { .. }
                | Command::GitCredential {
                    action: GitAction::Get
                }
        )
    }
}
