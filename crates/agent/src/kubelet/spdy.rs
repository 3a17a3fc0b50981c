//! The server side of SPDY/3.1 as Kubernetes clients speak it (client-go's
//! moby/spdystream) for exec, attach and port-forward: the client opens streams
//! (SYN_STREAM with a zlib-compressed header block, against the SPDY dictionary) and the
//! server replies to each at once, then both send DATA frames until FIN. PINGs are echoed.
//! spdystream does no flow control, so WINDOW_UPDATE and SETTINGS are read and ignored.
//!
//! [`Session::start`] runs a reader and a writer task over any byte stream (an upgraded
//! HTTP connection, or the WebSocket tunnel of kubectl 1.31+); new streams arrive on
//! [`Session::accept`].

use std::collections::HashMap;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 0x01;
/// The largest DATA payload this side sends in one frame.
const MAX_DATA: usize = 32 * 1024;
/// The largest frame accepted (a header block or a DATA payload).
const MAX_FRAME: usize = 1 << 20;

/// The header names of SPDY/3's compression dictionary, each stored length-prefixed.
const DICTIONARY_NAMES: [&str; 66] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
    "",
];

/// The tail of the dictionary, stored as it is.
const DICTIONARY_TAIL: &str =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505\
203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden\
404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug \
Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,\
application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch\
charset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

/// SPDY/3's zlib dictionary for header blocks (1423 bytes).
pub fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for name in DICTIONARY_NAMES.iter().filter(|n| !n.is_empty()) {
        d.extend_from_slice(&(name.len() as u32).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
    }
    d.extend_from_slice(DICTIONARY_TAIL.as_bytes());
    d
}

#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    #[error("SPDY connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("SPDY protocol error: {0}")]
    Protocol(String),
}

fn protocol(message: impl Into<String>) -> SpdyError {
    SpdyError::Protocol(message.into())
}

/// One direction's header-block (de)compression: a single zlib stream for the session.
pub struct HeaderCodec {
    dictionary: Vec<u8>,
    inflate: Decompress,
    deflate: Compress,
    deflate_started: bool,
}

impl Default for HeaderCodec {
    fn default() -> HeaderCodec {
        HeaderCodec {
            dictionary: dictionary(),
            inflate: Decompress::new(true),
            deflate: Compress::new(Compression::default(), true),
            deflate_started: false,
        }
    }
}

impl HeaderCodec {
    /// Decodes a received header block into (name, value) pairs (multiple values of a name,
    /// NUL-separated on the wire, become several pairs).
    pub fn decode(&mut self, mut input: &[u8]) -> Result<Vec<(String, String)>, SpdyError> {
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        loop {
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            if out.capacity() - out.len() < 1024 {
                out.reserve(4096);
            }
            let result = self.inflate.decompress_vec(input, &mut out, FlushDecompress::Sync);
            input = &input[(self.inflate.total_in() - before_in) as usize..];
            match result {
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate.set_dictionary(&self.dictionary).map_err(|e| protocol(e.to_string()))?;
                }
                Err(e) => return Err(protocol(format!("header block: {e}"))),
                Ok(_) => {
                    let progressed = self.inflate.total_out() > before_out || self.inflate.total_in() > before_in;
                    if (input.is_empty() && out.len() < out.capacity()) || !progressed {
                        break;
                    }
                }
            }
            if out.len() > MAX_FRAME {
                return Err(protocol("header block too large"));
            }
        }
        parse_block(&out)
    }

    /// Encodes `headers` as a header block (names lowercased).
    pub fn encode(&mut self, headers: &[(&str, &str)]) -> Result<Vec<u8>, SpdyError> {
        if !self.deflate_started {
            self.deflate.set_dictionary(&self.dictionary).map_err(|e| protocol(e.to_string()))?;
            self.deflate_started = true;
        }
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            block.extend_from_slice(&(name.len() as u32).to_be_bytes());
            block.extend_from_slice(name.as_bytes());
            block.extend_from_slice(&(value.len() as u32).to_be_bytes());
            block.extend_from_slice(value.as_bytes());
        }
        let mut out = Vec::with_capacity(block.len() + 64);
        let mut input = block.as_slice();
        loop {
            out.reserve(256);
            let before = self.deflate.total_in();
            self.deflate.compress_vec(input, &mut out, FlushCompress::Sync).map_err(|e| protocol(e.to_string()))?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// Reads a decompressed header block: a count, then length-prefixed names and values.
fn parse_block(block: &[u8]) -> Result<Vec<(String, String)>, SpdyError> {
    struct Cursor<'a>(&'a [u8]);
    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], SpdyError> {
            if self.0.len() < n {
                return Err(protocol("truncated header block"));
            }
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            Ok(head)
        }
        fn length(&mut self) -> Result<usize, SpdyError> {
            let b = self.take(4)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        }
        fn text(&mut self) -> Result<String, SpdyError> {
            let n = self.length()?;
            Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
        }
    }
    let mut cursor = Cursor(block);
    let mut pairs = vec![];
    for _ in 0..cursor.length()? {
        let name = cursor.text()?;
        for value in cursor.text()?.split('\0') {
            pairs.push((name.clone(), value.to_string()));
        }
    }
    Ok(pairs)
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    frame.extend_from_slice(&kind.to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(payload);
    frame
}

