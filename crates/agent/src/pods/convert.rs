//! A Pod's container as a runtime request (pure): command and args with `$(VAR)` expansion,
//! environment (values and the downward API's field references), working directory, user,
//! security context, resources in cgroup units, the sandbox's namespaces and /dev/shm,
//! volume mounts and the Pod's /etc files, the CRI log path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};
use skiff_api::quantity::Amount;
use skiff_runtime::container::{BindMount, ContainerConfig, LogConfig, Namespace, Namespaces, Resources};

use super::model::RuntimeFailure;
use super::sources::{Payload, PodSources};

/// Where the sandbox and the Pod's files are on the host.
#[derive(Debug, Clone, Default)]
pub struct PodContext {
    /// `/proc/<infra pid>/ns/` of the sandbox.
    pub namespaces: PathBuf,
    pub shm: PathBuf,
    pub etc_hosts: PathBuf,
    pub etc_hostname: PathBuf,
    pub resolv_conf: PathBuf,
    /// Host directories of the Pod's volumes, by volume name.
    pub volumes: BTreeMap<String, PathBuf>,
    pub cgroup_parent: String,
    pub log_path: PathBuf,
    pub pod_ip: String,
    pub node_ip: String,
    /// The ConfigMaps and Secrets the environment refers to.
    pub sources: PodSources,
    /// The host file behind the container's terminationMessagePath (none when empty).
    pub termination_log: PathBuf,
}

fn config_error(message: impl std::fmt::Display) -> RuntimeFailure {
    RuntimeFailure::new("CreateContainerConfigError", message)
}

/// The value of a downward-API field path (`status.podIP` and `status.hostIP` from `ctx`).
pub fn field(pod: &Pod, path: &str, ctx: &PodContext) -> Result<String, RuntimeFailure> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let label = |map: &Option<BTreeMap<String, String>>, key: &str| map.as_ref().and_then(|m| m.get(key).cloned());
    let value = match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.podIP" | "status.podIPs" => Some(ctx.pod_ip.clone()),
        "status.hostIP" | "status.hostIPs" => Some(ctx.node_ip.clone()),
        p => {
            let key = |prefix: &str| p.strip_prefix(prefix).and_then(|k| k.strip_suffix("']")).map(str::to_string);
            if let Some(k) = key("metadata.labels['") {
                Some(label(&meta.labels, &k).unwrap_or_default())
            } else if let Some(k) = key("metadata.annotations['") {
                Some(label(&meta.annotations, &k).unwrap_or_default())
            } else {
                return Err(config_error(format!("unsupported fieldPath {p:?}")));
            }
        }
    };
    Ok(value.unwrap_or_default())
}

/// Expands `$(NAME)` from `env` (`$$(` escapes; unknown references stay as written), as the
/// kubelet expands command, args and env values.
pub fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(close) = tail.strip_prefix("$(").and_then(|t| t.find(')')) {
            let name = &tail[2..2 + close];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&tail[..close + 3]),
            }
            rest = &tail[close + 3..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// One key of a ConfigMap (`kind` "configmap") or Secret ("secret"); None when the object or
/// key is missing and `optional`.
fn key_of(
    objects: &BTreeMap<String, Payload>,
    kind: &str,
    namespace: &str,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, RuntimeFailure> {
    let Some(payload) = objects.get(name) else {
        return if optional == Some(true) {
            Ok(None)
        } else {
            Err(config_error(format!("{kind} \"{name}\" not found")))
        };
    };
    match payload.get(key) {
        Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
        None if optional == Some(true) => Ok(None),
        None => {
            let title = if kind == "secret" { "Secret" } else { "ConfigMap" };
            Err(config_error(format!("couldn't find key {key} in {title} {namespace}/{name}")))
        }
    }
}

/// `envFrom`: every key of the named ConfigMaps and Secrets that is a valid variable name.
fn env_from(c: &Container, sources: &PodSources) -> Result<Vec<(String, String)>, RuntimeFailure> {
    let mut env = vec![];
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or_default();
        let (objects, kind, name, optional) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), _) => (&sources.config_maps, "configmap", &r.name, r.optional),
            (None, Some(r)) => (&sources.secrets, "secret", &r.name, r.optional),
            (None, None) => continue,
        };
        let Some(payload) = objects.get(name) else {
            if optional == Some(true) {
                continue;
            }
            return Err(config_error(format!("{kind} \"{name}\" not found")));
        };
        for (key, value) in payload {
            let var = format!("{prefix}{key}");
            let valid = !var.is_empty()
                && !var.starts_with(|ch: char| ch.is_ascii_digit())
                && var.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'));
            if valid {
                env.push((var, String::from_utf8_lossy(value).into_owned()));
            }
        }
    }
    Ok(env)
}

