//! Browser end-to-end for the device's signing key (issue 14, item 15):
//! the web app keeps its Ed25519 key as a non-extractable WebCrypto key in
//! IndexedDB, never as bytes a script can read, and still signs off
//! clauses that the partner's device verifies; a device whose record still
//! holds the key's bytes moves to such a key on its next start, keeping
//! its public key (so its registration and sign-offs stay valid) and only
//! what its sealed answers and ballots need. The sync socket opens with a
//! single-use ticket, never the device token in its URL.
//!
//! Needs the built app in `ACCORD_WEB_DIST`, Chromium and chromedriver;
//! `ACCORD_SKIP_BROWSER=1` skips.

use accord_shared::model::boards::SealKey;
use accord_shared::model::health::AnswerKey;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::device::clause::FIRST;
use crate::device::{Browser, Device, partnership, tid};

/// Runs `script` (an async function body ending in `done(value)`) in the page.
fn run_async(device: &Device, script: &str, args: &Value) -> Value {
    let script = format!("const done = arguments[arguments.length - 1];\n{script}");
    device.script_async(&script, args)
}

/// What the page finds in its IndexedDB identity record: its kind, and for
/// a key object what the key says of itself, whether the browser lets a
/// script export it, and the details text.
fn identity_record(device: &Device) -> Value {
    run_async(
        device,
        "const open = indexedDB.open('accord');
        open.onerror = () => done({ error: String(open.error) });
        open.onsuccess = () => {
            const get = open.result.transaction('meta').objectStore('meta').get('identity');
            get.onsuccess = async () => {
                open.result.close();
                const record = get.result;
                if (record === undefined) { done({ kind: 'none' }); return; }
                if (typeof record === 'string') { done({ kind: 'text', text: record }); return; }
                const key = record.signing_key;
                let exported = 'refused';
                for (const format of ['pkcs8', 'jwk', 'raw']) {
                    try { await crypto.subtle.exportKey(format, key); exported = format; } catch (e) {}
                }
                done({
                    kind: 'key',
                    fields: Object.keys(record).sort(),
                    isKey: key instanceof CryptoKey,
                    extractable: key.extractable,
                    type: key.type,
                    algorithm: key.algorithm.name,
                    usages: key.usages,
                    exported,
                    details: record.details,
                });
            };
        };",
        &json!([]),
    )
}

/// The record's details as JSON, after checking the record holds a
/// private, non-extractable Ed25519 key object that no format exports.
fn non_extractable_details(device: &Device) -> Value {
    let record = identity_record(device);
    assert_eq!(record["kind"], "key", "{record}");
    assert_eq!(
        record["fields"],
        json!(["details", "signing_key"]),
        "{record}"
    );
    assert_eq!(record["isKey"], true, "{record}");
    assert_eq!(record["extractable"], false, "{record}");
    assert_eq!(record["type"], "private", "{record}");
    assert_eq!(record["algorithm"], "Ed25519", "{record}");
    assert_eq!(record["usages"], json!(["sign"]), "{record}");
    assert_eq!(record["exported"], "refused", "{record}");
    let details: Value = serde_json::from_str(record["details"].as_str().expect("details text"))
        .expect("details are JSON");
    assert!(details.get("secret_key").is_none(), "{details}");
    details
}

/// Signs the first clause off on `signer` and waits until every device
/// shows it as a valid sign-off of `party` by `member`.
fn sign_first_clause(base: &str, signer: &Device, all: &[&Device], label: &str) {
    for device in all {
        device.goto(&format!("{base}/agreement"));
    }
    signer.wait("the agreement page", |d| {
        !d.all(&tid("agreement-outline")).is_empty() || !d.all(&tid("clause")).is_empty()
    });
    if signer.all(&tid("clause")).is_empty() {
        signer.click(&tid("agreement-outline"));
    }
    for device in all {
        device.wait_count(&tid("clause"), 11);
    }
    signer.click(&format!("{FIRST} {}", tid("clause-sign")));
    let signed = format!("{FIRST} [data-testid='signoff-state'][data-state='signed']");
    for device in all {
        device.wait_text(&signed, label);
    }
}

/// Records the URL of every WebSocket the page opens, from before the app
/// starts, in `window.accordSockets`.
fn record_socket_urls(device: &Device) {
    device.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        &json!({ "source": "window.accordSockets = [];
            const Native = window.WebSocket;
            window.WebSocket = function (url, protocols) {
                window.accordSockets.push(String(url));
                return protocols === undefined ? new Native(url) : new Native(url, protocols);
            };
            window.WebSocket.prototype = Native.prototype;
            Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });" }),
    );
}

