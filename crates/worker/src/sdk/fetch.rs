//! Fetching a contribution from the URL its owner registered (LazAI's SDK uploads to IPFS
//! share links and the like): `http(s)://`, and `ipfs://CID[/path]` through a configurable
//! gateway.
//!
//! A stranger chooses the URL, so every fetch is bounded: at most [`FetchPolicy::max_bytes`]
//! (checked against `Content-Length` and while reading), one deadline for the whole fetch
//! including redirects, at most [`FetchPolicy::max_redirects`] redirects, each followed by
//! hand. Every host is resolved here and the connection is pinned to the checked address
//! (no second lookup a DNS rebinding could answer differently); loopback, private,
//! link-local, unspecified, multicast and other non-public addresses are refused unless
//! [`FetchPolicy::allow_private`] is set (a devnet, or a node configured to allow them).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// Limits and settings of a fetch.
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    pub max_bytes: u64,
    /// For the whole fetch, redirects included.
    pub timeout: Duration,
    pub max_redirects: usize,
    /// Allow loopback and private addresses (devnets, tests, closed networks).
    pub allow_private: bool,
    /// Base URL `ipfs://` URLs are read through: `ipfs://CID/p` → `{gateway}/ipfs/CID/p`.
    pub ipfs_gateway: String,
}

/// The default IPFS gateway.
pub const DEFAULT_IPFS_GATEWAY: &str = "https://ipfs.io";

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            timeout: Duration::from_secs(60),
            max_redirects: 5,
            allow_private: false,
            ipfs_gateway: DEFAULT_IPFS_GATEWAY.to_string(),
        }
    }
}

/// Why a file could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("bad file URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "{host} resolves to {addr}, a non-public address; this node fetches only from public addresses"
    )]
    PrivateAddress { host: String, addr: IpAddr },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("fetching {url} failed: {reason}")]
    Transport { url: String, reason: String },
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0)
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// The `http(s)` URL a registered file URL is read from.
pub fn resolve_url(url: &str, policy: &FetchPolicy) -> Result<Url, FetchError> {
    let bad = |reason: &str| FetchError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        "ipfs" => {
            let cid = parsed.host_str().ok_or_else(|| bad("no CID"))?;
            let gateway = policy.ipfs_gateway.trim_end_matches('/');
            Url::parse(&format!("{gateway}/ipfs/{cid}{}", parsed.path()))
                .map_err(|e| bad(&format!("through gateway {gateway}: {e}")))
        }
        other => Err(bad(&format!(
            "scheme {other:?}; http, https and ipfs are fetched"
        ))),
    }
}

/// Fetches a registered file URL under `policy` (see the module docs).
pub async fn fetch(url: &str, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    let start = resolve_url(url, policy)?;
    tokio::time::timeout(policy.timeout, follow(start, policy))
        .await
        .map_err(|_| FetchError::Timeout(policy.timeout))?
}

async fn follow(mut url: Url, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    for _ in 0..=policy.max_redirects {
        let response = get(&url, policy).await?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                })?;
            url = url.join(location).map_err(|e| FetchError::BadUrl {
                url: location.to_string(),
                reason: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(FetchError::BadUrl {
                    url: url.to_string(),
                    reason: "a redirect to a scheme other than http(s)".into(),
                });
            }
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        return read_limited(response, &url, policy.max_bytes).await;
    }
    Err(FetchError::TooManyRedirects(policy.max_redirects))
}

/// One request to `url`, connected to an address checked here.
async fn get(url: &Url, policy: &FetchPolicy) -> Result<reqwest::Response, FetchError> {
    let host = url.host_str().ok_or_else(|| FetchError::BadUrl {
        url: url.to_string(),
        reason: "no host".into(),
    })?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = checked_address(host, port, policy.allow_private).await?;
    let transport = |e: reqwest::Error| FetchError::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    };
    // Pinned to the checked address; the URL keeps its host for TLS and the Host header.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host.trim_start_matches('[').trim_end_matches(']'), addr)
        .no_proxy()
        .build()
        .map_err(transport)?;
    client.get(url.clone()).send().await.map_err(transport)
}

async fn checked_address(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<SocketAddr, FetchError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| FetchError::Resolve {
                host: host.to_string(),
                reason: e.to_string(),
            })?
            .collect(),
    };
    let first = addrs.first().copied().ok_or_else(|| FetchError::Resolve {
        host: host.to_string(),
        reason: "no addresses".into(),
    })?;
    if !allow_private {
        // Every address must be public: a name that also resolves inside would let a later
        // connection land there.
        if let Some(private) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(FetchError::PrivateAddress {
                host: host.to_string(),
                addr: private.ip(),
            });
        }
    }
    Ok(first)
}

