//! The `lazai` command's subcommands, and [`devnet::cluster`]: a local network of `lazai node`
//! processes, run by `lazai devnet --processes` and `lazai-bench cluster`.

pub mod attest;
pub mod dat;
pub mod data;
pub mod devnet;
pub mod explorer;
pub mod genesis;
pub mod keys;
pub mod kit;
pub mod model;
pub mod node;
pub mod optimistic;
pub mod status;
pub mod worker;
pub mod zk;

pub use kit::signal::shutdown_signal;

/// mimalloc rather than the system allocator, for `lazai`, `lazai-bench` and every program
/// linking this library: the node allocates a buffer per stored trie node it reads and per node
/// a block creates, and glibc's `free` took about a third of a block's commit at 10M state
/// entries.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process (and the processes it starts): on hosts
/// where THP is `always`, the allocator's arenas are backed by 2 MiB pages and an idle node holds
/// ~50 MB more than it uses (238 against 190 MiB for `lazai devnet`). Returns why it could not.
pub fn no_huge_pages() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    return rustix::thread::disable_transparent_huge_pages(true).map_err(|e| e.to_string());
    #[cfg(not(target_os = "linux"))]
    Ok(())
}
