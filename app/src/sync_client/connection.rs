//! The relay connection: a sync ticket, the WebSocket and its handshake,
//! frames in and out, and reconnecting with exponential backoff and jitter
//! (sooner when the browser says the network is back).

use std::rc::Rc;

use accord_shared::engine::{Access, Event};
use accord_shared::ids::PeerId;
use accord_shared::protocol::{Message, PROTOCOL_VERSION, decode, encode};
use futures_channel::mpsc::{UnboundedReceiver, unbounded};
use futures_util::StreamExt;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::{Client, ClientError};
use crate::api::{self, ApiError};
use crate::browser::{self, BrowserError, describe};

/// The live connection after a successful handshake.
pub(super) struct Link {
    pub(super) socket: WebSocket,
    pub(super) relay: PeerId,
}

/// What the socket callbacks report to the connection task.
enum SocketEvent {
    Open,
    Frame(Vec<u8>),
    Text,
    Closed { code: u16, reason: String },
}

/// What a device whose token the relay no longer accepts (revoked from
/// another device of the account, or signed out) tells its person.
const REFUSED_TOKEN: &str = "The relay no longer accepts this device: it was revoked from another of your devices. Changes made here stay on this device but are not synced.";

/// Shortest and longest wait between reconnect attempts.
const BACKOFF_MIN_MS: u32 = 500;
const BACKOFF_MAX_MS: u32 = 30_000;

/// Delay before reconnect attempt number `attempt` (0-based): exponential from
/// [`BACKOFF_MIN_MS`] up to [`BACKOFF_MAX_MS`], with "equal jitter" — a random
/// point in the upper half of the window — given `unit` in `[0, 1)`.
pub fn backoff_ms(attempt: u32, unit: f64) -> u32 {
    let window = BACKOFF_MIN_MS
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_MAX_MS);
    let half = window / 2;
    let jitter = (f64::from(half) * unit.clamp(0.0, 1.0)) as u32;
    half + jitter.min(half)
}

pub(super) fn is_offline(error: &ClientError) -> bool {
    error.is_offline()
}

impl Client {
    pub(super) fn send(&self, to: &PeerId, message: &Message) {
        let link = self.link.borrow();
        let Some(link) = link.as_ref().filter(|l| l.relay == *to) else {
            return;
        };
        if let Err(error) = link.socket.send_with_u8_array(&encode(message)) {
            browser::log(&format!(
                "accord: send of {} failed: {}",
                message.type_name(),
                describe(&error)
            ));
        }
    }

    pub(super) async fn run_sync(self: Rc<Self>) {
        let mut attempt: u32 = 0;
        loop {
            let ticket = match self.token().await {
                Ok(token) => api::sync_ticket(&self.origin, &token)
                    .await
                    .map_err(ClientError::from),
                Err(error) => Err(error),
            };
            match ticket {
                Ok(ticket) => match self.connect_once(&ticket).await {
                    Ok(true) => attempt = 0,
                    Ok(false) => {}
                    Err(error) => browser::log(&format!("accord: connection ended: {error}")),
                },
                Err(error) if is_offline(&error) => {}
                Err(ClientError::Api(ApiError::Status { status: 401, .. })) => {
                    self.store.report(REFUSED_TOKEN);
                }
                Err(error) => self
                    .store
                    .report(format!("cannot connect to the relay: {error}")),
            }
            let delay = backoff_ms(attempt, browser::random_unit());
            attempt = attempt.saturating_add(1);
            // Wait out the backoff, but retry at once when the browser says
            // the network is back.
            let mut waited = 0;
            while waited < delay && !self.wake.replace(false) {
                let step = delay.saturating_sub(waited).min(250);
                browser::sleep(step).await;
                waited += step;
            }
        }
    }

    /// One connection: handshake, then frames until the socket closes.
    /// Returns whether the handshake completed.
    async fn connect_once(self: &Rc<Self>, ticket: &str) -> Result<bool, ClientError> {
        let socket =
            WebSocket::new(&browser::sync_url(&self.origin, ticket)).map_err(BrowserError::from)?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let (events, mut inbox) = unbounded::<SocketEvent>();

        let on_open = Closure::<dyn FnMut()>::new({
            let events = events.clone();
            move || {
                let _ = events.unbounded_send(SocketEvent::Open);
            }
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let events = events.clone();
            move |event: MessageEvent| {
                let item = match event.data().dyn_into::<js_sys::ArrayBuffer>() {
                    Ok(buffer) => SocketEvent::Frame(js_sys::Uint8Array::new(&buffer).to_vec()),
                    Err(_) => SocketEvent::Text,
                };
                let _ = events.unbounded_send(item);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let _ = events.unbounded_send(SocketEvent::Closed {
                code: event.code(),
                reason: event.reason(),
            });
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        let result = self.pump(&socket, &mut inbox).await;

        socket.set_onopen(None);
        socket.set_onmessage(None);
        socket.set_onclose(None);
        let _ = socket.close();
        let relay = self.link.borrow_mut().take().map(|l| l.relay);
        if let Some(peer) = relay {
            self.handle(Event::PeerDisconnected { peer });
            result.map(|()| true)
        } else {
            self.refresh_status();
            result.map(|()| false)
        }
    }

    async fn pump(
        self: &Rc<Self>,
        socket: &WebSocket,
        inbox: &mut UnboundedReceiver<SocketEvent>,
    ) -> Result<(), ClientError> {
        let mut relay: Option<PeerId> = None;
        while let Some(event) = inbox.next().await {
            match event {
                SocketEvent::Open => {
                    let join = Message::Join {
                        sender_id: self.engine.borrow().peer_id().clone(),
                        supported_protocol_versions: vec![PROTOCOL_VERSION.to_owned()],
                        metadata: Some(self.engine.borrow().metadata().clone()),
                    };
                    socket
                        .send_with_u8_array(&encode(&join))
                        .map_err(BrowserError::from)?;
                }
                SocketEvent::Text => {
                    return Err(ClientError::Protocol("text frame from relay".into()));
                }
                SocketEvent::Closed { code, reason } => {
                    browser::log(&format!(
                        "accord: relay connection closed ({code}) {reason}"
                    ));
                    return Ok(());
                }
                SocketEvent::Frame(bytes) => {
                    let message =
                        decode(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))?;
                    match (message, &relay) {
                        (
                            Message::Peer {
                                sender_id,
                                metadata,
                                ..
                            },
                            None,
                        ) => {
                            relay = Some(sender_id.clone());
                            *self.link.borrow_mut() = Some(Link {
                                socket: socket.clone(),
                                relay: sender_id.clone(),
                            });
                            self.catching_up.set(true);
                            self.handle(Event::PeerConnected {
                                peer: sender_id,
                                metadata,
                            });
                        }
                        (Message::Error { message }, _) => {
                            return Err(ClientError::Protocol(message));
                        }
                        (message, Some(from)) => {
                            let from = from.clone();
                            self.handle(Event::Message {
                                from,
                                message,
                                access: Access::Write,
                            });
                        }
                        (message, None) => {
                            return Err(ClientError::Protocol(format!(
                                "{} before the handshake",
                                message.type_name()
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Reacts to the browser's `online`/`offline` events.
    pub(super) fn network_changed(&self, online: bool) {
        browser::log(&format!(
            "accord: network {}",
            if online { "back" } else { "lost" }
        ));
        if online {
            self.wake.set(true);
        } else if let Some(link) = self.link.borrow().as_ref() {
            let _ = link.socket.close();
        }
    }
}
