//! Any bytes: decoding never panics, and whatever decodes re-encodes to a
//! frame that decodes to the same message.
#![no_main]

use accord_shared::protocol::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(message) = decode(bytes) {
        let again = decode(&encode(&message)).expect("our own encoding decodes");
        assert_eq!(again, message);
    }
});
