using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Registry;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Rehearses the intake's write path (<see cref="IncidentEngine.RehearseIntakeAsync"/>: two reports of one workload
/// and a recovery in one transaction that is rolled back; nothing stored, nothing told) and runs the diagnosis's read
/// path once when the bot starts, on one pod the cluster has (read only: the pod, its owners,
/// pull secrets, node, workload and rollout history, the registry check of the pod's own image with its own pull secrets,
/// the diagnosis ticket of no incident), then weighs the facts and writes the diagnosis as JSON and reads it back without storing or telling anything. A storm's first diagnoses start side by side; without this every one of them waits for
/// the same code (the Kubernetes client's JSON contracts above all) to be compiled, and the first storm after a start
/// took 0.5–1 s per diagnosis against a 1 ms read. Best effort: a failure is logged at Debug and changes nothing.
/// </summary>
internal sealed partial class DiagnosisWarmUp(
    KubernetesConnection connection,
    IServiceProvider services,
    IncidentStore store,
    IncidentEngine incidents,
    RegistryChecker registry,
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
            if (connection.Client is { } client && await AnyPodAsync(client, stoppingToken).ConfigureAwait(false) is var (ns, name))
            {
                await ReadLikeADiagnosisAsync(client, ns, name, stoppingToken).ConfigureAwait(false);
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
    private async Task<(string Namespace, string Name)?> AnyPodAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        try
        {
            var watched = kubernetes.CurrentValue.Namespaces;
            var pods = watched.Count == 0
                ? await client.CoreV1.ListPodForAllNamespacesAsync(limit: 1, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await client.CoreV1.ListNamespacedPodAsync(watched[0], limit: 1, cancellationToken: cancellationToken).ConfigureAwait(false);
            return pods.Items is [{ Metadata: { NamespaceProperty: { } ns, Name: { } name } }, ..] ? (ns, name) : null;
        }
        catch (HttpOperationException)
        {
            return null;
        }
    }

    private async Task ReadLikeADiagnosisAsync(IKubernetes client, string @namespace, string name, CancellationToken cancellationToken)
    {
        var (inspection, _) = await services.GetRequiredService<PodInspector>().InspectAsync(@namespace, name, cancellationToken).ConfigureAwait(false);
        if (inspection is null)
        {
            return;
        }

        var container = inspection.PodObject?.Spec?.Containers?.FirstOrDefault();
        _ = ImageReference.TryParse(container?.Image ?? string.Empty, out var image, out var imageError);
        var (shape, previous) = await WorkloadRead.ReadAsync(client, @namespace, inspection.Owners.Workload, inspection.Owners, container?.Name ?? string.Empty, cancellationToken).ConfigureAwait(false);
        var (kubelet, evidence) = KubeletView.Read(inspection.Node.Facts, image, container?.ImagePullPolicy, kubernetes.CurrentValue.Kubelet);
        RegistryFacts? registryFacts = null;
        if (image is not null)
        {
            // The check a diagnosis of this pod would make: its own image, with its own pull secrets, on the registry it
            // names (the checker's destination rules apply as to any check). Read only; its answer is cached as any is.
            var platform = Platform.TryParse(inspection.Node.Facts?.Platform, out var parsed, out _) ? parsed : null;
            var check = await registry.CheckWithPullSecretsAsync(image, inspection.PullSecrets.UsableSecrets, platform, cancellationToken).ConfigureAwait(false);
            evidence = [.. evidence, .. check.AllEvidence];
            registryFacts = EvidenceDiagnoser.Facts(check.Outcome);
        }

        var facts = new DiagnosisFacts(
            "warm-up",
            @namespace,
            container?.Image ?? string.Empty,
            image,
            imageError,
            "ErrImagePull",
            string.Empty,
            inspection.Owners.Workload,
            container?.Name ?? string.Empty,
            inspection.PullSecrets.ServiceAccount,
            inspection.Node.NodeName,
            inspection.Node.Facts?.UnderDiskPressure,
            inspection.Node.Facts?.Platform,
            PullSecretFacts.Unknown,
            registryFacts,
            false,
            previous)
        {
            Shape = shape,
            Kubelet = kubelet,
        };
        // Weighed, then written and read back as the incident row keeps it (JSON), without storing it.
        IncidentJson.Rehearse(DiagnosisPlanner.Plan(facts, [.. inspection.Evidence, .. evidence], time.GetUtcNow()));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Diagnosis path warmed up in {Milliseconds:0} ms")]
    private static partial void LogWarmedUp(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Warming up the diagnosis path failed; the first diagnoses run it cold")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);
}
