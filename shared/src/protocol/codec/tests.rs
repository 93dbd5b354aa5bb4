use proptest::prelude::*;

use super::*;

fn peer(name: &str) -> PeerId {
    name.parse().unwrap()
}

fn doc() -> DocumentId {
    DocumentId::from_bytes([3; 16])
}

fn sample_messages() -> Vec<Message> {
    let doc_message = DocMessage {
        sender_id: peer("a"),
        target_id: peer("b"),
        document_id: doc(),
        data: vec![0x42, 1, 2, 3],
    };
    vec![
        Message::Join {
            sender_id: peer("client-1"),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: Some("s1".into()),
                is_ephemeral: false,
            }),
        },
        Message::Peer {
            sender_id: peer("relay"),
            target_id: peer("client-1"),
            selected_protocol_version: "1".into(),
            metadata: None,
        },
        Message::Leave {
            sender_id: peer("a"),
        },
        Message::Request(doc_message.clone()),
        Message::Sync(doc_message),
        Message::DocUnavailable {
            sender_id: peer("a"),
            target_id: peer("b"),
            document_id: doc(),
        },
        Message::Ephemeral(EphemeralMessage {
            sender_id: peer("a"),
            target_id: peer("b"),
            count: 7,
            session_id: "session".into(),
            document_id: doc(),
            data: vec![9; 20],
        }),
        Message::Error {
            message: "nope".into(),
        },
        Message::RemoteSubscriptionChange(RemoteSubscriptionChange {
            sender_id: peer("a"),
            target_id: peer("b"),
            add: vec!["s1".into()],
            remove: vec![],
        }),
        Message::RemoteHeadsChanged(RemoteHeadsChanged {
            sender_id: peer("a"),
            target_id: peer("b"),
            document_id: doc(),
            new_heads: [(
                "s1".to_owned(),
                HeadsInfo {
                    heads: vec!["h".into()],
                    timestamp: 5,
                },
            )]
            .into_iter()
            .collect(),
        }),
    ]
}

#[test]
fn every_message_type_round_trips() {
    for message in sample_messages() {
        let bytes = encode(&message);
        assert_eq!(decode(&bytes).unwrap(), message, "{}", message.type_name());
    }
}

#[test]
fn reads_javascript_style_encoding() {
    // Indefinite-length map, `type` not first, count as a float, an unknown key,
    // and `data` wrapped in a typed-array tag.
    let mut e = Encoder::new(Vec::new());
    e.begin_map().unwrap();
    e.str("count").unwrap().f64(12.0).unwrap();
    e.str("senderId").unwrap().str("js").unwrap();
    e.str("extra").unwrap().array(1).unwrap().u8(1).unwrap();
    e.str("targetId").unwrap().str("relay").unwrap();
    e.str("sessionId").unwrap().str("s").unwrap();
    e.str("documentId")
        .unwrap()
        .str(&doc().to_string())
        .unwrap();
    e.str("data")
        .unwrap()
        .tag(minicbor::data::Tag::new(64))
        .unwrap()
        .bytes(&[1, 2])
        .unwrap();
    e.str("type").unwrap().str("ephemeral").unwrap();
    e.end().unwrap();
    let Message::Ephemeral(m) = decode(&e.into_writer()).unwrap() else {
        panic!("not ephemeral")
    };
    assert_eq!(
        (m.count, m.data.as_slice(), m.document_id),
        (12, &[1u8, 2][..], doc())
    );
}

