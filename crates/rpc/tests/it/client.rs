//! A minimal HTTP/1.1 JSON-RPC client over a plain TCP stream.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct HttpResponse {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("response body is json")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// Sends one HTTP request and reads the whole response (the connection is closed after it).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let mut request = format!(
            "{method} / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("writes head");
        stream
            .write_all(body.as_bytes())
            .await
            .expect("writes body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("reads response");
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("in time");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header/body separator");
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers = headers.to_owned();
    let chunked = headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// POSTs a JSON body.
pub async fn post(addr: SocketAddr, body: &str) -> HttpResponse {
    http(addr, "POST", &[("Content-Type", "application/json")], body).await
}

/// One call; returns the whole response object (`result` or `error`).
pub async fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response = post(addr, &body.to_string()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

/// One call that must succeed; returns its `result`.
pub async fn result(addr: SocketAddr, method: &str, params: Value) -> Value {
    let response = call(addr, method, params).await;
    assert!(
        response.get("error").is_none(),
        "{method} failed: {response}"
    );
    response["result"].clone()
}

/// One call that must fail; returns its `error`.
pub async fn error(addr: SocketAddr, method: &str, params: Value) -> Value {
    let response = call(addr, method, params).await;
    assert!(
        response.get("result").is_none(),
        "{method} succeeded: {response}"
    );
    response["error"].clone()
}
