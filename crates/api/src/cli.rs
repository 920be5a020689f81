//! The command line of the one binary: `api` (or `api serve`) runs the server, `api openapi`
//! prints the API's document, `api admin …` is what an operator does to users' sessions.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use shared::SessionInfo;
use shared::admin::UserOverview;
use uuid::Uuid;

use crate::config::{Settings, SystemClock};
use crate::error::Error;
use crate::model;
use crate::model::api_key::Scope;
use crate::services::admin::{self, Administrator, DeletedUser};
use crate::services::api_keys::{self, CreatedKey};
use crate::services::webhooks::{
    self, CreatedWebhook, EnabledWebhook, WebhookDelivery, WebhookEndpoint,
};
use crate::startup::Application;
use crate::state::AppState;
use crate::storage::api_keys::ApiKeyRow;
use crate::storage::db;
use crate::telemetry::{self, Output};

#[derive(Debug, Parser)]
#[command(
    name = "api",
    version,
    about = "Session-management API server and admin tool"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server (the default). Configuration comes from the environment and `.env`.
    Serve(ServeArgs),
    /// Prints the OpenAPI document (the one served at /api/openapi.json).
    Openapi,
    /// Looks up users and ends their sessions, against DATABASE_URL. Running servers hear
    /// each change at once (through PostgreSQL) and close the ended sessions' sockets.
    Admin(AdminArgs),
}

#[derive(Debug, Args, Default)]
struct ServeArgs {
    /// Writes the port the server listens on to this file once it listens (useful with
    /// PORT=0).
    #[arg(long, value_name = "FILE")]
    port_file: Option<PathBuf>,
    /// Writes the admin API's port to this file once it listens (useful with
    /// ADMIN_BIND=127.0.0.1:0).
    #[arg(long, value_name = "FILE")]
    admin_port_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// Prints JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: AdminAction,
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// The user, their active sessions, pending sign-in requests and failed sign-ins;
    /// `user delete EMAIL` deletes the account.
    User(UserArgs),
    /// The user's active sessions.
    Sessions { email: String },
    /// Ends one session (--session ID), or all of the user's sessions without it.
    Revoke {
        email: String,
        #[arg(long, value_name = "ID")]
        session: Option<Uuid>,
    },
    /// Ends all of the user's sessions and cancels their sign-in requests in flight.
    RevokeAll { email: String },
    /// Forgets the account's failed sign-ins, so that its owner can sign in again at once.
    Unlock { email: String },
    /// Keys of the admin API (`ADMIN_BIND`): `create`, `list`, `revoke`.
    #[command(subcommand)]
    ApiKey(ApiKeyAction),
    /// Endpoints told of sessions starting and ending, sign-in requests and alerts (signed
    /// per Standard Webhooks).
    #[command(subcommand)]
    Webhook(WebhookAction),
}

