//! DefaultBinder: binds through the API's `pods/binding` subresource.

use std::sync::Arc;

use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, PodBinder, Registered};
use crate::framework::{BindPlugin, Plugin, PodInfo, Status};

pub const NAME: &str = "DefaultBinder";

pub struct DefaultBinder {
    binder: Arc<dyn PodBinder>,
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
}

#[async_trait::async_trait]
impl BindPlugin for DefaultBinder {
    async fn bind(&self, pod: &PodInfo, node: &str) -> Status {
        match self.binder.bind(&pod.namespace, &pod.name, &pod.uid, node).await {
            Ok(()) => Status::success(),
            Err(e) => Status::error(e),
        }
    }
}

pub fn factory(_: &Value, ctx: &PluginContext) -> Result<Registered, ConfigError> {
    let binder = ctx.binder.clone().ok_or_else(|| ConfigError::Invalid("DefaultBinder needs an API client".into()))?;
    Ok(Registered { bind: Some(Arc::new(DefaultBinder { binder })), ..Registered::default() })
}
