//! Facts about this machine that the Node reports: CPUs, memory, disk, kernel, OS, ids.
//! Parsing is pure; [`probe`] reads the files.

use std::path::Path;

/// What the Node's capacity and nodeInfo say about the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    pub hostname: String,
    pub cpus: u32,
    pub memory_bytes: u64,
    /// Size of the file system holding the data dir.
    pub ephemeral_bytes: u64,
    pub kernel_version: String,
    pub os_image: String,
    pub machine_id: String,
    pub boot_id: String,
    /// In Go's terms (amd64, arm64).
    pub architecture: String,
}

/// `MemTotal` of /proc/meminfo, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    meminfo_field(meminfo, "MemTotal")
}

/// `MemAvailable` of /proc/meminfo, in bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo_field(meminfo, "MemAvailable")
}

fn meminfo_field(meminfo: &str, name: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.split(':').next() == Some(name))?;
    let mut parts = line.split(':').nth(1)?.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    Some(match parts.next() {
        Some("kB") => value * 1024,
        _ => value,
    })
}

/// `PRETTY_NAME` of /etc/os-release.
pub fn os_image(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string())
}

/// Go's name for this architecture.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// The address this machine uses toward the default route (no packet is sent: connecting a
/// UDP socket only picks the route), else 127.0.0.1.
pub fn primary_ip() -> std::net::IpAddr {
    let local = std::net::Ipv4Addr::LOCALHOST.into();
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").and_then(|_| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(local)
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Reads the machine's facts; `data_dir` is where Pods' ephemeral storage lives.
pub fn probe(data_dir: &Path) -> Machine {
    let ephemeral_bytes = rustix::fs::statvfs(data_dir)
        .or_else(|_| rustix::fs::statvfs("/"))
        .map(|s| s.f_blocks * s.f_frsize)
        .unwrap_or(0);
    Machine {
        hostname: read_trim("/proc/sys/kernel/hostname").to_ascii_lowercase(),
        cpus: std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1),
        memory_bytes: mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()).unwrap_or(0),
        ephemeral_bytes,
        kernel_version: rustix::system::uname().release().to_string_lossy().into_owned(),
        os_image: os_image(&std::fs::read_to_string("/etc/os-release").unwrap_or_default())
            .unwrap_or_else(|| "Linux".into()),
        machine_id: read_trim("/etc/machine-id"),
        boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
        architecture: go_arch().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_os_release() {
        let meminfo = "MemTotal:        8049856 kB\nMemFree:  100 kB\nMemAvailable:    4000000 kB\n";
        assert_eq!(mem_total(meminfo), Some(8049856 * 1024));
        assert_eq!(mem_available(meminfo), Some(4000000 * 1024));
        assert_eq!(mem_total("nothing"), None);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n";
        assert_eq!(os_image(os).as_deref(), Some("Debian GNU/Linux 13 (trixie)"));
    }
}
