//! The controller manager: shared informers, the controllers over them, and their workers.
//! Controllers start working once every informer has listed.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ReplicationController, ServiceAccount};
use kube::api::Api;

use crate::cronjob::CronJobController;
use crate::daemonset::DaemonSetController;
use crate::deployment::DeploymentController;
use crate::garbagecollector;
use crate::job::JobController;
use crate::machinery::informer::{wait_synced, Informer};
use crate::machinery::runner;
use crate::machinery::writer::{ApiWriter, Writer};
use crate::nodelifecycle::NodeLifecycle;
use crate::replicaset::ReplicaSetController;
use crate::serviceaccount::ServiceAccountController;
use crate::statefulset::StatefulSetController;

/// The field manager of the controllers' writes, as kube-controller-manager's.
pub const FIELD_MANAGER: &str = "kube-controller-manager";

/// Workers per controller (kube-controller-manager's `--concurrent-replicaset-syncs`,
/// `--concurrent-deployment-syncs`).
const WORKERS: usize = 5;

/// The controller manager's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a Node may go without renewing its Lease before it is Unknown
    /// (`--node-monitor-grace-period`).
    pub node_monitor_grace_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { node_monitor_grace_period: Duration::from_secs(40) }
    }
}

/// Runs the controllers until the process ends.
pub async fn run(client: kube::Client, config: Config) {
    let mut sets = Informer::new(Api::<ReplicaSet>::all(client.clone()));
    let mut pods = Informer::new(Api::<Pod>::all(client.clone()));
    let writer: Arc<dyn Writer> = Arc::new(ApiWriter::new(client.clone(), FIELD_MANAGER));
    let gc = garbagecollector::run(client.clone(), writer.clone());
    tokio::spawn(async move {
        if let Err(e) = gc.await {
            tracing::error!(error = %e, "garbage collector stopped");
        }
    });

    let mut deployments = Informer::new(Api::<Deployment>::all(client.clone()));
    let replicasets = ReplicaSetController::new(sets.cache(), pods.cache(), writer.clone());
    replicasets.watch(&mut sets, &mut pods);
    let mut rcs = Informer::new(Api::<ReplicationController>::all(client.clone()));
    let replication = ReplicaSetController::for_replication_controllers(pods.cache(), writer.clone());
    replication.watch_replication_controllers(&mut rcs, &mut pods);
    let deployer = DeploymentController::new(deployments.cache(), sets.cache(), pods.cache(), writer.clone());
    deployer.watch(&mut deployments, &mut sets, &mut pods);

    let mut jobs = Informer::new(Api::<Job>::all(client.clone()));
    let jobber = JobController::new(jobs.cache(), pods.cache(), writer.clone());
    jobber.watch(&mut jobs, &mut pods);
    let mut cronjobs = Informer::new(Api::<CronJob>::all(client.clone()));
    let crons = CronJobController::new(cronjobs.cache(), jobs.cache(), writer.clone());
    crons.watch(&mut cronjobs, &mut jobs);

    let mut daemonsets = Informer::new(Api::<DaemonSet>::all(client.clone()));
    let mut nodes = Informer::new(Api::<Node>::all(client.clone()));
    let revisions = Informer::new(Api::<ControllerRevision>::all(client.clone()));
    let daemons =
        DaemonSetController::new(daemonsets.cache(), pods.cache(), revisions.cache(), nodes.cache(), writer.clone());
    daemons.watch(&mut daemonsets, &mut pods, &mut nodes);

    let mut statefulsets = Informer::new(Api::<StatefulSet>::all(client.clone()));
    let stateful = StatefulSetController::new(statefulsets.cache(), pods.cache(), revisions.cache(), writer.clone());
    stateful.watch(&mut statefulsets, &mut pods);

    let mut namespaces = Informer::new(Api::<Namespace>::all(client.clone()));
    let mut accounts = Informer::new(Api::<ServiceAccount>::all(client.clone()));
    let accountant = ServiceAccountController::new(namespaces.cache(), accounts.cache(), writer.clone());
    accountant.watch(&mut namespaces, &mut accounts);

    let leases = Informer::new(Api::<Lease>::namespaced(client.clone(), "kube-node-lease"));
    let lifecycle = NodeLifecycle {
        nodes: nodes.cache(),
        leases: leases.cache(),
        pods: pods.cache(),
        writer: writer.clone(),
        grace: config.node_monitor_grace_period,
        orphans: Default::default(),
    };

    let mut synced = Vec::new();
    start(leases, &mut synced);
    start(sets, &mut synced);
    start(rcs, &mut synced);
    start(pods, &mut synced);
    start(deployments, &mut synced);
    start(jobs, &mut synced);
    start(cronjobs, &mut synced);
    start(daemonsets, &mut synced);
    start(nodes, &mut synced);
    start(statefulsets, &mut synced);
    start(revisions, &mut synced);
    start(namespaces, &mut synced);
    start(accounts, &mut synced);
    wait_synced(&mut synced).await;
    tracing::info!("controllers started");
    tokio::spawn(lifecycle.run());
    tokio::join!(
        runner::run(replicasets.clone(), WORKERS),
        runner::run(replication.clone(), WORKERS),
        runner::run(deployer.clone(), WORKERS),
        runner::run(jobber.clone(), WORKERS),
        runner::run(crons.clone(), WORKERS),
        runner::run(daemons.clone(), WORKERS),
        runner::run(stateful.clone(), WORKERS),
        runner::run(accountant.clone(), 1),
    );
}

/// Starts an informer (its handlers registered); `synced` learns when it has listed.
fn start<K>(informer: Informer<K>, synced: &mut Vec<tokio::sync::watch::Receiver<bool>>)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    synced.push(informer.synced());
    tokio::spawn(informer.run());
}
