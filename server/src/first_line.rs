//! Reading the first line a started relay prints (its listening address)
//! without blocking it later: the rest of its output keeps being drained.

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

/// The first line `output` yields within `timeout`, or `None` when the
/// process closed it or printed nothing in time. A background thread keeps
/// reading (and dropping) what follows, so the process never stalls on a
/// full pipe.
pub fn first_line(output: impl Read + Send + 'static, timeout: Duration) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(output).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    rx.recv_timeout(timeout).ok()
}
