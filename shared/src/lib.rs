//! Accord's platform-neutral core.
//!
//! Nothing here performs I/O or reads a clock: the relay (native, tokio) and the
//! browser client (wasm32) both drive the same code and feed it time and
//! randomness from outside.
//!
//! - [`ids`]: document and peer identifiers as they appear on the wire.
//! - [`protocol`]: the automerge-repo v1 messages and their CBOR codec.
//! - [`engine`]: the sans-IO sync state machine (`handle(now, event) -> effects`).
//! - [`text`]: character-level splices of Automerge text, validated.
//! - [`model`]: the partnership document schema, typed reads and validated operations.
//! - [`views`]: the read side above the model: attention, the report, the
//!   agreement's history, redlines, exports, iCalendar files.
//! - [`calendar`]: UTC calendar arithmetic (millisecond times to dates and back).
//! - [`http`]: the JSON bodies of the relay's HTTP API, shared by relay and browser.

pub mod calendar;
pub mod engine;
pub mod http;
pub mod ids;
pub mod model;
pub mod protocol;
pub mod text;
pub mod views;

pub use automerge;
