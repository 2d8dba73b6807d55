using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// What the real API server fills in on every write through the API: the scheme defaults of k8s.io/kubernetes
/// pkg/apis/{core,apps,batch}/v1/defaults.go (SetDefaults_PodSpec, _Container, _Deployment, _StatefulSet, _DaemonSet,
/// _Job, _CronJob, _Secret, _Namespace) and, for pods, what the default admission plugins add (ServiceAccount,
/// Priority, DefaultTolerationSeconds). The ServiceAccount plugin's projected kube-api-access volume is not added.
/// Idempotent: defaulting a defaulted object changes nothing.
/// </summary>
public static class ApiDefaults
{
    public static void Apply(ResourceType type, JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        switch (type.Kind)
        {
            case "Pod":
                if (spec is not null)
                {
                    PodSpec(spec);
                    spec["enableServiceLinks"] ??= true;
                    spec["serviceAccountName"] ??= spec["serviceAccount"]?.DeepClone() ?? "default";
                    spec["serviceAccount"] ??= spec["serviceAccountName"]!.DeepClone();
                    spec["priority"] ??= 0;
                    spec["preemptionPolicy"] ??= "PreemptLowerPriority";
                    if (spec["tolerations"] is not JsonArray tolerations || !tolerations.Any(t => t?["key"]?.GetValue<string>() == "node.kubernetes.io/not-ready"))
                    {
                        var list = spec["tolerations"] as JsonArray ?? [];
                        spec["tolerations"] = list;
                        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
                        {
                            if (!list.Any(t => t?["key"]?.GetValue<string>() == key))
                            {
                                list.Add(new JsonObject { ["effect"] = "NoExecute", ["key"] = key, ["operator"] = "Exists", ["tolerationSeconds"] = 300 });
                            }
                        }
                    }
                }

                break;
            case "Deployment" when spec is not null:
                spec["replicas"] ??= 1;
                spec["revisionHistoryLimit"] ??= 10;
                spec["progressDeadlineSeconds"] ??= 600;
                var strategy = spec["strategy"] as JsonObject ?? new JsonObject();
                spec["strategy"] = strategy;
                strategy["type"] ??= "RollingUpdate";
                if (strategy["type"]!.GetValue<string>() == "RollingUpdate")
                {
                    var rolling = strategy["rollingUpdate"] as JsonObject ?? new JsonObject();
                    strategy["rollingUpdate"] = rolling;
                    rolling["maxSurge"] ??= "25%";
                    rolling["maxUnavailable"] ??= "25%";
                }

                Template(spec);
                break;
            case "ReplicaSet" when spec is not null:
                spec["replicas"] ??= 1;
                Template(spec);
                break;
            case "StatefulSet" when spec is not null:
                spec["replicas"] ??= 1;
                spec["podManagementPolicy"] ??= "OrderedReady";
                spec["revisionHistoryLimit"] ??= 10;
                var update = spec["updateStrategy"] as JsonObject ?? new JsonObject();
                spec["updateStrategy"] = update;
                update["type"] ??= "RollingUpdate";
                if (update["type"]!.GetValue<string>() == "RollingUpdate")
                {
                    var rolling = update["rollingUpdate"] as JsonObject ?? new JsonObject();
                    update["rollingUpdate"] = rolling;
                    rolling["partition"] ??= 0;
                }

                var retention = spec["persistentVolumeClaimRetentionPolicy"] as JsonObject ?? new JsonObject();
                spec["persistentVolumeClaimRetentionPolicy"] = retention;
                retention["whenDeleted"] ??= "Retain";
                retention["whenScaled"] ??= "Retain";
                Template(spec);
                break;
            case "DaemonSet" when spec is not null:
                spec["revisionHistoryLimit"] ??= 10;
                var dsUpdate = spec["updateStrategy"] as JsonObject ?? new JsonObject();
                spec["updateStrategy"] = dsUpdate;
                dsUpdate["type"] ??= "RollingUpdate";
                if (dsUpdate["type"]!.GetValue<string>() == "RollingUpdate")
                {
                    var rolling = dsUpdate["rollingUpdate"] as JsonObject ?? new JsonObject();
                    dsUpdate["rollingUpdate"] = rolling;
                    rolling["maxUnavailable"] ??= 1;
                    rolling["maxSurge"] ??= 0;
                }

                Template(spec);
                break;
            case "Job" when spec is not null:
                JobSpec(spec);
                break;
            case "CronJob" when spec is not null:
                spec["concurrencyPolicy"] ??= "Allow";
                spec["suspend"] ??= false;
                spec["successfulJobsHistoryLimit"] ??= 3;
                spec["failedJobsHistoryLimit"] ??= 1;
                if (spec["jobTemplate"] is JsonObject jobTemplate)
                {
                    jobTemplate["metadata"] ??= new JsonObject { ["creationTimestamp"] = null };
                    if (jobTemplate["spec"] is JsonObject jobSpec)
                    {
                        JobSpec(jobSpec);
                    }
                }

                break;
            case "Secret":
                obj["type"] ??= "Opaque";
                break;
            case "Namespace":
                var nsSpec = spec ?? new JsonObject();
                obj["spec"] = nsSpec;
                nsSpec["finalizers"] ??= new JsonArray("kubernetes");
                obj["status"] ??= new JsonObject { ["phase"] = "Active" };
                var labels = obj["metadata"]!["labels"] as JsonObject ?? new JsonObject();
                obj["metadata"]!["labels"] = labels;
                labels["kubernetes.io/metadata.name"] = obj["metadata"]!["name"]!.DeepClone();
                break;
            case "RoleBinding" or "ClusterRoleBinding":
                foreach (var subject in (obj["subjects"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    subject["apiGroup"] ??= subject["kind"]?.GetValue<string>() == "ServiceAccount" ? string.Empty : "rbac.authorization.k8s.io";
                    if (subject["apiGroup"]!.GetValue<string>().Length == 0)
                    {
                        subject.Remove("apiGroup");
                    }
                }

                break;
        }
    }

    /// <summary>
    /// The Job strategy's generated selector: once a Job has its uid, its selector and template carry the controller-uid
    /// and job-name labels (k8s.io/kubernetes pkg/registry/batch/job/strategy.go generateSelector).
    /// </summary>
    public static void JobSelector(JsonObject job)
    {
        var uid = job["metadata"]?["uid"]?.GetValue<string>();
        var name = job["metadata"]?["name"]?.GetValue<string>();
        if (uid is null || name is null || job["spec"] is not JsonObject spec || spec["manualSelector"]?.GetValue<bool>() == true)
        {
            return;
        }

        spec["selector"] ??= new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = uid } };
        var template = spec["template"] as JsonObject ?? new JsonObject();
        spec["template"] = template;
        var metadata = template["metadata"] as JsonObject ?? new JsonObject();
        template["metadata"] = metadata;
        var labels = metadata["labels"] as JsonObject ?? new JsonObject();
        metadata["labels"] = labels;
        labels["batch.kubernetes.io/controller-uid"] ??= uid;
        labels["batch.kubernetes.io/job-name"] ??= name;
        labels["controller-uid"] ??= uid;
        labels["job-name"] ??= name;
    }

