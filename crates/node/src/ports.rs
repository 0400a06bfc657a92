//! Loopback ports for local networks (devnets, clusters of node processes, tests) that no
//! other listener of this machine is likely to take before the node binds them.

use std::io;
use std::net::Ipv4Addr;

/// Every port this process has handed out, so that nodes started concurrently from one
/// process (tests run in parallel) never get the same port twice, even after the probing
/// listener closed and the OS could give the port to the next probe.
static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// `count` distinct ports on 127.0.0.1 that were free a moment ago and that this process has
/// not handed out before.
pub fn free_ports(count: usize) -> io::Result<Vec<u16>> {
    (0..count).map(|_| free_port_run(1)).collect()
}

/// The first of `count` consecutive ports on 127.0.0.1 that were all free a moment ago and
/// that this process has not handed out before (they are recorded as handed out).
///
/// Ports are drawn below the operating system's ephemeral range: a listener bound to port 0
/// (a devnet's internal RPC, its proof API, any test server) takes its port from that range,
/// so it can never grab a port handed out here between the probe and the node's own bind.
pub fn free_port_run(count: usize) -> io::Result<u16> {
    let mut handed = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (low, high) = (FIXED_PORTS_FROM, ephemeral_low().saturating_sub(1));
    let span = u32::from(high.saturating_sub(low)).saturating_sub(count as u32);
    if span == 0 {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("no room for {count} ports between {low} and {high}"),
        ));
    }
    let mut next = seed();
    for _ in 0..1000 {
        // xorshift: any spread will do, as long as concurrent processes start apart.
        next ^= next << 13;
        next ^= next >> 7;
        next ^= next << 17;
        let base = low + (next % u64::from(span)) as u16;
        let run = base..base + count as u16;
        let free = run.clone().all(|p| {
            !handed.contains(&p) && std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok()
        });
        if free {
            handed.extend(run);
            return Ok(base);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!("no run of {count} free loopback ports"),
    ))
}

/// The lowest port handed out by [`free_port_run`].
const FIXED_PORTS_FROM: u16 = 20_000;

/// The first port of the ephemeral range (Linux: `/proc/sys/net/ipv4/ip_local_port_range`;
/// elsewhere, or unreadable: 32768, Linux's default).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|low| *low > FIXED_PORTS_FROM + 100)
        .unwrap_or(32_768)
}

/// A start for the port search that differs between processes and calls.
fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (nanos ^ (u64::from(std::process::id()) << 32)) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handed_out_ports_are_distinct_and_outside_the_ephemeral_range() {
        let ports = free_ports(50).expect("ports");
        let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len());
        let low = ephemeral_low();
        assert!(
            ports.iter().all(|p| (FIXED_PORTS_FROM..low).contains(p)),
            "{ports:?}"
        );
        // A listener on port 0 gets an ephemeral port: never one handed out.
        let any = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        assert!(any.local_addr().expect("addr").port() >= low);
        let run = free_port_run(3).expect("run");
        assert!(run + 2 < low && !ports.contains(&run));
    }
}
