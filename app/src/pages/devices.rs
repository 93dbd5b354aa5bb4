//! A person's devices: "Link another device" (a short-lived code, its
//! link and a QR code of the link, with the time left), "My devices" (each
//! device of the account with when it was last seen, and Revoke for a lost
//! one), and the page a new device opens the link on (`#/link/<code>`).

use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::routes::link_code_from_hash;
use super::{Route, navigate};
use crate::api::{AccountDevice, ApiError};
use crate::browser;
use crate::qr;
use crate::store::Store;
use crate::sync_client::{ClientError, client};

/// How often the panel asks whether the new device has joined while a code
/// is shown.
const POLL_MS: u32 = 2_000;

/// What went wrong with a link code, worded for the person holding the new
/// device: one sentence per case.
fn explain(error: &ClientError) -> String {
    match error {
        ClientError::Api(ApiError::Status { status, message })
        | ClientError::Identity(crate::identity::IdentityError::Api(ApiError::Status {
            status,
            message,
        })) => match status {
            404 => "This link code is not valid: check it, or show a new one on your other device."
                .to_owned(),
            410 if message.contains("expired") => {
                "This link code has expired: show a new one on your other device.".to_owned()
            }
            410 => {
                "This link code was already used: show a new one on your other device.".to_owned()
            }
            429 => "Too many attempts: wait a minute and try again.".to_owned(),
            _ => format!("The relay refused the link code: {message}."),
        },
        e if e.is_offline() => "You are offline. Try again when you are connected.".to_owned(),
        other => format!("Could not link this browser: {other}"),
    }
}

/// "just now", "5 minutes ago", "3 hours ago", or the date.
pub fn last_seen_text(last_seen: u64, now: u64) -> String {
    if last_seen == 0 {
        return "not seen yet".to_owned();
    }
    let ago = now.saturating_sub(last_seen) / 1000;
    match ago {
        0..60 => "seen just now".to_owned(),
        60..3600 => plural(ago / 60, "minute"),
        3600..86_400 => plural(ago / 3600, "hour"),
        _ => format!("last seen {}", crate::edit::format_date(last_seen)),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("seen 1 {unit} ago")
    } else {
        format!("seen {n} {unit}s ago")
    }
}

/// `m:ss` of a number of seconds.
pub fn countdown(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// A link code on show.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    code: String,
    link: String,
    /// When it stops working, by this device's clock.
    expires_at: u64,
    /// The account's devices when the code was made.
    known: Vec<String>,
}

