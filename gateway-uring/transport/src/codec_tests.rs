//! Tests of the frame codec: one per refusal, round trips, and property tests that feed the
//! decoder arbitrary bytes and randomly fragmented, randomly chunked client streams.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

/// Encodes a masked client frame.
fn client_frame(opcode: u8, fin: bool, mask: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut dst = BytesMut::new();
    dst.put_u8(if fin { 0x80 } else { 0 } | opcode);
    put_len(&mut dst, payload.len(), 0x80);
    dst.extend_from_slice(&mask);
    let mut body = payload.to_vec();
    unmask(&mut body, mask);
    dst.extend_from_slice(&body);
    dst.to_vec()
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<Message>, WsError> {
    let mut decoder = Decoder::new(max);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(m) = decoder.decode(&mut buf)? {
        out.push(m);
    }
    Ok(out)
}

fn expect_protocol(bytes: &[u8]) {
    match decode_all(bytes, 1 << 20) {
        Err(WsError::Protocol(_)) => {}
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn decodes_masked_text() {
    let frame = client_frame(OP_TEXT, true, KEY, b"Hello");
    assert_eq!(
        decode_all(&frame, 100).unwrap(),
        vec![Message::Text(Bytes::from_static(b"Hello"))]
    );
}

#[test]
fn rfc_example_masked_hello() {
    // The masked "Hello" example from RFC 6455 §5.7.
    let frame = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        decode_all(&frame, 100).unwrap(),
        vec![Message::Text(Bytes::from_static(b"Hello"))]
    );
}

#[test]
fn partial_input_waits() {
    let frame = client_frame(OP_BINARY, true, KEY, &[7u8; 300]);
    let mut decoder = Decoder::new(1000);
    let mut buf = BytesMut::new();
    for (i, byte) in frame.iter().enumerate() {
        buf.put_u8(*byte);
        let got = decoder.decode(&mut buf).unwrap();
        if i + 1 < frame.len() {
            assert_eq!(got, None);
        } else {
            assert_eq!(got, Some(Message::Binary(Bytes::from(vec![7u8; 300]))));
        }
    }
    assert!(buf.is_empty());
}

#[test]
fn reassembles_fragments_with_interleaved_ping() {
    let mut bytes = client_frame(OP_TEXT, false, KEY, b"Hel");
    bytes.extend(client_frame(OP_PING, true, KEY, b"p"));
    bytes.extend(client_frame(OP_CONTINUATION, false, KEY, b"l"));
    bytes.extend(client_frame(OP_CONTINUATION, true, KEY, b"o"));
    assert_eq!(
        decode_all(&bytes, 100).unwrap(),
        vec![
            Message::Ping(Bytes::from_static(b"p")),
            Message::Text(Bytes::from_static(b"Hello"))
        ]
    );
}

#[test]
fn sixteen_and_sixty_four_bit_lengths() {
    let medium = vec![1u8; 1000];
    let large = vec![2u8; 70_000];
    let mut bytes = client_frame(OP_BINARY, true, KEY, &medium);
    bytes.extend(client_frame(OP_BINARY, true, KEY, &large));
    assert_eq!(
        decode_all(&bytes, 100_000).unwrap(),
        vec![
            Message::Binary(Bytes::from(medium)),
            Message::Binary(Bytes::from(large))
        ]
    );
}

#[test]
fn refuses_reserved_bits() {
    let mut frame = client_frame(OP_TEXT, true, KEY, b"x");
    frame[0] |= 0x40;
    expect_protocol(&frame);
}

#[test]
fn refuses_unmasked_frame() {
    expect_protocol(&[0x81, 0x01, b'x']);
}

#[test]
fn refuses_unknown_opcodes() {
    for opcode in [3u8, 7, 0xB, 0xF] {
        expect_protocol(&client_frame(opcode, true, KEY, b""));
    }
}

#[test]
fn refuses_fragmented_control_frame() {
    expect_protocol(&client_frame(OP_PING, false, KEY, b"x"));
}

#[test]
fn refuses_long_control_frame() {
    expect_protocol(&client_frame(OP_PONG, true, KEY, &[0u8; 126]));
}

#[test]
fn refuses_orphan_continuation() {
    expect_protocol(&client_frame(OP_CONTINUATION, true, KEY, b"x"));
}

#[test]
fn refuses_new_message_inside_fragmented_one() {
    let mut bytes = client_frame(OP_TEXT, false, KEY, b"a");
    bytes.extend(client_frame(OP_BINARY, true, KEY, b"b"));
    expect_protocol(&bytes);
}

#[test]
fn refuses_non_minimal_lengths() {
    // 16-bit length field holding 5.
    expect_protocol(&[0x82, 0xFE, 0, 5, 1, 2, 3, 4]);
    // 64-bit length field holding 200.
    expect_protocol(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 200, 1, 2, 3, 4]);
}

#[test]
fn refuses_64_bit_length_with_msb() {
    expect_protocol(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
}

#[test]
fn refuses_invalid_utf8_text() {
    expect_protocol(&client_frame(OP_TEXT, true, KEY, &[0xff, 0xfe]));
    // A character split across fragments is fine; an invalid sequence is not.
    let snowman = "☃".as_bytes();
    let mut ok = client_frame(OP_TEXT, false, KEY, &snowman[..1]);
    ok.extend(client_frame(OP_CONTINUATION, true, KEY, &snowman[1..]));
    assert_eq!(
        decode_all(&ok, 100).unwrap(),
        vec![Message::Text(Bytes::from_static(snowman))]
    );
}

#[test]
fn close_payloads() {
    assert_eq!(
        decode_all(&client_frame(OP_CLOSE, true, KEY, b""), 10).unwrap(),
        vec![Message::Close(None)]
    );
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    assert_eq!(
        decode_all(&client_frame(OP_CLOSE, true, KEY, &payload), 10).unwrap(),
        vec![Message::Close(Some((4000, "bye".into())))]
    );
    expect_protocol(&client_frame(OP_CLOSE, true, KEY, &[3]));
    for bad in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
        expect_protocol(&client_frame(OP_CLOSE, true, KEY, &bad.to_be_bytes()));
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.push(0xC0);
    expect_protocol(&client_frame(OP_CLOSE, true, KEY, &bad_reason));
}

#[test]
fn too_large_from_header_before_payload_arrives() {
    // Only the header of a 5000-byte frame: refused without waiting for the payload.
    let frame = client_frame(OP_BINARY, true, KEY, &[0u8; 5000]);
    let mut decoder = Decoder::new(4096);
    let mut buf = BytesMut::from(&frame[..8]);
    assert!(matches!(decoder.decode(&mut buf), Err(WsError::TooLarge)));
}

#[test]
fn too_large_while_reassembling() {
    let mut bytes = client_frame(OP_TEXT, false, KEY, &[b'a'; 3000]);
    bytes.extend(client_frame(OP_CONTINUATION, true, KEY, &[b'a'; 3000]));
    assert!(matches!(decode_all(&bytes, 4096), Err(WsError::TooLarge)));
    assert_eq!(decode_all(&bytes, 6000).unwrap().len(), 1);
}

#[test]
fn server_frames_are_unmasked_with_fin() {
    assert_eq!(&encode_text(b"hi")[..], &[0x81, 2, b'h', b'i']);
    assert_eq!(&encode_binary(&[9])[..], &[0x82, 1, 9]);
    assert_eq!(&encode_pong(b"x")[..], &[0x8A, 1, b'x']);
    assert_eq!(&encode_ping(b"")[..], &[0x89, 0]);
    assert_eq!(&encode_close(None)[..], &[0x88, 0]);
    assert_eq!(
        &encode_close(Some((4000, "bye")))[..],
        &[0x88, 5, 0x0F, 0xA0, b'b', b'y', b'e']
    );
    let long = encode_binary(&[0u8; 300]);
    assert_eq!(&long[..4], &[0x82, 126, 1, 44]);
    let huge = encode_binary(&vec![0u8; 70_000]);
    assert_eq!(&huge[..2], &[0x82, 127]);
    assert_eq!(huge.len(), 70_010);
}

#[test]
fn close_reason_is_cut_on_a_char_boundary() {
    let reason = "é".repeat(100);
    let frame = encode_close(Some((1000, &reason)));
    let payload_len = usize::from(frame[1]);
    assert!(payload_len <= MAX_CONTROL_PAYLOAD);
    assert!(std::str::from_utf8(&frame[4..]).is_ok());
}

/// A message the property tests send: text or binary, with how to fragment it.
#[derive(Debug, Clone)]
struct Sent {
    text: bool,
    payload: Vec<u8>,
    cuts: Vec<usize>,
}

fn sent_message() -> impl Strategy<Value = Sent> {
    (
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..400),
        ".{0,120}",
        prop::collection::vec(any::<usize>(), 0..4),
    )
        .prop_map(|(text, bytes, string, cuts)| Sent {
            text,
            payload: if text { string.into_bytes() } else { bytes },
            cuts,
        })
}

/// Encodes `m` as one or more masked client frames split at `m.cuts`.
fn encode_client(m: &Sent, mask: [u8; 4], out: &mut Vec<u8>) {
    let mut cuts: Vec<usize> = m.cuts.iter().map(|c| c % (m.payload.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&m.payload[start..cut]);
        start = cut;
    }
    pieces.push(&m.payload[start..]);
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = match (i, m.text) {
            (0, true) => OP_TEXT,
            (0, false) => OP_BINARY,
            _ => OP_CONTINUATION,
        };
        out.extend(client_frame(opcode, i == last, mask, piece));
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048),
                                   max in 0usize..5000) {
        let mut decoder = Decoder::new(max);
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }

    #[test]
    fn arbitrary_bytes_after_valid_header_never_panic(
        head in prop::collection::vec(any::<u8>(), 0..16),
        data in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        // Bias towards masked frames with valid opcodes so deeper paths get exercised.
        let mut bytes = head;
        if bytes.len() >= 2 {
            bytes[0] = (bytes[0] & 0x8F) | 0x01;
            bytes[1] |= 0x80;
        }
        bytes.extend(data);
        let mut decoder = Decoder::new(1024);
        let mut buf = BytesMut::new();
        for chunk in bytes.chunks(7) {
            buf.extend_from_slice(chunk);
            while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        }
    }

    #[test]
    fn random_messages_round_trip(
        messages in prop::collection::vec(sent_message(), 1..8),
        mask in any::<[u8; 4]>(),
        chunk in 1usize..64,
    ) {
        let mut stream = Vec::new();
        for m in &messages {
            encode_client(m, mask, &mut stream);
        }
        let mut decoder = Decoder::new(4096);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(m) = decoder.decode(&mut buf).unwrap() {
                got.push(m);
            }
        }
        prop_assert!(buf.is_empty());
        let want: Vec<Message> = messages
            .iter()
            .map(|m| {
                let payload = Bytes::from(m.payload.clone());
                if m.text { Message::Text(payload) } else { Message::Binary(payload) }
            })
            .collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn sealed_frames_match_copied_ones_at_every_length_class() {
    for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        for opcode in [OP_TEXT, OP_BINARY] {
            let mut buf = Vec::with_capacity(HEADROOM + len);
            buf.resize(HEADROOM, 0xEE);
            buf.extend_from_slice(&payload);
            let sealed = seal(buf, opcode);
            let mut copied = BytesMut::new();
            encode_frame(&mut copied, opcode, &payload);
            assert_eq!(sealed, copied.freeze(), "length {len}, opcode {opcode}");
            assert_eq!(&sealed[header_len(&sealed)..], &payload[..], "length {len}");
        }
    }
}
