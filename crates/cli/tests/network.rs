//! The Pod network across nodes (as root): `skiff server` hands every Node a block of the
//! cluster CIDR, and each node's agent routes to the other nodes' blocks, so Pods on two
//! nodes reach each other. The second node is a `skiff agent` in a network namespace of its
//! own, joined to this one by a veth pair: two machines on one link, as far as routing goes.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::cluster::{root, Cluster};

fn sh(line: &str) -> String {
    let out = Command::new("sh").args(["-c", line]).output().unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn web(name: &str, node: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: {node}
  containers:
  - name: web
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'mkdir /www && echo "served by {name}" > /www/index.html && exec httpd -f -p 8080 -h /www']
"#
    )
}

/// A second machine: a network namespace with `eth0` at `peer_ip`, linked to `host_ip` here.
/// Dropping it stops its agent and removes the namespace and the link (with the routes
/// through it), and puts IPv4 forwarding back as it was.
struct Machine {
    netns: String,
    link: String,
    forwarding: String,
    agent: Option<Child>,
    dir: PathBuf,
}

impl Machine {
    fn new(p: u32, host_ip: &str, peer_ip: &str, dir: PathBuf) -> Machine {
        let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        let (netns, link) = (format!("skn{p}"), format!("skh{p}"));
        let _ = Command::new("ip").args(["netns", "del", &netns]).output();
        let _ = Command::new("ip").args(["link", "del", &link]).output();
        let m = Machine { netns, link, forwarding, agent: None, dir };
        sh(&format!("ip netns add {}", m.netns));
        sh(&format!("ip link add {} type veth peer name eth0 netns {}", m.link, m.netns));
        sh(&format!("ip addr add {host_ip}/24 dev {} && ip link set {} up", m.link, m.link));
        sh(&format!("ip -n {0} addr add {peer_ip}/24 dev eth0 && ip -n {0} link set eth0 up", m.netns));
        sh(&format!("ip -n {} link set lo up", m.netns));
        m
    }

    /// Starts `skiff agent` inside the namespace (its network only: `ip netns exec` would also
    /// hide the host's cgroup mounts).
    fn agent(&mut self, c: &Cluster, name: &str, ip: &str) {
        let archive = c.dir().join("busybox.tar");
        let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["image", "--root"])
            .arg(self.dir.join("runtime/images"))
            .arg("import")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let url = std::fs::read_to_string(&c.server().kubeconfig).unwrap();
        let url = url.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap().to_string();
        let tls = c.dir().join("server/tls");
        let log = std::fs::File::create(self.dir.join("agent.log")).unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(env!("CARGO_BIN_EXE_skiff"))
            .args(["agent", "--server", &url, "--token"])
            .arg(std::fs::read_to_string(tls.join("node.token")).unwrap().trim())
            .arg("--ca-file")
            .arg(tls.join("ca.crt"))
            .args(["--node-name", name, "--node-ip", ip, "--kubelet-port", "0", "--restart-backoff-ms", "500"])
            .args(["--bridge-name", "skiff0", "--data-dir"])
            .arg(&self.dir)
            .env("SKIFF_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.agent = Some(child);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if let Some(mut a) = self.agent.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).output();
        let _ = Command::new("ip").args(["link", "del", &self.link]).output();
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", &self.forwarding);
    }
}

