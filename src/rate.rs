//! A rate per client address in bounded memory: a token bucket per address
//! (per /64 for IPv6, which one client holds whole), refilled at a steady
//! rate up to a burst. Buckets that are full say nothing a new one would not,
//! so they are the first forgotten when the map is at its bound; past that,
//! the longest idle go.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Rate {
    /// Tokens added per second.
    per_second: f64,
    burst: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Rate {
    /// `per_minute` requests a minute from one client, `burst` at once.
    pub fn new(per_minute: u32, burst: u32, max_clients: usize) -> Rate {
        Rate {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            max_clients: max_clients.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of `client`'s allowance: `Err` with how long until
    /// the next is allowed when there is none left.
    pub fn take(&self, client: IpAddr) -> Result<(), Duration> {
        self.take_at(client, Instant::now())
    }

    fn take_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = key(client);
        let mut buckets = crate::lock::lock(&self.buckets);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
            self.forget(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refilled).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if self.per_second > 0.0 {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        } else {
            Err(Duration::from_secs(60))
        }
    }

    /// Makes room: full buckets first, else the longest idle half.
    fn forget(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        buckets.retain(|_, b| {
            let refilled = now.saturating_duration_since(b.at).as_secs_f64() * self.per_second;
            b.tokens + refilled < self.burst
        });
        if buckets.len() >= self.max_clients {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at > cut);
        }
    }
}

/// The part of an address one client holds: all of IPv4, a /64 of IPv6.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate_per_client() {
        let rate = Rate::new(60, 3, 100);
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(rate.take_at(a, t).is_ok());
        }
        let wait = rate.take_at(a, t).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(rate.take_at(b, t).is_ok(), "another client has its own");
        assert!(
            rate.take_at(a, t + Duration::from_secs(1)).is_ok(),
            "refilled"
        );
        // One IPv6 client is its /64.
        let c: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let d: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..3 {
            assert!(rate.take_at(c, t).is_ok());
        }
        assert!(rate.take_at(d, t).is_err());
    }

    #[test]
    fn memory_stays_bounded_by_clients() {
        let rate = Rate::new(60, 1, 50);
        let t = Instant::now();
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = rate.take_at(ip, t + Duration::from_millis(u64::from(i)));
        }
        assert!(crate::lock::lock(&rate.buckets).len() <= 50);
    }
}
