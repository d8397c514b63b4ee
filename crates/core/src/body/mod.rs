//! How request bodies are read: whole (Qt's way, counted against the
//! server's budget for buffered bodies), as a stream, or not at all.
//! Its items are re-exported at the crate root.

mod budget;
mod policy;
mod stream;

pub(crate) use budget::{BodyBudget, Reservation};
pub use policy::BodyPolicy;
pub use stream::{BodyError, BodyStream};
