using System.Globalization;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// Server-side printing: the meta.k8s.io Table the real server answers when a client (kubectl get) asks for
/// "application/json;as=Table;v=v1;g=meta.k8s.io". Columns and cells follow k8s.io/kubernetes
/// pkg/printers/internalversion/printers.go (printPod, printDeployment, printReplicaSet, printStatefulSet,
/// printDaemonSet, printJob, printCronJob, printNode, printEvent, printNamespace, printSecret, printServiceAccount,
/// printControllerRevision, printLease, printRoleBinding), the default convertor (Name, Created At) for the rest, and
/// a CustomResourceDefinition's additionalPrinterColumns for custom resources.
/// </summary>
public static class Tables
{
    public const string ContentType = "application/json;as=Table;v=v1;g=meta.k8s.io";

    /// <summary>"v1" or "v1beta1" when the Accept header asks for a Table first, otherwise null.</summary>
    public static string? RequestedVersion(string? accept)
    {
        foreach (var part in (accept ?? string.Empty).Split(','))
        {
            var p = part.Replace(" ", string.Empty, StringComparison.Ordinal);
            if (p.Contains("as=Table", StringComparison.Ordinal) && p.Contains("g=meta.k8s.io", StringComparison.Ordinal))
            {
                return p.Contains("v=v1beta1", StringComparison.Ordinal) ? "v1beta1" : "v1";
            }

            if (p.StartsWith("application/json", StringComparison.Ordinal) || p == "*/*")
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>A Table of <paramref name="items"/>; <paramref name="includeObject"/> is None, Metadata (default) or Object.</summary>
    public static JsonObject Build(ResourceType type, IEnumerable<JsonObject> items, string version, string? includeObject, DateTimeOffset now, JsonObject listMetadata, bool withColumns = true)
    {
        var (columns, cells) = Printer(type, now);
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var row = new JsonObject { ["cells"] = new JsonArray([.. cells(item)]) };
            switch (includeObject)
            {
                case "None":
                    break;
                case "Object":
                    row["object"] = item.DeepClone();
                    break;
                default:
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = $"meta.k8s.io/{version}",
                        ["metadata"] = item["metadata"]?.DeepClone(),
                    };
                    break;
            }

            rows.Add(row);
        }

        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = $"meta.k8s.io/{version}",
            ["metadata"] = listMetadata,
        };
        if (withColumns)
        {
            table["columnDefinitions"] = new JsonArray([.. columns.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["format"] = c.Format,
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            })]);
        }

        table["rows"] = rows;
        return table;
    }

    private sealed record Column(string Name, string Type, string Format, string Description, int Priority = 0);

    private static Column NameColumn => new("Name", "string", "name", "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names");

    private static Column AgeColumn => new("Age", "string", string.Empty, "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata");

    private static (IReadOnlyList<Column> Columns, Func<JsonObject, IEnumerable<JsonNode?>> Cells) Printer(ResourceType type, DateTimeOffset now)
    {
        string Age(JsonObject o) => Since(o["metadata"]?["creationTimestamp"]?.GetValue<string>(), now);
        if (type.Custom)
        {
            return CustomPrinter(type, now);
        }

        switch (type.Kind)
        {
            case "Pod":
                return (
                [
                    NameColumn,
                    new("Ready", "string", string.Empty, "The aggregate readiness state of this pod for accepting traffic."),
                    new("Status", "string", string.Empty, "The aggregate status of the containers in this pod."),
                    new("Restarts", "string", string.Empty, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                    AgeColumn,
                    new("IP", "string", string.Empty, "podIP is the IP address allocated to the pod.", 1),
                    new("Node", "string", string.Empty, "NodeName indicates in which node this pod is scheduled.", 1),
                    new("Nominated Node", "string", string.Empty, "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
                    new("Readiness Gates", "string", string.Empty, "If specified, all readiness gates will be evaluated for pod readiness.", 1),
                ], p => PodCells(p, now));
            case "Deployment":
                return (
                [
                    NameColumn,
                    new("Ready", "string", string.Empty, "Number of the pod with ready state"),
                    new("Up-to-date", "integer", string.Empty, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
                    new("Available", "integer", string.Empty, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
                    AgeColumn,
                    new("Containers", "string", string.Empty, "Names of each container in the template.", 1),
                    new("Images", "string", string.Empty, "Images referenced by each container in the template.", 1),
                    new("Selector", "string", string.Empty, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1),
                ], d => [Name(d), $"{Int(d["status"]?["readyReplicas"])}/{Int(d["spec"]?["replicas"], 1)}", Int(d["status"]?["updatedReplicas"]), Int(d["status"]?["availableReplicas"]), Age(d), Containers(d["spec"]?["template"]), Images(d["spec"]?["template"]), Selector(d["spec"]?["selector"])]);
            case "ReplicaSet":
                return (
                [
                    NameColumn,
                    new("Desired", "integer", string.Empty, "Replicas is the number of desired pods."),
                    new("Current", "integer", string.Empty, "Replicas is the most recently observed number of replicas."),
                    new("Ready", "integer", string.Empty, "The number of ready replicas for this replica set."),
                    AgeColumn,
                    new("Containers", "string", string.Empty, "Names of each container in the template.", 1),
                    new("Images", "string", string.Empty, "Images referenced by each container in the template.", 1),
                    new("Selector", "string", string.Empty, "Selector is a label query over pods that should match the replica count.", 1),
                ], r => [Name(r), Int(r["spec"]?["replicas"], 1), Int(r["status"]?["replicas"]), Int(r["status"]?["readyReplicas"]), Age(r), Containers(r["spec"]?["template"]), Images(r["spec"]?["template"]), Selector(r["spec"]?["selector"])]);
            case "StatefulSet":
                return (
                [
                    NameColumn,
                    new("Ready", "string", string.Empty, "Number of the pod with ready state"),
                    AgeColumn,
                    new("Containers", "string", string.Empty, "Names of each container in the template.", 1),
                    new("Images", "string", string.Empty, "Images referenced by each container in the template.", 1),
                ], s => [Name(s), $"{Int(s["status"]?["readyReplicas"])}/{Int(s["spec"]?["replicas"], 1)}", Age(s), Containers(s["spec"]?["template"]), Images(s["spec"]?["template"])]);
            case "DaemonSet":
                return (
                [
                    NameColumn,
                    new("Desired", "integer", string.Empty, "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod)."),
                    new("Current", "integer", string.Empty, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
                    new("Ready", "integer", string.Empty, "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition."),
                    new("Up-to-date", "integer", string.Empty, "The total number of nodes that are running updated daemon pod"),
                    new("Available", "integer", string.Empty, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
                    new("Node Selector", "string", string.Empty, "NodeSelector is a selector which must be true for the pod to fit on a node."),
                    AgeColumn,
                    new("Containers", "string", string.Empty, "Names of each container in the template.", 1),
                    new("Images", "string", string.Empty, "Images referenced by each container in the template.", 1),
                    new("Selector", "string", string.Empty, "A label query over pods that are managed by the daemon set.", 1),
                ], d => [Name(d), Int(d["status"]?["desiredNumberScheduled"]), Int(d["status"]?["currentNumberScheduled"]), Int(d["status"]?["numberReady"]), Int(d["status"]?["updatedNumberScheduled"]), Int(d["status"]?["numberAvailable"]), Labels(d["spec"]?["template"]?["spec"]?["nodeSelector"]), Age(d), Containers(d["spec"]?["template"]), Images(d["spec"]?["template"]), Selector(d["spec"]?["selector"])]);
            case "Job":
                return (
                [
                    NameColumn,
                    new("Status", "string", string.Empty, "Status of the job."),
                    new("Completions", "string", string.Empty, "The completion status of the job."),
                    new("Duration", "string", string.Empty, "Time required to complete the job."),
                    AgeColumn,
                    new("Containers", "string", string.Empty, "Names of each container in the template.", 1),
                    new("Images", "string", string.Empty, "Images referenced by each container in the template.", 1),
                    new("Selector", "string", string.Empty, "A label query over pods that should match the pod count.", 1),
                ], j => [Name(j), JobStatus(j), JobCompletions(j), JobDuration(j, now), Age(j), Containers(j["spec"]?["template"]), Images(j["spec"]?["template"]), Selector(j["spec"]?["selector"])]);
            case "CronJob":
                return (
                [
                    NameColumn,
                    new("Schedule", "string", string.Empty, "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
                    new("Timezone", "string", string.Empty, "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
                    new("Suspend", "boolean", string.Empty, "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions."),
                    new("Active", "integer", string.Empty, "A list of pointers to currently running jobs."),
                    new("Last Schedule", "string", string.Empty, "Information when was the last time the job was successfully scheduled."),
                    AgeColumn,
                    new("Containers", "string", string.Empty, "Names of each container in the template.", 1),
                    new("Images", "string", string.Empty, "Images referenced by each container in the template.", 1),
                    new("Selector", "string", string.Empty, "A label query over pods that should match the pod count.", 1),
                ], c => [
                    Name(c),
                    c["spec"]?["schedule"]?.GetValue<string>() ?? string.Empty,
                    c["spec"]?["timeZone"]?.GetValue<string>() ?? "<none>",
                    c["spec"]?["suspend"] is JsonValue suspend ? (suspend.GetValue<bool>() ? "True" : "False") : "<unset>",
                    (c["status"]?["active"] as JsonArray)?.Count ?? 0,
                    c["status"]?["lastScheduleTime"]?.GetValue<string>() is { } last ? Since(last, now) : "<none>",
                    Age(c),
                    Containers(c["spec"]?["jobTemplate"]?["spec"]?["template"]),
                    Images(c["spec"]?["jobTemplate"]?["spec"]?["template"]),
                    Selector(c["spec"]?["jobTemplate"]?["spec"]?["selector"]),
                ]);
            case "Namespace":
                return ([NameColumn, new("Status", "string", string.Empty, "The status of the namespace"), AgeColumn],
                    n => [Name(n), n["status"]?["phase"]?.GetValue<string>() ?? string.Empty, Age(n)]);
            case "Node":
                return (
                [
                    NameColumn,
                    new("Status", "string", string.Empty, "The status of the node"),
                    new("Roles", "string", string.Empty, "The roles of the node"),
                    AgeColumn,
                    new("Version", "string", string.Empty, "Kubelet Version reported by the node."),
                ], n => [Name(n), NodeStatus(n), NodeRoles(n), Age(n), n["status"]?["nodeInfo"]?["kubeletVersion"]?.GetValue<string>() ?? string.Empty]);
            case "Event":
                return (
                [
                    new("Last Seen", "string", string.Empty, "The time at which the most recent occurrence of this event was recorded."),
                    new("Type", "string", string.Empty, "Type of this event (Normal, Warning), new types could be added in the future"),
                    new("Reason", "string", string.Empty, "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
                    new("Object", "string", string.Empty, "The object that this event is about."),
                    new("Subobject", "string", string.Empty, "If the reference is to a portion of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].", 1),
                    new("Source", "string", string.Empty, "The component reporting this event. Should be a short machine understandable string.", 1),
                    new("Message", "string", string.Empty, "A human-readable description of the status of this operation."),
                    new("First Seen", "string", string.Empty, "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
                    new("Count", "string", string.Empty, "The number of times this event has occurred.", 1),
                    NameColumn with { Priority = 1 },
                ], e => EventCells(e, now));
            case "Secret":
                return ([NameColumn, new("Type", "string", string.Empty, "Used to facilitate programmatic handling of secret data."), new("Data", "string", string.Empty, "Data contains the secret data."), AgeColumn],
                    s => [Name(s), s["type"]?.GetValue<string>() ?? string.Empty, (s["data"] as JsonObject)?.Count ?? 0, Age(s)]);
            case "ServiceAccount":
                return ([NameColumn, new("Secrets", "string", string.Empty, "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."), AgeColumn],
                    s => [Name(s), (s["secrets"] as JsonArray)?.Count ?? 0, Age(s)]);
            case "ControllerRevision":
                return ([NameColumn, new("Controller", "string", string.Empty, "Controller of the object"), new("Revision", "string", string.Empty, "Revision indicates the revision of the state represented by Data."), AgeColumn],
                    r => [Name(r), ControllerOf(r), Int(r["revision"]), Age(r)]);
            case "Lease":
                return ([NameColumn, new("Holder", "string", string.Empty, "The holder of the lease."), AgeColumn],
                    l => [Name(l), l["spec"]?["holderIdentity"]?.GetValue<string>() ?? string.Empty, Age(l)]);
            case "ValidatingWebhookConfiguration":
                return ([NameColumn, new("Webhooks", "integer", string.Empty, "Webhooks indicates the number of webhooks in the configuration"), AgeColumn],
                    c => [Name(c), (c["webhooks"] as JsonArray)?.Count ?? 0, Age(c)]);
            case "RoleBinding" or "ClusterRoleBinding":
                return (
                [
                    NameColumn,
                    new("Role", "string", string.Empty, "Role refers to the role being bound."),
                    AgeColumn,
                    new("Users", "string", string.Empty, "Users in the binding", 1),
                    new("Groups", "string", string.Empty, "Groups in the binding", 1),
                    new("ServiceAccounts", "string", string.Empty, "ServiceAccounts in the binding", 1),
                ], b => [Name(b), $"{b["roleRef"]?["kind"]?.GetValue<string>()}/{b["roleRef"]?["name"]?.GetValue<string>()}", Age(b), Subjects(b, "User"), Subjects(b, "Group"), Subjects(b, "ServiceAccount")]);
            default:
                return ([NameColumn, new("Created At", "date", string.Empty, "CreationTimestamp is a timestamp representing the server time when this object was created.")],
                    o => [Name(o), o["metadata"]?["creationTimestamp"]?.GetValue<string>() ?? string.Empty]);
        }
    }

    private static (IReadOnlyList<Column>, Func<JsonObject, IEnumerable<JsonNode?>>) CustomPrinter(ResourceType type, DateTimeOffset now)
    {
        var definitions = (type.PrinterColumns ?? []).OfType<JsonObject>().ToList();
        if (definitions.Count == 0)
        {
            return ([NameColumn, AgeColumn], o => [Name(o), Since(o["metadata"]?["creationTimestamp"]?.GetValue<string>(), now)]);
        }

        var columns = new List<Column> { NameColumn };
        columns.AddRange(definitions.Select(d => new Column(
            d["name"]?.GetValue<string>() ?? string.Empty,
            d["type"]?.GetValue<string>() ?? "string",
            d["format"]?.GetValue<string>() ?? string.Empty,
            d["description"]?.GetValue<string>() ?? string.Empty,
            (int)(ObjectStore.Number(d["priority"]) ?? 0))));
        return (columns, o =>
        {
            var cells = new List<JsonNode?> { Name(o) };
            foreach (var d in definitions)
            {
                var value = JsonPathValue(o, d["jsonPath"]?.GetValue<string>() ?? string.Empty);
                cells.Add((d["type"]?.GetValue<string>(), value) switch
                {
                    (_, null) => null,
                    ("date", JsonValue v) when v.TryGetValue<string>(out var at) => Since(at, now),
                    ("integer", JsonValue v) => ObjectStore.Number(v),
                    ("string", JsonValue v) when v.TryGetValue<string>(out var s) => s,
                    ("string", var other) => other.ToJsonString(),
                    (_, var other) => other.DeepClone(),
                });
            }

            return cells;
        });
    }

    /// <summary>The simple JSONPath of printer columns: ".status.replicas", ".spec.template.spec.containers[0].image".</summary>
    private static JsonNode? JsonPathValue(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var raw in path.TrimStart('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var segment = raw;
            int? index = null;
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            if (bracket > 0 && int.TryParse(segment[(bracket + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var i))
            {
                index = i;
                segment = segment[..bracket];
            }

            node = node is JsonObject o ? o[segment] : null;
            if (index is not null)
            {
                node = node is JsonArray a && index < a.Count ? a[index.Value] : null;
            }
        }

        return node;
    }

    private static JsonNode?[] PodCells(JsonObject pod, DateTimeOffset now)
    {
        var spec = pod["spec"] as JsonObject ?? [];
        var status = pod["status"] as JsonObject ?? [];
        var containers = spec["containers"] as JsonArray ?? [];
        var initSpecs = (spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var total = containers.Count + initSpecs.Count(IsSidecar);
        var ready = 0;
        var restarts = 0;
        DateTimeOffset? lastRestart = null;
        var phase = status["phase"]?.GetValue<string>() ?? string.Empty;
        var reason = status["reason"]?.GetValue<string>() is { Length: > 0 } r ? r : phase;
        if ((status["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == "PodScheduled" && c["reason"]?.GetValue<string>() == "SchedulingGated"))
        {
            reason = "SchedulingGated";
        }

        var initializing = false;
        var sidecarRestarts = 0;
        var initStatuses = (status["initContainerStatuses"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        for (var i = 0; i < initStatuses.Count; i++)
        {
            var container = initStatuses[i];
            restarts += (int)(ObjectStore.Number(container["restartCount"]) ?? 0);
            var sidecar = initSpecs.FirstOrDefault(c => c["name"]?.GetValue<string>() == container["name"]?.GetValue<string>()) is { } s && IsSidecar(s);
            if (sidecar)
            {
                sidecarRestarts += (int)(ObjectStore.Number(container["restartCount"]) ?? 0);
            }

            var terminated = container["state"]?["terminated"] as JsonObject;
            var waiting = container["state"]?["waiting"] as JsonObject;
            if (terminated is not null && ObjectStore.Number(terminated["exitCode"]) == 0)
            {
                continue;
            }

            if (sidecar && container["started"]?.GetValue<bool>() == true)
            {
                if (container["ready"]?.GetValue<bool>() == true)
                {
                    ready++;
                }

                continue;
            }

            if (terminated is not null)
            {
                reason = terminated["reason"]?.GetValue<string>() is { Length: > 0 } tr
                    ? "Init:" + tr
                    : ObjectStore.Number(terminated["signal"]) is { } signal and not 0 ? $"Init:Signal:{signal}" : $"Init:ExitCode:{ObjectStore.Number(terminated["exitCode"])}";
            }
            else if (waiting?["reason"]?.GetValue<string>() is { Length: > 0 } wr && wr != "PodInitializing")
            {
                reason = "Init:" + wr;
            }
            else
            {
                reason = $"Init:{i}/{initSpecs.Count}";
            }

            initializing = true;
            break;
        }

        var initialized = (status["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == "Initialized" && c["status"]?.GetValue<string>() == "True");
        if (!initializing || initialized)
        {
            restarts = sidecarRestarts;
            lastRestart = null;
            var hasRunning = false;
            var statuses = (status["containerStatuses"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            for (var i = statuses.Count - 1; i >= 0; i--)
            {
                var container = statuses[i];
                restarts += (int)(ObjectStore.Number(container["restartCount"]) ?? 0);
                if (container["lastState"]?["terminated"]?["finishedAt"]?.GetValue<string>() is { } finished
                    && DateTimeOffset.TryParse(finished, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                    && (lastRestart is null || at > lastRestart))
                {
                    lastRestart = at;
                }

                var waiting = container["state"]?["waiting"] as JsonObject;
                var terminated = container["state"]?["terminated"] as JsonObject;
                if (waiting?["reason"]?.GetValue<string>() is { Length: > 0 } wr)
                {
                    reason = wr;
                }
                else if (terminated?["reason"]?.GetValue<string>() is { Length: > 0 } tr)
                {
                    reason = tr;
                }
                else if (terminated is not null)
                {
                    reason = ObjectStore.Number(terminated["signal"]) is { } signal and not 0 ? $"Signal:{signal}" : $"ExitCode:{ObjectStore.Number(terminated["exitCode"])}";
                }
                else if (container["ready"]?.GetValue<bool>() == true && container["state"]?["running"] is not null)
                {
                    hasRunning = true;
                    ready++;
                }
            }

            if (reason == "Completed" && hasRunning)
            {
                reason = (status["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") ? "Running" : "NotReady";
            }
        }

        if (pod["metadata"]?["deletionTimestamp"] is not null && status["reason"]?.GetValue<string>() == "NodeLost")
        {
            reason = "Unknown";
        }
        else if (pod["metadata"]?["deletionTimestamp"] is not null && phase is not ("Succeeded" or "Failed"))
        {
            reason = "Terminating";
        }

        var restartText = restarts.ToString(CultureInfo.InvariantCulture);
        if (restarts != 0 && lastRestart is not null)
        {
            restartText = $"{restarts} ({HumanDuration(now - lastRestart.Value)} ago)";
        }

        var gates = spec["readinessGates"] as JsonArray ?? [];
        var gatesText = "<none>";
        if (gates.Count > 0)
        {
            var passed = gates.Count(g => (status["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == g?["conditionType"]?.GetValue<string>() && c?["status"]?.GetValue<string>() == "True"));
            gatesText = $"{passed}/{gates.Count}";
        }

        return
        [
            Name(pod),
            $"{ready}/{total}",
            reason,
            restartText,
            Since(pod["metadata"]?["creationTimestamp"]?.GetValue<string>(), now),
            status["podIP"]?.GetValue<string>() ?? "<none>",
            spec["nodeName"]?.GetValue<string>() ?? "<none>",
            status["nominatedNodeName"]?.GetValue<string>() ?? "<none>",
            gatesText,
        ];
    }

    private static bool IsSidecar(JsonObject container) => container["restartPolicy"]?.GetValue<string>() == "Always";

    private static JsonNode?[] EventCells(JsonObject e, DateTimeOffset now)
    {
        var first = e["firstTimestamp"]?.GetValue<string>() ?? e["eventTime"]?.GetValue<string>() ?? e["metadata"]?["creationTimestamp"]?.GetValue<string>();
        var last = e["lastTimestamp"]?.GetValue<string>() ?? e["series"]?["lastObservedTime"]?.GetValue<string>() ?? first;
        var kind = e["involvedObject"]?["kind"]?.GetValue<string>() ?? string.Empty;
        var source = e["source"]?["component"]?.GetValue<string>() ?? e["reportingComponent"]?.GetValue<string>() ?? string.Empty;
        if (e["source"]?["host"]?.GetValue<string>() is { Length: > 0 } host)
        {
            source += ", " + host;
        }

        return
        [
            Since(last, now),
            e["type"]?.GetValue<string>() ?? string.Empty,
            e["reason"]?.GetValue<string>() ?? string.Empty,
            $"{kind.ToLowerInvariant()}/{e["involvedObject"]?["name"]?.GetValue<string>()}",
            e["involvedObject"]?["fieldPath"]?.GetValue<string>() ?? string.Empty,
            source,
            (e["message"]?.GetValue<string>() ?? string.Empty).Trim(),
            Since(first, now),
            (ObjectStore.Number(e["count"]) ?? 1).ToString(CultureInfo.InvariantCulture),
            Name(e),
        ];
    }

    private static string JobStatus(JsonObject job)
    {
        bool Has(string type) => (job["status"]?["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == type && c["status"]?.GetValue<string>() == "True");
        return Has("Complete") ? "Complete"
            : Has("Failed") ? "Failed"
            : job["metadata"]?["deletionTimestamp"] is not null ? "Terminating"
            : Has("Suspended") ? "Suspended"
            : Has("FailureTarget") ? "FailureTarget"
            : Has("SuccessCriteriaMet") ? "SuccessCriteriaMet"
            : "Running";
    }

    private static string JobCompletions(JsonObject job)
    {
        var succeeded = Int(job["status"]?["succeeded"]);
        var completions = ObjectStore.Number(job["spec"]?["completions"]);
        var parallelism = ObjectStore.Number(job["spec"]?["parallelism"]);
        return completions is not null ? $"{succeeded}/{completions}"
            : parallelism is > 1 ? $"{succeeded}/1 of {parallelism}"
            : $"{succeeded}/1";
    }

    private static string JobDuration(JsonObject job, DateTimeOffset now)
    {
        if (!TryTime(job["status"]?["startTime"]?.GetValue<string>(), out var start))
        {
            return string.Empty;
        }

        return TryTime(job["status"]?["completionTime"]?.GetValue<string>(), out var end) ? HumanDuration(end - start) : HumanDuration(now - start);
    }

    private static string NodeStatus(JsonObject node)
    {
        var ready = (node["status"]?["conditions"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready");
        var text = ready?["status"]?.GetValue<string>() switch
        {
            "True" => "Ready",
            "False" => "NotReady",
            _ => "Unknown",
        };
        if (node["spec"]?["unschedulable"]?.GetValue<bool>() == true)
        {
            text += ",SchedulingDisabled";
        }

        return text;
    }

    private static string NodeRoles(JsonObject node)
    {
        var roles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in node["metadata"]?["labels"] as JsonObject ?? [])
        {
            if (key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal) && key.Length > "node-role.kubernetes.io/".Length)
            {
                roles.Add(key["node-role.kubernetes.io/".Length..]);
            }
            else if (key == "kubernetes.io/role" && value?.GetValue<string>() is { Length: > 0 } role)
            {
                roles.Add(role);
            }
        }

        return roles.Count == 0 ? "<none>" : string.Join(',', roles);
    }

    private static string ControllerOf(JsonObject obj)
    {
        var owner = (obj["metadata"]?["ownerReferences"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(r => r["controller"]?.GetValue<bool>() == true);
        if (owner is null)
        {
            return "<none>";
        }

        var apiVersion = owner["apiVersion"]?.GetValue<string>() ?? string.Empty;
        var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : string.Empty;
        var kind = owner["kind"]?.GetValue<string>()?.ToLowerInvariant() ?? string.Empty;
        return group.Length == 0 ? $"{kind}/{owner["name"]?.GetValue<string>()}" : $"{kind}.{group}/{owner["name"]?.GetValue<string>()}";
    }

    private static string Subjects(JsonObject binding, string kind)
    {
        var names = (binding["subjects"] as JsonArray ?? []).OfType<JsonObject>().Where(s => s["kind"]?.GetValue<string>() == kind)
            .Select(s => kind == "ServiceAccount" ? $"{s["namespace"]?.GetValue<string>()}/{s["name"]?.GetValue<string>()}" : s["name"]?.GetValue<string>() ?? string.Empty)
            .ToList();
        return string.Join(", ", names);
    }

    private static string Name(JsonObject obj) => ObjectStore.Name(obj);

    private static long Int(JsonNode? node, long fallback = 0) => ObjectStore.Number(node) ?? fallback;

    private static string Containers(JsonNode? template) =>
        string.Join(',', (template?["spec"]?["containers"] as JsonArray ?? []).Select(c => c?["name"]?.GetValue<string>()));

    private static string Images(JsonNode? template) =>
        string.Join(',', (template?["spec"]?["containers"] as JsonArray ?? []).Select(c => c?["image"]?.GetValue<string>()));

    /// <summary>metav1.FormatLabelSelector: "app=web", "<none>" for an empty selector.</summary>
    private static string Selector(JsonNode? selector)
    {
        var parts = new List<string>();
        foreach (var (key, value) in selector?["matchLabels"] as JsonObject ?? [])
        {
            parts.Add($"{key}={value?.GetValue<string>()}");
        }

        foreach (var expression in (selector?["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = expression["key"]?.GetValue<string>();
            var values = string.Join(',', (expression["values"] as JsonArray ?? []).Select(v => v?.GetValue<string>()));
            parts.Add(expression["operator"]?.GetValue<string>() switch
            {
                "In" => $"{key} in ({values})",
                "NotIn" => $"{key} notin ({values})",
                "Exists" => key!,
                "DoesNotExist" => "!" + key,
                _ => key!,
            });
        }

        return parts.Count == 0 ? "<none>" : string.Join(',', parts);
    }

    private static string Labels(JsonNode? map)
    {
        var parts = (map as JsonObject ?? []).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value?.GetValue<string>()}").ToList();
        return parts.Count == 0 ? "<none>" : string.Join(',', parts);
    }

    private static bool TryTime(string? text, out DateTimeOffset at) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);

    /// <summary>translateTimestampSince: "&lt;unknown&gt;" for no time, otherwise the human duration since it.</summary>
    public static string Since(string? timestamp, DateTimeOffset now) =>
        TryTime(timestamp, out var at) ? HumanDuration(now - at) : "<unknown>";

    /// <summary>k8s.io/apimachinery/pkg/util/duration.HumanDuration.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)Math.Floor(d.TotalSeconds);
        if (seconds < -1)
        {
            return "<invalid>";
        }

        if (seconds < 0)
        {
            return "0s";
        }

        if (seconds < 60 * 2)
        {
            return $"{seconds}s";
        }

        var minutes = (long)d.TotalMinutes;
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? $"{minutes}m" : $"{minutes}m{s}s";
        }

        if (minutes < 60 * 3)
        {
            return $"{minutes}m";
        }

        var hours = (long)d.TotalHours;
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? $"{hours}h" : $"{hours}h{m}m";
        }

        if (hours < 48)
        {
            return $"{hours}h";
        }

        if (hours < 24 * 8)
        {
            var h = hours % 24;
            return h == 0 ? $"{hours / 24}d" : $"{hours / 24}d{h}h";
        }

        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24}d";
        }

        if (hours < 24 * 365 * 8)
        {
            var dy = hours / 24 % 365;
            return dy == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{dy}d";
        }

        return $"{hours / 24 / 365}y";
    }
}
