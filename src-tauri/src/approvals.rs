//! The window's side of the approvals (policy `ask`): the core's desk listens on the local socket
//! and sends each question here; the window is opened (built again if the app is resident), the
//! page shows the question as a dialog, and a desktop notification goes out too, since some
//! desktops (GNOME on Wayland) do not raise a window that asks for attention.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ca_core::approval::{Choice, Desk, Pending, Purpose, Question};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::{mpsc, oneshot};

/// The questions open now, and the page's channel to show them on.
#[derive(Default)]
pub struct Approvals {
    open: Mutex<HashMap<String, (Question, oneshot::Sender<Choice>)>>,
    page: Mutex<Option<Channel<Question>>>,
    desk: Mutex<Option<Arc<Desk>>>,
}

impl Approvals {
    pub fn desk(&self) -> Option<Arc<Desk>> {
        self.desk.lock().expect("desk").clone()
    }

    /// The page is ready for questions: it gets every one still open, then each new one.
    pub fn set_page(&self, channel: Channel<Question>) {
        // Under the questions' lock (always taken before the page's): a question that comes
        // meanwhile goes to this page, not to the one being replaced.
        let open = self.open.lock().expect("open questions");
        for (q, _) in open.values() {
            let _ = channel.send(q.clone());
        }
        *self.page.lock().expect("page") = Some(channel);
    }

    /// The person's answer. An unknown id (answered already, or past its deadline) is ignored.
    pub fn answer(&self, id: &str, choice: Choice) {
        if let Some((_, tx)) = self.open.lock().expect("open questions").remove(id) {
            let _ = tx.send(choice);
        }
    }

    fn ask<R: Runtime>(&self, app: &AppHandle<R>, pending: Pending) {
        let question = pending.question;
        let now = ca_core::db::now_ms();
        {
            let mut open = self.open.lock().expect("open questions");
            // Questions past their deadline were answered "no answer" by the desk already.
            open.retain(|_, (q, _)| q.deadline_ms > now);
            open.insert(question.id.clone(), (question.clone(), pending.answer));
            if let Some(page) = self.page.lock().expect("page").as_ref() {
                // A page that is gone (the window was closed) gets it when the window is built.
                let _ = page.send(question.clone());
            }
        }
        notify(app, &question);
        crate::open_window(app);
    }
}

/// Starts the desk on the profile's socket and forwards its questions to the window.
pub fn start<R: Runtime>(app: &AppHandle<R>, engine: Arc<ca_core::Engine>) {
    // The command line is installed next to the app; a request from it is made for its parent.
    let cli = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("connected-accounts")));
    let (desk, questions) = Desk::new(engine, cli);
    let approvals = app.state::<Arc<Approvals>>().inner().clone();
    *approvals.desk.lock().expect("desk") = Some(desk.clone());
    let listening = desk.clone();
    tauri::async_runtime::spawn(async move {
        // Without it, reads under `ask` are refused by the command line (it cannot reach us).
        let listened = async {
            let path = ca_core::approval::socket_path(listening.engine_paths())?;
            listening.listen(path).await
        };
        if let Err(e) = listened.await {
            tracing::warn!(error = %e.detailed(), "not listening for approval requests");
        }
    });
    #[cfg(target_os = "linux")]
    tauri::async_runtime::spawn(end_on_lock(desk));
    #[cfg(not(target_os = "linux"))]
    drop(desk);
    let handle = app.clone();
    tauri::async_runtime::spawn(forward(handle, approvals, questions));
}

/// Approvals for a program in a session end when the screen locks, where the desktop says so:
/// `ActiveChanged(true)` of the freedesktop or GNOME screen saver. Any sender is believed: a
/// false "locked" can only make the app ask again.
#[cfg(target_os = "linux")]
async fn end_on_lock(desk: Arc<Desk>) {
    use futures_util::StreamExt;
    let watched = async {
        let bus = zbus::Connection::session().await?;
        let mut streams = Vec::new();
        for interface in ["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"] {
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .interface(interface)?
                .member("ActiveChanged")?
                .build();
            streams.push(zbus::MessageStream::for_match_rule(rule, &bus, Some(8)).await?);
        }
        Ok::<_, zbus::Error>(futures_util::stream::select_all(streams))
    };
    let mut signals = match watched.await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(error = %e, "no screen-lock signals: approvals end by time only");
            return;
        }
    };
    while let Some(Ok(message)) = signals.next().await {
        if message.body().deserialize::<bool>().unwrap_or(false) {
            tracing::info!("the screen locked: approvals for programs in a session end");
            desk.end_sessions();
        }
    }
}

async fn forward<R: Runtime>(
    app: AppHandle<R>,
    approvals: Arc<Approvals>,
    mut questions: mpsc::Receiver<Pending>,
) {
    while let Some(pending) = questions.recv().await {
        approvals.ask(&app, pending);
    }
}

/// "git wants a token for Alice (GitHub)": the program's name, the account, what for.
pub fn summary(q: &Question) -> (String, String) {
    use ca_core::text::for_notification as markup;
    let program = q
        .program
        .as_deref()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or("A program");
    let what = match &q.purpose {
        Purpose::Token => "wants a token".to_owned(),
        Purpose::Git { host, path } => format!("wants git access to {host}/{path}"),
        Purpose::Loosen { policy } => {
            format!("asks to set the access policy to {}", policy.as_str())
        }
    };
    (
        "Connected Accounts asks you".to_owned(),
        markup(&format!(
            "{program} {what} for {} ({}). Answer in the window.",
            q.account_name, q.provider_name
        )),
    )
}

fn notify<R: Runtime>(app: &AppHandle<R>, q: &Question) {
    let (title, body) = summary(q);
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "could not show a desktop notification");
    }
}
