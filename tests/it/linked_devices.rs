//! Linked devices against a real relay: a link code registers another
//! device of the same account with the same grants, works once (also when
//! two devices race), expires, is rate-limited; revoking a device cuts its
//! token, its grants and its open sync connection at once.

use std::time::Duration;

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use serde_json::{Value, json};

use crate::helpers::{Device, Relay, WAIT, content};

/// RFC 8032 test vector 2's public key: the linked device's own key.
const PHONE_KEY: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

fn create_link(relay: &Relay, device: &Device, body: &Value) -> (u16, Value) {
    relay.api("POST", "/api/links", Some(&device.token), Some(body))
}

fn register_linked(relay: &Relay, code: &str, name: &str) -> (u16, Value) {
    relay.api(
        "POST",
        "/api/devices",
        None,
        Some(&json!({ "public_key": PHONE_KEY, "name": name, "link": code })),
    )
}

fn link(relay: &Relay, device: &Device) -> String {
    let (status, body) = create_link(relay, device, &json!({}));
    assert_eq!(status, 201, "{body}");
    let code = body["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 14, "ABCD-EFGH-JKMN: {code}");
    assert_eq!(body["expires_in_seconds"], 300);
    code
}

fn device_of(body: &Value) -> Device {
    Device {
        id: body["device_id"].as_str().unwrap().to_owned(),
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_device_syncs_every_partnership_of_the_first() {
    let relay = Relay::start();
    let owner = relay.register("laptop");
    let a = relay.client(&owner).await;
    let first = a.create(|tx| tx.put(ROOT, "title", "Pilot")).unwrap();
    let second = a.create(|tx| tx.put(ROOT, "title", "Renewal")).unwrap();
    a.wait_synced(first, WAIT).await.unwrap();
    a.wait_synced(second, WAIT).await.unwrap();

    let code = link(&relay, &owner);
    let (status, body) = register_linked(&relay, &code.to_lowercase(), "phone");
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["linked"]["linked_by_key"],
        crate::helpers::TEST_PUBLIC_KEY
    );
    let phone = device_of(&body);
    let (_, me) = relay.api_as(&phone, "GET", "/api/me");
    assert_eq!(me["grants"].as_array().unwrap().len(), 2, "{me}");

    let p = relay.client(&phone).await;
    for id in [first, second] {
        p.find(id, WAIT).await.unwrap();
        assert_eq!(content(&p, id), content(&a, id));
    }
    p.change(first, |tx| tx.put(ROOT, "from", "phone")).unwrap();
    a.wait_doc(first, WAIT, |doc| {
        accord_shared::automerge::ReadDoc::get(doc, ROOT, "from")
            .ok()
            .flatten()
            .is_some()
    })
    .await
    .unwrap();

    // A partnership the phone creates later belongs to the laptop too.
    let third = p.create(|tx| tx.put(ROOT, "title", "Phone's own")).unwrap();
    p.wait_synced(third, WAIT).await.unwrap();
    let (_, me) = relay.api_as(&owner, "GET", "/api/me");
    assert_eq!(me["grants"].as_array().unwrap().len(), 3, "{me}");
    let _laptop_again = relay.client_holding(&owner, third).await;

    let (status, devices) = relay.api_as(&owner, "GET", "/api/account/devices");
    assert_eq!(status, 200);
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[1]["name"], "phone");
    assert_eq!(devices[1]["public_key"], PHONE_KEY);
    assert!(devices[1]["last_seen"].as_u64().unwrap() > 0);
    assert_eq!(devices[0]["this_device"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_racing_with_one_code_give_exactly_one_device() {
    let relay = Relay::start();
    let laptop = relay.register("laptop");
    for _ in 0..3 {
        let code = link(&relay, &laptop);
        let racers: Vec<_> = (0..2)
            .map(|i| {
                let (addr, code) = (relay.addr, code.clone());
                std::thread::spawn(move || {
                    let body = json!({ "public_key": PHONE_KEY, "name": format!("phone {i}"), "link": code });
                    crate::helpers::http(
                        addr,
                        "POST",
                        "/api/devices",
                        None,
                        Some(&body.to_string()),
                    )
                })
            })
            .collect();
        let mut statuses: Vec<u16> = racers.into_iter().map(|r| r.join().unwrap().0).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 410]);
    }
    let (_, devices) = relay.api_as(&laptop, "GET", "/api/account/devices");
    assert_eq!(devices.as_array().unwrap().len(), 4, "{devices}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reused_and_wrong_codes_get_clear_answers() {
    let relay = Relay::start();
    let laptop = relay.register("laptop");
    let (status, body) = create_link(&relay, &laptop, &json!({ "expires_in_seconds": 1 }));
    assert_eq!(status, 201, "{body}");
    let short = body["code"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = register_linked(&relay, &short, "late");
    assert_eq!(status, 410);
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    let code = link(&relay, &laptop);
    assert_eq!(register_linked(&relay, &code, "phone").0, 201);
    let (status, body) = register_linked(&relay, &code, "again");
    assert_eq!(status, 410);
    assert!(
        body["error"].as_str().unwrap().contains("already used"),
        "{body}"
    );

    let (status, body) = register_linked(&relay, "WXYZ-WXYZ-WXYZ", "guess");
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("not valid"),
        "{body}"
    );
    for (request, why) in [
        (json!({ "expires_in_seconds": 0 }), "zero"),
        (json!({ "expires_in_seconds": 3600 }), "an hour"),
        (json!({ "expires_in_seconds": "soon" }), "not a number"),
    ] {
        let (status, body) = create_link(&relay, &laptop, &request);
        assert!(status == 400 || status == 422, "{why}: {status} {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _) = relay.api("POST", "/api/links", Some("not-a-token"), Some(&json!({})));
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_codes_and_wrong_guesses_are_rate_limited() {
    let relay = Relay::start();
    let laptop = relay.register("laptop");
    // Five codes per account per ten minutes.
    let mut made = 0;
    loop {
        let (status, body) = create_link(&relay, &laptop, &json!({}));
        if status == 429 {
            assert!(
                body["error"].as_str().unwrap().contains("too many"),
                "{body}"
            );
            break;
        }
        assert_eq!(status, 201, "{body}");
        made += 1;
        assert!(made <= 5, "no limit after {made} codes");
    }
    assert_eq!(made, 5);
    // Guessing codes: ten wrong ones a minute per address, then 429 even
    // for a right one.
    let other = relay.register("other");
    let (_, body) = create_link(&relay, &other, &json!({}));
    let right = body["code"].as_str().unwrap().to_owned();
    for _ in 0..10 {
        assert_eq!(register_linked(&relay, "WXYZ-WXYZ-WXYZ", "guess").0, 404);
    }
    assert_eq!(register_linked(&relay, &right, "phone").0, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_lost_phone_closes_its_socket_and_cuts_token_and_grants() {
    let relay = Relay::start();
    let laptop = relay.register("laptop");
    let stranger = relay.register("stranger");
    let (a, id) = relay
        .client_with_new(&laptop, |tx| tx.put(ROOT, "round", 0))
        .await;
    let code = link(&relay, &laptop);
    let (_, body) = register_linked(&relay, &code, "phone");
    let phone = device_of(&body);
    let p = relay.client_holding(&phone, id).await;

    let path = format!("/api/account/devices/{}", phone.id);
    let (status, _) = relay.api_as(&stranger, "DELETE", &path);
    assert_eq!(status, 403, "another account cannot revoke it");
    let (status, body) = relay.api_as(&laptop, "DELETE", &path);
    assert_eq!(status, 204, "{body}");
    let reason = p.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("revoked"), "{reason}");
    let (status, _) = relay.api_as(&phone, "GET", "/api/me");
    assert_eq!(status, 401);
    assert!(
        accord_server::client::Client::connect(&relay.ws_url(&phone.token))
            .await
            .is_err()
    );
    let (_, keys) = relay.api_as(&laptop, "GET", &format!("/api/documents/{id}/keys"));
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    let (_, devices) = relay.api_as(&laptop, "GET", "/api/account/devices");
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    // The laptop goes on working.
    a.change(id, |tx| tx.put(ROOT, "round", 1)).unwrap();
    a.wait_synced(id, WAIT).await.unwrap();
}
