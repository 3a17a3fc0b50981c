//! `kubectl exec` on the node: `/exec/{namespace}/{pod}/{container}?command=…&input=1&output=1&error=1&tty=1`
//! (the kubelet's query names). The process runs through the [`PodRuntime`]; its stdio is
//! carried by WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`: one channel byte per
//! message) or SPDY/3.1 (`v4.channel.k8s.io`: one stream per channel), whichever the client
//! upgraded to. The end is a `metav1.Status` on the error channel (exit code in its causes).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;

use super::spdy::{Session, Stream};
use crate::pods::model::PodRuntime;

/// What the client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ExecRequest {
    /// From the query string (`command` repeated; `input`, `output`, `error`, `tty` as the
    /// kubelet names them, or `stdin`, `stdout`, `stderr` as the API server's).
    pub fn parse(query: &str) -> ExecRequest {
        let mut r = ExecRequest::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let on = skiff_api::parse_bool(&v);
            match k.as_ref() {
                "command" => r.command.push(v.into_owned()),
                "input" | "stdin" => r.stdin = on,
                "output" | "stdout" => r.stdout = on,
                "error" | "stderr" => r.stderr = on,
                "tty" => r.tty = on,
                _ => {}
            }
        }
        if r.tty {
            r.stderr = false;
        }
        r
    }
}

/// What a stream session runs: a new process, or an attach to the container's own output.
#[derive(Debug, Clone)]
pub enum Target {
    Exec,
    /// The container's output, followed from now on (its CRI log); stdin is not attached.
    Attach {
        log: std::path::PathBuf,
    },
}

/// Starts the session's work: `run` for an exec, a follow of the log for an attach.
fn start(
    target: Target,
    runtime: Arc<dyn PodRuntime>,
    id: String,
    request: ExecRequest,
    input: mpsc::Receiver<Input>,
    output: mpsc::Sender<Output>,
) {
    match target {
        Target::Exec => drop(tokio::spawn(run(runtime, id, request, input, output))),
        Target::Attach { log } => drop(tokio::spawn(async move {
            let _input = input;
            let (tx, mut rx) = mpsc::channel(16);
            let options = super::logs::LogOptions { follow: true, tail_lines: Some(0), ..Default::default() };
            tokio::spawn(super::logs::stream(runtime, id, log, options, true, tx));
            while let Some(Ok(bytes)) = rx.recv().await {
                if output.send(Output::Stdout(bytes)).await.is_err() {
                    return;
                }
            }
            let _ = output.send(Output::Exit(exit_status(&[], Ok(0)))).await;
        })),
    }
}

/// From the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Stdin(Bytes),
    StdinClosed,
    Resize { width: u16, height: u16 },
}

/// To the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    Stdout(Bytes),
    Stderr(Bytes),
    /// The final `metav1.Status` (JSON).
    Exit(String),
}

/// The Status an exec ends with.
pub fn exit_status(command: &[String], code: Result<i32, String>) -> String {
    match code {
        Ok(0) => json!({"metadata": {}, "status": "Success"}).to_string(),
        Ok(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
        })
        .to_string(),
        Err(message) => {
            json!({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500})
                .to_string()
        }
    }
}

