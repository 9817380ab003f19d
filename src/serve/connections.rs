//! How many connections the login service keeps open: [`MAX_CONNECTIONS`] in all, and at most a
//! set number from one address (`serve.connections_per_address`), so that one host cannot take
//! every slot. A reverse proxy of `serve.trusted_proxies` carries many users' connections and is
//! held only by the total.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::IpNetwork;

/// The most connections open at once; one more is closed as soon as it is accepted.
pub const MAX_CONNECTIONS: usize = 4096;

/// The open connections, in all and by address.
pub struct Connections {
    total: Arc<Semaphore>,
    per_address: usize,
    proxies: Vec<IpNetwork>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place: given back when the connection ends.
pub struct Slot {
    connections: Arc<Connections>,
    address: Option<IpAddr>,
    _total: OwnedSemaphorePermit,
}

impl Connections {
    /// At most `per_address` connections from one address, but for `proxies`.
    pub fn new(per_address: usize, proxies: Vec<IpNetwork>) -> Arc<Self> {
        let total = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        Arc::new(Self { total, per_address, proxies, open: Mutex::new(HashMap::new()) })
    }

    /// A place for a connection from `address`, or `None` when all are taken (in all, or by it).
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let total = Arc::clone(&self.total).try_acquire_owned().ok()?;
        let counted = !self.proxies.iter().any(|net| net.contains(address));
        if counted {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let from_it = open.entry(address).or_insert(0);
            if *from_it >= self.per_address {
                return None;
            }
            *from_it += 1;
        }
        Some(Slot { connections: Arc::clone(self), address: counted.then_some(address), _total: total })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(address) = self.address else { return };
        let mut open = self.connections.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(from_it) = open.get_mut(&address) {
            *from_it -= 1;
            if *from_it == 0 {
                open.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_place() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let connections = Connections::new(2, vec!["10.0.0.0/8".parse().unwrap()]);
        let busy: IpAddr = "192.0.2.1".parse().unwrap();
        let first = connections.admit(busy).expect("first");
        let _second = connections.admit(busy).expect("second");
        assert!(connections.admit(busy).is_none(), "a third from the same address");
        assert!(connections.admit("192.0.2.2".parse().unwrap()).is_some(), "another address");
        let through_proxy: Vec<_> = (0..5).map(|_| connections.admit(proxy)).collect();
        assert!(through_proxy.iter().all(Option::is_some), "a trusted proxy is held only by the total");
        drop(first);
        assert!(connections.admit(busy).is_some(), "a closed connection gives its place back");
    }
}
