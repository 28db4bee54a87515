//! Messages PandaPon pushes to your server (PandaPon's console calls the
//! URL they go to the callback URL): [`verify_message`] checks one, a
//! [`PushEvent`] types it by its `messageType`, and, with the `receiver`
//! feature, [`receiver`] serves the URL and [`inbox`] stores each message
//! before it is acknowledged.
//!
//! PandaPon POSTs JSON over HTTPS and expects HTTP 200 within 1000 ms; a
//! failed push is sent again after half an hour, at most 5 times, and
//! delivery order is not guaranteed. Acknowledge first, process later: the
//! guide's chapter [Pushed order messages](crate::guide::push) shows how.

mod event;
#[cfg(feature = "receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "receiver")))]
pub mod inbox;
#[cfg(feature = "receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "receiver")))]
pub mod receiver;
mod verify;

pub use crate::generated::PushEvent;
pub use event::Push;
pub use verify::{PushError, Verified, parse_message, verify_message};
