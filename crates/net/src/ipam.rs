//! IP address management for one node's Pod CIDR: a subnet type with its gateway and host
//! range (pure), and a file-backed allocator in the spirit of CNI's host-local plugin — one
//! file per reserved address, created exclusively, so that concurrent allocations and crashes
//! never hand out one address twice.

use std::fs;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// An IPv4 subnet such as `10.42.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl FromStr for Subnet {
    type Err = String;

    fn from_str(s: &str) -> Result<Subnet, String> {
        let (ip, prefix) = s.split_once('/').ok_or_else(|| format!("{s:?} is not a CIDR (a.b.c.d/n)"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| format!("{s:?}: {ip:?} is not an IPv4 address"))?;
        let prefix: u8 =
            prefix.parse().ok().filter(|p| *p <= 30).ok_or_else(|| format!("{s:?}: prefix must be 0–30"))?;
        let subnet = Subnet { network: Ipv4Addr::from(u32::from(ip) & mask(prefix)), prefix };
        if subnet.network != ip {
            return Err(format!("{s:?} has host bits set (the network is {subnet})"));
        }
        Ok(subnet)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

impl Subnet {
    /// The first host address, which the node's bridge holds.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// The broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.network)
    }

    /// The addresses Pods may get: all hosts but the gateway, in order.
    pub fn pod_range(&self) -> (u32, u32) {
        (u32::from(self.network) + 2, u32::from(self.broadcast()) - 1)
    }

    /// The order in which to try addresses: round-robin after `last` (as host-local does, so a
    /// released address is not reused at once), wrapping around.
    pub fn candidates(&self, last: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> {
        let (first, end) = self.pod_range();
        let count = end.saturating_sub(first) + 1;
        let start = match last.map(u32::from) {
            Some(l) if l >= first && l < end => l + 1 - first,
            _ => 0,
        };
        (0..count).map(move |i| Ipv4Addr::from(first + (start + i) % count))
    }
}

/// Errors of the allocator.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("no free address left in {0}")]
    Exhausted(Subnet),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> IpamError + '_ {
    move |source| IpamError::Io { path: path.to_path_buf(), source }
}

/// Addresses of one subnet reserved under `dir` (one file per address, holding its owner).
pub struct Ipam {
    subnet: Subnet,
    dir: PathBuf,
}

impl Ipam {
    pub fn new(dir: impl Into<PathBuf>, subnet: Subnet) -> Ipam {
        let dir = dir.into().join(subnet.to_string().replace('/', "-"));
        Ipam { subnet, dir }
    }

    /// The address reserved for `owner`, if any.
    pub fn find(&self, owner: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        Ok(self.reservations()?.into_iter().find(|(_, o)| o == owner).map(|(ip, _)| ip))
    }

    /// Every reservation: address and owner.
    pub fn reservations(&self) -> Result<Vec<(Ipv4Addr, String)>, IpamError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io_err(&self.dir)(e)),
        };
        let mut out = vec![];
        for entry in entries.filter_map(Result::ok) {
            let Some(ip) = entry.file_name().to_str().and_then(|n| n.parse::<Ipv4Addr>().ok()) else { continue };
            let owner = fs::read_to_string(entry.path()).unwrap_or_default();
            out.push((ip, owner.trim().to_string()));
        }
        Ok(out)
    }

    /// Reserves an address for `owner` (the one it already has, if any).
    pub fn allocate(&self, owner: &str) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = self.find(owner)? {
            return Ok(ip);
        }
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let last_path = self.dir.join("last_reserved_ip");
        let last = fs::read_to_string(&last_path).ok().and_then(|s| s.trim().parse().ok());
        for ip in self.subnet.candidates(last) {
            let path = self.dir.join(ip.to_string());
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(owner.as_bytes()).and_then(|_| file.sync_all()).map_err(io_err(&path))?;
                    let _ = fs::write(&last_path, ip.to_string());
                    return Ok(ip);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Err(IpamError::Exhausted(self.subnet))
    }

    /// Releases whatever `owner` holds (nothing when it holds nothing).
    pub fn release(&self, owner: &str) -> Result<(), IpamError> {
        for (ip, o) in self.reservations()? {
            if o == owner {
                let path = self.dir.join(ip.to_string());
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&path)(e)),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_know_their_ranges() {
        let s: Subnet = "10.42.0.0/24".parse().unwrap();
        assert_eq!(s.gateway(), Ipv4Addr::new(10, 42, 0, 1));
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 42, 0, 255));
        assert!(s.contains(Ipv4Addr::new(10, 42, 0, 77)));
        assert!(!s.contains(Ipv4Addr::new(10, 42, 1, 1)));
        assert!("10.42.0.1/24".parse::<Subnet>().unwrap_err().contains("host bits"));
        assert!("10.42.0.0".parse::<Subnet>().is_err());
        assert!("10.42.0.0/31".parse::<Subnet>().is_err());
    }

    #[test]
    fn candidates_go_round_robin_after_the_last_one() {
        let s: Subnet = "10.0.0.0/29".parse().unwrap();
        let all: Vec<_> = s.candidates(None).map(|i| i.octets()[3]).collect();
        assert_eq!(all, vec![2, 3, 4, 5, 6]);
        let after: Vec<_> = s.candidates(Some(Ipv4Addr::new(10, 0, 0, 4))).map(|i| i.octets()[3]).collect();
        assert_eq!(after, vec![5, 6, 2, 3, 4]);
        let wrapped: Vec<_> = s.candidates(Some(Ipv4Addr::new(10, 0, 0, 6))).map(|i| i.octets()[3]).collect();
        assert_eq!(wrapped, vec![2, 3, 4, 5, 6]);
    }

    #[test]
    fn allocation_is_unique_stable_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(dir.path(), "10.0.0.0/29".parse().unwrap());
        let a = ipam.allocate("a").unwrap();
        assert_eq!(ipam.allocate("a").unwrap(), a, "an owner keeps its address");
        let b = ipam.allocate("b").unwrap();
        assert_ne!(a, b);
        ipam.release("a").unwrap();
        let c = ipam.allocate("c").unwrap();
        assert_ne!(c, a, "a released address is not reused at once");
        for o in ["d", "e"] {
            ipam.allocate(o).unwrap();
        }
        assert_eq!(ipam.allocate("f").unwrap(), a, "wraps around to the freed one");
        assert!(matches!(ipam.allocate("g"), Err(IpamError::Exhausted(_))));
        ipam.release("nobody").unwrap();
    }
}
