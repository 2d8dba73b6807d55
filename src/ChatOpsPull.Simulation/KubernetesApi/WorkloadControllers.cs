using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// The parts of kube-controller-manager (and of the scheduler and kubelet) that workloads need, reacting synchronously
/// to the store's writes, after k8s.io/kubernetes pkg/controller/{deployment,replicaset,statefulset,daemon,job}:
/// <list type="bullet">
/// <item>Deployments: a ReplicaSet per pod template ("{name}-{pod-template-hash}", revision annotations, revision-history
/// on rollback), rolling updates that respect maxSurge/maxUnavailable (old pods go only as new ones become available;
/// unhealthy old pods first), Recreate, paused Deployments that roll nothing (status and the DeploymentPaused condition
/// only), status and the Available/Progressing conditions as the real controller writes them, old ReplicaSets beyond
/// revisionHistoryLimit removed.</item>
/// <item>ReplicaSets (with or without a Deployment): pods to match spec.replicas, deleted pods replaced.</item>
/// <item>StatefulSets: ControllerRevisions, ordinal pods with controller-revision-hash, OrderedReady or Parallel,
/// RollingUpdate from the highest ordinal down to the partition one pod at a time once all are Ready, OnDelete
/// (nothing rolls; deleted pods come back at the update revision; currentRevision is never promoted, as in 1.33),
/// status currentRevision/updateRevision/currentReplicas/updatedReplicas/readyReplicas.</item>
/// <item>DaemonSets: one pod per node, ControllerRevisions, RollingUpdate (maxUnavailable) or OnDelete,
/// updatedNumberScheduled and the other status counts.</item>
/// <item>Jobs: parallelism pods, a deleted unfinished pod counted as failed and replaced after the backoff
/// (<see cref="JobBackoff"/>), status active/ready/failed/startTime. CronJobs are not scheduled by time:
/// <see cref="RunCronJob"/> starts one as the cronjob controller would.</item>
/// <item>The scheduler and kubelet: a new pod is bound to the first node and reported ContainerCreating. Pods stay
/// there until a test marks them Ready (<see cref="MarkPodsReady"/>) or failing; statuses follow.</item>
/// </list>
/// A Job's pod held by its batch.kubernetes.io/job-tracking finalizer goes when deleted (the job controller counts it and
/// releases it); the stand-in does not add that finalizer to the pods it creates. Progress deadlines, PersistentVolumeClaims
/// of StatefulSets and the Argo Rollouts controller are not emulated.
/// </summary>
public sealed class WorkloadControllers
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    public const string RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
    public const string Manager = "kube-controller-manager";
    public const string JobTrackingFinalizer = "batch.kubernetes.io/job-tracking";
    private const string Kubelet = "kubelet";
    private static readonly ResourceType Deployments = ResourceType.Of("deployments");
    private static readonly ResourceType ReplicaSets = ResourceType.Of("replicasets");
    private static readonly ResourceType StatefulSets = ResourceType.Of("statefulsets");
    private static readonly ResourceType DaemonSets = ResourceType.Of("daemonsets");
    private static readonly ResourceType ControllerRevisions = ResourceType.Of("controllerrevisions");
    private static readonly ResourceType Jobs = ResourceType.Of("jobs");
    private static readonly ResourceType CronJobs = ResourceType.Of("cronjobs");
    private static readonly ResourceType Pods = ResourceType.Of("pods");
    private static readonly ResourceType Nodes = ResourceType.Of("nodes");
    private static readonly HashSet<string> AnnotationsNotCopied = new(StringComparer.Ordinal)
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        RevisionAnnotation,
        RevisionHistoryAnnotation,
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    };

    private readonly ObjectStore _store;
    private readonly TimeProvider _time;
    private int _depth;
    private int _podIp = 10;

    public WorkloadControllers(ObjectStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        _store.Written += OnWritten;
    }

    public bool Enabled { get; set; } = true;

    /// <summary>How long the job controller waits before replacing a failed (or deleted) pod; doubles per failure, as the real one does.</summary>
    public TimeSpan JobBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Marks matching pods Running and Ready (containers running), then lets the controllers react; pods the rollout
    /// creates because of it (the next surge pod, the next StatefulSet ordinal) come up Ready too, until nothing new
    /// appears: "these pods' images pull and their containers start".
    /// </summary>
    public int MarkPodsReady(string ns, string? labelSelector = null)
    {
        var count = 0;
        _store.WithLock(() =>
        {
            var selector = LabelSelector.Parse(labelSelector);
            for (var round = 0; round < 100; round++)
            {
                var pending = _store.List(Pods, ns).Where(selector.Matches).Where(p => !IsReady(p) && p["metadata"]?["deletionTimestamp"] is null).ToList();
                if (pending.Count == 0)
                {
                    break;
                }

                foreach (var listed in pending)
                {
                    if (_store.Get(Pods, ns, ObjectStore.Name(listed)) is not { } pod || ObjectStore.Uid(pod) != ObjectStore.Uid(listed) || IsReady(pod))
                    {
                        continue;
                    }

                    var updated = (JsonObject)pod.DeepClone();
                    updated["status"] = ReadyStatus(pod, _time.GetUtcNow());
                    _store.Replace(Pods, ns, ObjectStore.Name(pod), updated, "status", manager: Kubelet);
                    count++;
                }

                RefreshStatuses(ns);
            }
        });
        return count;
    }

    /// <summary>Lets every controller look at the namespace again (statuses recomputed, rollouts moved on).</summary>
    public void RefreshStatuses(string ns) => _store.WithLock(() =>
    {
        _depth++;
        try
        {
            foreach (var rs in _store.List(ReplicaSets, ns).Where(rs => OwnerOf(rs) is null))
            {
                SyncReplicaSet(rs);
            }

            foreach (var d in _store.List(Deployments, ns))
            {
                SyncDeployment(d);
            }

            foreach (var s in _store.List(StatefulSets, ns))
            {
                SyncStatefulSet(s);
            }

            foreach (var ds in _store.List(DaemonSets, ns))
            {
                SyncDaemonSet(ds);
            }

            foreach (var job in _store.List(Jobs, ns))
            {
                SyncJob(job);
            }
        }
        finally
        {
            _depth--;
        }
    });

    /// <summary>
    /// What the cronjob controller does when a schedule comes: a Job "{cronjob}-{minutes since epoch}" from the job template,
    /// owned by the CronJob, and status.active / lastScheduleTime. Returns the Job.
    /// </summary>
    public JsonObject RunCronJob(string ns, string name, DateTimeOffset? scheduledAt = null)
    {
        JsonObject job = null!;
        _store.WithLock(() =>
        {
            var cronJob = _store.Get(CronJobs, ns, name) ?? throw ApiStatus.NotFound(CronJobs, name);
            var at = scheduledAt ?? _time.GetUtcNow();
            at = new DateTimeOffset(at.Year, at.Month, at.Day, at.Hour, at.Minute, 0, TimeSpan.Zero);
            var template = (JsonObject?)cronJob["spec"]?["jobTemplate"]?.DeepClone() ?? new JsonObject();
            var metadata = template["metadata"] as JsonObject ?? new JsonObject();
            metadata.Remove("creationTimestamp");
            metadata["name"] = $"{name}-{at.ToUnixTimeSeconds() / 60}";
            var annotations = metadata["annotations"] as JsonObject ?? new JsonObject();
            annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            metadata["annotations"] = annotations;
            metadata["ownerReferences"] = new JsonArray(OwnerReference(cronJob));
            job = _store.Create(Jobs, ns, new JsonObject { ["apiVersion"] = "batch/v1", ["kind"] = "Job", ["metadata"] = metadata, ["spec"] = template["spec"]?.DeepClone() }, manager: Manager);
            var updated = (JsonObject)_store.Get(CronJobs, ns, name)!.DeepClone();
            var status = updated["status"] as JsonObject ?? new JsonObject();
            var active = status["active"] as JsonArray ?? new JsonArray();
            active.Add(new JsonObject
            {
                ["apiVersion"] = "batch/v1",
                ["kind"] = "Job",
                ["name"] = ObjectStore.Name(job),
                ["namespace"] = ns,
                ["resourceVersion"] = ObjectStore.Version(job),
                ["uid"] = ObjectStore.Uid(job),
            });
            status["active"] = active;
            status["lastScheduleTime"] = ObjectStore.Timestamp(at);
            updated["status"] = status;
            _store.Replace(CronJobs, ns, name, updated, "status", manager: Manager);
            job = _store.Get(Jobs, ns, ObjectStore.Name(job)) ?? job;
        });
        return job;
    }

    /// <summary>The pod-template-hash label value: FNV-32a of the template, encoded with the safe alphabet.</summary>
    public static string TemplateHash(JsonNode? template)
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        uint hash = 2166136261;
        foreach (var b in Encoding.UTF8.GetBytes(template?.ToJsonString() ?? "{}"))
        {
            hash ^= b;
            hash *= 16777619;
        }

        var digits = hash.ToString(CultureInfo.InvariantCulture);
        return new string(digits.Select(c => alphabet[c % alphabet.Length]).ToArray());
    }

    /// <summary>What the kubelet reports for a pod whose containers all started and passed readiness.</summary>
    public static JsonObject ReadyStatus(JsonObject pod, DateTimeOffset now)
    {
        var at = ObjectStore.Timestamp(now);
        var status = (JsonObject?)pod["status"]?.DeepClone() ?? new JsonObject();
        status["phase"] = "Running";
        status["conditions"] = new JsonArray(
            Condition("PodReadyToStartContainers", "True", at),
            Condition("Initialized", "True", at),
            Condition("Ready", "True", at),
            Condition("ContainersReady", "True", at),
            Condition("PodScheduled", "True", at));
        status["startTime"] ??= at;
        var statuses = new JsonArray();
        foreach (var container in (pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            statuses.Add(new JsonObject
            {
                ["containerID"] = "containerd://" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
                ["image"] = container["image"]?.DeepClone(),
                ["imageID"] = container["image"]?.GetValue<string>() + "@sha256:" + new string('0', 64),
                ["lastState"] = new JsonObject(),
                ["name"] = container["name"]?.DeepClone(),
                ["ready"] = true,
                ["restartCount"] = 0,
                ["started"] = true,
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = at } },
            });
        }

        status["containerStatuses"] = statuses;
        if (status["initContainerStatuses"] is JsonArray inits)
        {
            foreach (var init in inits.OfType<JsonObject>())
            {
                init["ready"] = true;
                init["started"] = false;
                init["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 0, ["reason"] = "Completed", ["startedAt"] = at, ["finishedAt"] = at } };
            }
        }

        return status;
    }

    public static bool IsReady(JsonObject pod) =>
        pod["status"]?["conditions"] is JsonArray conditions
        && conditions.Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True");

    private static bool IsRunningAndReady(JsonObject pod) => pod["status"]?["phase"]?.GetValue<string>() == "Running" && IsReady(pod);

    private static JsonObject Condition(string type, string status, string at, string? reason = null, string? message = null)
    {
        var condition = new JsonObject { ["lastProbeTime"] = null, ["lastTransitionTime"] = at };
        if (message is not null)
        {
            condition["message"] = message;
        }

        if (reason is not null)
        {
            condition["reason"] = reason;
        }

        condition["status"] = status;
        condition["type"] = type;
        return condition;
    }

    /// <summary>Runs <paramref name="action"/> with the controllers looking away (a seed's intermediate writes).</summary>
    public void Quietly(Action action) => _store.WithLock(() =>
    {
        _depth++;
        try
        {
            action();
        }
        finally
        {
            _depth--;
        }
    });

    /// <summary>Lets the controllers react to an object written while they looked away, as if they saw its write now.</summary>
    public void Notice(ResourceType type, JsonObject current, JsonObject? before) => _store.WithLock(() =>
        React(new WatchRecord(0, before is null ? "ADDED" : "MODIFIED", type, current, before)));

    private void OnWritten(WatchRecord record) => React(record);

    private void React(WatchRecord record)
    {
        if (!Enabled || _depth > 0)
        {
            return;
        }

        _depth++;
        try
        {
            var obj = record.Current;
            var deleted = record.Type == "DELETED";
            switch (record.Resource.Kind)
            {
                case "Deployment" when !deleted && Unobserved(obj, record.Old):
                    SyncDeployment(obj);
                    break;
                case "ReplicaSet" when !deleted && Unobserved(obj, record.Old):
                    SyncReplicaSet(obj, fill: true);
                    SyncOwner(obj);
                    break;
                case "StatefulSet" when !deleted && Unobserved(obj, record.Old):
                    SyncStatefulSet(obj);
                    break;
                case "DaemonSet" when !deleted && Unobserved(obj, record.Old):
                    SyncDaemonSet(obj);
                    break;
                case "Job" when !deleted && record.Type == "ADDED" && (obj["status"]?["startTime"] is null):
                    SyncJob(obj);
                    break;
                case "Pod" when deleted:
                    PodGone(obj);
                    break;
                case "Pod" when StartedTerminating(obj, record.Old):
                    PodTerminating(obj);
                    break;
                case "Pod" when record.Type == "ADDED" || IsReady(obj) != (record.Old is { } old && IsReady(old)):
                    SyncOwner(obj);
                    break;
                case "Node" when record.Type is "ADDED" or "DELETED":
                    foreach (var ds in _store.List(DaemonSets))
                    {
                        SyncDaemonSet(ds);
                    }

                    break;
            }
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>
    /// The controller has not seen this spec yet: the write bumped the generation past status.observedGeneration (a
    /// seeded object with an up-to-date status is left as it is, like an etcd restore of a settled cluster).
    /// </summary>
    private static bool Unobserved(JsonObject obj, JsonObject? old)
    {
        var generation = ObjectStore.Number(obj["metadata"]?["generation"]) ?? 1;
        var observed = ObjectStore.Number(obj["status"]?["observedGeneration"]) ?? 0;
        if (observed < generation)
        {
            return true;
        }

        // A scale through /scale or an annotation from the controller itself does not bump observedGeneration past it,
        // but a changed replica count must still be acted on.
        return old is not null && !JsonNode.DeepEquals(old["spec"]?["replicas"], obj["spec"]?["replicas"]);
    }

    private void PodGone(JsonObject pod)
    {
        if (ControllerRef(pod) is not { } owner)
        {
            return;
        }

        var ns = ObjectStore.Namespace(pod);
        var name = owner["name"]!.GetValue<string>();
        switch (owner["kind"]?.GetValue<string>())
        {
            case "Job" when _store.Get(Jobs, ns, name) is { } job && ObjectStore.Uid(job) == owner["uid"]?.GetValue<string>():
                JobPodGone(job, pod);
                break;
            case "ReplicaSet" when _store.Get(ReplicaSets, ns, name) is { } rs && ObjectStore.Uid(rs) == owner["uid"]?.GetValue<string>():
                SyncReplicaSet(rs, fill: true);
                SyncOwner(rs);
                break;
            default:
                SyncOwner(pod);
                break;
        }
    }

    private static bool StartedTerminating(JsonObject obj, JsonObject? old) =>
        obj["metadata"]?["deletionTimestamp"] is not null && (old is null || old["metadata"]?["deletionTimestamp"] is null);

    /// <summary>
    /// A pod being deleted that a finalizer holds. A Job's pod carries batch.kubernetes.io/job-tracking: the kubelet
    /// stops it (no grace period is emulated) and the job controller, having counted it, removes the finalizer, so the
    /// pod goes and the Job replaces it as for any deleted pod (pkg/controller/job trackJobStatusAndRemoveFinalizers).
    /// </summary>
    private void PodTerminating(JsonObject pod)
    {
        if (ControllerRef(pod) is not { } owner || owner["kind"]?.GetValue<string>() != "Job"
            || pod["metadata"]?["finalizers"] is not JsonArray finalizers
            || !finalizers.Any(f => f?.GetValue<string>() == JobTrackingFinalizer))
        {
            return;
        }

        var ns = ObjectStore.Namespace(pod);
        if (_store.Get(Jobs, ns, owner["name"]!.GetValue<string>()) is not { } job || ObjectStore.Uid(job) != owner["uid"]?.GetValue<string>())
        {
            return;
        }

        var released = (JsonObject)pod.DeepClone();
        var kept = new JsonArray([.. finalizers.Where(f => f?.GetValue<string>() != JobTrackingFinalizer).Select(f => f?.DeepClone())]);
        if (kept.Count == 0)
        {
            ((JsonObject)released["metadata"]!).Remove("finalizers");
        }
        else
        {
            released["metadata"]!["finalizers"] = kept;
        }

        _store.Replace(Pods, ns, ObjectStore.Name(pod), released, manager: Manager);
        if (_store.Get(Pods, ns, ObjectStore.Name(pod)) is null)
        {
            JobPodGone(job, pod);
        }
    }

    /// <summary>Lets the controller of <paramref name="obj"/> (and its controller in turn) look again.</summary>
    private void SyncOwner(JsonObject obj)
    {
        if (ControllerRef(obj) is not { } owner)
        {
            return;
        }

        var ns = ObjectStore.Namespace(obj);
        var name = owner["name"]!.GetValue<string>();
        var uid = owner["uid"]?.GetValue<string>();
        switch (owner["kind"]?.GetValue<string>())
        {
            case "ReplicaSet" when _store.Get(ReplicaSets, ns, name) is { } rs && ObjectStore.Uid(rs) == uid:
                SyncReplicaSet(rs);
                SyncOwner(rs);
                break;
            case "Deployment" when _store.Get(Deployments, ns, name) is { } d && ObjectStore.Uid(d) == uid:
                SyncDeployment(d);
                break;
            case "StatefulSet" when _store.Get(StatefulSets, ns, name) is { } s && ObjectStore.Uid(s) == uid:
                SyncStatefulSet(s);
                break;
            case "DaemonSet" when _store.Get(DaemonSets, ns, name) is { } ds && ObjectStore.Uid(ds) == uid:
                SyncDaemonSet(ds);
                break;
            case "Job" when _store.Get(Jobs, ns, name) is { } job && ObjectStore.Uid(job) == uid:
                SyncJob(job);
                break;
        }
    }

    // ---------------------------------------------------------------- ReplicaSet

    /// <summary>
    /// The replicaset controller. With <paramref name="fill"/> (a spec change, a scale, a deleted pod) pods are created or
    /// deleted to match spec.replicas; otherwise only the status follows the pods (a seeded ReplicaSet whose pods were
    /// not all seeded is left alone until then).
    /// </summary>
    private void SyncReplicaSet(JsonObject rs, bool fill = false)
    {
        rs = Fresh(ReplicaSets, rs);
        if (rs["metadata"]?["deletionTimestamp"] is not null)
        {
            return;
        }

        var wanted = (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 1);
        var pods = ActivePods(rs);
        if (fill && pods.Count > wanted)
        {
            // getPodsToDelete: unscheduled, then pending, then not ready, then the newest go first.
            foreach (var extra in pods.OrderBy(p => p["spec"]?["nodeName"] is null ? 0 : 1)
                .ThenBy(p => p["status"]?["phase"]?.GetValue<string>() == "Running" ? 1 : 0)
                .ThenBy(p => IsReady(p) ? 1 : 0)
                .ThenByDescending(p => p["metadata"]?["creationTimestamp"]?.GetValue<string>(), StringComparer.Ordinal)
                .Take(pods.Count - wanted)
                .ToList())
            {
                _store.Delete(Pods, ObjectStore.Namespace(extra), ObjectStore.Name(extra));
            }
        }

        for (var i = pods.Count; fill && i < wanted; i++)
        {
            CreatePod(rs, (JsonObject?)rs["spec"]?["template"] ?? new JsonObject(), ObjectStore.Name(rs) + "-", null, null);
        }

        pods = ActivePods(rs);
        var ready = pods.Count(IsReady);
        var status = new JsonObject();
        if (ready > 0)
        {
            status["availableReplicas"] = ready;
        }

        if (pods.Count > 0)
        {
            status["fullyLabeledReplicas"] = pods.Count;
        }

        status["observedGeneration"] = ObjectStore.Number(rs["metadata"]?["generation"]) ?? 1;
        if (ready > 0)
        {
            status["readyReplicas"] = ready;
        }

        status["replicas"] = pods.Count;
        WriteStatus(ReplicaSets, rs, status);
    }

    // ---------------------------------------------------------------- Deployment

    /// <summary>
    /// Runs a controller's step on the object as stored now until the step has nothing left to do (or the object is being
    /// deleted), at most 50 steps.
    /// </summary>
    private void Settle(ResourceType type, JsonObject obj, Func<JsonObject, bool> step)
    {
        for (var i = 0; i < 50; i++)
        {
            var current = Fresh(type, obj);
            if (current["metadata"]?["deletionTimestamp"] is not null || !step(current))
            {
                return;
            }
        }
    }

    private void SyncDeployment(JsonObject deployment) =>
        Settle(Deployments, deployment, current => DeploymentStep(current, Unobserved(current, null)));

    /// <summary>
    /// One pass of the deployment controller's sync; true when it changed a ReplicaSet (so another pass is due). A new
    /// ReplicaSet is only made for a spec the controller has not observed yet (<paramref name="unobserved"/>): an observed
    /// Deployment without a ReplicaSet of its template is a seeded one, whose revision's ReplicaSet stands in for it.
    /// </summary>
    private bool DeploymentStep(JsonObject d, bool unobserved)
    {
        var ns = ObjectStore.Namespace(d);
        var replicas = (int)(ObjectStore.Number(d["spec"]?["replicas"]) ?? 1);
        var paused = d["spec"]?["paused"]?.GetValue<bool>() == true;
        var owned = _store.List(ReplicaSets, ns).Where(rs => IsControlledBy(rs, d)).OrderBy(Created, StringComparer.Ordinal).ToList();
        var template = (JsonObject)(d["spec"]?["template"]?.DeepClone() ?? new JsonObject());
        var newRs = owned.FirstOrDefault(rs => EqualIgnoreHash(rs["spec"]?["template"], template));
        if (newRs is null && !unobserved)
        {
            var seededRevision = d["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>();
            newRs = owned.FirstOrDefault(rs => rs["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>() == seededRevision);
            if (newRs is null)
            {
                return WriteSeededDeploymentStatus(d);
            }
        }

        var olds = owned.Where(rs => newRs is null || ObjectStore.Name(rs) != ObjectStore.Name(newRs)).ToList();
        var conditions = ConditionList(d);
        var before = (JsonObject?)d["status"]?.DeepClone() ?? new JsonObject();
        var now = ObjectStore.Timestamp(_time.GetUtcNow());
        var (maxSurge, maxUnavailable) = Fenceposts(d, replicas);

        // checkPausedConditions
        var progressing = conditions.FirstOrDefault(c => c["type"]?.GetValue<string>() == "Progressing");
        if (paused && progressing?["reason"]?.GetValue<string>() != "DeploymentPaused")
        {
            SetCondition(conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now);
        }
        else if (!paused && progressing?["reason"]?.GetValue<string>() == "DeploymentPaused")
        {
            SetCondition(conditions, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now);
        }

        var changed = false;
        var maxRevision = owned.Select(Revision).DefaultIfEmpty(0).Max();
        if (newRs is null && !paused)
        {
            var hash = TemplateHash(template);
            var labels = (JsonObject?)template["metadata"]?["labels"]?.DeepClone() ?? new JsonObject();
            labels["pod-template-hash"] = hash;
            var rsTemplate = (JsonObject)template.DeepClone();
            rsTemplate["metadata"] ??= new JsonObject();
            rsTemplate["metadata"]!["labels"] = labels.DeepClone();
            var selector = (JsonObject?)d["spec"]?["selector"]?.DeepClone() ?? new JsonObject();
            selector["matchLabels"] ??= new JsonObject();
            selector["matchLabels"]!["pod-template-hash"] = hash;
            var strategyRecreate = d["spec"]?["strategy"]?["type"]?.GetValue<string>() == "Recreate";
            var initial = strategyRecreate ? 0 : NewReplicaSetReplicas(d, owned, 0, replicas, maxSurge);
            var annotations = CopiedAnnotations(d);
            annotations["deployment.kubernetes.io/desired-replicas"] = replicas.ToString(CultureInfo.InvariantCulture);
            annotations["deployment.kubernetes.io/max-replicas"] = (replicas + maxSurge).ToString(CultureInfo.InvariantCulture);
            annotations[RevisionAnnotation] = (maxRevision + 1).ToString(CultureInfo.InvariantCulture);
            newRs = _store.Create(ReplicaSets, ns, new JsonObject
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "ReplicaSet",
                ["metadata"] = new JsonObject
                {
                    ["name"] = $"{ObjectStore.Name(d)}-{hash}",
                    ["labels"] = labels,
                    ["annotations"] = annotations,
                    ["ownerReferences"] = new JsonArray(OwnerReference(d)),
                },
                ["spec"] = new JsonObject
                {
                    ["replicas"] = initial,
                    ["minReadySeconds"] = d["spec"]?["minReadySeconds"]?.DeepClone(),
                    ["selector"] = selector,
                    ["template"] = rsTemplate,
                }.Without("minReadySeconds"),
            }, manager: Manager);
            SyncReplicaSet(newRs, fill: true);
            newRs = Fresh(ReplicaSets, newRs);
            SetCondition(conditions, "Progressing", "True", "NewReplicaSetCreated", $"Created new replica set \"{ObjectStore.Name(newRs)}\"", now);
            changed = true;
        }
        else if (newRs is not null)
        {
            // A template that comes back (rollback) makes its ReplicaSet the newest revision; the old numbers go to history.
            var revision = Revision(newRs);
            if (revision < maxRevision || newRs["metadata"]?["annotations"]?[RevisionAnnotation] is null)
            {
                var next = revision < maxRevision ? maxRevision + 1 : Math.Max(maxRevision, 1);
                var updated = (JsonObject)newRs.DeepClone();
                var annotations = updated["metadata"]!["annotations"] as JsonObject ?? new JsonObject();
                updated["metadata"]!["annotations"] = annotations;
                if (revision > 0 && revision < next)
                {
                    var history = annotations[RevisionHistoryAnnotation]?.GetValue<string>();
                    annotations[RevisionHistoryAnnotation] = string.IsNullOrEmpty(history) ? revision.ToString(CultureInfo.InvariantCulture) : $"{history},{revision}";
                }

                foreach (var (key, value) in CopiedAnnotations(d))
                {
                    annotations[key] = value?.DeepClone();
                }

                annotations[RevisionAnnotation] = next.ToString(CultureInfo.InvariantCulture);
                newRs = _store.Replace(ReplicaSets, ns, ObjectStore.Name(newRs), updated, manager: Manager);
                if (!paused)
                {
                    SetCondition(conditions, "Progressing", "True", "FoundNewReplicaSet", $"Found new replica set \"{ObjectStore.Name(newRs)}\"", now);
                }
            }
        }

        // The Deployment carries its newest revision.
        var deploymentRevision = newRs is not null ? Revision(newRs) : maxRevision;
        if (deploymentRevision > 0 && d["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>() != deploymentRevision.ToString(CultureInfo.InvariantCulture))
        {
            var annotated = (JsonObject)d.DeepClone();
            annotated["metadata"]!["annotations"] ??= new JsonObject();
            annotated["metadata"]!["annotations"]![RevisionAnnotation] = deploymentRevision.ToString(CultureInfo.InvariantCulture);
            d = _store.Replace(Deployments, ns, ObjectStore.Name(d), annotated, manager: Manager);
        }

        if (paused)
        {
            // sync(): scale only; nothing rolls.
            var active = owned.Where(rs => (ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0) > 0).ToList();
            var target = newRs ?? active.OrderByDescending(Revision).FirstOrDefault();
            if (target is not null && active.Count <= 1 && (ObjectStore.Number(target["spec"]?["replicas"]) ?? 0) != replicas)
            {
                changed |= Scale(target, replicas, d, maxSurge);
            }
        }
        else if (d["spec"]?["strategy"]?["type"]?.GetValue<string>() == "Recreate")
        {
            foreach (var old in olds.Where(rs => (ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0) > 0))
            {
                changed |= Scale(old, 0, d, maxSurge);
            }

            var oldPodsLeft = olds.Sum(rs => ActivePods(Fresh(ReplicaSets, rs)).Count);
            if (oldPodsLeft == 0 && newRs is not null && (ObjectStore.Number(Fresh(ReplicaSets, newRs)["spec"]?["replicas"]) ?? 0) != replicas)
            {
                changed |= Scale(newRs, replicas, d, maxSurge);
            }
        }
        else if (newRs is not null)
        {
            changed |= RollingStep(d, Fresh(ReplicaSets, newRs), olds.Select(rs => Fresh(ReplicaSets, rs)).ToList(), replicas, maxSurge, maxUnavailable);
        }

        // Status (calculateStatus + syncRolloutStatus).
        owned = _store.List(ReplicaSets, ns).Where(rs => IsControlledBy(rs, d)).ToList();
        newRs = newRs is null ? null : owned.FirstOrDefault(rs => ObjectStore.Name(rs) == ObjectStore.Name(newRs));
        var status = new JsonObject();
        var available = owned.Sum(rs => (int)(ObjectStore.Number(rs["status"]?["availableReplicas"]) ?? 0));
        var total = owned.Sum(rs => (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0));
        var actual = owned.Sum(rs => (int)(ObjectStore.Number(rs["status"]?["replicas"]) ?? 0));
        var ready = owned.Sum(rs => (int)(ObjectStore.Number(rs["status"]?["readyReplicas"]) ?? 0));
        var updatedReplicas = newRs is null ? 0 : (int)(ObjectStore.Number(newRs["status"]?["replicas"]) ?? 0);
        if (available >= replicas - maxUnavailable)
        {
            SetCondition(conditions, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now);
        }
        else
        {
            SetCondition(conditions, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now);
        }

        var generation = ObjectStore.Number(d["metadata"]?["generation"]) ?? 1;
        if (!paused && d["spec"]?["progressDeadlineSeconds"] is not null)
        {
            var complete = updatedReplicas == replicas && actual == replicas && available == replicas;
            var progressed = updatedReplicas > (ObjectStore.Number(before["updatedReplicas"]) ?? 0)
                || actual < (ObjectStore.Number(before["replicas"]) ?? 0)
                || ready > (ObjectStore.Number(before["readyReplicas"]) ?? 0)
                || available > (ObjectStore.Number(before["availableReplicas"]) ?? 0);
            var rsName = newRs is null ? null : ObjectStore.Name(newRs);
            if (complete)
            {
                SetCondition(conditions, "Progressing", "True", "NewReplicaSetAvailable", rsName is null ? $"Deployment \"{ObjectStore.Name(d)}\" has successfully progressed." : $"ReplicaSet \"{rsName}\" has successfully progressed.", now);
            }
            else if (progressed)
            {
                var current = conditions.FirstOrDefault(c => c["type"]?.GetValue<string>() == "Progressing");
                var transition = current?["status"]?.GetValue<string>() == "True" ? current["lastTransitionTime"]?.GetValue<string>() ?? now : now;
                conditions.RemoveAll(c => c["type"]?.GetValue<string>() == "Progressing");
                conditions.Add(DeploymentCondition("Progressing", "True", "ReplicaSetUpdated", rsName is null ? $"Deployment \"{ObjectStore.Name(d)}\" is progressing." : $"ReplicaSet \"{rsName}\" is progressing.", now, transition));
            }
        }

        if (available > 0)
        {
            status["availableReplicas"] = available;
        }

        if (d["status"]?["collisionCount"] is { } collisions)
        {
            status["collisionCount"] = collisions.DeepClone();
        }

        status["conditions"] = new JsonArray([.. conditions]);
        status["observedGeneration"] = generation;
        if (ready > 0)
        {
            status["readyReplicas"] = ready;
        }

        if (actual > 0)
        {
            status["replicas"] = actual;
        }

        if (Math.Max(0, total - available) > 0)
        {
            status["unavailableReplicas"] = Math.Max(0, total - available);
        }

        if (updatedReplicas > 0)
        {
            status["updatedReplicas"] = updatedReplicas;
        }

        WriteStatus(Deployments, d, status);

        if (!changed && !paused && updatedReplicas == replicas && actual == replicas && available == replicas)
        {
            CleanupOldReplicaSets(d, owned, newRs);
        }

        return changed;
    }

    /// <summary>An observed Deployment with no ReplicaSet of its own to go by: left as seeded.</summary>
    private static bool WriteSeededDeploymentStatus(JsonObject d) => false;

    /// <summary>rolloutRolling: scale the new ReplicaSet up within maxSurge, then old ones down within maxUnavailable.</summary>
    private bool RollingStep(JsonObject d, JsonObject newRs, List<JsonObject> olds, int replicas, int maxSurge, int maxUnavailable)
    {
        var all = olds.Append(newRs).ToList();
        var newReplicas = (int)(ObjectStore.Number(newRs["spec"]?["replicas"]) ?? 0);
        if (newReplicas > replicas)
        {
            return Scale(newRs, replicas, d, maxSurge);
        }

        if (newReplicas < replicas)
        {
            var target = NewReplicaSetReplicas(d, all, newReplicas, replicas, maxSurge);
            if (target != newReplicas)
            {
                return Scale(newRs, target, d, maxSurge);
            }
        }

        // reconcileOldReplicaSets
        var oldCount = olds.Sum(rs => (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0));
        if (oldCount == 0)
        {
            return false;
        }

        var allCount = all.Sum(rs => (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0));
        var minAvailable = replicas - maxUnavailable;
        var newUnavailable = (int)(ObjectStore.Number(newRs["spec"]?["replicas"]) ?? 0) - (int)(ObjectStore.Number(newRs["status"]?["availableReplicas"]) ?? 0);
        var maxScaledDown = allCount - minAvailable - newUnavailable;
        if (maxScaledDown <= 0)
        {
            return false;
        }

        var scaled = false;
        var cleaned = 0;
        foreach (var rs in olds.OrderBy(Created, StringComparer.Ordinal))
        {
            if (cleaned >= maxScaledDown)
            {
                break;
            }

            var want = (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0);
            var availableHere = (int)(ObjectStore.Number(rs["status"]?["availableReplicas"]) ?? 0);
            if (want == 0 || want == availableHere)
            {
                continue;
            }

            var down = Math.Min(maxScaledDown - cleaned, want - availableHere);
            scaled |= Scale(rs, want - down, d, maxSurge);
            cleaned += down;
        }

        var fresh = _store.List(ReplicaSets, ObjectStore.Namespace(d)).Where(rs => IsControlledBy(rs, d)).ToList();
        var availableAll = fresh.Sum(rs => (int)(ObjectStore.Number(rs["status"]?["availableReplicas"]) ?? 0));
        if (availableAll > minAvailable)
        {
            var toScaleDown = availableAll - minAvailable;
            var done = 0;
            foreach (var rs in fresh.Where(rs => ObjectStore.Name(rs) != ObjectStore.Name(newRs)).OrderBy(Created, StringComparer.Ordinal))
            {
                if (done >= toScaleDown)
                {
                    break;
                }

                var want = (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0);
                if (want == 0)
                {
                    continue;
                }

                var down = Math.Min(want, toScaleDown - done);
                scaled |= Scale(rs, want - down, d, maxSurge);
                done += down;
            }
        }

        return scaled;
    }

    private static int NewReplicaSetReplicas(JsonObject d, IReadOnlyList<JsonObject> all, int newReplicas, int replicas, int maxSurge)
    {
        if (d["spec"]?["strategy"]?["type"]?.GetValue<string>() == "Recreate")
        {
            return replicas;
        }

        var current = all.Sum(rs => (int)(ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0));
        var maxTotal = replicas + maxSurge;
        if (current >= maxTotal)
        {
            return newReplicas;
        }

        return newReplicas + Math.Min(maxTotal - current, replicas - newReplicas);
    }

    /// <summary>ResolveFenceposts: maxSurge rounds up, maxUnavailable down; both zero makes maxUnavailable 1.</summary>
    private static (int MaxSurge, int MaxUnavailable) Fenceposts(JsonObject d, int replicas)
    {
        if (d["spec"]?["strategy"]?["type"]?.GetValue<string>() != "RollingUpdate" && d["spec"]?["strategy"]?["type"] is not null)
        {
            return (0, 0);
        }

        var rolling = d["spec"]?["strategy"]?["rollingUpdate"];
        var surge = Scaled(rolling?["maxSurge"] ?? JsonValue.Create("25%"), replicas, roundUp: true);
        var unavailable = Scaled(rolling?["maxUnavailable"] ?? JsonValue.Create("25%"), replicas, roundUp: false);
        if (surge == 0 && unavailable == 0)
        {
            unavailable = 1;
        }

        return (surge, Math.Min(unavailable, replicas));
    }

    private static int Scaled(JsonNode value, int total, bool roundUp)
    {
        if (value is JsonValue v && v.TryGetValue<string>(out var text) && text.EndsWith('%'))
        {
            var percent = double.Parse(text[..^1], CultureInfo.InvariantCulture);
            var scaled = percent * total / 100;
            return (int)(roundUp ? Math.Ceiling(scaled) : Math.Floor(scaled));
        }

        return (int)(ObjectStore.Number(value) ?? 0);
    }

    private bool Scale(JsonObject rs, int replicas, JsonObject d, int maxSurge)
    {
        rs = Fresh(ReplicaSets, rs);
        var desired = ObjectStore.Number(d["spec"]?["replicas"]) ?? 1;
        if ((ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0) == replicas
            && rs["metadata"]?["annotations"]?["deployment.kubernetes.io/desired-replicas"]?.GetValue<string>() == desired.ToString(CultureInfo.InvariantCulture))
        {
            return false;
        }

        var scaled = (JsonObject)rs.DeepClone();
        scaled["spec"]!["replicas"] = replicas;
        var annotations = scaled["metadata"]!["annotations"] as JsonObject ?? new JsonObject();
        scaled["metadata"]!["annotations"] = annotations;
        annotations["deployment.kubernetes.io/desired-replicas"] = desired.ToString(CultureInfo.InvariantCulture);
        annotations["deployment.kubernetes.io/max-replicas"] = (desired + maxSurge).ToString(CultureInfo.InvariantCulture);
        var stored = _store.Replace(ReplicaSets, ObjectStore.Namespace(rs), ObjectStore.Name(rs), scaled, manager: Manager);
        SyncReplicaSet(stored, fill: true);
        return (ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0) != replicas;
    }

    /// <summary>cleanupDeployment: old ReplicaSets scaled to zero beyond revisionHistoryLimit are deleted, oldest first.</summary>
    private void CleanupOldReplicaSets(JsonObject d, List<JsonObject> owned, JsonObject? newRs)
    {
        var limit = (int)(ObjectStore.Number(d["spec"]?["revisionHistoryLimit"]) ?? int.MaxValue);
        var cleanable = owned.Where(rs => newRs is null || ObjectStore.Name(rs) != ObjectStore.Name(newRs))
            .Where(rs => (ObjectStore.Number(rs["spec"]?["replicas"]) ?? 0) == 0 && (ObjectStore.Number(rs["status"]?["replicas"]) ?? 0) == 0)
            .OrderBy(Revision)
            .ToList();
        foreach (var rs in cleanable.Take(Math.Max(0, cleanable.Count - limit)))
        {
            _store.Delete(ReplicaSets, ObjectStore.Namespace(rs), ObjectStore.Name(rs));
        }
    }

    private static JsonObject CopiedAnnotations(JsonObject d)
    {
        var copied = new JsonObject();
        foreach (var (key, value) in d["metadata"]?["annotations"] as JsonObject ?? [])
        {
            if (!AnnotationsNotCopied.Contains(key))
            {
                copied[key] = value?.DeepClone();
            }
        }

        return copied;
    }

    private static bool EqualIgnoreHash(JsonNode? a, JsonNode? b)
    {
        static JsonNode? Strip(JsonNode? template)
        {
            var copy = template?.DeepClone();
            if (copy?["metadata"]?["labels"] is JsonObject labels)
            {
                labels.Remove("pod-template-hash");
                if (labels.Count == 0)
                {
                    ((JsonObject)copy["metadata"]!).Remove("labels");
                }
            }

            return copy;
        }

        return JsonNode.DeepEquals(Strip(a), Strip(b));
    }

    private static List<JsonObject> ConditionList(JsonObject obj) =>
        (obj["status"]?["conditions"] as JsonArray ?? []).OfType<JsonObject>().Select(c => (JsonObject)c.DeepClone()).ToList();

    /// <summary>SetDeploymentCondition: unchanged status and reason change nothing; the same status keeps its transition time.</summary>
    private static void SetCondition(List<JsonObject> conditions, string type, string status, string reason, string message, string now)
    {
        var current = conditions.FirstOrDefault(c => c["type"]?.GetValue<string>() == type);
        if (current is not null && current["status"]?.GetValue<string>() == status && current["reason"]?.GetValue<string>() == reason)
        {
            return;
        }

        var transition = current is not null && current["status"]?.GetValue<string>() == status ? current["lastTransitionTime"]?.GetValue<string>() ?? now : now;
        conditions.RemoveAll(c => c["type"]?.GetValue<string>() == type);
        conditions.Add(DeploymentCondition(type, status, reason, message, now, transition));
    }

    private static JsonObject DeploymentCondition(string type, string status, string reason, string message, string now, string transition) => new()
    {
        ["lastTransitionTime"] = transition,
        ["lastUpdateTime"] = now,
        ["message"] = message,
        ["reason"] = reason,
        ["status"] = status,
        ["type"] = type,
    };

    // ---------------------------------------------------------------- StatefulSet

    private void SyncStatefulSet(JsonObject set) => Settle(StatefulSets, set, StatefulSetStep);

    private bool StatefulSetStep(JsonObject set)
    {
        var ns = ObjectStore.Namespace(set);
        var name = ObjectStore.Name(set);
        var replicas = (int)(ObjectStore.Number(set["spec"]?["replicas"]) ?? 1);
        var (currentRevision, updateRevision) = Revisions(set, set["status"]?["currentRevision"]?.GetValue<string>());
        var rollingUpdate = set["spec"]?["updateStrategy"]?["type"]?.GetValue<string>() is null or "RollingUpdate";
        var partition = rollingUpdate ? (int)(ObjectStore.Number(set["spec"]?["updateStrategy"]?["rollingUpdate"]?["partition"]) ?? 0) : 0;
        var parallel = set["spec"]?["podManagementPolicy"]?.GetValue<string>() == "Parallel";
        var pods = ActivePods(set).ToDictionary(Ordinal);
        var changed = false;

        // Scale down: the highest ordinals go first (one at a time unless Parallel; deletion here is immediate).
        foreach (var (ordinal, pod) in pods.Where(p => p.Key >= replicas).OrderByDescending(p => p.Key).ToList())
        {
            _store.Delete(Pods, ns, ObjectStore.Name(pod));
            pods.Remove(ordinal);
            changed = true;
            if (!parallel)
            {
                break;
            }
        }

        // Create missing ordinals in order; OrderedReady waits for each to be Running and Ready.
        for (var ordinal = 0; ordinal < replicas; ordinal++)
        {
            if (pods.TryGetValue(ordinal, out var existing))
            {
                if (!parallel && !IsRunningAndReady(existing))
                {
                    break;
                }

                continue;
            }

            var useCurrent = rollingUpdate && ordinal < partition;
            var revision = useCurrent ? currentRevision : updateRevision;
            var template = RevisionTemplate(revision) ?? (JsonObject)(set["spec"]?["template"]?.DeepClone() ?? new JsonObject());
            var pod = CreatePod(set, template, null, $"{name}-{ordinal}", new Dictionary<string, string>
            {
                ["controller-revision-hash"] = ObjectStore.Name(revision),
                ["statefulset.kubernetes.io/pod-name"] = $"{name}-{ordinal}",
                ["apps.kubernetes.io/pod-index"] = ordinal.ToString(CultureInfo.InvariantCulture),
            });
            pods[ordinal] = pod;
            changed = true;
            if (!parallel)
            {
                break;
            }
        }

        // RollingUpdate: once every pod is Running and Ready, replace the highest ordinal not at the update revision (down to the partition).
        if (rollingUpdate && !changed && pods.Count == replicas && pods.Values.All(IsRunningAndReady))
        {
            for (var ordinal = replicas - 1; ordinal >= partition; ordinal--)
            {
                if (pods.TryGetValue(ordinal, out var pod) && PodRevision(pod) != ObjectStore.Name(updateRevision))
                {
                    _store.Delete(Pods, ns, ObjectStore.Name(pod));
                    changed = true;
                    break;
                }
            }
        }

        pods = ActivePods(set).ToDictionary(Ordinal);
        var status = new JsonObject();
        var ready = pods.Values.Count(IsRunningAndReady);
        var currentCount = pods.Values.Count(p => PodRevision(p) == ObjectStore.Name(currentRevision));
        var updatedCount = pods.Values.Count(p => PodRevision(p) == ObjectStore.Name(updateRevision));
        var currentName = ObjectStore.Name(currentRevision);
        if (rollingUpdate && updatedCount == pods.Count && ready == pods.Count && pods.Count == replicas)
        {
            // completeRollingUpdate (only for RollingUpdate: with OnDelete the current revision is never promoted).
            currentCount = updatedCount;
            currentName = ObjectStore.Name(updateRevision);
        }

        status["availableReplicas"] = ready;
        status["collisionCount"] = ObjectStore.Number(set["status"]?["collisionCount"]) ?? 0;
        if (currentCount > 0)
        {
            status["currentReplicas"] = currentCount;
        }

        status["currentRevision"] = currentName;
        status["observedGeneration"] = ObjectStore.Number(set["metadata"]?["generation"]) ?? 1;
        if (ready > 0)
        {
            status["readyReplicas"] = ready;
        }

        status["replicas"] = pods.Count;
        status["updateRevision"] = ObjectStore.Name(updateRevision);
        if (updatedCount > 0)
        {
            status["updatedReplicas"] = updatedCount;
        }

        WriteStatus(StatefulSets, set, status);
        return changed;
    }

    private static int Ordinal(JsonObject pod)
    {
        var name = ObjectStore.Name(pod);
        return int.TryParse(name[(name.LastIndexOf('-') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal) ? ordinal : -1;
    }

    private static string? PodRevision(JsonObject pod) => pod["metadata"]?["labels"]?["controller-revision-hash"]?.GetValue<string>();

    // ---------------------------------------------------------------- DaemonSet

    private void SyncDaemonSet(JsonObject ds) => Settle(DaemonSets, ds, DaemonSetStep);

    private bool DaemonSetStep(JsonObject ds)
    {
        var ns = ObjectStore.Namespace(ds);
        var (_, updateRevision) = Revisions(ds, null);
        var hash = ObjectStore.Name(updateRevision)[(ObjectStore.Name(ds).Length + 1)..];
        var selector = ds["spec"]?["template"]?["spec"]?["nodeSelector"] as JsonObject;
        var nodes = _store.List(Nodes).Where(n => selector is null || selector.All(s => n["metadata"]?["labels"]?[s.Key]?.GetValue<string>() == s.Value?.GetValue<string>())).ToList();
        var pods = ActivePods(ds);
        var changed = false;
        foreach (var node in nodes)
        {
            var nodeName = ObjectStore.Name(node);
            if (pods.Any(p => p["spec"]?["nodeName"]?.GetValue<string>() == nodeName))
            {
                continue;
            }

            var template = RevisionTemplate(updateRevision) ?? (JsonObject)(ds["spec"]?["template"]?.DeepClone() ?? new JsonObject());
            var spec = template["spec"] as JsonObject ?? new JsonObject();
            template["spec"] = spec;
            spec["affinity"] = new JsonObject
            {
                ["nodeAffinity"] = new JsonObject
                {
                    ["requiredDuringSchedulingIgnoredDuringExecution"] = new JsonObject
                    {
                        ["nodeSelectorTerms"] = new JsonArray(new JsonObject
                        {
                            ["matchFields"] = new JsonArray(new JsonObject { ["key"] = "metadata.name", ["operator"] = "In", ["values"] = new JsonArray(nodeName) }),
                        }),
                    },
                },
            };
            var tolerations = spec["tolerations"] as JsonArray ?? new JsonArray();
            foreach (var (key, effect) in new[] { ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"), ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule") })
            {
                if (!tolerations.Any(t => t?["key"]?.GetValue<string>() == key))
                {
                    tolerations.Add(new JsonObject { ["effect"] = effect, ["key"] = key, ["operator"] = "Exists" });
                }
            }

            spec["tolerations"] = tolerations;
            CreatePod(ds, template, ObjectStore.Name(ds) + "-", null, new Dictionary<string, string>
            {
                ["controller-revision-hash"] = hash,
                ["pod-template-generation"] = (ObjectStore.Number(ds["metadata"]?["generation"]) ?? 1).ToString(CultureInfo.InvariantCulture),
            }, nodeName);
            changed = true;
        }

        foreach (var stray in pods.Where(p => !nodes.Any(n => ObjectStore.Name(n) == p["spec"]?["nodeName"]?.GetValue<string>())))
        {
            _store.Delete(Pods, ns, ObjectStore.Name(stray));
            changed = true;
        }

        pods = ActivePods(ds);
        var rolling = ds["spec"]?["updateStrategy"]?["type"]?.GetValue<string>() is null or "RollingUpdate";
        if (rolling && !changed)
        {
            var maxUnavailable = Math.Max(1, Scaled(ds["spec"]?["updateStrategy"]?["rollingUpdate"]?["maxUnavailable"] ?? JsonValue.Create(1), nodes.Count, roundUp: true));
            var unavailable = pods.Count(p => !IsReady(p)) + (nodes.Count - pods.Count);
            foreach (var old in pods.Where(p => PodRevision(p) != hash).OrderBy(p => IsReady(p) ? 1 : 0).ToList())
            {
                if (IsReady(old) && unavailable >= maxUnavailable)
                {
                    break;
                }

                _store.Delete(Pods, ns, ObjectStore.Name(old));
                if (IsReady(old))
                {
                    unavailable++;
                }

                changed = true;
            }
        }

        pods = ActivePods(ds);
        var readyCount = pods.Count(IsReady);
        var updated = pods.Count(p => PodRevision(p) == hash);
        var status = new JsonObject
        {
            ["currentNumberScheduled"] = pods.Count,
            ["desiredNumberScheduled"] = nodes.Count,
        };
        if (readyCount > 0)
        {
            status["numberAvailable"] = readyCount;
        }

        status["numberMisscheduled"] = 0;
        status["numberReady"] = readyCount;
        if (nodes.Count - readyCount > 0)
        {
            status["numberUnavailable"] = nodes.Count - readyCount;
        }

        status["observedGeneration"] = ObjectStore.Number(ds["metadata"]?["generation"]) ?? 1;
        if (updated > 0)
        {
            status["updatedNumberScheduled"] = updated;
        }

        WriteStatus(DaemonSets, ds, status);
        return changed;
    }

    // ---------------------------------------------------------------- ControllerRevisions

    /// <summary>
    /// The history of a StatefulSet or DaemonSet: the revision of the current template (created, or an equal older one
    /// renumbered to the newest), and the revision named <paramref name="currentName"/> (or the update one).
    /// </summary>
    private (JsonObject Current, JsonObject Update) Revisions(JsonObject owner, string? currentName)
    {
        var ns = ObjectStore.Namespace(owner);
        var owned = _store.List(ControllerRevisions, ns).Where(r => IsControlledBy(r, owner)).ToList();
        var data = RevisionData(owner);
        var max = owned.Select(r => ObjectStore.Number(r["revision"]) ?? 0).DefaultIfEmpty(0).Max();
        var update = owned.FirstOrDefault(r => JsonNode.DeepEquals(r["data"], data));
        if (update is null)
        {
            var hash = TemplateHash(data);
            update = _store.Create(ControllerRevisions, ns, new JsonObject
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "ControllerRevision",
                ["metadata"] = new JsonObject
                {
                    ["name"] = $"{ObjectStore.Name(owner)}-{hash}",
                    ["labels"] = RevisionLabels(owner, hash),
                    ["ownerReferences"] = new JsonArray(OwnerReference(owner)),
                },
                ["data"] = data,
                ["revision"] = max + 1,
            }, manager: Manager);
        }
        else if ((ObjectStore.Number(update["revision"]) ?? 0) < max)
        {
            var renumbered = (JsonObject)update.DeepClone();
            renumbered["revision"] = max + 1;
            update = _store.Replace(ControllerRevisions, ns, ObjectStore.Name(update), renumbered, manager: Manager);
        }

        var current = currentName is null ? null : _store.Get(ControllerRevisions, ns, currentName);
        return (current ?? update, update);
    }

    /// <summary>What the controllers store as a revision: {"spec":{"template":{…,"$patch":"replace"}}} (getPatch).</summary>
    private static JsonObject RevisionData(JsonObject owner)
    {
        var template = (JsonObject)(owner["spec"]?["template"]?.DeepClone() ?? new JsonObject());
        template["$patch"] = "replace";
        return Sorted(new JsonObject { ["spec"] = new JsonObject { ["template"] = template } });
    }

    /// <summary>Keys in Go's json.Marshal order for maps (sorted), as the revision data the real controller writes.</summary>
    private static JsonObject Sorted(JsonObject obj)
    {
        var sorted = new JsonObject();
        foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sorted[key] = value switch
            {
                JsonObject o => Sorted(o),
                JsonArray a => new JsonArray([.. a.Select(i => i is JsonObject io ? Sorted(io) : i?.DeepClone())]),
                _ => value?.DeepClone(),
            };
        }

        return sorted;
    }

    private static JsonObject RevisionLabels(JsonObject owner, string hash)
    {
        var labels = (JsonObject?)owner["spec"]?["selector"]?["matchLabels"]?.DeepClone() ?? new JsonObject();
        labels["controller.kubernetes.io/hash"] = hash;
        return labels;
    }

    private static JsonObject? RevisionTemplate(JsonObject revision)
    {
        var template = revision["data"]?["spec"]?["template"]?.DeepClone() as JsonObject;
        template?.Remove("$patch");
        return template;
    }

    // ---------------------------------------------------------------- Job

    private void SyncJob(JsonObject job)
    {
        job = Fresh(Jobs, job);
        if (job["metadata"]?["deletionTimestamp"] is not null || job["spec"]?["suspend"]?.GetValue<bool>() == true)
        {
            return;
        }

        var status = (JsonObject?)job["status"]?.DeepClone() ?? new JsonObject();
        var succeeded = (int)(ObjectStore.Number(status["succeeded"]) ?? 0);
        var completions = (int)(ObjectStore.Number(job["spec"]?["completions"]) ?? 1);
        var parallelism = (int)(ObjectStore.Number(job["spec"]?["parallelism"]) ?? 1);
        var pods = ActivePods(job);
        var finished = status["conditions"] is JsonArray conditions && conditions.Any(c => c?["type"]?.GetValue<string>() is "Complete" or "Failed" && c["status"]?.GetValue<string>() == "True");
        if (!finished)
        {
            var wanted = Math.Min(parallelism, completions - succeeded);
            for (var i = pods.Count; i < wanted; i++)
            {
                CreatePod(job, (JsonObject)(job["spec"]?["template"]?.DeepClone() ?? new JsonObject()), ObjectStore.Name(job) + "-", null, null);
            }
        }

        pods = ActivePods(job);
        var active = pods.Count(p => p["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed"));
        status.Remove("active");
        if (active > 0)
        {
            status["active"] = active;
        }

        status["ready"] = pods.Count(IsReady);
        status["startTime"] ??= ObjectStore.Timestamp(_time.GetUtcNow());
        status["terminating"] = 0;
        status["uncountedTerminatedPods"] ??= new JsonObject();
        WriteStatus(Jobs, job, Sorted(status));
    }

    /// <summary>A Job's unfinished pod was deleted: it counts as failed, and its replacement comes after the backoff.</summary>
    private void JobPodGone(JsonObject job, JsonObject pod)
    {
        if (pod["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed")
        {
            SyncJob(job);
            return;
        }

        var status = (JsonObject?)job["status"]?.DeepClone() ?? new JsonObject();
        var failed = (int)(ObjectStore.Number(status["failed"]) ?? 0) + 1;
        status["failed"] = failed;
        var active = ActivePods(job).Count;
        status.Remove("active");
        if (active > 0)
        {
            status["active"] = active;
        }

        status["ready"] = ActivePods(job).Count(IsReady);
        status["startTime"] ??= ObjectStore.Timestamp(_time.GetUtcNow());
        status["terminating"] = 0;
        status["uncountedTerminatedPods"] ??= new JsonObject();
        var backoffLimit = (int)(ObjectStore.Number(job["spec"]?["backoffLimit"]) ?? 6);
        if (failed > backoffLimit)
        {
            var now = ObjectStore.Timestamp(_time.GetUtcNow());
            status["conditions"] = new JsonArray(
                new JsonObject { ["lastProbeTime"] = now, ["lastTransitionTime"] = now, ["message"] = "Job has reached the specified backoff limit", ["reason"] = "BackoffLimitExceeded", ["status"] = "True", ["type"] = "FailureTarget" },
                new JsonObject { ["lastProbeTime"] = now, ["lastTransitionTime"] = now, ["message"] = "Job has reached the specified backoff limit", ["reason"] = "BackoffLimitExceeded", ["status"] = "True", ["type"] = "Failed" });
            WriteStatus(Jobs, job, Sorted(status));
            return;
        }

        WriteStatus(Jobs, job, Sorted(status));
        var delay = TimeSpan.FromTicks(Math.Min(JobBackoff.Ticks * (1L << Math.Min(failed - 1, 10)), TimeSpan.FromMinutes(6).Ticks));
        var ns = ObjectStore.Namespace(job);
        var name = ObjectStore.Name(job);
        var uid = ObjectStore.Uid(job);
        ITimer? timer = null;
        timer = _time.CreateTimer(
            _ =>
            {
                _store.WithLock(() =>
                {
                    _depth++;
                    try
                    {
                        if (_store.Get(Jobs, ns, name) is { } current && ObjectStore.Uid(current) == uid)
                        {
                            SyncJob(current);
                        }
                    }
                    finally
                    {
                        _depth--;
                    }
                });
                timer?.Dispose();
            },
            null,
            delay,
            Timeout.InfiniteTimeSpan);
    }

    // ---------------------------------------------------------------- pods, owners, statuses

    /// <summary>
    /// Creates a pod from a template the way the controllers do (generateName or a fixed name, the template's labels and
    /// annotations, a controller owner reference), binds it to a node (the scheduler) and reports ContainerCreating (the kubelet).
    /// </summary>
    private JsonObject CreatePod(JsonObject owner, JsonObject template, string? generateName, string? name, IReadOnlyDictionary<string, string>? extraLabels, string? nodeName = null)
    {
        var ns = ObjectStore.Namespace(owner);
        var spec = (JsonObject?)template["spec"]?.DeepClone() ?? new JsonObject();
        var nodes = _store.List(Nodes);
        nodeName ??= nodes.Count > 0 ? ObjectStore.Name(nodes[0]) : null;
        if (nodeName is not null)
        {
            spec["nodeName"] = nodeName;
        }

        var labels = (JsonObject?)template["metadata"]?["labels"]?.DeepClone() ?? new JsonObject();
        foreach (var (key, value) in extraLabels ?? new Dictionary<string, string>())
        {
            labels[key] = value;
        }

        var metadata = new JsonObject();
        if (generateName is not null)
        {
            metadata["generateName"] = generateName;
        }

        if (name is not null)
        {
            metadata["name"] = name;
        }

        metadata["labels"] = labels;
        if (template["metadata"]?["annotations"] is JsonObject annotations)
        {
            metadata["annotations"] = annotations.DeepClone();
        }

        metadata["ownerReferences"] = new JsonArray(OwnerReference(owner));
        var pod = _store.Create(Pods, ns, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = metadata, ["spec"] = spec }, manager: Manager);
        var status = StartingStatus(pod, nodeName is not null ? nodes.FirstOrDefault(n => ObjectStore.Name(n) == nodeName) : null);
        var reported = (JsonObject)pod.DeepClone();
        reported["status"] = status;
        return _store.Replace(Pods, ns, ObjectStore.Name(pod), reported, "status", manager: Kubelet);
    }

    /// <summary>What the kubelet reports while it pulls a new pod's images: Pending, containers waiting in ContainerCreating.</summary>
    private JsonObject StartingStatus(JsonObject pod, JsonObject? node)
    {
        var at = ObjectStore.Timestamp(_time.GetUtcNow());
        var names = (pod["spec"]?["containers"] as JsonArray ?? []).Select(c => c?["name"]?.GetValue<string>()).ToList();
        var unready = $"containers with unready status: [{string.Join(' ', names)}]";
        var hostIp = (node?["status"]?["addresses"] as JsonArray ?? []).FirstOrDefault(a => a?["type"]?.GetValue<string>() == "InternalIP")?["address"]?.GetValue<string>() ?? "10.0.0.11";
        var podIp = $"10.244.1.{Interlocked.Increment(ref _podIp) % 250 + 2}";
        var statuses = new JsonArray();
        foreach (var container in (pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            statuses.Add(new JsonObject
            {
                ["image"] = container["image"]?.DeepClone(),
                ["imageID"] = string.Empty,
                ["lastState"] = new JsonObject(),
                ["name"] = container["name"]?.DeepClone(),
                ["ready"] = false,
                ["restartCount"] = 0,
                ["started"] = false,
                ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } },
            });
        }

        return new JsonObject
        {
            ["conditions"] = new JsonArray(
                Condition("PodReadyToStartContainers", "True", at),
                Condition("Initialized", "True", at),
                Condition("Ready", "False", at, "ContainersNotReady", unready),
                Condition("ContainersReady", "False", at, "ContainersNotReady", unready),
                Condition("PodScheduled", "True", at)),
            ["containerStatuses"] = statuses,
            ["hostIP"] = hostIp,
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = hostIp }),
            ["phase"] = "Pending",
            ["podIP"] = podIp,
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp }),
            ["qosClass"] = pod["status"]?["qosClass"]?.DeepClone() ?? ObjectStore.PodQos(pod),
            ["startTime"] = at,
        };
    }

    private void WriteStatus(ResourceType type, JsonObject obj, JsonObject status)
    {
        var fresh = Fresh(type, obj);
        if (JsonNode.DeepEquals(fresh["status"], status))
        {
            return;
        }

        _store.ReplaceStatus(type, type.Namespaced ? ObjectStore.Namespace(fresh) : null, ObjectStore.Name(fresh), ObjectStore.StatusBody(fresh, status), Manager);
    }

    private JsonObject Fresh(ResourceType type, JsonObject obj) =>
        _store.Get(type, type.Namespaced ? ObjectStore.Namespace(obj) : null, ObjectStore.Name(obj)) ?? obj;

    /// <summary>The pods this object controls that are not being deleted.</summary>
    private List<JsonObject> ActivePods(JsonObject owner) => _store.List(Pods, ObjectStore.Namespace(owner))
        .Where(p => IsControlledBy(p, owner) && p["metadata"]?["deletionTimestamp"] is null)
        .ToList();

    private static bool IsControlledBy(JsonObject obj, JsonObject owner) =>
        ControllerRef(obj)?["uid"]?.GetValue<string>() == ObjectStore.Uid(owner);

    private static JsonObject? ControllerRef(JsonObject obj) =>
        (obj["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(r => r["controller"]?.GetValue<bool>() == true);

    private JsonObject? OwnerOf(JsonObject obj) => ControllerRef(obj) is { } owner && owner["kind"]?.GetValue<string>() == "Deployment"
        ? _store.Get(Deployments, ObjectStore.Namespace(obj), owner["name"]!.GetValue<string>())
        : null;

    private static JsonObject OwnerReference(JsonObject owner) => new()
    {
        ["apiVersion"] = owner["apiVersion"]?.DeepClone(),
        ["blockOwnerDeletion"] = true,
        ["controller"] = true,
        ["kind"] = owner["kind"]?.DeepClone(),
        ["name"] = owner["metadata"]?["name"]?.DeepClone(),
        ["uid"] = owner["metadata"]?["uid"]?.DeepClone(),
    };

    private static string Created(JsonObject obj) => obj["metadata"]?["creationTimestamp"]?.GetValue<string>() ?? string.Empty;

    private static long Revision(JsonObject rs) =>
        long.TryParse(rs["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;
}

internal static class JsonObjectExtensions
{
    /// <summary>Removes a property when its value is null (omitempty).</summary>
    public static JsonObject Without(this JsonObject obj, string property)
    {
        if (obj[property] is null)
        {
            obj.Remove(property);
        }

        return obj;
    }
}
