//! Plugins by name (`frameworkruntime.Registry`): each factory builds a plugin from its
//! configured arguments and says which extension points it serves.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::config::ConfigError;
use super::{
    BindPlugin, FilterPlugin, PermitPlugin, PostFilterPlugin, PreFilterPlugin, PreScorePlugin, QueueSortPlugin,
    ReservePlugin, ScorePlugin,
};

/// Binds a Pod to a node through the API (`pods/binding`); the I/O behind DefaultBinder.
#[async_trait::async_trait]
pub trait PodBinder: Send + Sync {
    async fn bind(&self, namespace: &str, name: &str, uid: &str, node: &str) -> Result<(), String>;
}

/// What factories may need besides their arguments.
#[derive(Clone, Default)]
pub struct PluginContext {
    pub binder: Option<Arc<dyn PodBinder>>,
}

/// One plugin instance and the extension points it serves.
#[derive(Default, Clone)]
pub struct Registered {
    pub queue_sort: Option<Arc<dyn QueueSortPlugin>>,
    pub pre_filter: Option<Arc<dyn PreFilterPlugin>>,
    pub filter: Option<Arc<dyn FilterPlugin>>,
    pub post_filter: Option<Arc<dyn PostFilterPlugin>>,
    pub pre_score: Option<Arc<dyn PreScorePlugin>>,
    pub score: Option<Arc<dyn ScorePlugin>>,
    pub reserve: Option<Arc<dyn ReservePlugin>>,
    pub permit: Option<Arc<dyn PermitPlugin>>,
    pub bind: Option<Arc<dyn BindPlugin>>,
}

impl Registered {
    /// A plugin that filters and scores with state from its PreFilter and PreScore.
    pub fn filter_and_score<P>(p: Arc<P>) -> Registered
    where
        P: PreFilterPlugin + FilterPlugin + PreScorePlugin + ScorePlugin + 'static,
    {
        Registered {
            pre_filter: Some(p.clone()),
            filter: Some(p.clone()),
            pre_score: Some(p.clone()),
            score: Some(p),
            ..Registered::default()
        }
    }
}

/// Builds a plugin from its arguments (`null` when none are configured).
pub type Factory = fn(&Value, &PluginContext) -> Result<Registered, ConfigError>;

/// Plugin factories by name, and the default multi-point set with score weights.
#[derive(Clone, Default)]
pub struct Registry {
    factories: HashMap<&'static str, Factory>,
    defaults: Vec<(&'static str, i32)>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a plugin; `default_weight` puts it in the default profile.
    pub fn register(&mut self, name: &'static str, factory: Factory, default_weight: Option<i32>) {
        self.factories.insert(name, factory);
        if let Some(w) = default_weight {
            self.defaults.push((name, w));
        }
    }

    pub fn factory(&self, name: &str) -> Option<Factory> {
        self.factories.get(name).copied()
    }

    /// The default profile's plugins in order, with their score weights.
    pub fn defaults(&self) -> &[(&'static str, i32)] {
        &self.defaults
    }
}

/// Parses a plugin's arguments; `null` gives the defaults.
pub fn args<T: serde::de::DeserializeOwned + Default>(plugin: &str, args: &Value) -> Result<T, ConfigError> {
    if args.is_null() {
        return Ok(T::default());
    }
    let mut args = args.clone();
    if let Some(o) = args.as_object_mut() {
        o.remove("apiVersion");
        o.remove("kind");
    }
    serde_json::from_value(args).map_err(|e| ConfigError::Invalid(format!("{plugin} args: {e}")))
}