#[test]
fn rejects_bad_input_with_typed_errors() {
    assert!(matches!(
        decode(b"\xff\x00garbage"),
        Err(DecodeError::Cbor(_) | DecodeError::NotAMap)
    ));
    assert_eq!(decode(&[0x01]), Err(DecodeError::NotAMap));
    let good = encode(&sample_messages()[3]);
    assert!(matches!(
        decode(&good[..good.len() - 3]),
        Err(DecodeError::Cbor(_))
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(decode(&trailing), Err(DecodeError::TrailingBytes(1)));

    let mut e = Encoder::new(Vec::new());
    e.map(1)
        .unwrap()
        .str("type")
        .unwrap()
        .str("teleport")
        .unwrap();
    assert_eq!(
        decode(&e.into_writer()),
        Err(DecodeError::UnknownType("teleport".into()))
    );

    let mut e = Encoder::new(Vec::new());
    e.map(4).unwrap();
    e.str("type").unwrap().str("request").unwrap();
    e.str("senderId").unwrap().str("a").unwrap();
    e.str("targetId").unwrap().str("b").unwrap();
    e.str("documentId").unwrap().str("not-an-id").unwrap();
    assert!(matches!(
        decode(&e.into_writer()),
        Err(DecodeError::DocumentId(_))
    ));

    let mut e = Encoder::new(Vec::new());
    e.map(1).unwrap().str("senderId").unwrap().str("a").unwrap();
    assert_eq!(decode(&e.into_writer()), Err(DecodeError::MissingType));
}

/// A join frame written up to its `supportedProtocolVersions` key, for the
/// caller to write the list's header and items.
fn join_with_versions_key() -> Encoder<Vec<u8>> {
    let mut e = Encoder::new(Vec::new());
    e.map(3).unwrap();
    e.str("type").unwrap().str("join").unwrap();
    e.str("senderId").unwrap().str("a").unwrap();
    e.str("supportedProtocolVersions").unwrap();
    e
}

#[test]
fn lists_and_texts_are_bounded_and_errors_stay_short() {
    // A join whose version list holds a million empty strings: refused from
    // the declared length, without building the list.
    let mut e = join_with_versions_key();
    e.array(1_000_000).unwrap();
    let mut frame = e.into_writer();
    frame.extend(std::iter::repeat_n(0x60, 1_000_000));
    let error = decode(&frame).unwrap_err();
    assert_eq!(
        error,
        DecodeError::TooManyItems {
            field: "supportedProtocolVersions",
            limit: super::limits::VERSIONS
        }
    );
    assert!(error.to_string().len() < 100, "{error}");

    // The same list, indefinite-length.
    let mut e = join_with_versions_key();
    e.begin_array().unwrap();
    for _ in 0..10_000 {
        e.str("").unwrap();
    }
    e.end().unwrap();
    assert!(matches!(
        decode(&e.into_writer()),
        Err(DecodeError::TooManyItems { .. })
    ));

    let long = "x".repeat(100_000);
    for field in ["type", "message", "sessionId", "senderId"] {
        let mut e = Encoder::new(Vec::new());
        e.map(1).unwrap().str(field).unwrap().str(&long).unwrap();
        let error = decode(&e.into_writer()).unwrap_err();
        assert!(
            matches!(error, DecodeError::TextTooLong { .. }),
            "{field}: {error}"
        );
        assert!(error.to_string().len() < 100, "{error}");
    }

    let mut e = Encoder::new(Vec::new());
    e.map(4).unwrap();
    e.str("type").unwrap().str("request").unwrap();
    e.str("senderId").unwrap().str("a").unwrap();
    e.str("targetId").unwrap().str("b").unwrap();
    e.str("documentId")
        .unwrap()
        .str(&"z".repeat(100_000))
        .unwrap();
    let error = decode(&e.into_writer()).unwrap_err();
    assert_eq!(
        error,
        DecodeError::DocumentId(crate::ids::DocumentIdError::TooLong(100_000))
    );
    assert!(error.to_string().len() < 100, "{error}");
}

proptest! {
    #[test]
    fn sync_messages_round_trip(data in proptest::collection::vec(any::<u8>(), 0..512), id in any::<[u8; 16]>(), name in "[a-z0-9-]{1,40}") {
        let message = Message::Sync(DocMessage {
            sender_id: peer(&name),
            target_id: peer("relay"),
            document_id: DocumentId::from_bytes(id),
            data,
        });
        prop_assert_eq!(decode(&encode(&message)).unwrap(), message);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn any_truncation_of_a_valid_frame_is_an_error(cut in 0usize..40) {
        let bytes = encode(&sample_messages()[6]);
        let cut = cut.min(bytes.len() - 1);
        prop_assert!(decode(&bytes[..cut]).is_err());
    }
}
