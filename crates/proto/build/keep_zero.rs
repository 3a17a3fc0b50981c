//! Fields whose zero value (`0`, `false`, `""`) must survive decoding.
//!
//! Kubernetes' Go protobuf marshallers (gogo, proto2) write every non-pointer field, set or not:
//! a Deployment from kubectl carries `generateName: ""`, `generation: 0`, `hostNetwork: false`,
//! and so on. Decoded into Go structs those zero values are indistinguishable from absent, so the
//! decoder drops singular zero scalars — except where the Go field is a pointer and the explicit
//! zero means something (`replicas: 0`, `gracePeriodSeconds: 0`, `automountServiceAccountToken:
//! false`, `storageClassName: ""`). Pointer-ness is not recorded in k8s-pb or the OpenAPI schemas,
//! so these are listed here: message (struct) name, any API version → JSON field names. Messages,
//! repeated values and map entries are never dropped.
pub const KEEP_ZERO: &[(&str, &[&str])] = &[
    // apps
    ("DeploymentSpec", &["replicas", "revisionHistoryLimit", "progressDeadlineSeconds"]),
    ("ReplicaSetSpec", &["replicas"]),
    ("StatefulSetSpec", &["replicas", "revisionHistoryLimit"]),
    ("RollingUpdateStatefulSetStrategy", &["partition"]),
    ("DaemonSetSpec", &["revisionHistoryLimit"]),
    ("ReplicationControllerSpec", &["replicas"]),
    // batch
    (
        "JobSpec",
        &[
            "parallelism",
            "completions",
            "activeDeadlineSeconds",
            "backoffLimit",
            "backoffLimitPerIndex",
            "maxFailedIndexes",
            "ttlSecondsAfterFinished",
            "manualSelector",
            "suspend",
        ],
    ),
    (
        "CronJobSpec",
        &["startingDeadlineSeconds", "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "timeZone"],
    ),
    // core: pods and containers
    (
        "PodSpec",
        &[
            "terminationGracePeriodSeconds",
            "activeDeadlineSeconds",
            "automountServiceAccountToken",
            "shareProcessNamespace",
            "priority",
            "enableServiceLinks",
            "setHostnameAsFQDN",
            "hostUsers",
            "runtimeClassName",
            "preemptionPolicy",
        ],
    ),
    (
        "SecurityContext",
        &[
            "privileged",
            "runAsUser",
            "runAsGroup",
            "runAsNonRoot",
            "readOnlyRootFilesystem",
            "allowPrivilegeEscalation",
            "procMount",
        ],
    ),
    ("PodSecurityContext", &["runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "fsGroupChangePolicy"]),
    ("Probe", &["terminationGracePeriodSeconds"]),
    ("Toleration", &["tolerationSeconds"]),
    ("TopologySpreadConstraint", &["minDomains"]),
    ("ServiceAccount", &["automountServiceAccountToken"]),
    ("ConfigMap", &["immutable"]),
    ("Secret", &["immutable"]),
    ("ConfigMapVolumeSource", &["defaultMode", "optional"]),
    ("SecretVolumeSource", &["defaultMode", "optional"]),
    ("ProjectedVolumeSource", &["defaultMode"]),
    ("DownwardAPIVolumeSource", &["defaultMode"]),
    ("DownwardAPIVolumeFile", &["mode"]),
    ("KeyToPath", &["mode"]),
    ("ConfigMapKeySelector", &["optional"]),
    ("SecretKeySelector", &["optional"]),
    ("ConfigMapEnvSource", &["optional"]),
    ("SecretEnvSource", &["optional"]),
    ("ConfigMapProjection", &["optional"]),
    ("SecretProjection", &["optional"]),
    ("ServiceAccountTokenProjection", &["expirationSeconds"]),
    ("CSIVolumeSource", &["readOnly"]),
    // core: services, storage
    (
        "ServiceSpec",
        &[
            "allocateLoadBalancerNodePorts",
            "ipFamilyPolicy",
            "loadBalancerClass",
            "internalTrafficPolicy",
            "trafficDistribution",
        ],
    ),
    ("ServicePort", &["appProtocol"]),
    ("ClientIPConfig", &["timeoutSeconds"]),
    ("PersistentVolumeClaimSpec", &["storageClassName", "volumeMode", "volumeAttributesClassName"]),
    ("NetworkPolicyPort", &["endPort"]),
    // meta
    (
        "DeleteOptions",
        &[
            "gracePeriodSeconds",
            "orphanDependents",
            "propagationPolicy",
            "ignoreStoreReadErrorWithClusterBreakingPotential",
        ],
    ),
    ("ObjectMeta", &["deletionGracePeriodSeconds"]),
    ("OwnerReference", &["controller", "blockOwnerDeletion"]),
    // others
    ("TokenRequestSpec", &["expirationSeconds"]),
    ("HorizontalPodAutoscalerSpec", &["minReplicas"]),
    ("HPAScalingRules", &["stabilizationWindowSeconds"]),
    ("PodDisruptionBudgetSpec", &["unhealthyPodEvictionPolicy"]),
    ("IngressSpec", &["ingressClassName"]),
    ("LeaseSpec", &["holderIdentity", "leaseDurationSeconds", "leaseTransitions"]),
    ("PriorityClass", &["preemptionPolicy"]),
    ("StorageClass", &["allowVolumeExpansion", "reclaimPolicy", "volumeBindingMode"]),
    ("CSIDriverSpec", &["attachRequired", "podInfoOnMount", "storageCapacity", "requiresRepublish", "seLinuxMount"]),
    ("ValidatingWebhook", &["failurePolicy", "sideEffects", "timeoutSeconds", "matchPolicy"]),
    ("MutatingWebhook", &["failurePolicy", "sideEffects", "timeoutSeconds", "matchPolicy", "reinvocationPolicy"]),
    ("ServiceReference", &["port"]),
    ("EndpointConditions", &["ready", "serving", "terminating"]),
    ("EndpointPort", &["port", "name", "protocol", "appProtocol"]),
];