#[test]
fn pods_on_two_nodes_reach_each_other() {
    if !root() {
        return;
    }
    let p = std::process::id() % 150;
    let (host_ip, peer_ip) = (format!("10.{}.250.1", 100 + p), format!("10.{}.250.2", 100 + p));
    let cluster_cidr = format!("10.{}.240.0/21", 100 + p);
    let tmp = tempfile::tempdir().unwrap();
    let mut machine = Machine::new(p, &host_ip, &peer_ip, tmp.path().to_path_buf());
    let mut c = Cluster::start(&["--node-ip", &host_ip, "--bind-address", &host_ip, "--cluster-cidr", &cluster_cidr]);
    c.runtimes.push(tmp.path().join("runtime"));
    machine.agent(&c, "node-b", &peer_ip);
    c.wait_for("node-b to be Ready", Duration::from_secs(30), || {
        let ready = "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}";
        c.k().run(&["get", "node", "node-b", "-o", ready], None).stdout == b"True"
    });

    // Each node got its own block of the cluster CIDR.
    let cidr = |n: &str| {
        String::from_utf8_lossy(&c.k().run(&["get", "node", n, "-o", "jsonpath={.spec.podCIDR}"], None).stdout)
            .into_owned()
    };
    let (a, b) = (cidr("node-a"), cidr("node-b"));
    let block = |s: &str| s.starts_with(&format!("10.{}.24", 100 + p)) && s.ends_with(".0/24");
    assert!(block(&a) && block(&b) && a != b, "node-a {a}, node-b {b}");

    c.k().ok(&["apply", "-f", "-"], Some(&web("web-a", "node-a")));
    c.k().ok(&["apply", "-f", "-"], Some(&web("web-b", "node-b")));
    c.wait_phase("web-a", "Running");
    c.wait_phase("web-b", "Running");
    let ip_a = c.pod_field("web-a", "{.status.podIP}");
    let ip_b = c.pod_field("web-b", "{.status.podIP}");
    let net = |cidr: &str| cidr.rsplit_once('.').unwrap().0.to_string();
    assert!(ip_a.starts_with(&net(&a)) && ip_b.starts_with(&net(&b)), "{ip_a} in {a}, {ip_b} in {b}");
    let wide = c.k().ok(&["get", "pods", "-o", "wide"], None);
    assert!(wide.contains(&ip_b) && wide.contains("node-b"), "{wide}");

    // Pod to Pod, both ways, and node to a Pod on the other node. (No `wget -T`: this busybox's
    // wget crashes with it.)
    let fetch = |from: &str, ip: &str| {
        let url = format!("http://{ip}:8080/");
        let mut out = String::new();
        for _ in 0..50 {
            out = String::from_utf8_lossy(&c.k().run(&["exec", from, "--", "wget", "-qO-", &url], None).stdout)
                .into_owned();
            if !out.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        out
    };
    assert_eq!(fetch("web-a", &ip_b), "served by web-b\n", "node-b's log:\n{}", common::tail(&machine.log(), 30));
    assert_eq!(fetch("web-b", &ip_a), "served by web-a\n");
    let out = Command::new("curl").args(["-s", "--max-time", "5", &format!("http://{ip_b}:8080/")]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "served by web-b\n");
    // The route carries skiff's protocol number, through node-b's address.
    let routes = sh("ip route show proto 57");
    assert!(routes.contains(&format!("{b} via {peer_ip}")), "{routes}");

    // A Node that is deleted takes its route with it.
    c.k().ok(&["delete", "pod", "web-b", "--grace-period=1"], None);
    machine.agent.take().map(|mut a| (a.kill(), a.wait()));
    c.k().ok(&["delete", "node", "node-b"], None);
    c.wait_for("the route to node-b's Pods to go", Duration::from_secs(20), || {
        !sh("ip route show proto 57").contains(&b)
    });
}

/// The nat table's rules (as `iptables-save` prints them) and chains (`:NAME`, without the
/// policy and counters).
fn nat_rules() -> Vec<String> {
    let out = Command::new("iptables-save").args(["-t", "nat"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rules = text.lines().filter(|l| l.starts_with("-A ")).map(str::to_string);
    let chains = text.lines().filter_map(|l| l.strip_prefix(':')?.split_whitespace().next()).map(|c| format!(":{c}"));
    rules.chain(chains).collect()
}

/// Puts back what the CNI test changed on the node: the bridge the bridge plugin leaves
/// (it never deletes it), the portmap plugin's chains, IPv4 forwarding.
struct CniLeftovers {
    bridge: String,
    nat: Vec<String>,
    /// Whether the `ip6 nat` table existed (portmap makes it, empty, for its IPv6 chains).
    nat6: bool,
    forwarding: String,
}

fn nat6_exists() -> bool {
    Command::new("nft").args(["list", "table", "ip6", "nat"]).output().is_ok_and(|o| o.status.success())
}

impl Drop for CniLeftovers {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.bridge]).output();
        let now = nat_rules();
        // New rules (the shell splits them as iptables-save quoted them), then new chains.
        for rule in now.iter().filter(|r| r.starts_with("-A ") && !self.nat.contains(r)) {
            let line = format!("iptables -t nat -D {}", rule.trim_start_matches("-A "));
            let _ = Command::new("sh").args(["-c", &line]).output();
        }
        let chains: Vec<&str> =
            now.iter().filter(|r| r.starts_with(':') && !self.nat.contains(r)).map(|c| &c[1..]).collect();
        for (flag, chain) in chains.iter().map(|c| ("-F", c)).chain(chains.iter().map(|c| ("-X", c))) {
            let _ = Command::new("iptables").args(["-t", "nat", flag, chain]).output();
        }
        if !self.nat6 {
            let _ = Command::new("nft").args(["delete", "table", "ip6", "nat"]).output();
        }
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", &self.forwarding);
    }
}