/// Runs the exec: starts the process, feeds it `input`, sends its output and then its exit
/// Status on `output`.
pub async fn run(
    runtime: Arc<dyn PodRuntime>,
    id: String,
    request: ExecRequest,
    mut input: mpsc::Receiver<Input>,
    output: mpsc::Sender<Output>,
) {
    let (rt, command, tty) = (runtime.clone(), request.command.clone(), request.tty);
    let started = tokio::task::spawn_blocking(move || rt.exec_stream(&id, &command, tty)).await;
    let mut process = match started {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return drop(output.send(Output::Exit(exit_status(&request.command, Err(e.message)))).await),
        Err(e) => return drop(output.send(Output::Exit(exit_status(&request.command, Err(e.to_string())))).await),
    };
    let (stdin_tx, stdin_rx) = std::sync::mpsc::channel::<Option<Bytes>>();
    let mut terminal = None;
    let (done_tx, mut done_rx) = mpsc::channel::<()>(2);
    // One thread per output, each holding a `done` sender until its output ends.
    let pump = |from: Box<dyn Read + Send>, wrap: fn(Bytes) -> Output| {
        let (out, done) = (output.clone(), done_tx.clone());
        std::thread::spawn(move || {
            pump_blocking(from, &out, wrap);
            drop(done);
        });
    };
    let mut writer: Option<Box<dyn Write + Send>>;
    if let Some(master) = process.terminal.take() {
        if let Ok(reader) = master.try_clone() {
            pump(Box::new(reader), Output::Stdout);
        }
        writer = master.try_clone().ok().map(|w| Box::new(w) as Box<dyn Write + Send>);
        terminal = Some(master);
    } else {
        if let Some(stdout) = process.child.stdout.take() {
            pump(Box::new(stdout), Output::Stdout);
        }
        if let Some(stderr) = process.child.stderr.take() {
            pump(Box::new(stderr), Output::Stderr);
        }
        writer = process.child.stdin.take().map(|w| Box::new(w) as Box<dyn Write + Send>);
    }
    drop(done_tx);
    if !request.stdin {
        writer = None;
    }
    std::thread::spawn(move || {
        let Some(mut w) = writer else { return };
        while let Ok(Some(bytes)) = stdin_rx.recv() {
            if w.write_all(&bytes).is_err() {
                break;
            }
        }
    });
    let mut child = process.child;
    let mut wait = tokio::task::spawn_blocking(move || child.wait());
    let mut input_open = true;
    let status = loop {
        tokio::select! {
            status = &mut wait => break status,
            message = input.recv(), if input_open => match message {
                Some(Input::Stdin(bytes)) => { let _ = stdin_tx.send(Some(bytes)); }
                Some(Input::StdinClosed) => { let _ = stdin_tx.send(None); }
                None => {
                    input_open = false;
                    let _ = stdin_tx.send(None);
                }
                Some(Input::Resize { width, height }) => {
                    if let Some(t) = &terminal {
                        let size = rustix::termios::Winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
                        let _ = rustix::termios::tcsetwinsize(t, size);
                    }
                }
            },
        }
    };
    drop(stdin_tx);
    drop(terminal);
    // The output ends when every holder of the pipes or terminal has closed them; a
    // background process that keeps them open is given a moment, not forever.
    let _ = tokio::time::timeout(Duration::from_secs(2), async { while done_rx.recv().await.is_some() {} }).await;
    let code = match status {
        Ok(Ok(s)) => Ok(skiff_runtime::container::sys::exit_code(s).0),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let _ = output.send(Output::Exit(exit_status(&request.command, code))).await;
}

/// Reads `from` until it ends, sending each chunk as `wrap(chunk)` (on a blocking thread).
fn pump_blocking(mut from: impl Read, out: &mpsc::Sender<Output>, wrap: fn(Bytes) -> Output) {
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        if out.blocking_send(wrap(Bytes::copy_from_slice(&buf[..n]))).is_err() {
            break;
        }
    }
}

fn resize(json: &[u8]) -> Option<Input> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    Some(Input::Resize { width: v["Width"].as_u64()? as u16, height: v["Height"].as_u64()? as u16 })
}

/// The WebSocket side: channel 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize; v5 adds
/// `255 0` for "stdin closed".
pub async fn over_websocket(
    socket: WebSocket,
    target: Target,
    runtime: Arc<dyn PodRuntime>,
    id: String,
    request: ExecRequest,
) {
    let (mut sink, mut messages) = socket.split();
    let (in_tx, in_rx) = mpsc::channel(16);
    let (out_tx, mut out_rx) = mpsc::channel(16);
    start(target, runtime, id, request, in_rx, out_tx);
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = messages.next().await {
            // Some clients (the Python one) send text frames: the same channel byte first.
            let message = match message {
                Message::Text(t) => Message::Binary(Bytes::copy_from_slice(t.as_bytes())),
                other => other,
            };
            let input = match message {
                Message::Binary(b) if b.len() > 1 && b[0] == 0 => Input::Stdin(b.slice(1..)),
                Message::Binary(b) if b.first() == Some(&4) => match resize(&b[1..]) {
                    Some(r) => r,
                    None => continue,
                },
                Message::Binary(b) if b.first() == Some(&255) && b.get(1) == Some(&0) => Input::StdinClosed,
                Message::Close(_) => break,
                _ => continue,
            };
            if in_tx.send(input).await.is_err() {
                break;
            }
        }
    });
    while let Some(output) = out_rx.recv().await {
        let (channel, bytes, last) = match output {
            Output::Stdout(b) => (1u8, b, false),
            Output::Stderr(b) => (2, b, false),
            Output::Exit(status) => (3, Bytes::from(status), true),
        };
        let mut message = Vec::with_capacity(bytes.len() + 1);
        message.push(channel);
        message.extend_from_slice(&bytes);
        if sink.send(Message::Binary(message.into())).await.is_err() {
            break;
        }
        if last {
            let _ = sink.send(super::normal_close()).await;
            break;
        }
    }
    reader.abort();
}

