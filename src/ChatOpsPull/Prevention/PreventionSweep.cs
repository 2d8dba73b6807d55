using System.Collections.Concurrent;
using System.Globalization;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Observability;
using ChatOpsPull.Registry;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Prevention;

/// <summary>What one sweep did.</summary>
/// <param name="Checked">Containers whose images got an answer (pullable or not).</param>
/// <param name="Findings">Findings seen this run (new or still there).</param>
/// <param name="Resolved">Findings gone since the last run.</param>
/// <param name="Unverified">Containers the bot could not verify (node credential providers, unreachable registries, over budget).</param>
/// <param name="Notes">What could not be read or checked, in sentences.</param>
public sealed record SweepResult(int Pods, int Workloads, int Checked, int Findings, int Resolved, int Unverified, IReadOnlyList<string> Notes)
{
    public static SweepResult NotConnected { get; } = new(0, 0, 0, 0, 0, 0, ["The bot has no connection to a cluster; nothing was swept."]);
}

/// <summary>
/// The proactive sweep: lists the running pods (paged), takes each workload's containers once, and checks their images
/// the way a new pod would pull them (<see cref="ImageVerifier"/>), per registry host within Sweep:HostBudget checks at
/// least Sweep:HostInterval apart. What the next pull would fail on — a tag deleted since the pods started, credentials
/// the registry now refuses or that expire within Sweep:CredentialExpiryWarning, no image for the platform of some of the
/// cluster's nodes — becomes a "will fail" finding (its card posted once and updated in place); a finding whose container
/// was checked again and is fine, or whose workload is gone, is resolved. Pods already failing to pull are incidents,
/// not findings, and are left to the watcher. Only reads (list pods and nodes, get ServiceAccounts and secrets by name).
/// </summary>
public sealed partial class PreventionSweep(
    KubernetesConnection connection,
    ImageVerifier verifier,
    FindingRecorder recorder,
    FindingStore store,
    PreventionPlans plans,
    IOptionsMonitor<SweepOptions> options,
    IOptions<KubernetesOptions> kubernetes,
    IOptions<BotOptions> bot,
    BotMetrics metrics,
    TimeProvider time,
    ILogger<PreventionSweep> log)
{
    /// <summary>Registry hosts checked at the same time.</summary>
    private const int HostLanes = 4;

    private sealed record Target(string Namespace, string WorkloadKind, string WorkloadName, PodTemplate Template, ContainerImage Container)
    {
        public string Host => ImageReference.TryParse(Container.Image, out var image, out _) ? image.Domain : "(invalid)";

        public string ContainerKey => $"{Namespace}|{WorkloadKind}/{WorkloadName}|{Container.Container}";
    }

    public async Task<SweepResult> RunAsync(CancellationToken cancellationToken)
    {
        if (connection.Client is not { } client)
        {
            return SweepResult.NotConnected;
        }

        var settings = options.CurrentValue;
        using var deadline = new CancellationTokenSource(settings.RunTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var notes = new ConcurrentQueue<string>();
        var pods = new List<V1Pod>();
        var listed = false;
        try
        {
            await ListPodsAsync(client, pods, linked.Token).ConfigureAwait(false);
            listed = true;
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            notes.Enqueue(error.IsForbidden ? "The bot may not list pods, so no workload was swept (grant list on pods)." : $"Listing pods failed: {error.Message}.");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            notes.Enqueue($"Listing pods took longer than Sweep:RunTimeout ({settings.RunTimeout}); the sweep stopped.");
        }

        var nodePlatforms = await NodePlatformsAsync(client, notes, linked.Token).ConfigureAwait(false);
        var targets = Targets(pods, nodePlatforms);
        var seen = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var answered = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var unverified = 0;
        var overBudget = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var now = time.GetUtcNow();
        var lanes = targets.GroupBy(t => t.Host).ToList();
        await Parallel.ForEachAsync(lanes, new ParallelOptions { MaxDegreeOfParallelism = HostLanes, CancellationToken = CancellationToken.None }, async (lane, _) =>
        {
            var done = 0;
            foreach (var target in lane)
            {
                if (linked.IsCancellationRequested)
                {
                    return;
                }

                if (done >= settings.HostBudget)
                {
                    overBudget.AddOrUpdate(lane.Key, 1, (_, n) => n + 1);
                    continue;
                }

                if (done > 0 && settings.HostInterval > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(settings.HostInterval, time, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }

                done++;
                try
                {
                    var verdict = await CheckAsync(target, linked.Token).ConfigureAwait(false);
                    if (verdict.Kind == ImageVerdictKind.Unverified)
                    {
                        Interlocked.Increment(ref unverified);
                        continue;
                    }

                    answered[target.ContainerKey] = true;
                    foreach (var observation in Observations(target, verdict, now, settings.CredentialExpiryWarning))
                    {
                        seen[observation.Key] = true;
                        await recorder.RecordAsync(observation, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (linked.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }).ConfigureAwait(false);

        cancellationToken.ThrowIfCancellationRequested();
        if (deadline.IsCancellationRequested)
        {
            notes.Enqueue($"The sweep reached Sweep:RunTimeout ({settings.RunTimeout}); workloads it did not reach keep their findings until the next run.");
        }

        foreach (var (host, skipped) in overBudget.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            notes.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{skipped} container image(s) on {host} were not checked: Sweep:HostBudget ({settings.HostBudget}) was spent."));
        }

        var resolved = await ResolveGoneAsync(pods, listed, seen, answered).ConfigureAwait(false);
        var workloads = targets.Select(t => (t.Namespace, t.WorkloadKind, t.WorkloadName)).Distinct().Count();
        var result = new SweepResult(pods.Count, workloads, answered.Count, seen.Count, resolved, unverified, notes.ToList());
        metrics.SweepRan(result.Checked, result.Findings, result.Resolved);
        LogSwept(log, result.Pods, result.Workloads, result.Checked, result.Findings, result.Resolved, result.Unverified);
        return result;
    }

    private async Task<ImageVerdict> CheckAsync(Target target, CancellationToken cancellationToken)
    {
        var secrets = await verifier.PullSecretsAsync(target.Namespace, target.Template, cancellationToken).ConfigureAwait(false);
        return await verifier.VerifyAsync(target.Namespace, target.Template, target.Container, secrets, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What one verdict says about the next pull: a failure, and credentials expiring soon even when it pulls today.</summary>
    private IEnumerable<FindingObservation> Observations(Target target, ImageVerdict verdict, DateTimeOffset now, TimeSpan warning)
    {
        var cluster = bot.Value.Cluster;
        var refused = verdict.Check?.Resolution.Matches is { Count: > 0 } matches ? matches[0].SecretName : null;
        if (verdict.Kind == ImageVerdictKind.WillFail && FindingKinds.From(verdict.Cause) is { } kind)
        {
            yield return new FindingObservation(
                FindingSource.Sweep, kind, cluster, target.Namespace, target.WorkloadKind, target.WorkloadName, target.Container.Container, target.Container.Image,
                verdict.Summary, verdict.Fix, verdict.Evidence, plans.For(target.Namespace, target.WorkloadKind, target.WorkloadName, verdict, refused), null);
        }

        foreach (var match in verdict.Check?.Resolution.Matches ?? [])
        {
            if (match.Credentials?.Lifetime is { ExpiresAt: { } expires } lifetime && expires <= now + warning)
            {
                var when = expires.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
                var summary = expires <= now
                    ? $"the {lifetime.Kind} in secret {match.SecretName} for {verdict.Image?.Domain} expired {CredentialLifetime.Span(now - expires)} ago ({when})"
                    : $"the {lifetime.Kind} in secret {match.SecretName} for {verdict.Image?.Domain} expires in {CredentialLifetime.Span(expires - now)} ({when}); pulls fail after that";
                yield return new FindingObservation(
                    FindingSource.Sweep, FindingKind.CredentialsExpiring, cluster, target.Namespace, target.WorkloadKind, target.WorkloadName, target.Container.Container, target.Container.Image,
                    summary, $"refresh pull secret {match.SecretName}",
                    [new Evidence($"pull secret {match.SecretName}", EvidenceOutcome.Failed, lifetime.Describe(now))],
                    plans.For(target.Namespace, target.WorkloadKind, target.WorkloadName, verdict, match.SecretName).Where(p => p.Kind == Core.Remediation.RemediationKind.RefreshCredentials).ToList(),
                    null);
                break;
            }
        }
    }

    /// <summary>
    /// Open sweep findings not seen this run: resolved when their container was checked again and is fine, or when their
    /// workload has no running pod left (only after a complete listing). Others (not reached, not verifiable) stay open.
    /// </summary>
    private async Task<int> ResolveGoneAsync(List<V1Pod> pods, bool listed, ConcurrentDictionary<string, bool> seen, ConcurrentDictionary<string, bool> answered)
    {
        var workloads = pods.Select(p => (p.Metadata.NamespaceProperty, PodWorkload.Of(p))).Select(w => $"{w.NamespaceProperty}|{w.Item2.Kind}/{w.Item2.Name}").ToHashSet(StringComparer.Ordinal);
        var resolved = 0;
        foreach (var finding in await store.ListOpenAsync(FindingSource.Sweep, bot.Value.Cluster, CancellationToken.None).ConfigureAwait(false))
        {
            if (seen.ContainsKey(finding.Key))
            {
                continue;
            }

            var containerKey = $"{finding.Namespace}|{finding.WorkloadKind}/{finding.WorkloadName}|{finding.Container}";
            var gone = listed && InScope(finding.Namespace) && !workloads.Contains($"{finding.Namespace}|{finding.WorkloadKind}/{finding.WorkloadName}");
            if ((answered.ContainsKey(containerKey) || gone) && await recorder.ResolveAsync(finding.Id, CancellationToken.None).ConfigureAwait(false) is not null)
            {
                resolved++;
            }
        }

        return resolved;
    }

    /// <summary>One target per workload, container and image, from its running pods that are not failing to pull.</summary>
    private static List<Target> Targets(List<V1Pod> pods, IReadOnlyList<Platform> nodePlatforms)
    {
        var targets = new Dictionary<string, Target>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (pod.Status?.Phase != "Running" || PodPullState.FailingContainers(pod).Count > 0 || pod.Metadata?.NamespaceProperty is not { Length: > 0 } ns)
            {
                continue;
            }

            var (kind, name) = PodWorkload.Of(pod);
            var template = PodTemplate.FromPod(pod);

            // Not pinned by its spec: its next pod may land on any node, so every platform the cluster's nodes have counts.
            if (template.Platforms.Count == 0 && nodePlatforms.Count > 1)
            {
                template = template with { Platforms = nodePlatforms };
            }

            foreach (var container in template.Containers)
            {
                targets.TryAdd($"{ns}|{kind}/{name}|{container.Container}|{container.Image}", new Target(ns, kind, name, template, container));
            }
        }

        return targets.Values.OrderBy(t => t.Namespace, StringComparer.Ordinal).ThenBy(t => t.WorkloadName, StringComparer.Ordinal).ThenBy(t => t.Container.Container, StringComparer.Ordinal).ToList();
    }

    private async Task ListPodsAsync(IKubernetes client, List<V1Pod> pods, CancellationToken cancellationToken)
    {
        var namespaces = kubernetes.Value.Namespaces.Count == 0 ? [null] : kubernetes.Value.Namespaces.Cast<string?>().ToList();
        foreach (var ns in namespaces)
        {
            string? next = null;
            do
            {
                var page = ns is null
                    ? await client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: kubernetes.Value.ListPageSize, cancellationToken: cancellationToken).ConfigureAwait(false)
                    : await client.CoreV1.ListNamespacedPodAsync(ns, continueParameter: next, limit: kubernetes.Value.ListPageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                pods.AddRange(page.Items ?? []);
                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));
        }
    }

    /// <summary>The distinct platforms of the cluster's nodes (kubernetes.io/os and arch); empty when nodes cannot be listed.</summary>
    private async Task<IReadOnlyList<Platform>> NodePlatformsAsync(IKubernetes client, ConcurrentQueue<string> notes, CancellationToken cancellationToken)
    {
        var platforms = new List<Platform>();
        try
        {
            string? next = null;
            do
            {
                var page = await client.CoreV1.ListNodeAsync(continueParameter: next, limit: kubernetes.Value.ListPageSize, cancellationToken: cancellationToken).ConfigureAwait(false);
                foreach (var node in page.Items ?? [])
                {
                    if (NodeInspector.Facts(node).Platform is { } text && Platform.TryParse(text, out var platform, out _) && !platforms.Contains(platform))
                    {
                        platforms.Add(platform);
                    }
                }

                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            notes.Enqueue(error.IsForbidden
                ? "The bot may not list nodes, so images were not checked against the nodes' platforms (grant list on nodes)."
                : $"Listing nodes failed ({error.Message}); images were not checked against the nodes' platforms.");
            return [];
        }
        catch (OperationCanceledException)
        {
            return []; // the run's deadline or the job's end; the run notes it
        }

        return platforms;
    }

    private bool InScope(string @namespace) => kubernetes.Value.Namespaces.Count == 0 || kubernetes.Value.Namespaces.Contains(@namespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Pods} pods, {Workloads} workloads, {Checked} containers checked, {Findings} findings, {Resolved} resolved, {Unverified} not verifiable")]
    private static partial void LogSwept(ILogger logger, int pods, int workloads, int @checked, int findings, int resolved, int unverified);
}
