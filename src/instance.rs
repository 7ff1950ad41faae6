//! This process among the instances that share a store: its name in the
//! leases of sources and the claims of deliveries.

/// This process's name in leases: host, process id and a random part, so two
/// instances never share one.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "newswire".into());
    let random = {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one("instance") % 1_000_000_000
    };
    format!("{host}-{}-{random:09}", std::process::id())
}