fn environment(pod: &Pod, c: &Container, ctx: &PodContext) -> Result<Vec<(String, String)>, RuntimeFailure> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut env = env_from(c, &ctx.sources)?;
    for EnvVar { name, value, value_from } in c.env.iter().flatten() {
        let v = match (value, value_from) {
            (Some(v), _) => Some(expand(v, &env)),
            (None, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    Some(field(pod, &f.field_path, ctx)?)
                } else if let Some(r) = &from.resource_field_ref {
                    Some(resource_field(c, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str()))?)
                } else if let Some(r) = &from.config_map_key_ref {
                    key_of(&ctx.sources.config_maps, "configmap", namespace, &r.name, &r.key, r.optional)?
                } else if let Some(r) = &from.secret_key_ref {
                    key_of(&ctx.sources.secrets, "secret", namespace, &r.name, &r.key, r.optional)?
                } else {
                    Some(String::new())
                }
            }
            (None, None) => Some(String::new()),
        };
        if let Some(v) = v {
            env.retain(|(k, _)| k != name);
            env.push((name.clone(), v));
        }
    }
    Ok(env)
}

pub fn resource_field(c: &Container, resource: &str, divisor: Option<&str>) -> Result<String, RuntimeFailure> {
    let (kind, name) = resource.split_once('.').ok_or_else(|| config_error(format!("resource {resource:?}")))?;
    let r = c.resources.as_ref();
    let map = if kind == "limits" { r.and_then(|r| r.limits.as_ref()) } else { r.and_then(|r| r.requests.as_ref()) };
    let amount = map.and_then(|m| m.get(name)).map(|q| Amount::parse(&q.0)).transpose().map_err(config_error)?;
    let divisor = Amount::parse(divisor.unwrap_or("1")).map_err(config_error)?;
    let value = amount.map(|a| a.milli_value()).unwrap_or(0);
    let d = divisor.milli_value().max(1);
    Ok(((value + d - 1) / d).to_string())
}

/// The container's request (or limit) of `name`, parsed.
pub(crate) fn quantity(c: &Container, limits: bool, name: &str) -> Result<Option<Amount>, RuntimeFailure> {
    let r = c.resources.as_ref();
    let map = if limits { r.and_then(|r| r.limits.as_ref()) } else { r.and_then(|r| r.requests.as_ref()) };
    map.and_then(|m| m.get(name)).map(|q| Amount::parse(&q.0)).transpose().map_err(config_error)
}

/// requests/limits in cgroup units: cpu shares from requests (limits when only those are
/// set), CFS quota from the cpu limit, memory limit in bytes.
pub fn resources(c: &Container) -> Result<Resources, RuntimeFailure> {
    let cpu_request = quantity(c, false, "cpu")?.or(quantity(c, true, "cpu")?);
    let cpu_limit = quantity(c, true, "cpu")?;
    let memory = quantity(c, true, "memory")?;
    Ok(Resources {
        cpu_shares: Some(cpu_request.map(|q| (q.milli_value().max(0) as u64 * 1024 / 1000).max(2)).unwrap_or(2)),
        cpu_quota: cpu_limit.map(|q| (q.milli_value() * 100).max(1000)),
        cpu_period: cpu_limit.map(|_| 100_000),
        memory_limit: memory.map(|q| q.value()),
        pids_limit: None,
    })
}

/// The Pod's QoS class: the one in its status, else as the API server computes it.
pub fn qos_class(pod: &Pod) -> String {
    if let Some(q) = pod.status.as_ref().and_then(|s| s.qos_class.clone()) {
        return q;
    }
    let spec = serde_json::to_value(pod.spec.clone().unwrap_or_default()).unwrap_or_default();
    skiff_api::defaults::qos_class(&spec).to_string()
}

/// The Pod's cgroup, in the kubelet's QoS tiers: `kubepods/pod<uid>` for Guaranteed Pods,
/// `kubepods/burstable/pod<uid>` and `kubepods/besteffort/pod<uid>` for the others.
pub fn pod_cgroup(pod: &Pod) -> String {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    match qos_class(pod).as_str() {
        "Guaranteed" => format!("skiff/kubepods/pod{uid}"),
        "BestEffort" => format!("skiff/kubepods/besteffort/pod{uid}"),
        _ => format!("skiff/kubepods/burstable/pod{uid}"),
    }
}

