//! Leader election on a Lease (client-go's `leaderelection` with the `leases` lock): of the
//! controller managers pointed at one cluster, only the one holding the Lease
//! `kube-system/kube-controller-manager` works. A holder renews it every `retry_period`; one
//! that cannot renew within `renew_deadline` has lost it. Others take it over once they have
//! seen it unchanged for its `leaseDurationSeconds` (timed by their own clock, never by the
//! holder's timestamps, so clock skew does not matter).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

/// Who elects, where, and how fast (kube-controller-manager's `--leader-elect-*` flags).
#[derive(Debug, Clone)]
pub struct Election {
    pub namespace: String,
    pub name: String,
    /// This candidate's name in `holderIdentity`.
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl Election {
    /// kube-controller-manager's election: 15 s leases, renewed within 10 s, tried every 2 s;
    /// the identity is the host name and a random suffix.
    pub fn controller_manager() -> Election {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let suffix = uuid::Uuid::new_v4();
        Election {
            namespace: "kube-system".into(),
            name: "kube-controller-manager".into(),
            identity: format!("{}_{suffix}", host.trim()),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// The Lease record as last seen, and when (by this process's clock) it last changed.
#[derive(Debug, Clone)]
pub struct Observed {
    spec: Option<LeaseSpec>,
    at: Instant,
}

/// What to do with the Lease now.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nobody holds it: make it, held by us.
    Create(LeaseSpec),
    /// Ours, or expired: write this over it.
    Update(LeaseSpec),
    /// Someone else holds it.
    Wait,
}

/// Decides from the current record (`tryAcquireOrRenew`); `observed` is updated when the
/// record changed since it was last seen.
pub fn plan(current: Option<&LeaseSpec>, e: &Election, observed: &mut Observed, now: Instant, wall: Timestamp) -> Step {
    let fresh = |acquire: Option<MicroTime>, transitions: i32| LeaseSpec {
        holder_identity: Some(e.identity.clone()),
        lease_duration_seconds: Some(e.lease_duration.as_secs() as i32),
        acquire_time: acquire.or(Some(MicroTime(wall))),
        renew_time: Some(MicroTime(wall)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    let Some(cur) = current else { return Step::Create(fresh(None, 0)) };
    if observed.spec.as_ref() != Some(cur) {
        observed.spec = Some(cur.clone());
        observed.at = now;
    }
    let holder = cur.holder_identity.as_deref().unwrap_or("");
    let ours = holder == e.identity;
    let duration = Duration::from_secs(cur.lease_duration_seconds.unwrap_or(0).max(0) as u64);
    if !holder.is_empty() && !ours && observed.at + duration > now {
        return Step::Wait;
    }
    let transitions = cur.lease_transitions.unwrap_or(0);
    if ours {
        Step::Update(fresh(cur.acquire_time.clone(), transitions))
    } else {
        Step::Update(fresh(None, transitions + 1))
    }
}

/// One try to take or renew the Lease; true when we hold it afterwards.
async fn try_once(api: &Api<Lease>, e: &Election, observed: &mut Observed) -> Result<bool, kube::Error> {
    let current = api.get_opt(&e.name).await?;
    let step = plan(current.as_ref().and_then(|l| l.spec.as_ref()), e, observed, Instant::now(), Timestamp::now());
    let pp = PostParams { field_manager: Some("kube-controller-manager".into()), ..PostParams::default() };
    match step {
        Step::Wait => Ok(false),
        Step::Create(spec) => {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(e.name.clone()), ..ObjectMeta::default() },
                spec: Some(spec.clone()),
            };
            api.create(&pp, &lease).await?;
            *observed = Observed { spec: Some(spec), at: Instant::now() };
            Ok(true)
        }
        Step::Update(spec) => {
            let mut lease = current.unwrap_or_default();
            lease.spec = Some(spec.clone());
            // Written over the version read: a conflict means someone else wrote first.
            api.replace(&e.name, &pp, &lease).await?;
            *observed = Observed { spec: Some(spec), at: Instant::now() };
            Ok(true)
        }
    }
}

/// Waits until this candidate holds the Lease.
pub async fn acquire(api: &Api<Lease>, e: &Election) -> Observed {
    let mut observed = Observed { spec: None, at: Instant::now() };
    let mut waiting_logged = false;
    loop {
        match try_once(api, e, &mut observed).await {
            Ok(true) => {
                tracing::info!(lease = %e.name, identity = %e.identity, "became the leader");
                return observed;
            }
            Ok(false) if !waiting_logged => {
                let holder = observed.spec.as_ref().and_then(|s| s.holder_identity.clone()).unwrap_or_default();
                tracing::info!(lease = %e.name, %holder, "another instance leads; waiting");
                waiting_logged = true;
            }
            Ok(false) => {}
            Err(err) => tracing::debug!(lease = %e.name, error = %err, "leader election try failed"),
        }
        tokio::time::sleep(e.retry_period).await;
    }
}

/// Renews the Lease every `retry_period`; returns once a renewal has not succeeded within
/// `renew_deadline` (leadership is lost).
pub async fn hold(api: &Api<Lease>, e: &Election, mut observed: Observed) {
    let mut last_renewed = Instant::now();
    loop {
        tokio::time::sleep(e.retry_period).await;
        let attempt = tokio::time::timeout(e.renew_deadline, try_once(api, e, &mut observed)).await;
        match attempt {
            Ok(Ok(true)) => last_renewed = Instant::now(),
            Ok(Ok(false)) => {
                tracing::error!(lease = %e.name, "the lease was taken over");
                return;
            }
            Ok(Err(err)) => tracing::warn!(lease = %e.name, error = %err, "renewing the lease failed"),
            Err(_) => tracing::warn!(lease = %e.name, "renewing the lease timed out"),
        }
        if last_renewed.elapsed() >= e.renew_deadline {
            tracing::error!(lease = %e.name, "could not renew the lease within the renew deadline");
            return;
        }
    }
}

/// Runs `work` while this candidate leads: waits for the Lease, then runs `work` until it
/// ends or leadership is lost (then `work` is dropped and this returns).
pub async fn lead(client: kube::Client, e: &Election, work: impl std::future::Future<Output = ()>) {
    let api = Api::<Lease>::namespaced(client, &e.namespace);
    let observed = acquire(&api, e).await;
    tokio::select! {
        () = work => {}
        () = hold(&api, e, observed) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn election(id: &str) -> Election {
        Election { identity: id.into(), ..Election::controller_manager() }
    }

    #[test]
    fn a_lease_is_taken_when_absent_kept_when_ours_and_waited_for_while_others_renew() {
        let t0 = Instant::now();
        let wall = Timestamp::now();
        let a = election("a");
        let mut seen = Observed { spec: None, at: t0 };
        let Step::Create(held) = plan(None, &a, &mut seen, t0, wall) else { panic!("absent: create") };
        assert_eq!((held.holder_identity.as_deref(), held.lease_transitions), (Some("a"), Some(0)));

        // b sees a's record: it waits for the whole lease duration after it last changed.
        let b = election("b");
        let mut b_seen = Observed { spec: None, at: t0 };
        assert_eq!(plan(Some(&held), &b, &mut b_seen, t0, wall), Step::Wait);
        assert_eq!(plan(Some(&held), &b, &mut b_seen, t0 + Duration::from_secs(14), wall), Step::Wait);
        let Step::Update(taken) = plan(Some(&held), &b, &mut b_seen, t0 + Duration::from_secs(15), wall) else {
            panic!("expired: take over")
        };
        assert_eq!((taken.holder_identity.as_deref(), taken.lease_transitions), (Some("b"), Some(1)));

        // a renews its own lease, keeping its acquire time.
        let Step::Update(renewed) = plan(Some(&held), &a, &mut seen, t0 + Duration::from_secs(20), wall) else {
            panic!("ours: renew")
        };
        assert_eq!(renewed.acquire_time, held.acquire_time);
        assert_eq!(renewed.lease_transitions, Some(0));

        // A renewal seen by b starts its wait again.
        let mut later = held.clone();
        later.renew_time = Some(MicroTime(wall + Duration::from_secs(2)));
        assert_eq!(plan(Some(&later), &b, &mut b_seen, t0 + Duration::from_secs(16), wall), Step::Wait);
    }
}