async fn read_limited(
    mut response: reqwest::Response,
    url: &Url,
    limit: u64,
) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge { limit });
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    })? {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn ipfs_urls_go_through_the_gateway() {
        let policy = FetchPolicy {
            ipfs_gateway: "https://gw.example/".into(),
            ..FetchPolicy::default()
        };
        assert_eq!(
            resolve_url("ipfs://bafyabc/data.txt", &policy)
                .expect("ipfs")
                .as_str(),
            "https://gw.example/ipfs/bafyabc/data.txt"
        );
        assert!(resolve_url("file:///etc/passwd", &policy).is_err());
        assert!(resolve_url("gopher://x", &policy).is_err());
        assert!(resolve_url("not a url", &policy).is_err());
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let err = checked_address("127.0.0.1", 80, false)
            .await
            .expect_err("refused");
        assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err}");
        assert!(checked_address("localhost", 80, false).await.is_err());
        assert!(checked_address("127.0.0.1", 80, true).await.is_ok());
    }

    /// A server on 127.0.0.1: `/ok` 5 bytes, `/loop` redirects to itself, `/to-ok` to `/ok`,
    /// `/huge` claims 10 GiB, `/endless` streams without a length, `/slow` never answers,
    /// anything else 404.
    async fn server() -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if s.read(&mut b).await.unwrap_or(0) != 1 {
                            return;
                        }
                        head.push(b[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let reply: &[u8] = match path.as_str() {
                        "/ok" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                        "/loop" => {
                            b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
                        }
                        "/to-ok" => {
                            b"HTTP/1.1 301 Moved\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n"
                        }
                        "/huge" => b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n",
                        "/endless" => {
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                                .await;
                            let chunk = vec![0u8; 64 * 1024];
                            while s.write_all(&chunk).await.is_ok() {}
                            return;
                        }
                        "/slow" => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                    };
                    let _ = s.write_all(reply).await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn local(max_bytes: u64) -> FetchPolicy {
        FetchPolicy {
            max_bytes,
            timeout: Duration::from_millis(500),
            allow_private: true,
            ..FetchPolicy::default()
        }
    }

    #[tokio::test]
    async fn every_fetch_is_bounded() {
        let base = server().await;
        let get = |path: &str, max: u64| {
            let url = format!("{base}{path}");
            async move { fetch(&url, &local(max)).await }
        };
        assert_eq!(get("/ok", 1 << 20).await.expect("ok"), b"hello");
        assert_eq!(get("/to-ok", 1 << 20).await.expect("redirected"), b"hello");
        assert!(matches!(
            get("/ok", 4).await,
            Err(FetchError::TooLarge { limit: 4 })
        ));
        assert!(matches!(
            get("/loop", 1 << 20).await,
            Err(FetchError::TooManyRedirects(5))
        ));
        assert!(matches!(
            get("/huge", 1 << 20).await,
            Err(FetchError::TooLarge { .. })
        ));
        assert!(matches!(
            get("/endless", 1 << 20).await,
            Err(FetchError::TooLarge { .. })
        ));
        assert!(matches!(
            get("/slow", 1 << 20).await,
            Err(FetchError::Timeout(_))
        ));
        assert!(matches!(
            get("/missing", 1 << 20).await,
            Err(FetchError::Status { status: 404, .. })
        ));
        // Without allow_private, the same server is refused before any connection.
        let err = fetch(&format!("{base}/ok"), &FetchPolicy::default())
            .await
            .expect_err("refused");
        assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err}");
    }

    proptest::proptest! {
        /// Any registered URL text is either turned into an http(s) URL or refused, without
        /// panicking; `ipfs://` always lands under the gateway.
        #[test]
        fn any_url_text_is_resolved_or_refused(text in ".{0,200}", cid in "[a-z0-9]{1,60}") {
            let policy = FetchPolicy::default();
            if let Ok(url) = resolve_url(&text, &policy) {
                proptest::prop_assert!(matches!(url.scheme(), "http" | "https"));
            }
            let url = resolve_url(&format!("ipfs://{cid}/x"), &policy).expect("ipfs");
            proptest::prop_assert!(url.as_str().starts_with("https://ipfs.io/ipfs/"));
        }
    }
}
