//! Getting evidence from the platform a worker runs on (feature `acquire`).
//!
//! [`Source::detect`] looks, in order, for:
//!
//! 1. the Linux configfs-tsm report interface (`/sys/kernel/config/tsm/report`: TDX or SEV-SNP
//!    guests on Linux 6.7+);
//! 2. the dstack guest agent socket (`/var/run/dstack.sock`: TDX confidential VMs run by
//!    dstack);
//! 3. the SEV-SNP guest device (`/dev/sev-guest`);
//! 4. the Nitro Secure Module (`/dev/nsm`);
//!
//! and falls back to the dev TEE when none is present. A hardware source that is present but
//! fails is an error, never a silent fall back to dev.

use crate::dev::Simulator;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where configfs-tsm reports are made.
pub const CONFIGFS_TSM: &str = "/sys/kernel/config/tsm/report";
/// The dstack guest agent's socket.
pub const DSTACK_SOCKET: &str = "/var/run/dstack.sock";
/// The SEV-SNP guest device.
pub const SEV_GUEST: &str = "/dev/sev-guest";
/// The Nitro Secure Module device.
pub const NSM: &str = "/dev/nsm";
/// TDX guest devices: present in a TD even where configfs-tsm is not mounted.
pub const TDX_GUEST_DEVICES: [&str; 2] = ["/dev/tdx_guest", "/dev/tdx-guest"];

/// Evidence and the collateral to verify it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub evidence: Vec<u8>,
    pub collateral: Vec<u8>,
}

/// Why evidence could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{source_name}: {reason}")]
    Failed { source_name: String, reason: String },
    #[error(
        "{source_name} evidence needs collateral this machine cannot fetch offline: {what}; pass it as a file"
    )]
    NeedsCollateral {
        source_name: String,
        what: &'static str,
    },
}

/// A place evidence comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The simulated TEE (no hardware): accepted only by chains whose genesis enables it.
    Dev(Simulator),
    /// configfs-tsm; `collateral` is what to send with the evidence (DCAP collateral JSON for
    /// TDX; for SEV-SNP the VCEK from the report's certificate table is used when absent).
    ConfigfsTsm {
        dir: PathBuf,
        collateral: Option<Vec<u8>>,
    },
    /// The dstack guest agent (TDX); `collateral` is the DCAP collateral JSON.
    Dstack {
        socket: PathBuf,
        collateral: Option<Vec<u8>>,
    },
    /// `/dev/sev-guest`; the VCEK comes from the extended report's certificate table unless
    /// `collateral` gives it.
    SevGuest { collateral: Option<Vec<u8>> },
    /// The Nitro Secure Module: documents carry their own chain.
    Nitro,
    /// A TEE device is present but no interface this build can get evidence from (a TDX guest
    /// without configfs-tsm): an error, never a fall back to dev.
    Unusable { device: PathBuf, hint: &'static str },
}

impl Source {
    /// The first platform interface present on this machine, or the dev TEE.
    pub fn detect(collateral: Option<Vec<u8>>) -> Source {
        Self::detect_in(Path::new("/"), collateral)
    }

    /// [`Source::detect`] with every path under `root` (for tests).
    pub fn detect_in(root: &Path, collateral: Option<Vec<u8>>) -> Source {
        let at = |p: &str| root.join(p.trim_start_matches('/'));
        if at(CONFIGFS_TSM).is_dir() {
            return Source::ConfigfsTsm {
                dir: at(CONFIGFS_TSM),
                collateral,
            };
        }
        if at(DSTACK_SOCKET).exists() {
            return Source::Dstack {
                socket: at(DSTACK_SOCKET),
                collateral,
            };
        }
        if at(SEV_GUEST).exists() {
            return Source::SevGuest { collateral };
        }
        if at(NSM).exists() {
            return Source::Nitro;
        }
        for device in TDX_GUEST_DEVICES {
            if at(device).exists() {
                return Source::Unusable {
                    device: at(device),
                    hint: "a TDX guest: mount configfs (`mount -t configfs none /sys/kernel/config`, Linux 6.7+) or run the dstack guest agent",
                };
            }
        }
        Source::Dev(Simulator::random())
    }

    pub fn is_dev(&self) -> bool {
        matches!(self, Source::Dev(_))
    }

