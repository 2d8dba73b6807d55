using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Simulation.Registry;

namespace ChatOpsPull.Simulation.Kubelet;

/// <summary>
/// The kubelet and containerd of the simulated cluster's one node, for the pods of the namespaces it is given: it pulls
/// each new pod's images from the <see cref="InMemoryRegistry"/> with the pod's pull secrets. A pod that can pull becomes
/// Running and Ready (the workload controllers carry the rollout on); one that cannot gets what a kubelet 1.33 with
/// containerd writes: the container waiting in ErrImagePull with the runtime's error, then ImagePullBackOff
/// ("Back-off pulling image …") while it waits 10 s, 20 s, … up to 300 s per pod and image before it pulls again, and the
/// events Pulling, Failed, BackOff (InspectFailed and InvalidImageName for a name that does not parse).
/// </summary>
public sealed class SimulatedKubelet : IAsyncDisposable
{
    public const string NodeName = "simulated-node-1";
    private static readonly TimeSpan FirstBackOff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxBackOff = TimeSpan.FromSeconds(300);
    private static readonly ResourceType Pods = ResourceType.Of("pods");
    private static readonly ResourceType Events = ResourceType.Of("events");

    private readonly FakeKubernetesApi _api;
    private readonly InMemoryRegistry _registry;
    private readonly IReadOnlySet<string> _namespaces;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, BackOff> _backOffs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private sealed record BackOff(DateTimeOffset RetryAt, TimeSpan Delay, string Error);

