//! A minimal HTTP/1.1 client over raw sockets for the node's API tests: unlike an HTTP library it
//! can send chunked, oversized and stalled bodies, and shows every status and header as sent.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

pub enum Body {
    Fixed(Vec<u8>),
    /// Sent with `Transfer-Encoding: chunked`, in chunks of this many bytes.
    Chunked(Vec<u8>, usize),
    /// Declares a Content-Length, then sends nothing and keeps the connection open.
    Stalled(usize),
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code, after checking the error shape.
    pub fn code(&self) -> String {
        let body = self.json();
        let error = body["error"]
            .as_object()
            .unwrap_or_else(|| panic!("{body}"));
        let message = error["message"].as_str().unwrap();
        assert!(!message.is_empty());
        // Never a Debug dump of an internal type.
        assert!(!message.contains("Error {"), "{message}");
        error["code"].as_str().unwrap().to_owned()
    }

    pub fn accepted(&self) -> Vec<String> {
        self.json()["accepted"]
            .as_array()
            .unwrap_or_else(|| panic!("{self:?}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match &body {
        Body::Fixed(bytes) => head.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
        Body::Chunked(..) => head.push_str("Transfer-Encoding: chunked\r\n"),
        Body::Stalled(len) => head.push_str(&format!("Content-Length: {len}\r\n")),
    }
    head.push_str("\r\n");
    // Blocking std I/O on a blocking thread keeps the client free of extra tokio features.
    let is_head = method == "HEAD";
    tokio::task::spawn_blocking(move || exchange(addr, head, body, is_head))
        .await
        .unwrap()
}

/// Writes the request on one thread while reading the answer on this one: the server may answer
/// (e.g. 413) before reading everything. The connection stays open for writing until the answer
/// is read, so the server never sees an early EOF.
fn exchange(addr: SocketAddr, head: String, body: Body, is_head: bool) -> Reply {
    use std::io::{Read, Write};
    let mut reader = std::net::TcpStream::connect(addr).unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = reader.try_clone().unwrap();
    let send = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        match body {
            Body::Fixed(bytes) => {
                let _ = writer.write_all(&bytes);
            }
            Body::Chunked(bytes, size) => {
                for chunk in bytes.chunks(size) {
                    let framed = format!("{:x}\r\n", chunk.len());
                    if writer.write_all(framed.as_bytes()).is_err()
                        || writer.write_all(chunk).is_err()
                        || writer.write_all(b"\r\n").is_err()
                    {
                        return;
                    }
                }
                let _ = writer.write_all(b"0\r\n\r\n");
            }
            Body::Stalled(_) => {}
        }
    });
    let mut raw = Vec::new();
    // A reset after the answer is fine: what was received is kept.
    let _ = reader.read_to_end(&mut raw);
    let _ = send.join();
    parse_reply(&raw, is_head)
}

fn parse_reply(raw: &[u8], is_head: bool) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked && !is_head {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