/// A new device makes a non-extractable key: the IndexedDB record holds
/// the key object (a script can neither export it nor find its bytes),
/// and after a reload the stored key still signs a clause off that the
/// partner's device verifies. The sync socket's URL carries a ticket,
/// never the token.
#[test]
fn a_new_device_keeps_a_non_extractable_key_that_still_signs() {
    let Some((relay, browser)) = Browser::start("browser device key test") else {
        return;
    };
    let [a, b] = browser.open(["acme", "globex"]);
    record_socket_urls(&a);
    let base = partnership(&relay, &a, &b);

    let details = non_extractable_details(&a);
    assert_eq!(details["sealing"], "signature", "{details}");
    let public = details["public_key"]
        .as_str()
        .expect("a public key")
        .to_owned();
    assert_eq!(public.len(), 64, "{public}");
    let token = details["registration"]["token"]
        .as_str()
        .expect("registered")
        .to_owned();
    // The relay knows this device by the key the record names.
    let (status, devices) = relay.api("GET", "/api/account/devices", Some(&token), None);
    assert_eq!(status, 200, "{devices}");
    assert_eq!(devices[0]["public_key"], public.as_str(), "{devices}");

    // The key object survives a reload (read back from IndexedDB) and signs.
    a.reload();
    a.wait_text(&tid("sync-status"), "Saved");
    assert_eq!(non_extractable_details(&a)["public_key"], public.as_str());
    sign_first_clause(&base, &a, &[&a, &b], "Acme: signed by Alice Adams");

    // Every socket the app opened carried a ticket, never the token.
    let urls = a.script("return window.accordSockets;", &json!([]));
    let urls: Vec<&str> = urls
        .as_array()
        .expect("recorded sockets")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!urls.is_empty(), "the app opened a socket");
    for url in urls {
        assert!(url.contains("/sync?ticket="), "{url}");
        assert!(!url.contains(&token), "{url}");
    }
}

/// A device whose IndexedDB record holds its key's bytes (as every device
/// did before) moves to a non-extractable key when it starts: the same
/// public key, the bytes gone from the record, only the sealing prefixes
/// kept (they derive the same answer and ballot keys as the old seed), and
/// a clause signed off afterwards verifies on the partner's device.
#[test]
fn a_device_stored_as_bytes_moves_to_a_non_extractable_key() {
    let Some((relay, browser)) = Browser::start("browser device key migration test") else {
        return;
    };
    let [a, b] = browser.open(["acme", "globex"]);
    let seed = [0x42u8; 32];
    let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let public: String = SigningKey::from_bytes(&seed)
        .verifying_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // The old record, written on the relay's origin before the app runs.
    a.goto(&format!("{}/healthz", relay.http_url()));
    let old = json!({
        "secret_key": seed_hex,
        "name": "Accord web (Chrome)",
        "registration": null,
        "account_keys": [],
    })
    .to_string();
    let written = run_async(
        &a,
        "const open = indexedDB.open('accord', 1);
        open.onupgradeneeded = () => {
            for (const store of ['chunks', 'docs', 'meta']) open.result.createObjectStore(store);
        };
        open.onerror = () => done(String(open.error));
        open.onsuccess = () => {
            const tx = open.result.transaction('meta', 'readwrite');
            tx.objectStore('meta').put(arguments[0], 'identity');
            tx.oncomplete = () => { open.result.close(); done('written'); };
            tx.onerror = () => done(String(tx.error));
        };",
        &json!([old]),
    );
    assert_eq!(written, "written");
    assert_eq!(identity_record(&a)["kind"], "text");

    let base = partnership(&relay, &a, &b);
    let details = non_extractable_details(&a);
    assert_eq!(details["public_key"], public.as_str(), "the same key");
    let record = identity_record(&a).to_string();
    assert!(!record.contains(&seed_hex), "the seed is gone: {record}");
    let answer = AnswerKey::prefix(&seed).expect("a prefix").to_text();
    let seal = SealKey::prefix(&seed).expect("a prefix").to_text();
    assert_eq!(
        details["sealing"],
        json!({ "prefixes": { "answer": answer, "seal": seal } }),
        "only what the old seal keys need"
    );
    let token = details["registration"]["token"]
        .as_str()
        .expect("registered");
    let (_, devices) = relay.api("GET", "/api/account/devices", Some(token), None);
    assert_eq!(devices[0]["public_key"], public.as_str(), "{devices}");

    a.reload();
    a.wait_text(&tid("sync-status"), "Saved");
    assert_eq!(non_extractable_details(&a)["public_key"], public.as_str());
    sign_first_clause(&base, &a, &[&a, &b], "Acme: signed by Alice Adams");
}

/// The stated fallback: in a browser without WebCrypto Ed25519 (here
/// Chromium with `generateKey` and `importKey` refusing Ed25519 as such a
/// browser does) the app keeps the record it always had, the key's bytes
/// as hex in JSON text, and its sign-offs still verify on the partner's
/// device (which holds a non-extractable key).
#[test]
fn a_browser_without_webcrypto_ed25519_keeps_the_old_record() {
    let Some((relay, browser)) = Browser::start("browser device key fallback test") else {
        return;
    };
    let [a, b] = browser.open(["acme", "globex"]);
    a.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        &json!({ "source": "for (const [method, at] of [['generateKey', 0], ['importKey', 2]]) {
                const native = crypto.subtle[method].bind(crypto.subtle);
                crypto.subtle[method] = (...args) => {
                    const algorithm = args[at];
                    const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
                    return name === 'Ed25519'
                        ? Promise.reject(new DOMException('Ed25519 is not supported', 'NotSupportedError'))
                        : native(...args);
                };
            }" }),
    );
    let base = partnership(&relay, &a, &b);
    let record = identity_record(&a);
    assert_eq!(record["kind"], "text", "{record}");
    let stored: Value = serde_json::from_str(record["text"].as_str().expect("text")).expect("JSON");
    let secret = stored["secret_key"].as_str().expect("the key's bytes");
    assert_eq!(secret.len(), 64, "{stored}");
    assert!(
        a.console()
            .contains("keeping the device key in app storage")
    );
    non_extractable_details(&b);
    sign_first_clause(&base, &a, &[&a, &b], "Acme: signed by Alice Adams");
}
