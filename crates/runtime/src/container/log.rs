//! Container output in the CRI log format, one line per record:
//! `2016-10-06T00:17:09.669794202Z stdout F the line` (`P` marks a piece of a line longer than
//! the buffer), rotated by size: `container.log` → `container.log.1` → … .

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

/// Lines longer than this are written in `P` pieces (containerd's buffer size).
pub const MAX_LINE: usize = 16 * 1024;

/// Which output a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One record as written.
pub fn format_line(time: DateTime<Utc>, stream: Stream, partial: bool, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 48);
    out.extend_from_slice(time.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(if partial { b" P " } else { b" F " });
    out.extend_from_slice(content);
    out.push(b'\n');
    out
}

/// A parsed record: time, stream, whether it is a partial line, content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub time: &'a str,
    pub stream: Stream,
    pub partial: bool,
    pub content: &'a [u8],
}

/// Parses one line (without its newline).
pub fn parse_line(line: &[u8]) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let partial = match parts.next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    Some(Record { time, stream, partial, content: parts.next().unwrap_or_default() })
}

/// Writes records, rotating the file when it would pass `max_size`.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_files: u32,
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path, max_size: u64, max_files: u32) -> io::Result<LogWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter { path: path.to_path_buf(), file, size, max_size, max_files, pending: [Vec::new(), Vec::new()] })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.max_files == 0 {
            self.file.set_len(0)?;
        } else {
            let _ = fs::remove_file(self.rotated(self.max_files));
            for n in (1..self.max_files).rev() {
                let _ = fs::rename(self.rotated(n), self.rotated(n + 1));
            }
            fs::rename(&self.path, self.rotated(1))?;
            self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }

    fn emit(&mut self, now: DateTime<Utc>, stream: Stream, partial: bool, content: &[u8]) -> io::Result<()> {
        let line = format_line(now, stream, partial, content);
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Adds output; complete lines are written, the rest waits for more (or [`Self::finish`]).
    pub fn write(&mut self, stream: Stream, data: &[u8], now: DateTime<Utc>) -> io::Result<()> {
        let i = stream as usize;
        let mut buf = std::mem::take(&mut self.pending[i]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
            let mut line = start;
            while start + nl - line > MAX_LINE {
                self.emit(now, stream, true, &buf[line..line + MAX_LINE])?;
                line += MAX_LINE;
            }
            self.emit(now, stream, false, &buf[line..start + nl])?;
            start += nl + 1;
        }
        while buf.len() - start >= MAX_LINE {
            self.emit(now, stream, true, &buf[start..start + MAX_LINE])?;
            start += MAX_LINE;
        }
        buf.drain(..start);
        self.pending[i] = buf;
        Ok(())
    }

    /// Writes what is left of unterminated lines, as full lines.
    pub fn finish(&mut self, now: DateTime<Utc>) -> io::Result<()> {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.pending[stream as usize]);
            if !rest.is_empty() {
                self.emit(now, stream, false, &rest)?;
            }
        }
        Ok(())
    }
}

/// Turns a CRI log back into the container's output: (stream, bytes) in order, `P` pieces
/// joined, each full line ending in a newline.
pub fn decode(log: &[u8]) -> Vec<(Stream, Vec<u8>)> {
    let mut out: Vec<(Stream, Vec<u8>)> = Vec::new();
    for line in log.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Some(r) = parse_line(line) else { continue };
        let mut bytes = r.content.to_vec();
        if !r.partial {
            bytes.push(b'\n');
        }
        match out.last_mut() {
            Some((s, b)) if *s == r.stream => b.extend_from_slice(&bytes),
            _ => out.push((r.stream, bytes)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2016-10-06T00:17:09.669794202Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn lines_pieces_and_unterminated_tails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut w = LogWriter::open(&path, 1 << 20, 2).unwrap();
        w.write(Stream::Stdout, b"hello\nwor", t()).unwrap();
        w.write(Stream::Stderr, b"oops\n", t()).unwrap();
        w.write(Stream::Stdout, b"ld\n", t()).unwrap();
        let long = vec![b'x'; MAX_LINE + 5];
        w.write(Stream::Stdout, &long, t()).unwrap();
        w.write(Stream::Stdout, b"\ntail", t()).unwrap();
        w.finish(t()).unwrap();
        let text = fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], b"2016-10-06T00:17:09.669794202Z stdout F hello");
        assert_eq!(lines[1], b"2016-10-06T00:17:09.669794202Z stderr F oops");
        assert_eq!(lines[2], b"2016-10-06T00:17:09.669794202Z stdout F world");
        assert!(lines[3].starts_with(b"2016-10-06T00:17:09.669794202Z stdout P xxx"));
        assert_eq!(parse_line(lines[4]).unwrap().content, b"xxxxx");
        assert_eq!(
            parse_line(lines[5]).unwrap(),
            Record { time: "2016-10-06T00:17:09.669794202Z", stream: Stream::Stdout, partial: false, content: b"tail" }
        );
        let decoded = decode(&text);
        assert_eq!(decoded[0], (Stream::Stdout, b"hello\n".to_vec()));
        assert_eq!(decoded[2].1.len(), 6 + MAX_LINE + 5 + 1 + 5);
    }

    #[test]
    fn rotation_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut w = LogWriter::open(&path, 100, 2).unwrap();
        for i in 0..20 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes(), t()).unwrap();
        }
        let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["c.log", "c.log.1", "c.log.2"]);
        assert!(fs::metadata(&path).unwrap().len() <= 100);
        let last = fs::read_to_string(&path).unwrap();
        assert!(last.ends_with("stdout F line 19\n"), "{last}");
    }
}