/// What the home page's "Your devices" panel holds; `open` is whether it is unfolded (the list
/// is fetched again each time it is).
#[component]
pub fn DevicesContent(
    /// Whether the panel is unfolded.
    open: RwSignal<bool>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let devices = RwSignal::new(None::<Vec<AccountDevice>>);
    let problem = RwSignal::new(None::<String>);
    let shown = RwSignal::new(None::<Shown>);
    let joined = RwSignal::new(None::<String>);
    let now = RwSignal::new(browser::now_ms());
    let busy = RwSignal::new(false);

    let load = move || {
        let Some(client) = client() else { return };
        spawn_local(async move {
            match client.account_devices().await {
                Ok(list) => {
                    problem.set(None);
                    devices.set(Some(list));
                }
                Err(error) => problem.set(Some(format!("Could not list your devices: {error}"))),
            }
        });
    };
    Effect::new(move |_| {
        if open.get() && store.ready.get() {
            load();
        }
    });

    let link = move |_| {
        let Some(client) = client() else { return };
        busy.set(true);
        joined.set(None);
        spawn_local(async move {
            let known: Vec<String> = match client.account_devices().await {
                Ok(list) => {
                    let ids = list.iter().map(|d| d.device_id.clone()).collect();
                    devices.set(Some(list));
                    ids
                }
                Err(_) => Vec::new(),
            };
            match client.create_link().await {
                Ok((code, link)) => {
                    problem.set(None);
                    let started = browser::now_ms();
                    shown.set(Some(Shown {
                        code: code.code,
                        link,
                        expires_at: started + code.expires_in_seconds * 1000,
                        known,
                    }));
                    now.set(started);
                    watch(shown, devices, joined, now);
                }
                Err(ClientError::Api(ApiError::Status { status: 429, .. })) => problem.set(Some(
                    "You asked for several codes just now: wait a few minutes and try again."
                        .into(),
                )),
                Err(error) => problem.set(Some(format!("Could not make a link code: {error}"))),
            }
            busy.set(false);
        });
    };

    view! {
            <p class="muted">
                "Use Accord on your phone or another computer as the same person: link it here. It gets every partnership this device has."
            </p>
            <button type="button" data-testid="link-device" on:click=link
                disabled=move || busy.get() || !store.ready.get()>
                "Link another device"
            </button>
            {move || problem.get().map(|text| view! { <p class="error-text" role="alert" data-testid="devices-error">{text}</p> })}
            {move || joined.get().map(|name| view! {
                <p class="ok-text" role="status" data-testid="device-joined">{format!("\u{201c}{name}\u{201d} is now one of your devices.")}</p>
            })}
            {move || shown.get().map(|code| view! { <LinkCodeView code=code now=now shown=shown/> })}
            <h2 class="devices-heading">"My devices"</h2>
            {move || match devices.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(list) => view! {
                    <ul class="device-list" data-testid="device-list">
                        {list.into_iter().map(|device| view! {
                            <DeviceRow device=device now=now devices=devices problem=problem/>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
    }
}

/// While a code is shown: ticks the countdown each second and asks the
/// relay every [`POLL_MS`] whether a new device joined (which also attests
/// its key in every partnership here); stops when it joined or the code
/// expired.
fn watch(
    shown: RwSignal<Option<Shown>>,
    devices: RwSignal<Option<Vec<AccountDevice>>>,
    joined: RwSignal<Option<String>>,
    now: RwSignal<u64>,
) {
    spawn_local(async move {
        let mut since_poll = 0;
        loop {
            browser::sleep(1000).await;
            let Some(current) = shown.get_untracked() else {
                return;
            };
            let time = browser::now_ms();
            now.set(time);
            if time >= current.expires_at + 1000 {
                return;
            }
            since_poll += 1000;
            if since_poll < POLL_MS {
                continue;
            }
            since_poll = 0;
            let Some(client) = client() else { return };
            if let Ok(list) = client.account_devices().await {
                let new = list
                    .iter()
                    .find(|d| !current.known.contains(&d.device_id))
                    .map(|d| d.name.clone());
                devices.set(Some(list));
                if let Some(name) = new {
                    if shown.get_untracked().as_ref() == Some(&current) {
                        shown.set(None);
                    }
                    joined.set(Some(name));
                    return;
                }
            }
        }
    });
}

/// The code, its link with a Copy button, the QR code and the time left.
#[component]
fn LinkCodeView(code: Shown, now: RwSignal<u64>, shown: RwSignal<Option<Shown>>) -> impl IntoView {
    let expires_at = code.expires_at;
    let left = move || expires_at.saturating_sub(now.get()).div_ceil(1000);
    let qr = qr::encode(&code.link);
    let copied = RwSignal::new(false);
    let text = code.link.clone();
    let copy = move |_| {
        let text = text.clone();
        spawn_local(async move {
            copied.set(browser::copy_to_clipboard(&text).await.is_ok());
        });
    };
    view! {
        <div class="link-code card" data-testid="link-code-panel">
            <p>"On the new device, open this link or scan the code, or open Accord there and enter the code. It works once."</p>
            <p class="link-code-text" data-testid="link-code">{code.code.clone()}</p>
            <div class="invite-link-row">
                <label class="visually-hidden" for="device-link-text">"Link for the new device"</label>
                <input id="device-link-text" data-testid="device-link" type="text" readonly prop:value=code.link.clone()/>
                <button type="button" class="secondary" data-testid="device-link-copy" on:click=copy>"Copy"</button>
            </div>
            <span class="muted" role="status" aria-live="polite">{move || if copied.get() { "Copied" } else { "" }}</span>
            {match qr {
                Ok(qr) => view! {
                    <svg class="qr" data-testid="link-qr" role="img" aria-label="QR code of the link"
                        viewBox=format!("0 0 {} {}", qr.size, qr.size) shape-rendering="crispEdges">
                        <rect width=qr.size height=qr.size fill="#fff"/>
                        <path d=qr.path fill="#000"/>
                    </svg>
                }.into_any(),
                Err(error) => view! { <p class="error-text">{error.to_string()}</p> }.into_any(),
            }}
            <p role="timer" data-testid="link-expiry">
                {move || match left() {
                    0 => "This code has expired.".to_owned(),
                    s => format!("Expires in {}", countdown(s)),
                }}
            </p>
            <button type="button" class="secondary" data-testid="link-cancel" on:click=move |_| shown.set(None)>
                "Hide the code"
            </button>
        </div>
    }
}

/// One device of the account.
#[component]
fn DeviceRow(
    device: AccountDevice,
    now: RwSignal<u64>,
    devices: RwSignal<Option<Vec<AccountDevice>>>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let seen = device.last_seen;
    let this = device.this_device;
    let name = device.name.clone();
    let id = device.device_id.clone();
    let revoke = move |_| {
        let question = format!(
            "Revoke \u{201c}{name}\u{201d}? It stops syncing at once and can no longer open your partnerships. What it signed stops counting."
        );
        if !crate::browser::confirm(&question) {
            return;
        }
        let Some(client) = client() else { return };
        let id = id.clone();
        spawn_local(async move {
            match client.revoke_device(&id).await {
                Ok(()) => devices.update(|list| {
                    if let Some(list) = list {
                        list.retain(|d| d.device_id != id);
                    }
                }),
                Err(error) => problem.set(Some(format!("Could not revoke the device: {error}"))),
            }
        });
    };
    view! {
        <li class="device-row" data-testid="device-row">
            <span class="device-name" data-testid="device-name">{device.name.clone()}</span>
            {this.then(|| view! { <span class="status-chip" data-testid="this-device">"this device"</span> })}
            <span class="muted">{format!("added {}", crate::edit::format_date(device.created_at))}</span>
            <span class="muted" data-testid="device-seen">
                {move || if this { "in use now".to_owned() } else { last_seen_text(seen, now.get()) }}
            </span>
            {(!this).then(|| view! {
                <button type="button" class="danger" data-testid="revoke-device" on:click=revoke
                    aria-label=format!("Revoke {}", device.name)>
                    "Revoke"
                </button>
            })}
        </li>
    }
}

/// Where the link page stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LinkStep {
    /// Asking for the code (prefilled from the link).
    Asking,
    /// Registering and fetching the partnerships.
    Linking,
    /// It failed, for this reason (worded for the person).
    Failed(String),
}

/// The page a new device opens a link on (`#/link/<code>`), or where the
/// person types the code shown on their other device (`#/link`).
#[component]
pub fn LinkPage() -> impl IntoView {
    let store = expect_context::<Store>();
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let code = RwSignal::new(link_code_from_hash(&hash).unwrap_or_default());
    let step = RwSignal::new(LinkStep::Asking);
    let name = RwSignal::new(String::new());
    // Suggest the browser's default label once the client has started.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !store.ready.get() {
            return done.unwrap_or(false);
        }
        if let Some(client) = client() {
            name.set(client.device_name());
        }
        true
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = code.get_untracked().trim().to_owned();
        if typed.is_empty() {
            step.set(LinkStep::Failed(
                "Enter the code shown on your other device.".into(),
            ));
            return;
        }
        let Some(client) = client() else { return };
        step.set(LinkStep::Linking);
        let label = name.get_untracked();
        spawn_local(async move {
            match client.link_this_device(&typed, &label).await {
                Ok(_) => {
                    // Start afresh as the linked device (see
                    // `link_this_device`), on the partnership list.
                    navigate(Route::Home);
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
                Err(error) => step.set(LinkStep::Failed(explain(&error))),
            }
        });
    };
    view! {
        <section class="join link-page">
            <form class="join-who" data-testid="link-form" on:submit=submit>
                <h1>"Add this browser to your account"</h1>
                <p>"You become the same person here as on your other device: same name and organization, the same partnerships."</p>
                <label class="field">
                    <span>"Code from your other device"</span>
                    <input data-testid="link-code-input" type="text" autocomplete="off" spellcheck="false"
                        prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span>"Name of this device (shown in your list of devices)"</span>
                    <input data-testid="link-device-name" type="text" maxlength="100"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <button type="submit" data-testid="link-submit"
                    disabled=move || step.get() == LinkStep::Linking || !store.ready.get()>
                    "Link this browser"
                </button>
            </form>
            {move || match step.get() {
                LinkStep::Asking => ().into_any(),
                LinkStep::Linking => view! {
                    <p class="muted" data-testid="link-progress">"Linking…"</p>
                }.into_any(),
                LinkStep::Failed(text) => view! {
                    <crate::components::form::FailedStep message=text test_id="link-error"/>
                }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refused_code_gets_one_sentence() {
        let refused = |status, message: &str| {
            explain(&ClientError::Api(ApiError::Status {
                status,
                message: message.to_owned(),
            }))
        };
        assert!(refused(404, "not valid").starts_with("This link code is not valid"));
        assert!(
            refused(410, "this link code has expired; …").starts_with("This link code has expired")
        );
        assert!(
            refused(410, "this link code was already used; …")
                .starts_with("This link code was already used")
        );
        assert!(refused(429, "too many").starts_with("Too many attempts"));
    }

    #[test]
    fn times_read_as_people_say_them() {
        let now = 10_000_000;
        assert_eq!(last_seen_text(0, now), "not seen yet");
        assert_eq!(last_seen_text(now - 5_000, now), "seen just now");
        assert_eq!(last_seen_text(now - 60_000, now), "seen 1 minute ago");
        assert_eq!(last_seen_text(now - 7_200_000, now), "seen 2 hours ago");
        assert_eq!(countdown(299), "4:59");
        assert_eq!(countdown(5), "0:05");
    }
}