#[derive(Debug, Subcommand)]
enum WebhookAction {
    /// Adds an endpoint and prints its secret (`whsec_…`), shown this once.
    Add {
        url: String,
        /// The events it hears, comma-separated: session.created, session.ended,
        /// approval.requested, approval.decided, login.refused, alert.raised,
        /// password.changed, account.secured.
        #[arg(long, value_name = "E1,E2")]
        events: String,
    },
    /// Every endpoint, with its state (enabled, failing, disabled).
    List,
    /// Removes an endpoint; nothing more is sent to it.
    Remove { id: Uuid },
    /// Sends to a disabled endpoint again (its failures forgotten); what was given up on when
    /// it was disabled is sent again.
    Enable { id: Uuid },
    /// The endpoint's latest deliveries, newest first.
    Deliveries { id: Uuid },
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Makes a key and prints it, this once (only its hash is stored).
    Create {
        /// A unique name, shown in users' activity logs ("by administrator (key NAME)").
        name: String,
        /// `read` looks; `write` also ends sessions and unlocks accounts.
        #[arg(long, value_parser = parse_scope)]
        scope: Scope,
    },
    /// Every key, revoked ones included (never the keys themselves).
    List,
    /// Revokes the key: every instance refuses it from its next request on.
    Revoke { name: String },
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    Scope::parse(text).ok_or_else(|| "the scope is `read` or `write`".to_owned())
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct UserArgs {
    #[arg(required = true)]
    email: Option<String>,
    #[command(subcommand)]
    action: Option<UserAction>,
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Deletes the account as `DELETE /api/me` does: every session ends (its sockets hear
    /// `account_deleted` on every instance), requests in flight are cancelled, unsent mail is
    /// dropped, every row of the account goes, a goodbye mail is sent; the address is free.
    Delete { email: String },
}

pub async fn run(cli: Cli) -> ExitCode {
    // `.env` first: RUST_LOG and LOG_FORMAT written there shape the logging set up next.
    let dotenv = crate::config::load_dotenv();
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    let output = match command {
        Command::Serve(_) => Output::Stdout,
        Command::Openapi | Command::Admin(_) => Output::Stderr,
    };
    telemetry::init(output);
    if let Err(error) = dotenv {
        tracing::warn!(%error, "ignoring .env");
    }
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Openapi => openapi(),
        Command::Admin(args) => administer(args).await,
    }
}

fn settings() -> Option<Settings> {
    match Settings::from_env() {
        Ok(settings) => Some(settings),
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            None
        }
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    let Some(settings) = settings() else {
        return ExitCode::FAILURE;
    };
    tracing::info!(?settings, "starting");
    raise_open_file_limit();
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        port = application.port(),
        metrics_port = application.metrics_port(),
        admin_port = application.admin_port(),
        "listening"
    );
    let port_files = [
        (&args.port_file, Some(application.port())),
        (&args.admin_port_file, application.admin_port()),
    ];
    for (path, port) in port_files {
        if let (Some(path), Some(port)) = (path, port)
            && let Err(error) = std::fs::write(path, port.to_string())
        {
            tracing::error!(%error, path = %path.display(), "cannot write the port file");
            return ExitCode::FAILURE;
        }
    }
    match application.run_until_signalled().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// Raises the soft limit on open files to the hard one, as Go's runtime and nginx do: every
/// held socket is a file, and a soft limit of 1 024 (a common default) would refuse sockets
/// past about a thousand while the hard limit allows far more.
fn raise_open_file_limit() {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) if soft < hard => match rlimit::increase_nofile_limit(hard) {
            Ok(raised) => tracing::info!(from = soft, to = raised, "open-file limit raised"),
            Err(error) => tracing::warn!(%error, soft, hard, "cannot raise the open-file limit"),
        },
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read the open-file limit"),
    }
}

fn openapi() -> ExitCode {
    let Some(settings) = settings() else {
        return ExitCode::FAILURE;
    };
    let document = crate::http::openapi::document(&settings.session.session_cookie_name());
    match document.to_pretty_json() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "cannot render the document");
            ExitCode::FAILURE
        }
    }
}

