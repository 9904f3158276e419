//! Per-address rate limits: a fixed one-minute window per client address. The table is
//! cleared of old windows as it grows, so a flood of addresses costs bounded memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Beyond this many addresses, windows of past minutes are dropped.
const PRUNE_AT: usize = 50_000;

pub struct PerAddress {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

impl PerAddress {
    /// `per_minute` 0: no limit.
    pub fn new(per_minute: u32) -> Self {
        PerAddress { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a request; `Err(seconds)` to wait when the address is over its limit.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        self.check_at(ip, now)
    }

    fn check_at(&self, ip: Option<IpAddr>, now_secs: u64) -> Result<(), u64> {
        let (Some(ip), true) = (ip, self.per_minute > 0) else { return Ok(()) };
        let minute = now_secs / 60;
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let w = windows.entry(ip).or_insert((minute, 0));
        if w.0 != minute {
            *w = (minute, 0);
        }
        if w.1 >= self.per_minute {
            return Err(60 - now_secs % 60);
        }
        w.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_minute() {
        let l = PerAddress::new(2);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "2001:db8::1".parse().expect("ip");
        let t = 600 * 60 + 15;
        assert_eq!(l.check_at(Some(a), t), Ok(()));
        assert_eq!(l.check_at(Some(a), t), Ok(()));
        assert_eq!(l.check_at(Some(a), t), Err(45), "third in the minute: wait for the next one");
        assert_eq!(l.check_at(Some(b), t), Ok(()), "another address");
        assert_eq!(l.check_at(Some(a), t + 45), Ok(()), "a new minute");
        assert_eq!(PerAddress::new(0).check_at(Some(a), t), Ok(()), "0: no limit");
        assert_eq!(l.check_at(None, t), Ok(()), "no address known: not limited");
    }
}