    /// What the source is, for logs: `dev` for the simulated TEE.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Dev(_) => "dev",
            Source::ConfigfsTsm { .. } => "configfs-tsm",
            Source::Dstack { .. } => "dstack",
            Source::SevGuest { .. } => "sev-guest",
            Source::Nitro => "nitro-nsm",
            Source::Unusable { .. } => "unusable-tee",
        }
    }

    fn failed(&self, reason: impl std::fmt::Display) -> SourceError {
        SourceError::Failed {
            source_name: self.name().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Evidence over `report_data` (blocking: it talks to a device, a file system or a
    /// socket).
    pub fn evidence(&self, report_data: &[u8; 64]) -> Result<Evidence, SourceError> {
        match self {
            Source::Dev(sim) => Ok(Evidence {
                evidence: sim.quote(report_data),
                collateral: Vec::new(),
            }),
            Source::ConfigfsTsm { dir, collateral } => self.configfs(dir, collateral, report_data),
            Source::Dstack { socket, collateral } => {
                let quote = dstack_quote(socket, report_data).map_err(|e| self.failed(e))?;
                let collateral = collateral.clone().ok_or(SourceError::NeedsCollateral {
                    source_name: self.name().into(),
                    what: "DCAP collateral (QuoteCollateralV3 JSON from a PCCS)",
                })?;
                Ok(Evidence {
                    evidence: quote,
                    collateral,
                })
            }
            Source::SevGuest { collateral } => {
                use sev::firmware::guest::Firmware;
                use sev::firmware::host::CertType;
                let mut fw = Firmware::open().map_err(|e| self.failed(e))?;
                let (report, certs) = fw
                    .get_ext_report(None, Some(*report_data), Some(0))
                    .map_err(|e| self.failed(e))?;
                let vcek = certs
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.cert_type == CertType::VCEK)
                    .map(|c| c.data);
                let collateral =
                    collateral
                        .clone()
                        .or(vcek)
                        .ok_or(SourceError::NeedsCollateral {
                            source_name: self.name().into(),
                            what: "the chip's VCEK (the host supplied no certificate table)",
                        })?;
                Ok(Evidence {
                    evidence: report,
                    collateral,
                })
            }
            Source::Unusable { device, hint } => Err(self.failed(format!(
                "{} is present but evidence cannot be read from it: {hint}",
                device.display()
            ))),
            Source::Nitro => {
                use aws_nitro_enclaves_nsm_api::api::{Request, Response};
                use aws_nitro_enclaves_nsm_api::driver;
                let fd = driver::nsm_init();
                if fd < 0 {
                    return Err(self.failed(format!("cannot open {NSM}")));
                }
                let response = driver::nsm_process_request(
                    fd,
                    Request::Attestation {
                        user_data: Some(report_data.to_vec().into()),
                        nonce: None,
                        public_key: None,
                    },
                );
                driver::nsm_exit(fd);
                match response {
                    Response::Attestation { document } => Ok(Evidence {
                        evidence: document,
                        collateral: Vec::new(),
                    }),
                    other => Err(self.failed(format!("unexpected NSM response {other:?}"))),
                }
            }
        }
    }

    fn configfs(
        &self,
        dir: &Path,
        collateral: &Option<Vec<u8>>,
        report_data: &[u8; 64],
    ) -> Result<Evidence, SourceError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let entry = dir.join(format!("lazai-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&entry)
            .map_err(|e| self.failed(format!("{}: {e}", entry.display())))?;
        let result = (|| -> std::io::Result<(String, Vec<u8>, Option<Vec<u8>>)> {
            std::fs::write(entry.join("inblob"), report_data)?;
            let outblob = std::fs::read(entry.join("outblob"))?;
            let provider = std::fs::read_to_string(entry.join("provider")).unwrap_or_default();
            let aux = std::fs::read(entry.join("auxblob")).ok();
            Ok((provider.trim().to_string(), outblob, aux))
        })();
        let _ = std::fs::remove_dir(&entry);
        let (provider, outblob, aux) = result.map_err(|e| self.failed(e))?;
        let collateral = match (collateral, provider.as_str()) {
            (Some(c), _) => c.clone(),
            (None, "sev_guest") => aux.as_deref().and_then(vcek_from_cert_table).ok_or(
                SourceError::NeedsCollateral {
                    source_name: self.name().into(),
                    what: "the chip's VCEK (the report has no certificate table)",
                },
            )?,
            (None, _) => {
                return Err(SourceError::NeedsCollateral {
                    source_name: format!("{} ({provider})", self.name()),
                    what: "DCAP collateral (QuoteCollateralV3 JSON from a PCCS)",
                });
            }
        };
        Ok(Evidence {
            evidence: outblob,
            collateral,
        })
    }
}

/// The VCEK in an SEV-SNP certificate table (GUID ‖ offset u32 LE ‖ length u32 LE entries,
/// ended by an all-zero entry; offsets from the table's start).
pub fn vcek_from_cert_table(table: &[u8]) -> Option<Vec<u8>> {
    // 63da758d-e664-4564-adc5-f4b93be8accd, in the table's byte order.
    const VCEK: [u8; 16] = [
        0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
        0xcd,
    ];
    for entry in table.chunks_exact(24) {
        let guid = &entry[..16];
        if guid.iter().all(|&b| b == 0) {
            return None;
        }
        if guid == VCEK {
            let offset = u32::from_le_bytes(entry[16..20].try_into().ok()?) as usize;
            let length = u32::from_le_bytes(entry[20..24].try_into().ok()?) as usize;
            return table
                .get(offset..offset.checked_add(length)?)
                .map(<[u8]>::to_vec);
        }
    }
    None
}

/// Asks the dstack guest agent for a TDX quote over `report_data` (HTTP over its Unix socket:
/// `POST /GetQuote` with `{"report_data": hex}`, answer `{"quote": hex, ...}`).
fn dstack_quote(socket: &Path, report_data: &[u8; 64]) -> Result<Vec<u8>, String> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let body = format!(r#"{{"report_data":"{}"}}"#, hex::encode(report_data));
    let request = format!(
        "POST /GetQuote HTTP/1.1\r\nHost: dstack\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .take(4 << 20)
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the agent's answer is not HTTP")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!(
            "the agent answered {}",
            head.lines().next().unwrap_or("")
        ));
    }
    let json: serde_json::Value = serde_json::from_str(body.trim())
        .map_err(|e| format!("the agent's answer is not JSON: {e}"))?;
    let quote = json
        .get("quote")
        .and_then(|q| q.as_str())
        .ok_or("the agent's answer has no quote")?;
    hex::decode(quote.trim_start_matches("0x")).map_err(|e| format!("quote is not hex: {e}"))
}
