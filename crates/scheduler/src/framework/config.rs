//! The configuration file (`KubeSchedulerConfiguration`, kubescheduler.config.k8s.io/v1):
//! profiles, which plugins run at which extension point, score weights and plugin arguments.
//! Unset fields take kube-scheduler's defaults; unknown fields are errors, as in strict decoding.

use serde::Deserialize;
use serde_json::Value;

/// Errors reading or applying a configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("reading the scheduler configuration: {0}")]
    Parse(String),
    #[error("{0}")]
    Invalid(String),
}

/// The file, with kube-scheduler's defaults for anything left out.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulerConfig {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    /// 0: adaptive (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes).
    #[serde(default)]
    pub percentage_of_nodes_to_score: i32,
    #[serde(default = "one")]
    pub pod_initial_backoff_seconds: u64,
    #[serde(default = "ten")]
    pub pod_max_backoff_seconds: u64,
    #[serde(default)]
    pub parallelism: Option<i32>,
    #[serde(default)]
    pub profiles: Vec<Profile>,
    /// Accepted and ignored (leader election and client settings of kube-scheduler).
    #[serde(default)]
    pub leader_election: Option<Value>,
    #[serde(default)]
    pub client_connection: Option<Value>,
}

fn one() -> u64 {
    1
}
fn ten() -> u64 {
    10
}

/// One scheduler name and its plugins.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    #[serde(default = "default_scheduler")]
    pub scheduler_name: String,
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    pub plugins: Plugins,
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

fn default_scheduler() -> String {
    "default-scheduler".into()
}

/// Plugins enabled and disabled per extension point.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugins {
    #[serde(default)]
    pub pre_enqueue: PluginSet,
    #[serde(default)]
    pub queue_sort: PluginSet,
    #[serde(default)]
    pub pre_filter: PluginSet,
    #[serde(default)]
    pub filter: PluginSet,
    #[serde(default)]
    pub post_filter: PluginSet,
    #[serde(default)]
    pub pre_score: PluginSet,
    #[serde(default)]
    pub score: PluginSet,
    #[serde(default)]
    pub reserve: PluginSet,
    #[serde(default)]
    pub permit: PluginSet,
    #[serde(default)]
    pub pre_bind: PluginSet,
    #[serde(default)]
    pub bind: PluginSet,
    #[serde(default)]
    pub post_bind: PluginSet,
    #[serde(default)]
    pub multi_point: PluginSet,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginSet {
    #[serde(default)]
    pub enabled: Vec<PluginRef>,
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginRef {
    pub name: String,
    #[serde(default)]
    pub weight: Option<i32>,
}

/// Arguments for one plugin (`NodeResourcesFitArgs`, …), read by the plugin.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginConfig {
    pub name: String,
    #[serde(default)]
    pub args: Value,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            api_version: None,
            kind: None,
            percentage_of_nodes_to_score: 0,
            pod_initial_backoff_seconds: 1,
            pod_max_backoff_seconds: 10,
            parallelism: None,
            profiles: Vec::new(),
            leader_election: None,
            client_connection: None,
        }
    }
}

impl SchedulerConfig {
    /// Reads a YAML or JSON configuration file's text.
    pub fn parse(text: &str) -> Result<SchedulerConfig, ConfigError> {
        let mut config: SchedulerConfig = serde_yaml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        if let Some(kind) = config.kind.as_deref().filter(|k| *k != "KubeSchedulerConfiguration") {
            return Err(ConfigError::Invalid(format!("kind {kind:?} is not KubeSchedulerConfiguration")));
        }
        if let Some(v) = config.api_version.as_deref().filter(|v| !v.starts_with("kubescheduler.config.k8s.io/")) {
            return Err(ConfigError::Invalid(format!("apiVersion {v:?} is not kubescheduler.config.k8s.io/v1")));
        }
        if !(0..=100).contains(&config.percentage_of_nodes_to_score) {
            return Err(ConfigError::Invalid(format!(
                "percentageOfNodesToScore: Invalid value: {}: not in valid range [0-100]",
                config.percentage_of_nodes_to_score
            )));
        }
        if config.pod_initial_backoff_seconds == 0
            || config.pod_max_backoff_seconds < config.pod_initial_backoff_seconds
        {
            return Err(ConfigError::Invalid(
                "podMaxBackoffSeconds must be at least podInitialBackoffSeconds, which must be at least 1".into(),
            ));
        }
        config.fill_defaults();
        let mut names = std::collections::HashSet::new();
        for p in &config.profiles {
            if !names.insert(p.scheduler_name.clone()) {
                return Err(ConfigError::Invalid(format!("profiles: Duplicate value: {:?}", p.scheduler_name)));
            }
        }
        Ok(config)
    }

    /// The default profile when none is given.
    pub fn fill_defaults(&mut self) {
        if self.profiles.is_empty() {
            self.profiles.push(Profile {
                scheduler_name: default_scheduler(),
                percentage_of_nodes_to_score: None,
                plugins: Plugins::default(),
                plugin_config: Vec::new(),
            });
        }
    }
}

impl Profile {
    /// The arguments configured for `plugin` (`null` if none).
    pub fn args(&self, plugin: &str) -> Value {
        self.plugin_config.iter().find(|c| c.name == plugin).map(|c| c.args.clone()).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_kube_scheduler_configuration() {
        let c = SchedulerConfig::parse(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 50
profiles:
- schedulerName: bin-packer
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: ImageLocality, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy: {type: MostAllocated}
"#,
        )
        .unwrap();
        assert_eq!(c.percentage_of_nodes_to_score, 50);
        assert_eq!(c.pod_max_backoff_seconds, 10);
        let p = &c.profiles[0];
        assert_eq!(p.scheduler_name, "bin-packer");
        assert_eq!(p.plugins.score.enabled[0].weight, Some(5));
        assert_eq!(p.args("NodeResourcesFit")["scoringStrategy"]["type"], "MostAllocated");
    }

    #[test]
    fn rejects_what_kube_scheduler_rejects() {
        assert!(matches!(
            SchedulerConfig::parse("profiles: [{schedulerName: a, plugin: {}}]"),
            Err(ConfigError::Parse(_))
        ));
        assert!(SchedulerConfig::parse("percentageOfNodesToScore: 120").is_err());
        assert!(SchedulerConfig::parse("kind: Pod").is_err());
        assert!(SchedulerConfig::parse("profiles: [{schedulerName: a}, {schedulerName: a}]").is_err());
        assert_eq!(SchedulerConfig::parse("{}").unwrap().profiles[0].scheduler_name, "default-scheduler");
    }
}
