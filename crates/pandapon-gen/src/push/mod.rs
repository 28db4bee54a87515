//! Messages PandaPon pushes to your server (PandaPon's console calls the
//! URL they go to the callback URL): [`verify_message`] checks one, a
//! [`PushEvent`] types it by its `messageType`, and, with the `receiver`
//! feature, [`receiver`] serves the URL, [`inbox`] stores each message
//! before it is acknowledged, [`worker`] hands each to one worker at a
//! time, and [`reconcile`] catches up after an outage longer than
//! PandaPon's re-sends.
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
#[cfg(feature = "receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "receiver")))]
pub mod reconcile;
mod verify;
#[cfg(feature = "receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "receiver")))]
pub mod worker;

pub use crate::generated::PushEvent;
pub use event::Push;
pub use verify::{PushError, Verified, parse_message, verify_message};