fn data(stream: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(payload);
    frame
}

/// One stream the client opened.
pub struct Stream {
    pub id: u32,
    pub headers: Vec<(String, String)>,
    /// What the client sends on it; ends at its FIN (or a reset, or the session's end).
    pub data: mpsc::Receiver<Bytes>,
    pub writer: StreamWriter,
}

impl Stream {
    /// The first value of a header (names are lowercase in SPDY/3).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Sends on one stream.
#[derive(Clone)]
pub struct StreamWriter {
    id: u32,
    out: mpsc::Sender<Vec<u8>>,
}

impl StreamWriter {
    /// Sends `bytes` as DATA frames; false once the session has ended.
    pub async fn send(&self, bytes: &[u8]) -> bool {
        for chunk in bytes.chunks(MAX_DATA) {
            if self.out.send(data(self.id, 0, chunk)).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Ends this side of the stream (an empty DATA frame with FIN).
    pub async fn close(&self) {
        let _ = self.out.send(data(self.id, FLAG_FIN, &[])).await;
    }
}

/// A SPDY session on the server side.
pub struct Session {
    incoming: mpsc::Receiver<Stream>,
    out: mpsc::Sender<Vec<u8>>,
}

impl Session {
    /// Starts reading and writing `io`.
    pub fn start<T: AsyncRead + AsyncWrite + Send + 'static>(io: T) -> Session {
        let (read, mut write) = tokio::io::split(io);
        let (out, mut frames) = mpsc::channel::<Vec<u8>>(64);
        let (accepted, incoming) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                let last = frame.len() >= 8 && frame[0] & 0x80 != 0 && frame[3] == GOAWAY as u8;
                if write.write_all(&frame).await.is_err() {
                    break;
                }
                if frames.is_empty() && write.flush().await.is_err() {
                    break;
                }
                if last {
                    break;
                }
            }
            let _ = write.shutdown().await;
        });
        let reader_out = out.clone();
        tokio::spawn(async move {
            if let Err(e) = read_frames(read, reader_out, accepted).await {
                tracing::debug!(error = %e, "SPDY session ended");
            }
        });
        Session { incoming, out }
    }

    /// The next stream the client opens; None once the connection is gone.
    pub async fn accept(&mut self) -> Option<Stream> {
        self.incoming.recv().await
    }

    /// Says goodbye (GOAWAY) and closes the connection once queued frames are written.
    pub async fn close(self) {
        let mut payload = 0u32.to_be_bytes().to_vec();
        payload.extend_from_slice(&0u32.to_be_bytes());
        let _ = self.out.send(control(GOAWAY, 0, &payload)).await;
    }
}

async fn read_frames<R: AsyncRead + Unpin>(
    mut read: R,
    out: mpsc::Sender<Vec<u8>>,
    accepted: mpsc::Sender<Stream>,
) -> Result<(), SpdyError> {
    let mut codec = HeaderCodec::default();
    let mut streams: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
    let mut head = [0u8; 8];
    loop {
        if let Err(e) = read.read_exact(&mut head).await {
            return if e.kind() == std::io::ErrorKind::UnexpectedEof { Ok(()) } else { Err(e.into()) };
        }
        let flags = head[4];
        let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
        if len > MAX_FRAME {
            return Err(protocol(format!("frame of {len} bytes")));
        }
        let mut payload = vec![0u8; len];
        read.read_exact(&mut payload).await?;
        let word = |at: usize| -> u32 {
            payload.get(at..at + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) & 0x7fff_ffff
        };
        if head[0] & 0x80 == 0 {
            let id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let fin = flags & FLAG_FIN != 0;
            if let Some(tx) = streams.get(&id) {
                if !payload.is_empty() {
                    // A receiver that is gone no longer wants the data.
                    let _ = tx.send(Bytes::from(payload)).await;
                }
            }
            if fin {
                streams.remove(&id);
            }
            continue;
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        match kind {
            SYN_STREAM => {
                let id = word(0);
                let headers = codec.decode(payload.get(10..).ok_or_else(|| protocol("short SYN_STREAM"))?)?;
                let mut reply = id.to_be_bytes().to_vec();
                reply.extend_from_slice(&codec.encode(&[])?);
                if out.send(control(SYN_REPLY, 0, &reply)).await.is_err() {
                    return Ok(());
                }
                let (tx, rx) = mpsc::channel(64);
                if flags & FLAG_FIN == 0 {
                    streams.insert(id, tx);
                }
                let stream = Stream { id, headers, data: rx, writer: StreamWriter { id, out: out.clone() } };
                if accepted.send(stream).await.is_err() {
                    return Ok(());
                }
            }
            RST_STREAM => {
                streams.remove(&word(0));
            }
            PING if out.send(control(PING, 0, &payload)).await.is_err() => return Ok(()),
            GOAWAY => return Ok(()),
            // SYN_REPLY, SETTINGS, HEADERS, WINDOW_UPDATE: nothing this server needs.
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "spdy_tests.rs"]
mod tests;
