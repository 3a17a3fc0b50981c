use super::*;

#[test]
fn the_dictionary_is_spdy3s() {
    let d = dictionary();
    assert_eq!(d.len(), 1423);
    assert_eq!(&d[..11], b"\0\0\0\x07options");
    assert!(d.ends_with(b",*,enq=0."));
}

#[test]
fn header_blocks_round_trip_across_frames() {
    let (mut client, mut server) = (HeaderCodec::default(), HeaderCodec::default());
    let first = client.encode(&[("streamType", "error"), ("port", "8080")]).unwrap();
    let second = client.encode(&[("streamtype", "data"), ("x", "a\0b")]).unwrap();
    assert_eq!(
        server.decode(&first).unwrap(),
        vec![("streamtype".into(), "error".into()), ("port".into(), "8080".into())]
    );
    assert_eq!(
        server.decode(&second).unwrap(),
        vec![("streamtype".into(), "data".into()), ("x".into(), "a".into()), ("x".into(), "b".into())]
    );
    assert!(server.decode(&[1, 2, 3]).is_err());
}

async fn read_frame(io: &mut tokio::io::DuplexStream) -> (Vec<u8>, Vec<u8>) {
    let mut head = [0u8; 8];
    io.read_exact(&mut head).await.unwrap();
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut payload = vec![0u8; len];
    io.read_exact(&mut payload).await.unwrap();
    (head.to_vec(), payload)
}

#[tokio::test]
async fn a_session_replies_carries_data_and_echoes_pings() {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let mut session = Session::start(server);
    let mut codec = HeaderCodec::default();
    let mut syn = 1u32.to_be_bytes().to_vec();
    syn.extend_from_slice(&0u32.to_be_bytes());
    syn.extend_from_slice(&[0, 0]);
    syn.extend_from_slice(&codec.encode(&[("streamtype", "stdin")]).unwrap());
    client.write_all(&control(SYN_STREAM, 0, &syn)).await.unwrap();
    let (head, payload) = read_frame(&mut client).await;
    assert_eq!(&head[..4], &[0x80, 3, 0, 2], "a SYN_REPLY");
    assert_eq!(&payload[..4], &1u32.to_be_bytes());
    assert_eq!(codec.decode(&payload[4..]).unwrap(), vec![]);
    let mut stream = session.accept().await.unwrap();
    assert_eq!(stream.header("streamtype"), Some("stdin"));

    client.write_all(&data(1, 0, b"hello")).await.unwrap();
    client.write_all(&data(1, FLAG_FIN, b"")).await.unwrap();
    assert_eq!(stream.data.recv().await.unwrap(), Bytes::from_static(b"hello"));
    assert!(stream.data.recv().await.is_none(), "FIN ends the stream's data");

    client.write_all(&control(PING, 0, &7u32.to_be_bytes())).await.unwrap();
    let (head, payload) = read_frame(&mut client).await;
    assert_eq!((&head[..4], payload.as_slice()), (&[0x80, 3, 0, 6][..], &7u32.to_be_bytes()[..]));

    assert!(stream.writer.send(b"out").await);
    stream.writer.close().await;
    let (head, payload) = read_frame(&mut client).await;
    assert_eq!((&head[..5], payload.as_slice()), (&[0, 0, 0, 1, 0][..], &b"out"[..]));
    let (head, _) = read_frame(&mut client).await;
    assert_eq!(head[4], FLAG_FIN);
    session.close().await;
    let (head, _) = read_frame(&mut client).await;
    assert_eq!(&head[..4], &[0x80, 3, 0, 7], "GOAWAY");
}