/// The SPDY side (protocol v4): the client opens `error`, `stdin`, `stdout`, `stderr` and
/// `resize` streams as the request says; the run starts once they are all there.
pub async fn over_spdy(
    mut session: Session,
    target: Target,
    runtime: Arc<dyn PodRuntime>,
    id: String,
    request: ExecRequest,
) {
    let wanted = |kind: &str| match kind {
        "error" => true,
        "stdin" => request.stdin,
        "stdout" => request.stdout,
        "stderr" => request.stderr,
        "resize" => request.tty,
        _ => false,
    };
    let count = ["error", "stdin", "stdout", "stderr", "resize"].iter().filter(|k| wanted(k)).count();
    let mut streams: Vec<(String, Stream)> = vec![];
    let collect = async {
        while streams.len() < count {
            let Some(stream) = session.accept().await else { return false };
            let kind = stream.header("streamtype").unwrap_or_default().to_string();
            if wanted(&kind) {
                streams.push((kind, stream));
            }
        }
        true
    };
    match tokio::time::timeout(Duration::from_secs(30), collect).await {
        Ok(true) => {}
        _ => {
            tracing::warn!("exec: timed out waiting for the client to create streams");
            session.close().await;
            return;
        }
    }
    let mut take = |kind: &str| streams.iter().position(|(k, _)| k == kind).map(|i| streams.remove(i).1);
    let (error, stdin, stdout, stderr, resize_stream) =
        (take("error"), take("stdin"), take("stdout"), take("stderr"), take("resize"));
    let (in_tx, in_rx) = mpsc::channel(16);
    let (out_tx, mut out_rx) = mpsc::channel(16);
    start(target, runtime, id, request, in_rx, out_tx);
    if let Some(mut s) = stdin {
        let tx = in_tx.clone();
        tokio::spawn(async move {
            while let Some(b) = s.data.recv().await {
                if tx.send(Input::Stdin(b)).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Input::StdinClosed).await;
        });
    }
    if let Some(mut s) = resize_stream {
        let tx = in_tx.clone();
        tokio::spawn(async move {
            let mut pending = Vec::new();
            while let Some(b) = s.data.recv().await {
                pending.extend_from_slice(&b);
                let mut values = serde_json::Deserializer::from_slice(&pending).into_iter::<serde_json::Value>();
                let mut used = 0;
                while let Some(Ok(_)) = values.next() {
                    let end = values.byte_offset();
                    if let Some(r) = resize(&pending[used..end]) {
                        let _ = tx.send(r).await;
                    }
                    used = end;
                }
                pending.drain(..used);
            }
        });
    }
    drop(in_tx);
    while let Some(output) = out_rx.recv().await {
        match output {
            Output::Stdout(b) => {
                if let Some(s) = &stdout {
                    s.writer.send(&b).await;
                }
            }
            Output::Stderr(b) => {
                if let Some(s) = &stderr {
                    s.writer.send(&b).await;
                }
            }
            Output::Exit(status) => {
                for s in [&stdout, &stderr].into_iter().flatten() {
                    s.writer.close().await;
                }
                if let Some(e) = &error {
                    e.writer.send(status.as_bytes()).await;
                    e.writer.close().await;
                }
                break;
            }
        }
    }
    session.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_either_naming() {
        let r = ExecRequest::parse("command=sh&command=-c&command=echo+hi&input=1&output=1&tty=1&error=1");
        assert_eq!(r.command, vec!["sh", "-c", "echo hi"]);
        assert!(r.stdin && r.stdout && r.tty && !r.stderr, "{r:?}");
        let r = ExecRequest::parse("command=ls&stdout=True&stderr=true");
        assert!(!r.stdin && r.stdout && r.stderr && !r.tty);
    }

    #[test]
    fn exit_statuses_carry_the_code() {
        assert_eq!(exit_status(&[], Ok(0)), r#"{"metadata":{},"status":"Success"}"#);
        let failed: serde_json::Value = serde_json::from_str(&exit_status(&["false".into()], Ok(3))).unwrap();
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(failed["details"]["causes"][0]["message"], "3");
    }
}
