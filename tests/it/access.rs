//! Access rules enforced by the relay: grants, roles, revocation, tokens, invites.

use std::time::Duration;

use accord_server::client::{Client, ClientError};
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{ROOT, ReadDoc};
use accord_shared::ids::DocumentId;
use serde_json::json;

use crate::helpers::{Device, Relay, WAIT, content};

/// Long enough for a relay on loopback to have applied and forwarded a change.
const SETTLE: Duration = Duration::from_millis(700);

/// A relay on which "owner" created a document (`round` = 0) and made
/// `member` an editor for Beta; each has a client holding it.
async fn owner_and_editor(member: &str) -> (Relay, [Device; 2], [Client; 2], DocumentId) {
    let (relay, [owner, editor], a, id) =
        Relay::with_document(["owner", member], |tx| tx.put(ROOT, "round", 0)).await;
    let e = relay
        .member_holding(&owner, id, &editor, "editor", "Beta")
        .await;
    (relay, [owner, editor], [a, e], id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_a_grant_can_neither_read_nor_write() {
    let (relay, [owner, outsider], a, id) = Relay::with_document(["owner", "outsider"], |tx| {
        tx.put(ROOT, "terms", "confidential")
    })
    .await;

    let x = relay.client(&outsider).await;
    assert!(
        matches!(x.find(id, WAIT).await, Err(ClientError::Unavailable(_))),
        "reads are refused"
    );

    // The outsider somehow holds a copy and tries to push a change.
    let mut stolen = a.read(id, Clone::clone).unwrap();
    stolen
        .transact::<_, _, accord_shared::automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "terms", "tampered")?;
            Ok(())
        })
        .unwrap();
    let y = relay.client(&outsider).await;
    y.insert(id, stolen);
    tokio::time::sleep(SETTLE).await;
    let fresh = relay.client_holding(&owner, id).await;
    assert_eq!(
        content(&fresh, id)["terms"],
        "confidential",
        "writes are refused"
    );
    assert!(
        y.unsynced_changes(id) > 0,
        "the relay never acknowledged the outsider's change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_receives_but_its_changes_are_not_applied() {
    let (relay, [owner, viewer], a, id) =
        Relay::with_document(["owner", "viewer"], |tx| tx.put(ROOT, "status", "draft")).await;
    let v = relay
        .member_holding(&owner, id, &viewer, "viewer", "Observer Org")
        .await;
    v.change(id, |tx| tx.put(ROOT, "status", "agreed")).unwrap();
    a.change(id, |tx| tx.put(ROOT, "owner-edit", 1)).unwrap();
    v.wait_doc(id, WAIT, |doc| {
        doc.get(ROOT, "owner-edit").ok().flatten().is_some()
    })
    .await
    .unwrap();
    tokio::time::sleep(SETTLE).await;
    assert!(
        a.read(id, |d| d
            .get(ROOT, "status")
            .unwrap()
            .unwrap()
            .0
            .to_string())
            .unwrap()
            .contains("draft")
    );
    let fresh = relay.client_holding(&owner, id).await;
    assert_eq!(content(&fresh, id)["status"], "draft");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_grant_stops_sync_for_that_document() {
    let (relay, [owner, editor], [a, e], id) = owner_and_editor("editor").await;

    let (status, grants) = relay.api_as(&owner, "GET", &format!("/api/documents/{id}/grants"));
    assert_eq!(status, 200);
    assert_eq!(grants.as_array().unwrap().len(), 2);
    let (status, _) = relay.api_as(
        &editor,
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", editor.id),
    );
    assert_eq!(status, 403, "only owners revoke");
    let (status, _) = relay.api_as(
        &owner,
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", editor.id),
    );
    assert_eq!(status, 204);
    tokio::time::sleep(Duration::from_millis(200)).await;

    a.change(id, |tx| tx.put(ROOT, "round", 1)).unwrap();
    e.change(id, |tx| tx.put(ROOT, "after-revoke", true))
        .unwrap();
    a.wait_synced(id, WAIT).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        content(&e, id)["round"],
        0,
        "the revoked device no longer receives"
    );
    let fresh = relay.client_holding(&owner, id).await;
    assert!(
        content(&fresh, id).get("after-revoke").is_none(),
        "nor does its change land"
    );
    let again = relay.client(&editor).await;
    assert!(matches!(
        again.find(id, WAIT).await,
        Err(ClientError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_refused_at_upgrade() {
    let relay = Relay::start();
    let error = Client::connect(&relay.ws_url("not-a-token"))
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("401"), "{error}");
    let error = Client::connect(&format!("ws://{}/sync", relay.addr))
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("401"), "{error}");
    let (status, body) = relay.api("GET", "/api/me", Some("nope"), None);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "unknown token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_used_up_invites_are_refused_clearly() {
    let (relay, [owner, first, second], _a, id) =
        Relay::with_document(["owner", "first", "second"], |tx| tx.put(ROOT, "x", 1)).await;

    let once = relay.invite(&owner, id, "editor", "Beta", 3600, 1);
    let redeem = |device, code: &str| relay.redeem(device, code);
    assert_eq!(redeem(&first, &once).0, 200);
    let (status, body) = redeem(&second, &once);
    assert_eq!(status, 410);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("already been used"),
        "{body}"
    );

    let short = relay.invite(&owner, id, "editor", "Beta", 1, 5);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = redeem(&second, &short);
    assert_eq!(status, 410);
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    let (status, body) = redeem(&second, "made-up-code");
    assert_eq!(status, 404, "{body}");
    let (status, body) = relay.api(
        "POST",
        &format!("/api/documents/{id}/invites"),
        Some(&first.token),
        Some(&json!({"role": "editor"})),
    );
    assert_eq!(status, 403, "an editor cannot invite: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_read_the_keys_the_relay_attests_and_outsiders_cannot() {
    let (relay, [owner, editor, outsider], _a, id) =
        Relay::with_document(["owner", "editor", "outsider"], |tx| {
            tx.put(ROOT, "round", 0)
        })
        .await;
    relay.share(&owner, id, &editor, "editor", "Beta");

    let path = format!("/api/documents/{id}/keys");
    let (status, keys) = relay.api_as(&editor, "GET", &path);
    assert_eq!(status, 200, "{keys}");
    let keys = keys.as_array().unwrap();
    let devices: Vec<&str> = keys.iter().map(|k| k["device"].as_str().unwrap()).collect();
    assert_eq!(devices, [owner.id.as_str(), editor.id.as_str()]);
    assert_eq!(keys[1]["party"], "Beta");
    assert_eq!(keys[1]["role"], "editor");
    assert_eq!(keys[0]["public_key"].as_str().unwrap().len(), 64);

    let (status, body) = relay.api_as(&outsider, "GET", &path);
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("no access"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_whose_last_grant_was_revoked_is_not_up_for_grabs() {
    let mut relay = Relay::start();
    let [owner, stranger] = relay.register_all(["owner", "stranger"]);
    let (_a, id) = relay
        .client_with_new(&owner, |tx| tx.put(ROOT, "terms", "secret"))
        .await;
    let (status, body) = relay.api_as(
        &owner,
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", owner.id),
    );
    assert_eq!(status, 204, "{body}");

    for round in 0..2 {
        // A stranger publishes a document with that id: it must not make
        // them the owner, nor hand them the stored content.
        let x = relay.client(&stranger).await;
        let mut doc = accord_shared::automerge::Automerge::new();
        doc.transact::<_, _, accord_shared::automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "mine", true)?;
            Ok(())
        })
        .unwrap();
        x.insert(id, doc);
        tokio::time::sleep(SETTLE).await;
        let (_, me) = relay.api_as(&stranger, "GET", "/api/me");
        assert_eq!(me["grants"], json!([]), "round {round}: {me}");
        assert!(content(&x, id).get("terms").is_none(), "round {round}");
        let (status, body) = relay.api(
            "PUT",
            &format!("/api/documents/{id}"),
            Some(&stranger.token),
            Some(&json!({})),
        );
        assert_eq!(status, 409, "round {round}: {body}");
        // Claims are durable.
        relay.restart();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_cannot_come_back_through_a_multi_use_invite() {
    let (relay, [owner, guest, other], _a, id) =
        Relay::with_document(["owner", "guest", "other"], |tx| {
            tx.put(ROOT, "terms", "secret")
        })
        .await;
    let code = relay.invite(&owner, id, "editor", "Beta", 3600, 2);
    let redeem = |device| relay.redeem(device, &code);
    // Redeeming twice spends one use, not two.
    assert_eq!(redeem(&guest).0, 200);
    assert_eq!(redeem(&guest).0, 200);
    let (status, body) = relay.api_as(
        &owner,
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", guest.id),
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = redeem(&guest);
    assert_eq!(status, 403, "the revoked device is refused: {body}");
    assert!(
        body["error"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let g = relay.client(&guest).await;
    assert!(matches!(
        g.find(id, WAIT).await,
        Err(ClientError::Unavailable(_))
    ));
    assert_eq!(redeem(&other).0, 200, "the second use is still there");

    // The owner sees the revoked device and can lift the revocation.
    let (status, devices) = relay.api_as(&owner, "GET", &format!("/api/documents/{id}/devices"));
    assert_eq!(status, 200, "{devices}");
    let listed = devices.as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|d| d["device_id"] == guest.id.as_str() && d["revoked"] == true),
        "{devices}"
    );
    let (status, body) = relay.api_as(
        &owner,
        "DELETE",
        &format!("/api/documents/{id}/revocations/{}", guest.id),
    );
    assert_eq!(status, 204, "{body}");
    let fresh = relay.invite(&owner, id, "viewer", "Beta", 3600, 1);
    let (status, body) = relay.redeem(&guest, &fresh);
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_device_cannot_take_a_connected_peers_id() {
    let (relay, [owner, viewer], a, id) =
        Relay::with_document(["owner", "viewer"], |tx| tx.put(ROOT, "round", 0)).await;
    relay.share(&owner, id, &viewer, "viewer", "Beta");
    let victim = a.peer_id().to_string();
    let mut hijacker =
        crate::bad_input::joined_as_refused(&relay.ws_url(&viewer.token), &victim).await;
    let error = crate::bad_input::error_then_close(&mut hijacker).await;
    assert!(error.contains("another device"), "{error}");
    // The victim stays connected and keeps syncing.
    a.change(id, |tx| tx.put(ROOT, "round", 1)).unwrap();
    a.wait_synced(id, WAIT).await.unwrap();
    assert!(a.is_connected());
    // The same device may reconnect with its own id (a reconnect).
    let again = Client::connect(&relay.ws_url(&viewer.token)).await.unwrap();
    again.find(id, WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_signs_itself_out_and_its_token_stops_working() {
    let (relay, [owner, lost], [_a, l], id) = owner_and_editor("lost").await;

    let (status, _) = relay.api_as(&lost, "DELETE", &format!("/api/devices/{}", owner.id));
    assert_eq!(status, 403, "only a device signs itself out");
    let (status, body) = relay.api_as(&lost, "DELETE", &format!("/api/devices/{}", lost.id));
    assert_eq!(status, 204, "{body}");
    let reason = l.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("signed out"), "{reason}");
    let (status, _) = relay.api_as(&lost, "GET", "/api/me");
    assert_eq!(status, 401);
    assert!(Client::connect(&relay.ws_url(&lost.token)).await.is_err());
    // Its key stays attested, so sign-offs it made still verify.
    let (status, keys) = relay.api_as(&owner, "GET", &format!("/api/documents/{id}/keys"));
    assert_eq!(status, 200);
    assert_eq!(keys.as_array().unwrap().len(), 2, "{keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_invite_codes_are_limited_per_client_address() {
    let relay = Relay::start_with_args(&["--registration", "invite"]);
    let attempt = || {
        relay.api(
            "POST",
            "/api/devices",
            None,
            Some(
                &json!({ "public_key": crate::helpers::TEST_PUBLIC_KEY, "invite": "guessed-code" }),
            ),
        )
    };
    for n in 0..accord_server::access::ATTEMPTS_PER_ADDRESS_PER_MINUTE {
        assert_eq!(attempt().0, 404, "attempt {n}");
    }
    let (status, body) = attempt();
    assert_eq!(status, 429, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_ticket_opens_the_socket_once_and_dies_with_the_token() {
    let relay = Relay::start();
    let device = relay.register("browser");
    let ticket_url = |ticket: &str| format!("ws://{}/sync?ticket={ticket}", relay.addr);
    let (status, _) = relay.api("POST", "/api/sync-ticket", None, None);
    assert_eq!(status, 401, "a ticket needs the token");
    let (status, body) = relay.api_as(&device, "POST", "/api/sync-ticket");
    assert_eq!(status, 200, "{body}");
    let ticket = body["ticket"].as_str().expect("a ticket").to_owned();
    assert_ne!(ticket, device.token);

    // It opens the sync socket, as the token does, and then it is spent.
    let client = Client::connect(&ticket_url(&ticket))
        .await
        .expect("ticket accepted");
    let id = client.create(|tx| tx.put(ROOT, "round", 0)).unwrap();
    client.wait_synced(id, WAIT).await.unwrap();
    assert!(
        Client::connect(&ticket_url(&ticket)).await.is_err(),
        "single use"
    );
    assert!(Client::connect(&ticket_url("made-up")).await.is_err());

    // A ticket taken before signing out does not outlive the token.
    let (_, body) = relay.api_as(&device, "POST", "/api/sync-ticket");
    let unused = body["ticket"].as_str().expect("a ticket").to_owned();
    let (status, _) = relay.api_as(&device, "DELETE", &format!("/api/devices/{}", device.id));
    assert_eq!(status, 204);
    assert!(Client::connect(&ticket_url(&unused)).await.is_err());
}
