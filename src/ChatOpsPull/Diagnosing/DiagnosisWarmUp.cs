using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Rehearses the intake's write path (<see cref="IncidentEngine.RehearseIntakeAsync"/>: two reports of one workload
/// and a recovery in one transaction that is rolled back; nothing stored, nothing told) and, when the bot starts, runs a
/// self-check diagnosis of one pod the cluster has through the same diagnoser as every incident (read only: the pod, its
/// owners, pull secrets, node, workload and rollout history, unattached secrets, the registry check of the pod's own image
/// with its own pull secrets; and the diagnosis ticket of no incident), then writes the diagnosis as JSON and reads it
/// back without storing, telling or counting anything. A storm's first diagnoses start side by side; without this every
/// one of them waits for the same code (the Kubernetes client's JSON contracts, the diagnoser's own async steps) to be
/// compiled, and the first storm after a start took 0.5–1 s per diagnosis against a 1 ms read. Best effort: a failure
/// is logged at Debug and changes nothing.
/// </summary>
internal sealed partial class DiagnosisWarmUp(
    KubernetesConnection connection,
    IServiceProvider services,
    IncidentStore store,
    IncidentEngine incidents,
    IOptionsMonitor<KubernetesOptions> kubernetes,
    IOptions<DiagnosisOptions> options,
    TimeProvider time,
    ILogger<DiagnosisWarmUp> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WarmUp)
        {
            return;
        }

        await Task.Yield();
        var started = time.GetTimestamp();
        try
        {
            // The intake first: a storm's reports reach it before any diagnosis starts.
            _ = await incidents.RehearseIntakeAsync(stoppingToken).ConfigureAwait(false);
            _ = await store.GetForDiagnosisAsync("warm-up", 1, stoppingToken).ConfigureAwait(false);
            if (connection.Client is { } client && await AnyPodAsync(client, stoppingToken).ConfigureAwait(false) is { } pod)
            {
                await SelfCheckAsync(pod, stoppingToken).ConfigureAwait(false);
            }

            var took = time.GetElapsedTime(started);
            LogWarmedUp(logger, took.TotalMilliseconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // best effort: the diagnoses that follow do the same reads and report what fails
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogWarmUpFailed(logger, e);
        }
    }

    /// <summary>One pod of a watched namespace (or of the cluster), or null when there is none or it may not be listed.</summary>
    private async Task<V1Pod?> AnyPodAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        try
        {
            var watched = kubernetes.CurrentValue.Namespaces;
            var pods = watched.Count == 0
                ? await client.CoreV1.ListPodForAllNamespacesAsync(limit: 1, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await client.CoreV1.ListNamespacedPodAsync(watched[0], limit: 1, cancellationToken: cancellationToken).ConfigureAwait(false);
            return pods.Items is [{ Metadata: { NamespaceProperty: not null, Name: not null } } pod, ..] ? pod : null;
        }
        catch (HttpOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// A self-check diagnosis of <paramref name="pod"/> through the diagnoser every incident goes through
    /// (<see cref="EvidenceDiagnoser.SelfCheckAsync"/>): an incident made up as the watcher would report the pod (its
    /// first container, node, workload and credential names), never stored. The diagnoser reads what any diagnosis reads —
    /// the pod, its node, ServiceAccount and secrets, the workload and its rollout history, the unattached secrets for its
    /// registry — and checks the pod's own image with its own pull secrets on the registry it names (the checker's
    /// destination rules apply as to any check; its answer is cached as any is). Not counted, not logged as a diagnosis.
    /// </summary>
    private async Task SelfCheckAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        var container = pod.Spec?.Containers?.FirstOrDefault();
        if (container?.Image is not { Length: > 0 } image)
        {
            return;
        }

        var owners = await services.GetRequiredService<OwnerResolver>().ResolveAsync(pod, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var incident = new Incident(
            "warm-up",
            new IncidentKey("warm-up", pod.Metadata.NamespaceProperty, owners.Workload.ToString(), PullCause.Unknown),
            image,
            IncidentState.Open,
            now,
            now,
            [new AffectedPod(pod.Metadata.Name, container.Name, "ErrImagePull", string.Empty, now, now) { NodeName = pod.Spec?.NodeName }],
            1)
        {
            Workload = owners.Workload,
        };
        var diagnosis = await services.GetRequiredService<EvidenceDiagnoser>().SelfCheckAsync(incident, PodCredentialNames.Of(pod), cancellationToken).ConfigureAwait(false);

        // Written and read back as the incident row keeps it (JSON), without storing it.
        IncidentJson.Rehearse(diagnosis);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Diagnosis path warmed up in {Milliseconds:0} ms")]
    private static partial void LogWarmedUp(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Warming up the diagnosis path failed; the first diagnoses run it cold")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);
}