async fn administer(args: AdminArgs) -> ExitCode {
    let Some(settings) = settings() else {
        return ExitCode::FAILURE;
    };
    if let Err(error) =
        db::check_reachable(settings.database.url.expose(), settings.database.timeout).await
    {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    let pool = match db::build_pool(&settings) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::new(pool, settings, Arc::new(SystemClock), None);
    let answer = match &args.action {
        AdminAction::User(UserArgs {
            action: Some(UserAction::Delete { email }),
            ..
        }) => admin::delete_user(&state, email)
            .await
            .map(|deleted| Answer::Deleted(Box::new(deleted))),
        AdminAction::User(UserArgs {
            email: Some(email), ..
        }) => admin::user_overview(&state, email)
            .await
            .map(|user| Answer::User(Box::new(user))),
        AdminAction::User(UserArgs {
            email: None,
            action: None,
        }) => Err(Error::Validation(
            "an e-mail address or `delete EMAIL` is needed".into(),
        )),
        AdminAction::Sessions { email } => {
            admin::sessions(&state, email).await.map(Answer::Sessions)
        }
        AdminAction::Revoke {
            email,
            session: Some(session_id),
        } => admin::revoke(&state, email, *session_id, &Administrator::CommandLine)
            .await
            .map(|session| Answer::Revoked(vec![session])),
        AdminAction::Revoke {
            email,
            session: None,
        }
        | AdminAction::RevokeAll { email } => {
            admin::revoke_all(&state, email, &Administrator::CommandLine)
                .await
                .map(Answer::RevokedAll)
        }
        AdminAction::Unlock { email } => admin::unlock(&state, email, &Administrator::CommandLine)
            .await
            .map(Answer::Unlocked),
        AdminAction::ApiKey(ApiKeyAction::Create { name, scope }) => {
            api_keys::create(&state, name, *scope)
                .await
                .map(|created| Answer::KeyCreated(Box::new(created)))
        }
        AdminAction::ApiKey(ApiKeyAction::List) => api_keys::list(&state).await.map(Answer::Keys),
        AdminAction::ApiKey(ApiKeyAction::Revoke { name }) => api_keys::revoke(&state, name)
            .await
            .map(|key| Answer::KeyRevoked(Box::new(key))),
        AdminAction::Webhook(action) => webhook(&state, action).await,
    };
    match answer {
        Ok(answer) => {
            let printed = if args.json {
                serde_json::to_string_pretty(&answer.json()).map_err(|error| error.to_string())
            } else {
                Ok(answer.table())
            };
            match printed {
                Ok(text) => {
                    println!("{}", text.trim_end());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => {
            eprintln!("error: {}", explain(&error));
            ExitCode::FAILURE
        }
    }
}

async fn webhook(state: &AppState, action: &WebhookAction) -> Result<Answer, Error> {
    match action {
        WebhookAction::Add { url, events } => {
            let events = model::webhooks::parse_events(events).map_err(Error::Validation)?;
            webhooks::add(state, url, events)
                .await
                .map(Answer::WebhookAdded)
        }
        WebhookAction::List => webhooks::list(state).await.map(Answer::Webhooks),
        WebhookAction::Remove { id } => webhooks::remove(state, *id)
            .await
            .map(|()| Answer::WebhookRemoved(*id)),
        WebhookAction::Enable { id } => webhooks::enable(state, *id)
            .await
            .map(|enabled| Answer::WebhookEnabled(Box::new(enabled))),
        WebhookAction::Deliveries { id } => webhooks::deliveries(state, *id)
            .await
            .map(Answer::WebhookDeliveries),
    }
}

/// What went wrong, for the operator: the reason for what they can fix, the source chain
/// for what they cannot.
fn explain(error: &Error) -> String {
    match error {
        Error::NotFound(what) => (*what).to_owned(),
        Error::Validation(reason) | Error::BadRequest(reason) => reason.clone(),
        other => other.chain(),
    }
}

enum Answer {
    User(Box<UserOverview>),
    Sessions(Vec<SessionInfo>),
    Revoked(Vec<SessionInfo>),
    RevokedAll(admin::RevokedAll),
    Unlocked(usize),
    Deleted(Box<DeletedUser>),
    KeyCreated(Box<CreatedKey>),
    Keys(Vec<ApiKeyRow>),
    KeyRevoked(Box<ApiKeyRow>),
    WebhookAdded(CreatedWebhook),
    Webhooks(Vec<WebhookEndpoint>),
    WebhookRemoved(Uuid),
    WebhookEnabled(Box<EnabledWebhook>),
    WebhookDeliveries(Vec<WebhookDelivery>),
}

/// An API key as `api-key list --json` prints it (never the key: only its hash is kept).
#[derive(Serialize)]
struct KeyJson<'a> {
    id: Uuid,
    name: &'a str,
    scope: Scope,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl<'a> From<&'a ApiKeyRow> for KeyJson<'a> {
    fn from(row: &'a ApiKeyRow) -> Self {
        Self {
            id: row.id,
            name: &row.name,
            scope: row.scope,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonAnswer<'a> {
    User(&'a UserOverview),
    Sessions {
        sessions: &'a [SessionInfo],
    },
    Revoked {
        revoked: &'a [SessionInfo],
    },
    RevokedAll {
        revoked_sessions: usize,
        cancelled_requests: usize,
    },
    Unlocked {
        forgotten_failures: usize,
    },
    Deleted {
        deleted: &'a str,
        id: Uuid,
        sessions_ended: usize,
        requests_cancelled: usize,
    },
    KeyCreated {
        id: Uuid,
        name: &'a str,
        scope: Scope,
        key: &'a str,
    },
    Keys {
        keys: Vec<KeyJson<'a>>,
    },
    KeyRevoked {
        revoked: KeyJson<'a>,
    },
    WebhookAdded(&'a CreatedWebhook),
    Webhooks {
        webhooks: &'a [WebhookEndpoint],
    },
    WebhookRemoved {
        removed: Uuid,
    },
    WebhookEnabled(&'a EnabledWebhook),
    WebhookDeliveries {
        deliveries: &'a [WebhookDelivery],
    },
}

impl Answer {
    fn json(&self) -> JsonAnswer<'_> {
        match self {
            Self::User(user) => JsonAnswer::User(user),
            Self::Sessions(sessions) => JsonAnswer::Sessions { sessions },
            Self::Revoked(revoked) => JsonAnswer::Revoked { revoked },
            Self::RevokedAll(revoked) => JsonAnswer::RevokedAll {
                revoked_sessions: revoked.sessions,
                cancelled_requests: revoked.requests,
            },
            Self::Unlocked(count) => JsonAnswer::Unlocked {
                forgotten_failures: *count,
            },
            Self::Deleted(deleted) => JsonAnswer::Deleted {
                deleted: &deleted.user.email,
                id: deleted.user.id,
                sessions_ended: deleted.sessions_ended,
                requests_cancelled: deleted.requests_cancelled,
            },
            Self::KeyCreated(created) => JsonAnswer::KeyCreated {
                id: created.row.id,
                name: &created.row.name,
                scope: created.row.scope,
                key: &created.key,
            },
            Self::Keys(keys) => JsonAnswer::Keys {
                keys: keys.iter().map(KeyJson::from).collect(),
            },
            Self::KeyRevoked(key) => JsonAnswer::KeyRevoked {
                revoked: KeyJson::from(&**key),
            },
            Self::WebhookAdded(created) => JsonAnswer::WebhookAdded(created),
            Self::Webhooks(webhooks) => JsonAnswer::Webhooks { webhooks },
            Self::WebhookRemoved(id) => JsonAnswer::WebhookRemoved { removed: *id },
            Self::WebhookEnabled(enabled) => JsonAnswer::WebhookEnabled(enabled),
            Self::WebhookDeliveries(deliveries) => JsonAnswer::WebhookDeliveries { deliveries },
        }
    }

    fn table(&self) -> String {
        match self {
            Self::User(user) => {
                let mut out = String::new();
                let _ = writeln!(out, "id:        {}", user.id);
                let _ = writeln!(out, "email:     {}", user.email);
                let _ = writeln!(out, "name:      {}", user.name);
                let _ = writeln!(
                    out,
                    "created:   {}",
                    user.created_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
                let _ = writeln!(
                    out,
                    "address:   {}",
                    user.email_verified_at.map_or_else(
                        || "not confirmed".to_owned(),
                        |at| format!("confirmed {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
                    )
                );
                let _ = writeln!(
                    out,
                    "sign-ins:  {} failed recently{}",
                    user.recent_login_failures,
                    if user.locked {
                        " (locked; `api admin unlock` lifts it)"
                    } else {
                        ""
                    }
                );
                let _ = writeln!(
                    out,
                    "pending sign-in requests: {}",
                    user.pending_approvals.len()
                );
                for approval in &user.pending_approvals {
                    let _ = writeln!(
                        out,
                        "  {}  {} on {} ({})  {}  until {}",
                        approval.id,
                        approval.browser,
                        approval.os,
                        approval.device,
                        approval.ip,
                        approval.expires_at.format("%H:%M:%S UTC")
                    );
                }
                let _ = writeln!(out, "active sessions: {}", user.active_sessions.len());
                out.push_str(&sessions_table(&user.active_sessions));
                out
            }
            Self::Sessions(sessions) => {
                if sessions.is_empty() {
                    "no active sessions".to_owned()
                } else {
                    sessions_table(sessions)
                }
            }
            Self::Revoked(sessions) => format!("ended:\n{}", sessions_table(sessions)),
            Self::RevokedAll(revoked) => format!(
                "ended {} session(s), cancelled {} sign-in request(s)",
                revoked.sessions, revoked.requests
            ),
            Self::Unlocked(count) => {
                format!("forgot {count} failed sign-in(s); the account can sign in")
            }
            Self::Deleted(deleted) => format!(
                "deleted {} ({}): ended {} session(s), cancelled {} sign-in request(s)",
                deleted.user.email,
                deleted.user.id,
                deleted.sessions_ended,
                deleted.requests_cancelled
            ),
            Self::KeyCreated(created) => format!(
                "{}\n\nThe {} key {:?}: shown this once, only its hash is kept. Send it as \
                 `Authorization: Bearer <key>` to the admin API (ADMIN_BIND).",
                created.key, created.row.scope, created.row.name
            ),
            Self::Keys(keys) => keys_table(keys),
            Self::KeyRevoked(key) => format!(
                "revoked the key {:?}: every instance refuses it from now on",
                key.name
            ),
            Self::WebhookAdded(created) => format!(
                "added webhook {}\nurl:     {}\nevents:  {}\nsecret:  {}\n(the secret is shown only now: \
                 the receiver verifies every delivery's signature with it)",
                created.id,
                created.url,
                event_names(&created.events),
                created.secret
            ),
            Self::Webhooks(webhooks) if webhooks.is_empty() => "no webhooks".to_owned(),
            Self::Webhooks(webhooks) => webhooks_table(webhooks),
            Self::WebhookRemoved(id) => format!("removed webhook {id}"),
            Self::WebhookEnabled(enabled) => format!(
                "enabled webhook {}; {} delivery(ies) given up on when it was disabled will be sent again",
                enabled.webhook.id, enabled.requeued_deliveries
            ),
            Self::WebhookDeliveries(deliveries) if deliveries.is_empty() => {
                "no deliveries".to_owned()
            }
            Self::WebhookDeliveries(deliveries) => deliveries_table(deliveries),
        }
    }
}

fn keys_table(keys: &[ApiKeyRow]) -> String {
    if keys.is_empty() {
        return "no API keys (`api admin api-key create NAME --scope read|write`)".to_owned();
    }
    let when = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || "-".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
    };
    let rows = std::iter::once([
        "NAME".to_owned(),
        "SCOPE".to_owned(),
        "CREATED".to_owned(),
        "LAST USED".to_owned(),
        "REVOKED".to_owned(),
    ])
    .chain(keys.iter().map(|key| {
        [
            key.name.clone(),
            key.scope.to_string(),
            when(Some(key.created_at)),
            when(key.last_used_at),
            when(key.revoked_at),
        ]
    }))
    .collect::<Vec<_>>();
    columns(&rows)
}

fn event_names(events: &[shared::WebhookEventType]) -> String {
    let names: Vec<&str> = events.iter().map(|event| event.as_str()).collect();
    names.join(",")
}

fn webhooks_table(webhooks: &[WebhookEndpoint]) -> String {
    let mut rows = vec![
        ["WEBHOOK", "STATE", "URL", "EVENTS", "FAILURES"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for webhook in webhooks {
        let state = match (webhook.disabled_at, webhook.failing_since) {
            (Some(at), _) => format!("disabled {}", at.format("%Y-%m-%d %H:%M")),
            (None, Some(since)) => format!("failing since {}", since.format("%Y-%m-%d %H:%M")),
            (None, None) => "enabled".to_owned(),
        };
        rows.push(vec![
            webhook.id.to_string(),
            state,
            webhook.url.clone(),
            event_names(&webhook.events),
            webhook.consecutive_failures.to_string(),
        ]);
    }
    columns(&rows)
}

fn deliveries_table(deliveries: &[WebhookDelivery]) -> String {
    let mut rows = vec![
        ["DELIVERY", "EVENT", "CREATED", "STATE", "TRIES", "LAST"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for delivery in deliveries {
        let state = match (
            delivery.delivered_at,
            delivery.failed_at,
            delivery.next_attempt_at,
        ) {
            (Some(at), _, _) => format!("delivered {}", at.format("%H:%M:%S")),
            (None, Some(at), _) => format!("failed {}", at.format("%H:%M:%S")),
            (None, None, Some(next)) => format!("retry at {}", next.format("%H:%M:%S")),
            (None, None, None) => "pending".to_owned(),
        };
        let last = match (&delivery.last_status, &delivery.last_error) {
            (_, Some(error)) => error.chars().take(60).collect(),
            (Some(status), None) => status.to_string(),
            (None, None) => String::new(),
        };
        rows.push(vec![
            delivery.id.clone(),
            delivery.event_type.to_string(),
            delivery.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            state,
            delivery.attempts.to_string(),
            last,
        ]);
    }
    columns(&rows)
}

fn sessions_table(sessions: &[SessionInfo]) -> String {
    let mut rows = vec![[
        "SESSION".to_owned(),
        "DEVICE".to_owned(),
        "IP".to_owned(),
        "STARTED".to_owned(),
        "LAST SEEN".to_owned(),
    ]];
    for session in sessions {
        rows.push([
            session.id.to_string(),
            format!("{} on {} ({})", session.browser, session.os, session.device),
            match &session.country {
                Some(country) => format!("{} {country}", session.ip),
                None => session.ip.clone(),
            },
            session.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            session.last_seen_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        ]);
    }
    columns(&rows)
}

/// Rows as aligned columns, the first row the header.
fn columns<Row: AsRef<[String]>>(rows: &[Row]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        let row = row.as_ref();
        widths.resize(widths.len().max(row.len()), 0);
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line = row
            .as_ref()
            .iter()
            .zip(widths.iter().copied())
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
