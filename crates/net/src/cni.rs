//! The CNI driver: the Pod network made by standard CNI plugins (bridge, host-local, portmap,
//! flannel, calico, …) from a network configuration list, as the CNI specification says and
//! libcni does. The first `*.conflist`, `*.conf` or `*.json` file of the configuration folder
//! (by name) is the network; each plugin of its list is executed in order for ADD (each gets
//! the previous one's result) and in reverse for DEL, with the `CNI_*` variables and the
//! plugin's configuration on stdin. `hostPort`s reach plugins that declare the
//! `portMappings` capability through `runtimeConfig`.
//!
//! The Pod's network namespace is pinned with a bind mount under the state folder for as long
//! as the Pod has a network, so DEL always reaches the right namespace, even after the
//! sandbox's infra process is gone (a `/proc/<pid>` path could by then name another process).
//! The configuration and the result of each ADD are kept beside it for DEL and [`address`].
//!
//! [`address`]: Network::address

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Map, Value};

use crate::{NetError, Network, PodNetwork, PodNetworkRequest, PortMapping};

/// Where the CNI driver finds its network and plugins, and keeps its state.
#[derive(Debug, Clone)]
pub struct CniConfig {
    /// The folder of network configurations (`/etc/cni/net.d`).
    pub conf_dir: PathBuf,
    /// Folders searched for plugin binaries, in order (`/opt/cni/bin`, `/usr/lib/cni`).
    pub bin_dirs: Vec<PathBuf>,
    /// Pinned network namespaces and cached results.
    pub state_dir: PathBuf,
}

/// The CNI provider.
pub struct CniNetwork {
    config: CniConfig,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NetError + '_ {
    move |source| NetError::Io { path: path.to_path_buf(), source }
}

fn cni_error(message: impl Into<String>) -> NetError {
    NetError::Cni(message.into())
}

/// A network configuration list from a `.conflist` file, or from a single-plugin `.conf`.
pub fn parse_network(text: &str, path: &Path) -> Result<Value, NetError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| cni_error(format!("{}: not a CNI configuration: {e}", path.display())))?;
    let list = if v.get("plugins").is_some() {
        v
    } else if v.get("type").is_some() {
        json!({"cniVersion": v["cniVersion"], "name": v["name"], "plugins": [v]})
    } else {
        return Err(cni_error(format!("{}: neither a plugin list nor a plugin", path.display())));
    };
    let plugins = list["plugins"].as_array().map(Vec::len).unwrap_or(0);
    if list["name"].as_str().is_none_or(str::is_empty) || plugins == 0 {
        return Err(cni_error(format!("{}: a network needs a name and at least one plugin", path.display())));
    }
    if list["plugins"].as_array().into_iter().flatten().any(|p| p["type"].as_str().is_none_or(str::is_empty)) {
        return Err(cni_error(format!("{}: every plugin needs a type", path.display())));
    }
    Ok(list)
}

/// The plugin's configuration as it is given on stdin: the plugin's own keys plus the
/// network's name and version, the previous result and the runtime's capability arguments.
pub fn plugin_input(list: &Value, plugin: &Value, prev: Option<&Value>, ports: &[PortMapping]) -> Value {
    let mut conf: Map<String, Value> = plugin.as_object().cloned().unwrap_or_default();
    conf.insert("name".into(), list["name"].clone());
    conf.insert("cniVersion".into(), list["cniVersion"].clone());
    if let Some(prev) = prev {
        conf.insert("prevResult".into(), prev.clone());
    }
    conf.remove("runtimeConfig");
    if plugin["capabilities"]["portMappings"] == json!(true) && !ports.is_empty() {
        let mappings: Vec<Value> = ports
            .iter()
            .map(|p| {
                let mut m = json!({"hostPort": p.host_port, "containerPort": p.container_port,
                                   "protocol": p.protocol.to_ascii_lowercase()});
                if let Some(ip) = p.host_ip {
                    m["hostIP"] = json!(ip.to_string());
                }
                m
            })
            .collect();
        conf.insert("runtimeConfig".into(), json!({"portMappings": mappings}));
    }
    Value::Object(conf)
}

/// The Pod's address from a result (spec 0.3.0 and later: `ips`; older: `ip4`).
pub fn result_address(result: &Value) -> Option<(Ipv4Addr, u8, Option<Ipv4Addr>)> {
    let (cidr, gateway) = match result["ips"].as_array() {
        Some(ips) => {
            let ip = ips.iter().find(|ip| ip["address"].as_str().is_some_and(|a| !a.contains(':')))?;
            (ip["address"].as_str()?, ip["gateway"].as_str())
        }
        None => (result["ip4"]["ip"].as_str()?, result["ip4"]["gateway"].as_str()),
    };
    let (ip, prefix) = cidr.split_once('/')?;
    Some((ip.parse().ok()?, prefix.parse().ok()?, gateway.and_then(|g| g.parse().ok())))
}

