//! The API objects a Pod's containers read: the ConfigMaps and Secrets its volumes
//! (configMap, secret, projected), environment (`valueFrom`, `envFrom`) and
//! `imagePullSecrets` name. The worker
//! fetches them before it starts containers; what is missing is simply absent, and the
//! volume or variable that needs it decides whether that is an error (`optional`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::Api;

/// Keys and values of one ConfigMap or Secret.
pub type Payload = BTreeMap<String, Vec<u8>>;

/// What a Pod's ConfigMaps and Secrets hold, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSources {
    pub config_maps: BTreeMap<String, Payload>,
    pub secrets: BTreeMap<String, Payload>,
}

/// The names of the ConfigMaps and of the Secrets `pod` refers to.
pub fn referenced(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut maps, mut secrets) = (BTreeSet::new(), BTreeSet::new());
    let Some(spec) = &pod.spec else { return (maps, secrets) };
    secrets.extend(spec.image_pull_secrets.iter().flatten().map(|r| r.name.clone()));
    for c in spec.init_containers.iter().flatten().chain(&spec.containers) {
        for e in c.env.iter().flatten().filter_map(|e| e.value_from.as_ref()) {
            maps.extend(e.config_map_key_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(e.secret_key_ref.as_ref().map(|r| r.name.clone()));
        }
        for e in c.env_from.iter().flatten() {
            maps.extend(e.config_map_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(e.secret_ref.as_ref().map(|r| r.name.clone()));
        }
    }
    for v in spec.volumes.iter().flatten() {
        maps.extend(v.config_map.as_ref().map(|c| c.name.clone()));
        secrets.extend(v.secret.as_ref().and_then(|s| s.secret_name.clone()));
        for s in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            maps.extend(s.config_map.as_ref().map(|c| c.name.clone()));
            secrets.extend(s.secret.as_ref().map(|c| c.name.clone()));
        }
    }
    (maps, secrets)
}

/// A ConfigMap's data and binaryData as bytes.
pub fn config_map_payload(cm: &ConfigMap) -> Payload {
    let text = cm.data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes()));
    let binary = cm.binary_data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone()));
    text.chain(binary).collect()
}

/// A Secret's data (and stringData, should a client's object still carry it) as bytes.
pub fn secret_payload(secret: &Secret) -> Payload {
    let data = secret.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone()));
    let text = secret.string_data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes()));
    data.chain(text).collect()
}

/// Fetches what `pod` refers to; objects that cannot be read are left out (and logged).
pub async fn fetch(client: &kube::Client, pod: &Pod) -> PodSources {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let (maps, secrets) = referenced(pod);
    let mut sources = PodSources::default();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for name in maps {
        match config_maps.get_opt(&name).await {
            Ok(Some(cm)) => drop(sources.config_maps.insert(name, config_map_payload(&cm))),
            Ok(None) => {}
            Err(e) => tracing::warn!(configmap = %name, error = %e, "reading a ConfigMap failed"),
        }
    }
    let secret_api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for name in secrets {
        match secret_api.get_opt(&name).await {
            Ok(Some(s)) => drop(sources.secrets.insert(name, secret_payload(&s))),
            Ok(None) => {}
            Err(e) => tracing::warn!(secret = %name, error = %e, "reading a Secret failed"),
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_come_from_env_and_volumes() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "a", "env": [
                    {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k"}}},
                    {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}
                ], "envFrom": [{"configMapRef": {"name": "cm2"}}]}],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "cm3"}},
                    {"name": "v2", "secret": {"secretName": "s2"}},
                    {"name": "v3", "projected": {"sources": [{"secret": {"name": "s3"}}, {"configMap": {"name": "cm1"}}]}}
                ]
            }
        }))
        .unwrap();
        let (maps, secrets) = referenced(&pod);
        assert_eq!(maps.into_iter().collect::<Vec<_>>(), ["cm1", "cm2", "cm3"]);
        assert_eq!(secrets.into_iter().collect::<Vec<_>>(), ["s1", "s2", "s3"]);
    }
}
