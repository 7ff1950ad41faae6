//! Who may hold a connection: at most `server.max_connections` in all and
//! `server.max_connections_per_client` from one address. Past either, a
//! connection is answered `503` at once and closed, before any worker or
//! request state is spent on it: one client cannot take the descriptors
//! and slots that every reader shares. Counted at accept and release only,
//! never per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The open connections, in all and per address.
pub(super) struct Admission {
    max_total: usize,
    max_per_client: usize,
    total: AtomicUsize,
    /// Only addresses with a connection open: bounded by the total.
    per_client: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place, given back when it closes.
pub(super) struct Ticket {
    admission: Arc<Admission>,
    ip: IpAddr,
}

/// The answer to a connection past the bounds (RFC 9457 problem details),
/// written in one go before the socket is closed.
pub(super) const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/problem+json\r\n\
retry-after: 5\r\n\
connection: close\r\n\
content-length: 121\r\n\r\n\
{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"too many connections open; try again shortly\"}";

impl Admission {
    pub(super) fn new(max_total: usize, max_per_client: usize) -> Arc<Admission> {
        Arc::new(Admission {
            max_total,
            max_per_client,
            total: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
        })
    }

    /// A place for a connection from `ip`, or `None` past a bound.
    pub(super) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let mut per = crate::lock::lock(&self.per_client);
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return None;
        }
        let n = per.entry(ip).or_insert(0);
        if *n >= self.max_per_client {
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Ticket {
            admission: self.clone(),
            ip,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let a = &self.admission;
        let mut per = crate::lock::lock(&a.per_client);
        if let Some(n) = per.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
        a.total.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_per_client_and_in_all_and_places_come_back() {
        let a = Admission::new(3, 2);
        let (x, y): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t1 = a.admit(x).unwrap();
        let _t2 = a.admit(x).unwrap();
        assert!(a.admit(x).is_none(), "two per client");
        let _t3 = a.admit(y).unwrap();
        assert!(a.admit(y).is_none(), "three in all");
        drop(t1);
        assert!(
            a.admit(x).is_some(),
            "a closed connection's place is free again"
        );
        let text = std::str::from_utf8(REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 503);
    }
}
