using ChatOpsPull.Configuration;
using ChatOpsPull.Core.Digest;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Registry;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Digest;

/// <summary>A pull secret whose credentials the registry refuses (checked as kubelet would use them).</summary>
/// <param name="Secrets">The secrets kubelet would try, "ns/name".</param>
public sealed record PullSecretRefusal(string Namespace, IReadOnlyList<string> Secrets, string Image, PullCause Cause, string Summary);

/// <summary>Docker Hub's pull allowance as the registry reported it during the scan.</summary>
public sealed record DockerHubHeadroom(int Limit, int Remaining, TimeSpan Window, string? Source);

/// <summary>What reading the running workloads (and checking their pull secrets) found.</summary>
/// <param name="Notes">What could not be read or checked, in sentences (RBAC, timeouts).</param>
public sealed record ClusterScanResult(
    int Pods,
    WorkloadImageReport Workloads,
    IReadOnlyList<CredentialExpiry> Credentials,
    IReadOnlyList<PullSecretRefusal> Refusals,
    DockerHubHeadroom? DockerHub,
    IReadOnlyList<string> Notes)
{
    public static ClusterScanResult None { get; } = new(0, WorkloadImageReport.Empty, [], [], null, []);
}

/// <summary>
/// Reads the pods of the bot's cluster (list, paged) for the tag and pull-policy checks, reads their pull secrets once
/// each to find credentials with a readable expiry (ECR's 12-hour tokens, JWTs), and checks a bounded number of images
/// with those secrets the way kubelet would (<see cref="RegistryChecker.CheckWithPullSecretsAsync"/>: HEAD requests,
/// which Docker Hub does not count against the pull limit), noting refusals and Docker Hub's headroom.
/// Secret contents never leave this class: only names, registry hosts and expiry times do.
/// </summary>
public sealed class ClusterImageScan(
    KubernetesConnection connection,
    IServiceProvider services,
    PullSecretResolver resolver,
    IOptions<BotOptions> bot,
    IOptions<KubernetesOptions> kubernetes,
    IOptionsMonitor<DigestOptions> options,
    TimeProvider time)
{
    /// <summary>True when this digest's cluster filter covers the cluster the bot is connected to.</summary>
    public bool Covers(DigestSchedule schedule) => connection.Client is not null && Glob.IsMatch(schedule.Cluster, bot.Value.Cluster);

    public async Task<ClusterScanResult> ScanAsync(DigestSchedule schedule, CancellationToken cancellationToken)
    {
        if (connection.Client is not { } client || !Covers(schedule))
        {
            return ClusterScanResult.None;
        }

        var settings = options.CurrentValue;
        using var deadline = new CancellationTokenSource(settings.ClusterScanTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var notes = new List<string>();
        var pods = new List<V1Pod>();
        try
        {
            await ListPodsAsync(client, schedule.Namespace, pods, linked.Token).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            notes.Add(error.IsForbidden ? "The bot may not list pods, so workloads were not checked (grant list on pods)." : $"Listing pods failed: {error.Message}.");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            notes.Add($"Reading the cluster took longer than {settings.ClusterScanTimeout.TotalSeconds:0} s; workloads were checked only in part.");
        }

        pods = pods.Where(p => Glob.IsMatch(schedule.Namespace, p.Metadata.NamespaceProperty) && p.Status?.Phase is not ("Succeeded" or "Failed")).ToList();
        var uses = pods.SelectMany(ContainerUses).ToList();
        var workloads = WorkloadImageFindings.Find(uses);

        var credentials = new List<CredentialExpiry>();
        var refusals = new List<PullSecretRefusal>();
        DockerHubHeadroom? dockerHub = null;
        try
        {
            var secrets = await ReadSecretsAsync(client, pods, notes, linked.Token).ConfigureAwait(false);
            var targets = CheckTargets(pods, secrets);
            foreach (var target in targets)
            {
                var resolution = resolver.Resolve(target.Image, target.Secrets);
                foreach (var match in resolution.Matches)
                {
                    if (match.Credentials?.Lifetime is { ExpiresAt: { } expires } lifetime)
                    {
                        credentials.Add(new CredentialExpiry(match.SecretName, match.AuthsKey, lifetime.Kind, expires));
                    }
                }
            }

            var checker = settings.MaxRegistryChecks > 0 ? services.GetService<RegistryChecker>() : null;
            if (checker is not null)
            {
                var chosen = targets
                    .Where(t => t.Secrets.Count > 0 || t.Image.IsDockerHub)
                    .OrderBy(t => t.Secrets.Count > 0 ? 0 : 1)
                    .DistinctBy(t => (t.Image.Name, string.Join(',', t.Secrets.Select(SecretName))))
                    .Take(settings.MaxRegistryChecks)
                    .ToList();
                foreach (var target in chosen)
                {
                    var check = await checker.CheckWithPullSecretsAsync(target.Image, target.Secrets, null, linked.Token).ConfigureAwait(false);
                    if (check.Resolution.Matches.Count > 0 && check.Outcome.Cause is PullCause.AuthFailed or PullCause.AccessDenied)
                    {
                        refusals.Add(new PullSecretRefusal(target.Namespace, target.Secrets.Select(SecretName).ToList(), target.Image.FamiliarString, check.Outcome.Cause.Value, check.Outcome.Summary));
                    }

                    foreach (var attempt in check.Attempts.Where(a => a.Image.IsDockerHub && a.RateLimit is not null))
                    {
                        var seen = attempt.RateLimit!;
                        if (dockerHub is null || seen.Remaining < dockerHub.Remaining)
                        {
                            dockerHub = new DockerHubHeadroom(seen.Limit, seen.Remaining, seen.Window, seen.Source);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            notes.Add($"Checking pull secrets took longer than {settings.ClusterScanTimeout.TotalSeconds:0} s; the credential findings are partial.");
        }

        var soon = CredentialExpiry.Soon(credentials, time.GetUtcNow(), settings.CredentialExpiryWarning);
        return new ClusterScanResult(pods.Count, workloads, soon, refusals, dockerHub, notes);
    }

    private async Task ListPodsAsync(IKubernetes client, string namespaceGlob, List<V1Pod> pods, CancellationToken cancellationToken)
    {
        var exact = namespaceGlob.Contains('*', StringComparison.Ordinal) || namespaceGlob.Contains('?', StringComparison.Ordinal) ? null : namespaceGlob;
        string? next = null;
        do
        {
            var page = exact is null
                ? await client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: kubernetes.Value.ListPageSize, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await client.CoreV1.ListNamespacedPodAsync(exact, continueParameter: next, limit: kubernetes.Value.ListPageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
            pods.AddRange(page.Items);
            next = page.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));
    }

    /// <summary>Every secret named in a pod's imagePullSecrets, read once (kubelet uses only the pod's list, which admission fills from the ServiceAccount).</summary>
    private static async Task<Dictionary<(string Namespace, string Name), V1Secret>> ReadSecretsAsync(IKubernetes client, List<V1Pod> pods, List<string> notes, CancellationToken cancellationToken)
    {
        var found = new Dictionary<(string, string), V1Secret>();
        var forbidden = new SortedSet<string>(StringComparer.Ordinal);
        var names = pods
            .SelectMany(p => (p.Spec.ImagePullSecrets ?? []).Where(r => !string.IsNullOrEmpty(r.Name)).Select(r => (p.Metadata.NamespaceProperty, r.Name)))
            .Distinct()
            .OrderBy(n => n.NamespaceProperty, StringComparer.Ordinal).ThenBy(n => n.Name, StringComparer.Ordinal);
        foreach (var (ns, name) in names)
        {
            if (forbidden.Contains(ns))
            {
                continue;
            }

            try
            {
                found[(ns, name)] = await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e)
            {
                var error = ApiError.From(e);
                if (error.IsForbidden)
                {
                    forbidden.Add(ns);
                }
                else if (!error.IsNotFound)
                {
                    notes.Add($"Reading secret {ns}/{name} failed: {error.Message}.");
                }
            }
        }

        if (forbidden.Count > 0)
        {
            notes.Add($"The bot may not read secrets in {string.Join(", ", forbidden)}, so credentials there were not checked (grant get on secrets).");
        }

        return found;
    }

    private sealed record CheckTarget(string Namespace, ImageReference Image, IReadOnlyList<V1Secret> Secrets);

    /// <summary>Distinct (namespace, image, pull secrets) the pods use, images that parse only.</summary>
    private static List<CheckTarget> CheckTargets(List<V1Pod> pods, Dictionary<(string Namespace, string Name), V1Secret> secrets)
    {
        var targets = new Dictionary<string, CheckTarget>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var ns = pod.Metadata.NamespaceProperty;
            var podSecrets = (pod.Spec.ImagePullSecrets ?? [])
                .Select(r => secrets.TryGetValue((ns, r.Name), out var s) ? s : null)
                .OfType<V1Secret>()
                .ToList();
            foreach (var container in (pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers ?? []))
            {
                if (container.Image is null || !ImageReference.TryParse(container.Image, out var image, out _))
                {
                    continue;
                }

                var key = $"{ns}|{image}|{string.Join(',', podSecrets.Select(SecretName))}";
                targets.TryAdd(key, new CheckTarget(ns, image, podSecrets));
            }
        }

        return targets.Values.OrderBy(t => t.Namespace, StringComparer.Ordinal).ThenBy(t => t.Image.ToString(), StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<ContainerImageUse> ContainerUses(V1Pod pod)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var workload = WorkloadOf(pod);
        foreach (var container in (pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers ?? []))
        {
            if (!string.IsNullOrEmpty(container.Image))
            {
                yield return new ContainerImageUse(ns, workload, container.Name, container.Image, container.ImagePullPolicy);
            }
        }
    }

    /// <summary>"deployment/api" for a pod of a Deployment's ReplicaSet, "kind/name" for other controllers, "pod/name" for bare pods (<see cref="PodWorkload.Of"/>).</summary>
    public static string WorkloadOf(V1Pod pod)
    {
        var (kind, name) = PodWorkload.Of(pod);
        return kind.ToLowerInvariant() + "/" + name;
    }

    private static string SecretName(V1Secret secret) => $"{secret.Metadata?.NamespaceProperty}/{secret.Metadata?.Name}";
}