    private static void JobSpec(JsonObject spec)
    {
        if (spec["completions"] is null && spec["parallelism"] is null)
        {
            spec["completions"] = 1;
            spec["parallelism"] = 1;
        }

        spec["parallelism"] ??= 1;
        spec["backoffLimit"] ??= 6;
        spec["completionMode"] ??= "NonIndexed";
        spec["suspend"] ??= false;
        spec["podReplacementPolicy"] ??= "TerminatingOrFailed";
        Template(spec);
    }

    private static void Template(JsonObject spec)
    {
        if (spec["template"] is not JsonObject template)
        {
            return;
        }

        var metadata = template["metadata"] as JsonObject ?? new JsonObject();
        template["metadata"] = metadata;
        if (!metadata.ContainsKey("creationTimestamp"))
        {
            metadata["creationTimestamp"] = null;
        }

        if (template["spec"] is JsonObject podSpec)
        {
            PodSpec(podSpec);
        }
    }

    private static void PodSpec(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["securityContext"] ??= new JsonObject();
        spec["schedulerName"] ??= "default-scheduler";
        foreach (var list in new[] { "initContainers", "containers" })
        {
            foreach (var container in (spec[list] as JsonArray ?? []).OfType<JsonObject>())
            {
                Container(container);
            }
        }

        foreach (var container in (spec["ephemeralContainers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            container["terminationMessagePath"] ??= "/dev/termination-log";
            container["terminationMessagePolicy"] ??= "File";
            container["imagePullPolicy"] ??= PullPolicy(container["image"]?.GetValue<string>());
        }
    }

    private static void Container(JsonObject container)
    {
        container["imagePullPolicy"] ??= PullPolicy(container["image"]?.GetValue<string>());
        container["resources"] ??= new JsonObject();
        container["terminationMessagePath"] ??= "/dev/termination-log";
        container["terminationMessagePolicy"] ??= "File";
        foreach (var port in (container["ports"] as JsonArray ?? []).OfType<JsonObject>())
        {
            port["protocol"] ??= "TCP";
        }
    }

    /// <summary>SetDefaults_Container: Always for ":latest" or no tag, otherwise IfNotPresent (a digest counts as a tag).</summary>
    public static string PullPolicy(string? image)
    {
        if (string.IsNullOrEmpty(image))
        {
            return "IfNotPresent";
        }

        if (image.Contains('@', StringComparison.Ordinal))
        {
            return "IfNotPresent";
        }

        var lastSlash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', lastSlash + 1);
        var tag = colon < 0 ? null : image[(colon + 1)..];
        return tag is null or "latest" ? "Always" : "IfNotPresent";
    }
}