impl CniNetwork {
    /// The driver; the network configuration is read at each ADD, so a CNI plugin's installer
    /// may write it after the agent starts.
    pub fn new(config: CniConfig) -> CniNetwork {
        CniNetwork { config }
    }

    /// The network: the first configuration file in the folder, by name.
    pub fn network(&self) -> Result<Value, NetError> {
        let dir = &self.config.conf_dir;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("conflist" | "conf" | "json")))
            .collect();
        files.sort();
        let path = files.first().ok_or_else(|| cni_error(format!("no network configuration in {}", dir.display())))?;
        parse_network(&std::fs::read_to_string(path).map_err(io(path))?, path)
    }

    fn binary(&self, kind: &str) -> Result<PathBuf, NetError> {
        if kind.contains('/') {
            return Err(cni_error(format!("plugin type {kind:?} is not a plugin name")));
        }
        self.config.bin_dirs.iter().map(|d| d.join(kind)).find(|p| p.is_file()).ok_or_else(|| {
            let dirs: Vec<String> = self.config.bin_dirs.iter().map(|d| d.display().to_string()).collect();
            cni_error(format!("CNI plugin {kind:?} not found in {}", dirs.join(":")))
        })
    }

    /// Runs one plugin; its result for ADD.
    fn exec(&self, command: &str, id: &str, netns: &Path, args: &str, input: &Value) -> Result<Value, NetError> {
        let kind = input["type"].as_str().unwrap_or_default();
        let bin = self.binary(kind)?;
        let path = std::env::join_paths(&self.config.bin_dirs).unwrap_or_default();
        let mut child = Command::new(&bin)
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", id)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", path)
            .env("CNI_ARGS", args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(&bin))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.to_string().as_bytes());
        }
        let out = child.wait_with_output().map_err(io(&bin))?;
        if !out.status.success() {
            let err: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            let msg = match (err["msg"].as_str(), err["details"].as_str()) {
                (Some(m), Some(d)) if !d.is_empty() => format!("{m}: {d}"),
                (Some(m), _) => m.to_string(),
                _ => String::from_utf8_lossy(&out.stderr).trim().to_string(),
            };
            return Err(cni_error(format!("plugin {kind} failed ({command}): {msg}")));
        }
        if command != "ADD" || out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| cni_error(format!("plugin {kind}: bad result: {e}")))
    }

    fn pin_path(&self, id: &str) -> PathBuf {
        self.config.state_dir.join("netns").join(id)
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.config.state_dir.join("results").join(format!("{id}.json"))
    }

    /// Bind-mounts the namespace at a path of ours.
    fn pin(&self, id: &str, netns: &Path) -> Result<PathBuf, NetError> {
        let pin = self.pin_path(id);
        let dir = pin.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        unpin(&pin);
        std::fs::File::create(&pin).map_err(io(&pin))?;
        rustix::mount::mount_bind(netns, &pin)
            .map_err(|e| NetError::Namespace(format!("pinning {} at {}: {e}", netns.display(), pin.display())))?;
        Ok(pin)
    }

    /// DEL for every plugin of `list`, last first, with the capability arguments of the ADD.
    fn delete(
        &self,
        list: &Value,
        id: &str,
        netns: &Path,
        args: &str,
        result: Option<&Value>,
        ports: &[PortMapping],
    ) -> Result<(), NetError> {
        let plugins = list["plugins"].as_array().cloned().unwrap_or_default();
        for plugin in plugins.iter().rev() {
            let input = plugin_input(list, plugin, result, ports);
            self.exec("DEL", id, netns, args, &input)?;
        }
        Ok(())
    }
}

fn unpin(pin: &Path) {
    let _ = rustix::mount::unmount(pin, rustix::mount::UnmountFlags::DETACH);
    let _ = std::fs::remove_file(pin);
}

fn cni_args(request: &PodNetworkRequest) -> String {
    format!(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={};K8S_POD_UID={}",
        request.pod_namespace, request.pod_name, request.id, request.pod_uid
    )
}