#[test]
fn cni_plugins_give_pods_their_network() {
    if !root() {
        return;
    }
    if !std::path::Path::new("/usr/lib/cni/bridge").is_file() || Command::new("iptables-save").output().is_err() {
        eprintln!("skipped: needs Debian's containernetworking-plugins and iptables");
        return;
    }
    let p = std::process::id() % 150;
    let subnet = format!("10.{}.230.0/24", 100 + p);
    let host_port = 21000 + p;
    let tmp = tempfile::tempdir().unwrap();
    let conf_dir = tmp.path().join("net.d");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let _leftovers = CniLeftovers {
        bridge: format!("skc{p}"),
        nat: nat_rules(),
        nat6: nat6_exists(),
        forwarding: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
    };
    let conflist = serde_json::json!({"cniVersion": "1.0.0", "name": "skiff-test", "plugins": [
        {"type": "bridge", "bridge": format!("skc{p}"), "isGateway": true, "ipMasq": false, "hairpinMode": true,
         "ipam": {"type": "host-local", "dataDir": tmp.path().join("ipam"), "ranges": [[{"subnet": subnet}]]}},
        {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}]});
    std::fs::write(conf_dir.join("10-skiff-test.conflist"), conflist.to_string()).unwrap();
    let c = Cluster::start(&["--cni-conf-dir", conf_dir.to_str().unwrap(), "--cni-bin-dir", "/usr/lib/cni"]);
    let pod = web("web", "node-a")
        .replace("    command:", &format!("    ports: [{{containerPort: 8080, hostPort: {host_port}}}]\n    command:"));
    c.k().ok(&["apply", "-f", "-"], Some(&pod));
    c.wait_phase("web", "Running");
    let ip = c.pod_field("web", "{.status.podIP}");
    assert!(ip.starts_with(&format!("10.{}.230.", 100 + p)), "{ip} from the CNI network's host-local range");
    let get = |url: String| {
        let out = Command::new("curl").args(["-s", "--max-time", "5", &url]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(get(format!("http://{ip}:8080/")), "served by web\n", "the node reaches the Pod");
    let gateway = format!("10.{}.230.1", 100 + p);
    assert_eq!(get(format!("http://{gateway}:{host_port}/")), "served by web\n", "hostPort through portmap");
    let out = c.k().ok(&["exec", "web", "--", "wget", "-qO-", "http://localhost:8080/"], None);
    assert_eq!(out, "served by web\n");
    // The namespace is pinned while the Pod has its network, and the address is held.
    let ipam = tmp.path().join("ipam/skiff-test").join(&ip);
    assert!(ipam.exists(), "host-local holds {ip}");
    c.k().ok(&["delete", "pod", "web", "--grace-period=1"], None);
    c.wait_for("the Pod's address to be released", Duration::from_secs(30), || !ipam.exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&c.dir().join("agent/network/cni").to_string_lossy().into_owned()), "unpinned");
    assert!(!nat_rules().iter().any(|r| r.contains(&format!("--dport {host_port}"))), "portmap's rule is gone");
}
