using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Kubernetes.FakeApi;

/// <summary>
/// Enough of kube-controller-manager's deployment and replicaset controllers for rollouts: a Deployment write with a new
/// generation gets a ReplicaSet per pod template ("{name}-{pod-template-hash}", ownerReferences, the
/// deployment.kubernetes.io/revision annotation, bumped again when an old template comes back on rollback), the new
/// ReplicaSet is scaled to spec.replicas and the old ones to 0, pods are created and deleted to match, and the
/// Deployment gets its revision annotation and status.observedGeneration. A deleted pod of a ReplicaSet is replaced
/// (so "delete the pods stuck in back-off" works as on a cluster). Pods stay Pending until a test marks them
/// Ready (<see cref="MarkPodsReady"/>) or failing; statuses follow.
/// </summary>
public sealed class DeploymentController
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    private static readonly ResourceType Deployments = ResourceType.Of("deployments");
    private static readonly ResourceType ReplicaSets = ResourceType.Of("replicasets");
    private static readonly ResourceType Pods = ResourceType.Of("pods");
    private static readonly ResourceType Nodes = ResourceType.Of("nodes");
    private readonly ObjectStore _store;
    private readonly TimeProvider _time;
    private bool _reconciling;

    public DeploymentController(ObjectStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        _store.Written += OnWritten;
    }

    public bool Enabled { get; set; } = true;

    /// <summary>Marks matching pods Running and Ready (containers running), then updates ReplicaSet and Deployment status.</summary>
    public int MarkPodsReady(string ns, string? labelSelector = null)
    {
        var count = 0;
        _store.WithLock(() =>
        {
            var selector = LabelSelector.Parse(labelSelector);
            foreach (var pod in _store.List(Pods, ns).Where(selector.Matches))
            {
                var status = ReadyStatus(pod, _time.GetUtcNow());
                var updated = (JsonObject)pod.DeepClone();
                updated["status"] = status;
                _store.Replace(Pods, ns, ObjectStore.Name(pod), updated, "status");
                count++;
            }

            RefreshStatuses(ns);
        });
        return count;
    }

    /// <summary>Recomputes ReplicaSet and Deployment status from their pods.</summary>
    public void RefreshStatuses(string ns) => _store.WithLock(() =>
    {
        _reconciling = true;
        try
        {
            foreach (var rs in _store.List(ReplicaSets, ns))
            {
                WriteReplicaSetStatus(rs);
            }

            foreach (var deployment in _store.List(Deployments, ns))
            {
                WriteDeploymentStatus(deployment);
            }
        }
        finally
        {
            _reconciling = false;
        }
    });

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

    public static JsonObject ReadyStatus(JsonObject pod, DateTimeOffset now)
    {
        var at = ObjectStore.Timestamp(now);
        var status = (JsonObject?)pod["status"]?.DeepClone() ?? new JsonObject();
        status["phase"] = "Running";
        status["conditions"] = new JsonArray(
            Condition("PodReadyToStartContainers", at),
            Condition("Initialized", at),
            Condition("Ready", at),
            Condition("ContainersReady", at),
            Condition("PodScheduled", at));
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

    private static JsonObject Condition(string type, string at) => new()
    {
        ["lastProbeTime"] = null,
        ["lastTransitionTime"] = at,
        ["status"] = "True",
        ["type"] = type,
    };

    private void OnWritten(WatchRecord record)
    {
        if (Enabled && !_reconciling && record.Resource == Pods && record.Type == "DELETED")
        {
            ReplacePod(record.Current);
            return;
        }

        if (!Enabled || _reconciling || record.Resource != Deployments || record.Type == "DELETED")
        {
            return;
        }

        var generation = ObjectStore.Number(record.Current["metadata"]?["generation"]) ?? 1;
        var observed = ObjectStore.Number(record.Current["status"]?["observedGeneration"]) ?? 0;
        if (observed >= generation)
        {
            return;
        }

        _reconciling = true;
        try
        {
            Reconcile(record.Current);
        }
        finally
        {
            _reconciling = false;
        }
    }

    /// <summary>The replicaset controller: a deleted pod of a ReplicaSet that still wants it is replaced by a new one.</summary>
    private void ReplacePod(JsonObject deleted)
    {
        var owner = (deleted["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(r => r["kind"]?.GetValue<string>() == "ReplicaSet" && r["controller"]?.GetValue<bool>() == true);
        var rs = owner is null ? null : _store.Get(ReplicaSets, ObjectStore.Namespace(deleted), owner["name"]!.GetValue<string>());
        if (rs is null || rs["metadata"]?["uid"]?.GetValue<string>() != owner!["uid"]?.GetValue<string>())
        {
            return;
        }

        _reconciling = true;
        try
        {
            SyncPods(rs, (int?)ObjectStore.Number(rs["spec"]?["replicas"]) ?? 1);
            WriteReplicaSetStatus(_store.Get(ReplicaSets, ObjectStore.Namespace(rs), ObjectStore.Name(rs))!);
        }
        finally
        {
            _reconciling = false;
        }
    }

    private void Reconcile(JsonObject deployment)
    {
        var ns = ObjectStore.Namespace(deployment);
        var name = ObjectStore.Name(deployment);
        var uid = deployment["metadata"]!["uid"]!.GetValue<string>();
        var template = (JsonObject)(deployment["spec"]?["template"]?.DeepClone() ?? new JsonObject());
        var replicas = (int?)ObjectStore.Number(deployment["spec"]?["replicas"]) ?? 1;
        var hash = TemplateHash(template);
        var owned = _store.List(ReplicaSets, ns)
            .Where(rs => rs["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == uid))
            .ToList();
        var maxRevision = owned.Select(Revision).DefaultIfEmpty(0).Max();
        var current = owned.FirstOrDefault(rs => rs["metadata"]?["labels"]?["pod-template-hash"]?.GetValue<string>() == hash);
        long revision;
        if (current is null)
        {
            revision = maxRevision + 1;
            var labels = (JsonObject?)template["metadata"]?["labels"]?.DeepClone() ?? new JsonObject();
            labels["pod-template-hash"] = hash;
            var rsTemplate = (JsonObject)template.DeepClone();
            rsTemplate["metadata"] ??= new JsonObject();
            rsTemplate["metadata"]!["labels"] = labels.DeepClone();
            var selector = (JsonObject?)deployment["spec"]?["selector"]?.DeepClone() ?? new JsonObject();
            selector["matchLabels"] ??= new JsonObject();
            selector["matchLabels"]!["pod-template-hash"] = hash;
            current = _store.Create(ReplicaSets, ns, new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["name"] = $"{name}-{hash}",
                    ["labels"] = labels,
                    ["annotations"] = new JsonObject
                    {
                        ["deployment.kubernetes.io/desired-replicas"] = replicas.ToString(CultureInfo.InvariantCulture),
                        ["deployment.kubernetes.io/max-replicas"] = (replicas + 1).ToString(CultureInfo.InvariantCulture),
                        [RevisionAnnotation] = revision.ToString(CultureInfo.InvariantCulture),
                    },
                    ["ownerReferences"] = new JsonArray(new JsonObject
                    {
                        ["apiVersion"] = "apps/v1",
                        ["blockOwnerDeletion"] = true,
                        ["controller"] = true,
                        ["kind"] = "Deployment",
                        ["name"] = name,
                        ["uid"] = uid,
                    }),
                },
                ["spec"] = new JsonObject { ["replicas"] = replicas, ["selector"] = selector, ["template"] = rsTemplate },
            });
        }
        else
        {
            revision = Revision(current) == maxRevision ? maxRevision : maxRevision + 1;
            var updated = (JsonObject)current.DeepClone();
            updated["metadata"]!["annotations"] ??= new JsonObject();
            updated["metadata"]!["annotations"]![RevisionAnnotation] = revision.ToString(CultureInfo.InvariantCulture);
            updated["spec"]!["replicas"] = replicas;
            current = _store.Replace(ReplicaSets, ns, ObjectStore.Name(current), updated);
        }

        foreach (var old in owned.Where(rs => ObjectStore.Name(rs) != ObjectStore.Name(current)))
        {
            if (((int?)ObjectStore.Number(old["spec"]?["replicas"]) ?? 0) != 0)
            {
                var scaled = (JsonObject)old.DeepClone();
                scaled["spec"]!["replicas"] = 0;
                _store.Replace(ReplicaSets, ns, ObjectStore.Name(old), scaled);
            }

            SyncPods(_store.Get(ReplicaSets, ns, ObjectStore.Name(old))!, 0);
        }

        SyncPods(current, replicas);

        var annotated = (JsonObject)_store.Get(Deployments, ns, name)!.DeepClone();
        annotated["metadata"]!["annotations"] ??= new JsonObject();
        annotated["metadata"]!["annotations"]![RevisionAnnotation] = revision.ToString(CultureInfo.InvariantCulture);
        _store.Replace(Deployments, ns, name, annotated);
        foreach (var rs in _store.List(ReplicaSets, ns))
        {
            WriteReplicaSetStatus(rs);
        }

        WriteDeploymentStatus(_store.Get(Deployments, ns, name)!);
    }

    private void SyncPods(JsonObject rs, int replicas)
    {
        var ns = ObjectStore.Namespace(rs);
        var rsUid = rs["metadata"]!["uid"]!.GetValue<string>();
        var pods = OwnedPods(ns, rsUid);
        foreach (var extra in pods.Skip(replicas))
        {
            _store.Delete(Pods, ns, ObjectStore.Name(extra));
        }

        var nodes = _store.List(Nodes);
        var node = nodes.Count > 0 ? nodes[0] : null;
        for (var i = pods.Count; i < replicas; i++)
        {
            var template = rs["spec"]?["template"] as JsonObject ?? new JsonObject();
            var spec = (JsonObject?)template["spec"]?.DeepClone() ?? new JsonObject();
            spec["serviceAccountName"] ??= "default";
            spec["restartPolicy"] ??= "Always";
            spec["schedulerName"] ??= "default-scheduler";
            if (node is not null)
            {
                spec["nodeName"] = ObjectStore.Name(node);
            }

            var statuses = new JsonArray();
            foreach (var container in (spec["containers"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var image = container["image"]?.GetValue<string>() ?? string.Empty;
                container["imagePullPolicy"] ??= image.EndsWith(":latest", StringComparison.Ordinal) || !image.Contains(':', StringComparison.Ordinal) ? "Always" : "IfNotPresent";
                statuses.Add(new JsonObject
                {
                    ["image"] = image,
                    ["imageID"] = string.Empty,
                    ["lastState"] = new JsonObject(),
                    ["name"] = container["name"]?.DeepClone(),
                    ["ready"] = false,
                    ["restartCount"] = 0,
                    ["started"] = false,
                    ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } },
                });
            }

            var at = ObjectStore.Timestamp(_time.GetUtcNow());
            _store.Create(Pods, ns, new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["generateName"] = ObjectStore.Name(rs) + "-",
                    ["labels"] = template["metadata"]?["labels"]?.DeepClone(),
                    ["ownerReferences"] = new JsonArray(new JsonObject
                    {
                        ["apiVersion"] = "apps/v1",
                        ["blockOwnerDeletion"] = true,
                        ["controller"] = true,
                        ["kind"] = "ReplicaSet",
                        ["name"] = ObjectStore.Name(rs),
                        ["uid"] = rsUid,
                    }),
                },
                ["spec"] = spec,
                ["status"] = new JsonObject
                {
                    ["conditions"] = new JsonArray(new JsonObject { ["lastProbeTime"] = null, ["lastTransitionTime"] = at, ["status"] = "True", ["type"] = "PodScheduled" }),
                    ["containerStatuses"] = statuses,
                    ["phase"] = "Pending",
                    ["qosClass"] = "BestEffort",
                    ["startTime"] = at,
                },
            });
        }
    }

    private List<JsonObject> OwnedPods(string ns, string ownerUid) => _store.List(Pods, ns)
        .Where(p => p["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == ownerUid))
        .ToList();

    private void WriteReplicaSetStatus(JsonObject rs)
    {
        var ns = ObjectStore.Namespace(rs);
        var pods = OwnedPods(ns, rs["metadata"]!["uid"]!.GetValue<string>());
        var ready = pods.Count(IsReady);
        var status = new JsonObject
        {
            ["availableReplicas"] = ready,
            ["fullyLabeledReplicas"] = pods.Count,
            ["observedGeneration"] = ObjectStore.Number(rs["metadata"]?["generation"]) ?? 1,
            ["readyReplicas"] = ready,
            ["replicas"] = pods.Count,
        };
        if (!JsonNode.DeepEquals(status, rs["status"]))
        {
            var updated = (JsonObject)rs.DeepClone();
            updated["status"] = status;
            _store.Replace(ReplicaSets, ns, ObjectStore.Name(rs), updated, "status");
        }
    }

    private void WriteDeploymentStatus(JsonObject deployment)
    {
        var ns = ObjectStore.Namespace(deployment);
        var uid = deployment["metadata"]!["uid"]!.GetValue<string>();
        var revision = deployment["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>();
        var owned = _store.List(ReplicaSets, ns)
            .Where(rs => rs["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == uid))
            .ToList();
        var all = owned.SelectMany(rs => OwnedPods(ns, rs["metadata"]!["uid"]!.GetValue<string>())).ToList();
        var current = owned.FirstOrDefault(rs => rs["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>() == revision);
        var updatedPods = current is null ? [] : OwnedPods(ns, current["metadata"]!["uid"]!.GetValue<string>());
        var desired = (int?)ObjectStore.Number(deployment["spec"]?["replicas"]) ?? 1;
        var ready = all.Count(IsReady);
        var updatedReady = updatedPods.Count(IsReady);
        var at = ObjectStore.Timestamp(_time.GetUtcNow());
        var complete = updatedReady == desired && all.Count == desired;
        var status = new JsonObject
        {
            ["availableReplicas"] = ready,
            ["conditions"] = new JsonArray(
                new JsonObject
                {
                    ["lastTransitionTime"] = at,
                    ["lastUpdateTime"] = at,
                    ["message"] = ready >= desired ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
                    ["reason"] = ready >= desired ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                    ["status"] = ready >= desired ? "True" : "False",
                    ["type"] = "Available",
                },
                new JsonObject
                {
                    ["lastTransitionTime"] = at,
                    ["lastUpdateTime"] = at,
                    ["message"] = complete
                        ? $"ReplicaSet \"{(current is null ? string.Empty : ObjectStore.Name(current))}\" has successfully progressed."
                        : $"ReplicaSet \"{(current is null ? string.Empty : ObjectStore.Name(current))}\" is progressing.",
                    ["reason"] = complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                    ["status"] = "True",
                    ["type"] = "Progressing",
                }),
            ["observedGeneration"] = ObjectStore.Number(deployment["metadata"]?["generation"]) ?? 1,
            ["readyReplicas"] = ready,
            ["replicas"] = all.Count,
            ["unavailableReplicas"] = Math.Max(0, desired - ready),
            ["updatedReplicas"] = updatedPods.Count,
        };
        var updated = (JsonObject)deployment.DeepClone();
        updated["status"] = status;
        _store.Replace(Deployments, ns, ObjectStore.Name(deployment), updated, "status");
    }

    private static bool IsReady(JsonObject pod) =>
        pod["status"]?["conditions"] is JsonArray conditions
        && conditions.Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True");

    private static long Revision(JsonObject rs) =>
        long.TryParse(rs["metadata"]?["annotations"]?[RevisionAnnotation]?.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;
}