/// The Pod cgroup's limits, as the kubelet's `ResourceConfigForPod`: cpu shares from the
/// summed requests (2 for BestEffort), a CFS quota and a memory limit only when every
/// container has that limit; init containers count by their largest value.
pub fn pod_resources(pod: &Pod) -> Result<Resources, RuntimeFailure> {
    let Some(spec) = &pod.spec else { return Ok(Resources::default()) };
    // Per container: cpu request (the limit when only that is set) and cpu and memory limits.
    let amounts = |c: &Container| -> Result<(i64, Option<i64>, Option<i64>), RuntimeFailure> {
        let request = quantity(c, false, "cpu")?.or(quantity(c, true, "cpu")?).map(|q| q.milli_value()).unwrap_or(0);
        Ok((
            request,
            quantity(c, true, "cpu")?.map(|q| q.milli_value()),
            quantity(c, true, "memory")?.map(|q| q.value()),
        ))
    };
    let (mut cpu_request, mut cpu_limit, mut memory_limit) = (0i64, Some(0i64), Some(0i64));
    for c in &spec.containers {
        let (request, cpu, memory) = amounts(c)?;
        cpu_request += request;
        cpu_limit = cpu_limit.zip(cpu).map(|(a, b)| a + b);
        memory_limit = memory_limit.zip(memory).map(|(a, b)| a + b);
    }
    for c in spec.init_containers.iter().flatten() {
        let (request, cpu, memory) = amounts(c)?;
        cpu_request = cpu_request.max(request);
        cpu_limit = cpu_limit.zip(cpu).map(|(a, b)| a.max(b));
        memory_limit = memory_limit.zip(memory).map(|(a, b)| a.max(b));
    }
    let cpu_limit = cpu_limit.filter(|_| !spec.containers.is_empty());
    Ok(Resources {
        cpu_shares: Some((cpu_request.max(0) as u64 * 1024 / 1000).max(2)),
        cpu_quota: cpu_limit.map(|m| (m * 100).max(1000)),
        cpu_period: cpu_limit.map(|_| 100_000),
        memory_limit: memory_limit.filter(|_| !spec.containers.is_empty()),
        pids_limit: None,
    })
}

/// The runtime request for one attempt of `c`.
pub fn container_config(
    pod: &Pod,
    c: &Container,
    attempt: u32,
    ctx: &PodContext,
) -> Result<ContainerConfig, RuntimeFailure> {
    let env = environment(pod, c, ctx)?;
    let spec = pod.spec.as_ref();
    let pod_sc = spec.and_then(|s| s.security_context.as_ref());
    let sc = c.security_context.as_ref();
    let uid = sc.and_then(|s| s.run_as_user).or(pod_sc.and_then(|s| s.run_as_user));
    let gid = sc.and_then(|s| s.run_as_group).or(pod_sc.and_then(|s| s.run_as_group));
    let user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    let caps = sc.and_then(|s| s.capabilities.as_ref());
    let privileged = sc.and_then(|s| s.privileged).unwrap_or(false);
    let mut mounts = vec![
        BindMount { source: ctx.etc_hosts.clone(), destination: "/etc/hosts".into(), read_only: false },
        BindMount { source: ctx.etc_hostname.clone(), destination: "/etc/hostname".into(), read_only: false },
        BindMount { source: ctx.resolv_conf.clone(), destination: "/etc/resolv.conf".into(), read_only: false },
    ];
    if !ctx.termination_log.as_os_str().is_empty() {
        let destination = c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
        mounts.push(BindMount { source: ctx.termination_log.clone(), destination, read_only: false });
    }
    for m in c.volume_mounts.iter().flatten() {
        let base =
            ctx.volumes.get(&m.name).ok_or_else(|| config_error(format!("volume {:?} is not defined", m.name)))?;
        let source = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                let sub = expand(sub, &env);
                if sub.split('/').any(|p| p == "..") || sub.starts_with('/') {
                    return Err(config_error(format!("subPath {sub:?} must be a relative path without '..'")));
                }
                base.join(sub)
            }
            None => base.clone(),
        };
        mounts.push(BindMount { source, destination: m.mount_path.clone(), read_only: m.read_only.unwrap_or(false) });
    }
    let ns = |kind: &str| Namespace::Join(ctx.namespaces.join(kind));
    let share_pid = spec.and_then(|s| s.share_process_namespace).unwrap_or(false);
    Ok(ContainerConfig {
        name: Some(runtime_name(pod, &c.name, attempt)),
        image: c.image.clone().unwrap_or_default(),
        command: c.command.iter().flatten().map(|a| expand(a, &env)).collect(),
        args: c.args.iter().flatten().map(|a| expand(a, &env)).collect(),
        env,
        working_dir: c.working_dir.clone(),
        user,
        supplemental_groups: pod_sc
            .and_then(|s| s.supplemental_groups.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|g| g as u32)
            .collect(),
        hostname: None,
        namespaces: Namespaces {
            network: ns("net"),
            ipc: ns("ipc"),
            uts: ns("uts"),
            pid: if share_pid { Namespace::Host } else { Namespace::New },
        },
        mounts,
        shm: Some(ctx.shm.clone()),
        resources: resources(c)?,
        cgroup_parent: ctx.cgroup_parent.clone(),
        tty: c.tty.unwrap_or(false),
        read_only_rootfs: sc.and_then(|s| s.read_only_root_filesystem).unwrap_or(false),
        no_new_privileges: sc.and_then(|s| s.allow_privilege_escalation) == Some(false),
        add_capabilities: if privileged {
            vec!["ALL".into()]
        } else {
            caps.and_then(|c| c.add.clone()).unwrap_or_default()
        },
        drop_capabilities: caps.and_then(|c| c.drop.clone()).unwrap_or_default(),
        oom_score_adj: None,
        rlimits: vec![],
        log: LogConfig { path: Some(ctx.log_path.clone()), ..LogConfig::default() },
        labels: BTreeMap::from([
            (LABEL_POD_UID.to_string(), pod.metadata.uid.clone().unwrap_or_default()),
            (LABEL_POD_NAME.to_string(), pod.metadata.name.clone().unwrap_or_default()),
            (LABEL_POD_NAMESPACE.to_string(), pod.metadata.namespace.clone().unwrap_or_else(|| "default".into())),
            (LABEL_CONTAINER.to_string(), c.name.clone()),
            (LABEL_ATTEMPT.to_string(), attempt.to_string()),
            (LABEL_TERMINATION_LOG.to_string(), ctx.termination_log.to_string_lossy().into_owned()),
            (
                LABEL_TERMINATION_POLICY.to_string(),
                c.termination_message_policy.clone().unwrap_or_else(|| "File".into()),
            ),
        ]),
    })
}

pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_CONTAINER: &str = "io.kubernetes.container.name";
pub const LABEL_ATTEMPT: &str = "io.kubernetes.container.restartCount";
pub const LABEL_SANDBOX: &str = "io.kubernetes.sandbox.id";
/// The host file a container writes its termination message to.
pub const LABEL_TERMINATION_LOG: &str = "io.skiff.termination-log";
pub const LABEL_TERMINATION_POLICY: &str = "io.kubernetes.container.terminationMessagePolicy";

/// The runtime's name for one attempt of a container (unique on the node, as dockershim named them).
pub fn runtime_name(pod: &Pod, container: &str, attempt: u32) -> String {
    format!(
        "k8s_{container}_{}_{}_{}_{attempt}",
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

/// The Pod's /etc/hosts as the kubelet writes it.
pub fn etc_hosts(pod: &Pod, pod_ip: &str) -> String {
    let spec = pod.spec.as_ref();
    let hostname = spec.and_then(|s| s.hostname.clone()).or_else(|| pod.metadata.name.clone()).unwrap_or_default();
    let fqdn = match spec.and_then(|s| s.subdomain.as_deref()) {
        Some(sub) => format!(
            "{hostname}.{sub}.{}.svc.cluster.local\t{hostname}",
            pod.metadata.namespace.as_deref().unwrap_or("default")
        ),
        None => hostname,
    };
    let mut out = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    out.push_str(&format!("{pod_ip}\t{fqdn}\n"));
    for alias in spec.and_then(|s| s.host_aliases.as_ref()).into_iter().flatten() {
        let names = alias.hostnames.clone().unwrap_or_default().join("\t");
        out.push_str(&format!("\n# Entries added by HostAliases.\n{}\t{names}\n", alias.ip));
    }
    out
}

/// The Pod's `hostPort`s, from every container (init containers too, as the kubelet does).
pub fn host_ports(pod: &Pod) -> Vec<skiff_net::PortMapping> {
    let spec = pod.spec.as_ref();
    let all = spec.into_iter().flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers));
    all.flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host_port = u16::try_from(p.host_port?).ok().filter(|p| *p > 0)?;
            Some(skiff_net::PortMapping {
                host_port,
                container_port: u16::try_from(p.container_port).ok()?,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                host_ip: p
                    .host_ip
                    .as_deref()
                    .and_then(|ip| ip.parse().ok())
                    .filter(|ip: &std::net::Ipv4Addr| !ip.is_unspecified()),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