    public SimulatedKubelet(FakeKubernetesApi api, InMemoryRegistry registry, IEnumerable<string> namespaces, TimeProvider? time = null, TimeSpan? syncPeriod = null)
    {
        _api = api;
        _registry = registry;
        _namespaces = namespaces.ToHashSet(StringComparer.Ordinal);
        _time = time ?? TimeProvider.System;
        var period = syncPeriod ?? TimeSpan.FromMilliseconds(250);
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(period, _time);
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                foreach (var ns in _namespaces)
                {
                    Sync(ns);
                }
            }
        });
    }

    /// <summary>One pass over the namespace's pods, as the kubelet's sync loop does.</summary>
    public void Sync(string ns)
    {
        foreach (var pod in _api.Store.List(Pods, ns))
        {
            if (pod["metadata"]?["deletionTimestamp"] is not null || WorkloadControllers.IsReady(pod))
            {
                continue;
            }

            SyncPod(ns, pod);
        }
    }

    private void SyncPod(string ns, JsonObject pod)
    {
        var name = ObjectStore.Name(pod);
        var uid = ObjectStore.Uid(pod);
        var now = _time.GetUtcNow();
        var allPulled = true;
        foreach (var container in (pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var containerName = container["name"]?.GetValue<string>() ?? string.Empty;
            var image = container["image"]?.GetValue<string>() ?? string.Empty;
            var waiting = Waiting(pod, containerName);
            var key = $"{uid}/{image}";
            if (!TryParse(image, out var host, out var repository, out var reference))
            {
                allPulled = false;
                if (waiting != "InvalidImageName")
                {
                    var message = $"Failed to apply default image tag \"{image}\": couldn't parse image name \"{image}\": invalid reference format{RepositoryProblem(image)}";
                    Event(pod, containerName, "Warning", "InspectFailed", message, now);
                    Event(pod, containerName, "Warning", "Failed", "Error: InvalidImageName", now);
                    _api.SetContainerWaiting(ns, name, containerName, "InvalidImageName", message);
                }

                continue;
            }

            if (_backOffs.TryGetValue(key, out var backOff) && now < backOff.RetryAt)
            {
                allPulled = false;
                if (waiting != "ImagePullBackOff")
                {
                    var message = $"Back-off pulling image \"{image}\": ErrImagePull: {backOff.Error}";
                    Event(pod, containerName, "Normal", "BackOff", $"Back-off pulling image \"{image}\"", now);
                    Event(pod, containerName, "Warning", "Failed", "Error: ImagePullBackOff", now);
                    _api.SetContainerWaiting(ns, name, containerName, "ImagePullBackOff", message);
                }

                continue;
            }

            if (waiting == "ErrImagePull")
            {
                // Reported on the last pass; the back-off starts on this one.
                allPulled = false;
                continue;
            }

            Event(pod, containerName, "Normal", "Pulling", $"Pulling image \"{image}\"", now);
            var result = host == _registry.Host ? _registry.Pull(repository, reference, Credentials(ns, pod, host)) : SimulatedPull.NotFound;
            if (result == SimulatedPull.Pulled)
            {
                _backOffs.TryRemove(key, out _);
                Event(pod, containerName, "Normal", "Pulled", $"Successfully pulled image \"{image}\" in 112ms (112ms including waiting). Image size: 3623807 bytes.", now);
                Event(pod, containerName, "Normal", "Created", $"Created container: {containerName}", now);
                Event(pod, containerName, "Normal", "Started", $"Started container {containerName}", now);
                continue;
            }

            allPulled = false;
            var error = RuntimeError(image, host, repository, reference, result);
            var delay = backOff is null ? FirstBackOff : TimeSpan.FromTicks(Math.Min(backOff.Delay.Ticks * 2, MaxBackOff.Ticks));
            _backOffs[key] = new BackOff(now + delay, delay, error);
            Event(pod, containerName, "Warning", "Failed", $"Failed to pull image \"{image}\": {error}", now);
            Event(pod, containerName, "Warning", "Failed", "Error: ErrImagePull", now);
            _api.SetContainerWaiting(ns, name, containerName, "ErrImagePull", error);
        }

        if (allPulled)
        {
            // Every image is on the node: the containers start and pass readiness; the controllers move the rollout on.
            _api.Store.WithLock(() =>
            {
                if (_api.Store.Get(Pods, ns, name) is { } current && ObjectStore.Uid(current) == uid && !WorkloadControllers.IsReady(current))
                {
                    var updated = (JsonObject)current.DeepClone();
                    updated["status"] = WorkloadControllers.ReadyStatus(current, now);
                    _api.Store.Replace(Pods, ns, name, updated, "status", manager: "kubelet");
                }

                _api.Controllers.RefreshStatuses(ns);
            });
        }
    }

    /// <summary>containerd's error for a failed pull, as the CRI returns it to the kubelet.</summary>
    private static string RuntimeError(string image, string host, string repository, string reference, SimulatedPull result)
    {
        var resolve = $"failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\"";
        return result switch
        {
            SimulatedPull.NotFound => $"rpc error: code = NotFound desc = {resolve}: {host}/{repository}:{reference}: not found",
            SimulatedPull.Unauthorized => $"rpc error: code = Unknown desc = {resolve}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
            _ => $"rpc error: code = Unknown desc = {resolve}",
        };
    }

    private static string RepositoryProblem(string image)
    {
        var path = image.Split('/', 2) is [_, var rest] ? rest.Split(':', '@')[0] : image.Split(':', '@')[0];
        return path.Any(char.IsUpper) ? $": repository name ({path}) must be lowercase" : string.Empty;
    }

    /// <summary>host, repository and tag or digest of a reference with a registry host (what the simulation's images name).</summary>
    private static bool TryParse(string image, out string host, out string repository, out string reference)
    {
        host = repository = reference = string.Empty;
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        host = image[..slash];
        var rest = image[(slash + 1)..];
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            (repository, reference) = (rest[..at], rest[(at + 1)..]);
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            (repository, reference) = colon > 0 ? (rest[..colon], rest[(colon + 1)..]) : (rest, "latest");
        }

        return InMemoryRegistry.IsRepositoryName(repository) && reference.Length > 0;
    }

    /// <summary>The user names and passwords the pod's image pull secrets (and its service account's) hold for the host.</summary>
    private List<(string User, string Password)> Credentials(string ns, JsonObject pod, string host)
    {
        var names = (pod["spec"]?["imagePullSecrets"] as JsonArray ?? []).Select(s => s?["name"]?.GetValue<string>()).OfType<string>().ToList();
        var account = pod["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "default";
        if (_api.Store.Get(ResourceType.Of("serviceaccounts"), ns, account) is { } serviceAccount)
        {
            names.AddRange((serviceAccount["imagePullSecrets"] as JsonArray ?? []).Select(s => s?["name"]?.GetValue<string>()).OfType<string>());
        }

        var credentials = new List<(string, string)>();
        foreach (var secretName in names.Distinct(StringComparer.Ordinal))
        {
            if (_api.Store.Get(ResourceType.Of("secrets"), ns, secretName)?["data"]?[".dockerconfigjson"]?.GetValue<string>() is not { } data)
            {
                continue;
            }

            try
            {
                var auth = JsonNode.Parse(Convert.FromBase64String(data))?["auths"]?[host]?["auth"]?.GetValue<string>();
                if (auth is not null && Encoding.UTF8.GetString(Convert.FromBase64String(auth)).Split(':', 2) is [var user, var password])
                {
                    credentials.Add((user, password));
                }
            }
            catch (FormatException)
            {
                // Not base64 or not JSON: the kubelet skips a secret it cannot read.
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        return credentials;
    }

    private static string? Waiting(JsonObject pod, string container) =>
        (pod["status"]?["containerStatuses"] as JsonArray ?? []).OfType<JsonObject>()
            .FirstOrDefault(s => s["name"]?.GetValue<string>() == container)?["state"]?["waiting"]?["reason"]?.GetValue<string>();

    /// <summary>An event as the kubelet records it (a repeat of the same one counts up instead).</summary>
    private void Event(JsonObject pod, string container, string type, string reason, string message, DateTimeOffset now)
    {
        var ns = ObjectStore.Namespace(pod);
        var at = ObjectStore.Timestamp(now);
        var existing = _api.Store.List(Events, ns).FirstOrDefault(e =>
            e["involvedObject"]?["uid"]?.GetValue<string>() == ObjectStore.Uid(pod)
            && e["reason"]?.GetValue<string>() == reason
            && e["message"]?.GetValue<string>() == message);
        if (existing is not null)
        {
            var updated = (JsonObject)existing.DeepClone();
            updated["count"] = (ObjectStore.Number(existing["count"]) ?? 1) + 1;
            updated["lastTimestamp"] = at;
            _api.Store.Replace(Events, ns, ObjectStore.Name(existing), updated, manager: "kubelet");
            return;
        }

        _api.Store.Create(Events, ns, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = $"{ObjectStore.Name(pod)}.{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..16]}", ["namespace"] = ns },
            ["involvedObject"] = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["name"] = ObjectStore.Name(pod),
                ["namespace"] = ns,
                ["uid"] = ObjectStore.Uid(pod),
                ["fieldPath"] = $"spec.containers{{{container}}}",
            },
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = new JsonObject { ["component"] = "kubelet", ["host"] = NodeName },
            ["firstTimestamp"] = at,
            ["lastTimestamp"] = at,
            ["count"] = 1,
            ["type"] = type,
            ["eventTime"] = null,
            ["reportingComponent"] = "kubelet",
            ["reportingInstance"] = NodeName,
        }, manager: "kubelet");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