impl Network for CniNetwork {
    fn setup(&self, request: &PodNetworkRequest) -> Result<PodNetwork, NetError> {
        let _span = tracing::info_span!("cni_add", id = %request.id).entered();
        let list = self.network()?;
        // The runtime's part, as containerd's: the Pod's own loopback is up.
        let netns: std::os::fd::OwnedFd = std::fs::File::open(&request.netns).map_err(io(&request.netns))?.into();
        crate::netlink::run(Some(netns), |handle| async move {
            match crate::netlink::index(&handle, "lo").await? {
                Some(lo) => crate::netlink::up(&handle, lo, "setting lo up").await,
                None => Ok(()),
            }
        })?;
        let pin = self.pin(&request.id, &request.netns)?;
        let args = cni_args(request);
        let mut result: Option<Value> = None;
        let added = (|| {
            for plugin in list["plugins"].as_array().into_iter().flatten() {
                let input = plugin_input(&list, plugin, result.as_ref(), &request.port_mappings);
                result = Some(self.exec("ADD", &request.id, &pin, &args, &input)?);
            }
            let result = result.clone().unwrap_or(Value::Null);
            let (ip, prefix, gateway) = result_address(&result)
                .ok_or_else(|| cni_error(format!("the network gave no IPv4 address: {result}")))?;
            let state = json!({"network": list, "result": result, "args": args, "ports": request.port_mappings});
            let path = self.state_path(&request.id);
            let dir = path.parent().unwrap_or(Path::new("/"));
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, state.to_string()).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
            let host_interface = result["interfaces"]
                .as_array()
                .and_then(|l| l.iter().rev().find(|i| i["sandbox"].as_str().is_none_or(str::is_empty)))
                .and_then(|i| i["name"].as_str())
                .unwrap_or_default()
                .to_string();
            let gateway = gateway.unwrap_or(Ipv4Addr::UNSPECIFIED);
            Ok(PodNetwork { ip, prefix, gateway, host_interface })
        })();
        if added.is_err() {
            // The specification asks for a DEL after a failed ADD.
            let _ = self.delete(&list, &request.id, &pin, &args, result.as_ref(), &request.port_mappings);
            unpin(&pin);
            let _ = std::fs::remove_file(self.state_path(&request.id));
        }
        added
    }

    fn teardown(&self, id: &str) -> Result<(), NetError> {
        let _span = tracing::info_span!("cni_del", id).entered();
        let path = self.state_path(id);
        let pin = self.pin_path(id);
        let state: Value = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !pin.exists() => return Ok(()),
            Err(e) => return Err(io(&path)(e)),
        };
        let list = match state.get("network") {
            Some(l) => l.clone(),
            None => self.network()?,
        };
        let args = state["args"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID={id}"));
        let netns = if pin.exists() { pin.clone() } else { PathBuf::new() };
        let ports: Vec<PortMapping> = serde_json::from_value(state["ports"].clone()).unwrap_or_default();
        self.delete(&list, id, &netns, &args, state.get("result"), &ports)?;
        unpin(&pin);
        let _ = std::fs::remove_file(&path);
        Ok(())
    }

    fn address(&self, id: &str) -> Result<Option<Ipv4Addr>, NetError> {
        let path = self.state_path(id);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                Ok(result_address(&state["result"]).map(|(ip, _, _)| ip))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_plugin_conf_becomes_a_list() {
        let list =
            parse_network(r#"{"cniVersion":"0.4.0","name":"net","type":"bridge","bridge":"cni0"}"#, Path::new("x"))
                .unwrap();
        assert_eq!(list["plugins"][0]["bridge"], "cni0");
        assert_eq!(list["name"], "net");
        assert!(parse_network(r#"{"cniVersion":"1.0.0","name":"net","plugins":[]}"#, Path::new("x")).is_err());
        assert!(parse_network(r#"{"cniVersion":"1.0.0","name":"net","plugins":[{"a":1}]}"#, Path::new("x")).is_err());
        assert!(parse_network("not json", Path::new("x")).is_err());
    }

    #[test]
    fn plugins_get_name_version_previous_result_and_their_capabilities() {
        let list = json!({"cniVersion": "1.0.0", "name": "pods", "plugins": [
            {"type": "bridge", "bridge": "cni0"},
            {"type": "portmap", "capabilities": {"portMappings": true}}]});
        let ports = [PortMapping { host_port: 8080, container_port: 80, protocol: "TCP".into(), host_ip: None }];
        let first = plugin_input(&list, &list["plugins"][0], None, &ports);
        assert_eq!(first, json!({"type": "bridge", "bridge": "cni0", "name": "pods", "cniVersion": "1.0.0"}));
        let prev = json!({"cniVersion": "1.0.0", "ips": [{"address": "10.88.0.2/16"}]});
        let second = plugin_input(&list, &list["plugins"][1], Some(&prev), &ports);
        assert_eq!(second["prevResult"], prev);
        assert_eq!(
            second["runtimeConfig"],
            json!({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]})
        );
    }

    #[test]
    fn addresses_from_current_and_old_results() {
        let v1 = json!({"ips": [{"address": "fd00::2/64"}, {"address": "10.88.0.2/16", "gateway": "10.88.0.1"}]});
        assert_eq!(result_address(&v1), Some(([10, 88, 0, 2].into(), 16, Some([10, 88, 0, 1].into()))));
        let v02 = json!({"ip4": {"ip": "10.1.0.5/24"}});
        assert_eq!(result_address(&v02), Some(([10, 1, 0, 5].into(), 24, None)));
        assert_eq!(result_address(&json!({})), None);
    }
}
