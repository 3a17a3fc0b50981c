//! The scheduler as `skiff server` runs it: informers fill the cache and the queue; one
//! thread runs scheduling cycles back to back; bindings and status writes run on the async
//! runtime, at most [`MAX_BINDS_IN_FLIGHT`] at a time, while the next cycles go on.

mod api;
mod cycle;
mod informers;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::cache::Cache;
use crate::framework::config::SchedulerConfig;
use crate::framework::registry::PluginContext;
use crate::framework::runtime::Framework;
use crate::plugins;
use crate::queue::SchedulingQueue;
use crate::SchedulerError;

pub use api::{ApiBinder, Writer};

/// Bindings in flight at once (more waits: the cycle loop slows to the API's pace).
pub const MAX_BINDS_IN_FLIGHT: usize = 64;

/// State the informers and the cycle loop share.
pub struct Shared {
    cache: Mutex<Cache>,
    pub queue: SchedulingQueue,
    /// The scheduler names this scheduler serves (its profiles).
    pub profiles: HashSet<String>,
}

impl Shared {
    pub fn lock_cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Builds every profile's framework (configuration errors surface here, before anything runs).
pub fn frameworks(
    config: &SchedulerConfig,
    ctx: &PluginContext,
) -> Result<HashMap<String, Arc<Framework>>, SchedulerError> {
    let registry = plugins::registry();
    let mut out = HashMap::new();
    for p in &config.profiles {
        out.insert(p.scheduler_name.clone(), Arc::new(Framework::new(p, &registry, ctx)?));
    }
    Ok(out)
}

/// A plugin context for checking a configuration before running it (its binder is never
/// called).
pub fn config_check_context() -> PluginContext {
    struct Unused;
    #[async_trait::async_trait]
    impl crate::framework::registry::PodBinder for Unused {
        async fn bind(&self, _: &str, _: &str, _: &str, _: &str) -> Result<(), String> {
            Err("the scheduler is not running".into())
        }
    }
    PluginContext { binder: Some(Arc::new(Unused)) }
}

/// Runs the scheduler on `client` until the process ends.
pub async fn run(client: kube::Client, mut config: SchedulerConfig) -> Result<(), SchedulerError> {
    config.fill_defaults();
    let ctx = PluginContext { binder: Some(Arc::new(ApiBinder { client: client.clone() })) };
    let frameworks = frameworks(&config, &ctx)?;
    for (name, fw) in &frameworks {
        tracing::info!(scheduler = %name, plugins = ?fw.describe(), "scheduler profile");
    }
    let mut sorts = frameworks.values().map(|f| f.queue_sort());
    let sort = sorts.next().ok_or_else(|| SchedulerError::Thread("no scheduler profile".into()))?;
    if sorts.any(|s| s.name() != sort.name()) {
        let msg = "profiles: Invalid value: all profiles must use the same queue sort plugin";
        return Err(SchedulerError::Config(crate::framework::config::ConfigError::Invalid(msg.into())));
    }
    let shared = Arc::new(Shared {
        cache: Mutex::new(Cache::new()),
        queue: SchedulingQueue::new(
            sort,
            Duration::from_secs(config.pod_initial_backoff_seconds),
            Duration::from_secs(config.pod_max_backoff_seconds),
        ),
        profiles: frameworks.keys().cloned().collect(),
    });
    let (pods_tx, mut pods_synced) = watch::channel(false);
    let (nodes_tx, mut nodes_synced) = watch::channel(false);
    tokio::spawn(informers::pods(client.clone(), shared.clone(), pods_tx));
    tokio::spawn(informers::nodes(client.clone(), shared.clone(), nodes_tx));
    tokio::spawn(informers::namespaces(client.clone(), shared.clone()));
    tokio::spawn(informers::workloads(client.clone(), shared.clone()));
    let _ = pods_synced.wait_for(|s| *s).await;
    let _ = nodes_synced.wait_for(|s| *s).await;
    let writers: HashMap<String, Writer> =
        frameworks.keys().map(|name| (name.clone(), Writer::new(client.clone(), name))).collect();
    let looper = cycle::Loop {
        shared: shared.clone(),
        frameworks,
        writers,
        handle: tokio::runtime::Handle::current(),
        binds: Arc::new(tokio::sync::Semaphore::new(MAX_BINDS_IN_FLIGHT)),
        percentage_of_nodes_to_score: config.percentage_of_nodes_to_score,
    };
    tracing::info!("scheduler caches synced; scheduling");
    // The loop ends only when the queue closes. Waiting on a channel (not joining the thread
    // on a blocking task) keeps runtime shutdown, and so SIGTERM, from waiting for it.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("scheduler".into())
        .spawn(move || {
            looper.run();
            let _ = done_tx.send(());
        })
        .map_err(|e| SchedulerError::Thread(e.to_string()))?;
    let _ = done_rx.await;
    Ok(())
}
