//! Calling a split point: a function whose code `xtask web` cuts into a
//! chunk of its own, which the browser downloads on first use. Shared by
//! the page groups ([`crate::pages`]) and the sync client's chunk
//! ([`crate::client_chunk`]).

/// A page group's code could not be downloaded (offline, relay gone, or a
/// broken chunk): the page says so and offers a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this part of Accord has not been downloaded to this device yet")]
pub struct ChunkUnavailable;

impl From<leptos::wasm_split::SplitLoaderError> for ChunkUnavailable {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        Self
    }
}

/// A call of a split-point function as a future: with the `split` feature
/// the function is `async` (it loads its chunk first); without it, a plain
/// call.
macro_rules! deferred_call {
    ($call:expr) => {{
        #[cfg(feature = "split")]
        let future = $call;
        #[cfg(not(feature = "split"))]
        let future = std::future::ready($call);
        Box::pin(future)
    }};
}
pub(crate) use deferred_call;
