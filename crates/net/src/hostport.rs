//! `hostPort`: the node forwards its own ports to Pod ports with nftables DNAT, in a table of
//! the bridge's own (`ip skiff_<bridge>`): a `hostports` chain reached from prerouting (traffic
//! arriving at a local address) and output (the node itself, 127.0.0.1 included), one rule per
//! mapping tagged with the sandbox id, and a masquerade for hairpin traffic from localhost
//! (with `route_localnet` on the bridge, as the CNI portmap plugin does). Rules go in and out
//! through the `nft` command, one atomic script at a time.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::NetError;

/// One forwarded port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Only traffic to this node address (any local address when unset).
    pub host_ip: Option<Ipv4Addr>,
}

/// The nftables table for a bridge's host ports.
pub fn table(bridge: &str) -> String {
    let safe: String = bridge.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("skiff_{safe}")
}

/// The script that creates the table and its base chains (idempotent: the base chains are
/// flushed and filled again, the Pods' rules stay).
pub fn base_script(table: &str, bridge: &str) -> String {
    format!(
        "add table ip {table}\n\
         add chain ip {table} hostports\n\
         add chain ip {table} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
         add chain ip {table} output {{ type nat hook output priority -100; policy accept; }}\n\
         add chain ip {table} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n\
         flush chain ip {table} prerouting\n\
         flush chain ip {table} output\n\
         flush chain ip {table} postrouting\n\
         add rule ip {table} prerouting fib daddr type local jump hostports\n\
         add rule ip {table} output fib daddr type local jump hostports\n\
         add rule ip {table} postrouting ip saddr 127.0.0.0/8 oifname \"{bridge}\" masquerade\n"
    )
}

/// The rules forwarding `mappings` to `pod_ip`, tagged with `id`.
pub fn rules_script(table: &str, id: &str, pod_ip: Ipv4Addr, mappings: &[PortMapping]) -> String {
    let mut script = String::new();
    for m in mappings {
        let daddr = m.host_ip.map(|ip| format!("ip daddr {ip} ")).unwrap_or_default();
        let protocol = m.protocol.to_ascii_lowercase();
        script.push_str(&format!(
            "add rule ip {table} hostports {daddr}meta l4proto {protocol} th dport {} dnat to {pod_ip}:{} comment \"{id}\"\n",
            m.host_port, m.container_port
        ));
    }
    script
}

/// The handles of the rules tagged `id` in `nft -j -a list chain` output.
pub fn handles(listing: &str, id: &str) -> Vec<u64> {
    let value: serde_json::Value = serde_json::from_str(listing).unwrap_or_default();
    value["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("rule"))
        .filter(|rule| rule["comment"] == id)
        .filter_map(|rule| rule["handle"].as_u64())
        .collect()
}

fn nft(args: &[&str], script: Option<&str>) -> Result<String, NetError> {
    let fail = |message: String| NetError::Namespace(format!("nft: {message}"));
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if script.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("{e} (hostPort needs the nft command: apt-get install nftables)")))?;
    if let (Some(script), Some(mut stdin)) = (script, child.stdin.take()) {
        stdin.write_all(script.as_bytes()).map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Host ports of one bridge's Pods.
pub struct HostPorts {
    table: String,
    bridge: String,
}

impl HostPorts {
    pub fn new(bridge: &str) -> HostPorts {
        HostPorts { table: table(bridge), bridge: bridge.to_string() }
    }

    /// Forwards `mappings` to `pod_ip` for the sandbox `id` (replacing what it had).
    pub fn add(&self, id: &str, pod_ip: Ipv4Addr, mappings: &[PortMapping]) -> Result<(), NetError> {
        if mappings.is_empty() {
            return Ok(());
        }
        let localnet = self.route_localnet();
        std::fs::write(&localnet, "1").map_err(|source| NetError::Io { path: localnet.into(), source })?;
        self.remove(id)?;
        let script = base_script(&self.table, &self.bridge) + &rules_script(&self.table, id, pod_ip, mappings);
        nft(&["-f", "-"], Some(&script))?;
        Ok(())
    }

    /// The bridge's `route_localnet` switch: on once any Pod on the bridge had a host port.
    fn route_localnet(&self) -> String {
        format!("/proc/sys/net/ipv4/conf/{}/route_localnet", self.bridge)
    }

    /// Removes the rules of the sandbox `id` (nothing to do when there are none; no `nft`
    /// call at all on a bridge that never had a host port).
    pub fn remove(&self, id: &str) -> Result<(), NetError> {
        if std::fs::read_to_string(self.route_localnet()).map_or(true, |v| v.trim() != "1") {
            return Ok(());
        }
        let listing = match nft(&["-j", "-a", "list", "chain", "ip", &self.table, "hostports"], None) {
            Ok(l) => l,
            // No table or chain yet: no rules.
            Err(_) => return Ok(()),
        };
        let script: String = handles(&listing, id)
            .iter()
            .map(|h| format!("delete rule ip {} hostports handle {h}\n", self.table))
            .collect();
        if !script.is_empty() {
            nft(&["-f", "-"], Some(&script))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_forward_each_mapping() {
        assert_eq!(table("skiff-t3"), "skiff_skiff_t3");
        let mappings = [
            PortMapping { host_port: 8080, container_port: 80, protocol: "TCP".into(), host_ip: None },
            PortMapping {
                host_port: 5353,
                container_port: 53,
                protocol: "UDP".into(),
                host_ip: Some(Ipv4Addr::new(192, 168, 1, 5)),
            },
        ];
        let script = rules_script("t", "pod-0", Ipv4Addr::new(10, 42, 0, 7), &mappings);
        assert_eq!(
            script,
            "add rule ip t hostports meta l4proto tcp th dport 8080 dnat to 10.42.0.7:80 comment \"pod-0\"\n\
             add rule ip t hostports ip daddr 192.168.1.5 meta l4proto udp th dport 5353 dnat to 10.42.0.7:53 comment \"pod-0\"\n"
        );
        assert!(base_script("t", "skiff0").contains("oifname \"skiff0\" masquerade"));
    }

    #[test]
    fn rules_are_found_by_their_tag() {
        let listing = r#"{"nftables": [{"metainfo": {}}, {"chain": {"name": "hostports"}},
            {"rule": {"chain": "hostports", "handle": 4, "comment": "a-0"}},
            {"rule": {"chain": "hostports", "handle": 7, "comment": "b-0"}},
            {"rule": {"chain": "hostports", "handle": 9, "comment": "a-0"}}]}"#;
        assert_eq!(handles(listing, "a-0"), vec![4, 9]);
        assert!(handles("not json", "a-0").is_empty());
    }
}
