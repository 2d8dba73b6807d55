using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Observability;
using ChatOpsPull.Registry;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Gathers the evidence behind a diagnosis — the pod as the cluster has it (owners, effective pull secrets, node),
/// the registry's answer with the pod's own credentials in kubelet's order, unattached secrets that would fit, and the
/// Deployment's previous revision — and lets <see cref="DiagnosisPlanner"/> weigh it. Works without a cluster connection
/// (alert-only installs): then only the registry is asked, anonymously.
/// </summary>
public sealed partial class EvidenceDiagnoser(
    KubernetesConnection connection,
    IServiceProvider services,
    RegistryChecker registry,
    PullSecretResolver resolver,
    ICredentialSourceCatalog credentialSources,
    IOptionsMonitor<KubernetesOptions> kubernetes,
    BotMetrics metrics,
    TimeProvider time,
    ILogger<EvidenceDiagnoser> logger) : IIncidentDiagnoser, IPullFailureDiagnoser
{
    public async Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken)
    {
        var pod = Representative(incident);
        PodInspection? inspection = null;
        var evidence = new List<Evidence>();
        if (pod is not null && connection.Client is not null)
        {
            PodInspection? found;
            PodInspectionFailure? failure;
            using (DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes))
            {
                (found, failure) = await services.GetRequiredService<PodInspector>()
                    .InspectAsync(incident.Key.Namespace, pod.Pod, cancellationToken).ConfigureAwait(false);
            }

            inspection = found;
            if (failure is not null)
            {
                evidence.Add(failure.ToEvidence());
            }
        }

        var request = new Request(
            incident.Key.Cluster,
            incident.Key.Namespace,
            ImageOf(inspection, pod?.Container) ?? incident.Image,
            pod?.Reason ?? string.Empty,
            pod?.Message ?? string.Empty,
            pod?.Container ?? string.Empty,
            inspection?.Owners.Workload ?? incident.Workload,
            pod?.NodeName)
        {
            PullPolicy = PullPolicyOf(inspection, pod?.Container),
        };
        return await DiagnoseAsync(request, inspection, evidence, cancellationToken).ConfigureAwait(false);
    }

    public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(PullFailure failure, PodInspection? inspection, CancellationToken cancellationToken)
    {
        var request = new Request(
            failure.Cluster,
            failure.Namespace,
            failure.Image,
            failure.Reason,
            failure.Message,
            failure.Container,
            inspection?.Owners.Workload ?? failure.Workload,
            failure.NodeName)
        {
            PullPolicy = PullPolicyOf(inspection, failure.Container) ?? failure.PullPolicy,
        };
        return DiagnoseAsync(request, inspection, [], cancellationToken);
    }

    private async Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Request request, PodInspection? inspection, List<Evidence> evidence, CancellationToken cancellationToken)
    {
        evidence.Insert(0, new Evidence("runtime message", EvidenceOutcome.Info, $"{(request.Reason.Length > 0 ? request.Reason + ": " : string.Empty)}{(request.Message.Length == 0 ? "(no message yet)" : request.Message)}"));
        _ = ImageReference.TryParse(request.Image, out var image, out var imageError);
        if (image is null)
        {
            evidence.Add(new Evidence("image reference", EvidenceOutcome.Failed, $"`{request.Image}`: {imageError}"));
        }

        if (inspection is not null)
        {
            evidence.Add(PodInspector.OwnerEvidence(inspection.Owners));
            evidence.AddRange(PodInspector.NodeEvidence(inspection.Node));
        }
        else if (connection.Client is null)
        {
            evidence.Add(new Evidence("cluster", EvidenceOutcome.Skipped, "no Kubernetes connection: pull secrets, owners and node were not checked"));
        }

        var (kubelet, kubeletEvidence) = KubeletView.Read(inspection?.Node.Facts, image, request.PullPolicy, kubernetes.CurrentValue.Kubelet);
        evidence.AddRange(kubeletEvidence);

        // The rollout history does not depend on the registry's answer: read it while the registry is asked.
        var previousRead = PreviousRevisionAsync(request, cancellationToken);
        var nodePlatform = Platform.TryParse(inspection?.Node.Facts?.Platform, out var platform, out _) ? platform : null;
        RegistryFacts? registryFacts = null;
        PullSecretResolution? resolution = null;
        if (image is not null && Core.Classification.MessageClassifier.Classify(request.Message, request.Reason).Cause == PullCause.NodePullLimit)
        {
            evidence.Add(new Evidence("registry", EvidenceOutcome.Skipped, $"not asked: the limit that was hit is kubelet's own on the node, not {image.Domain}'s"));
        }
        else if (image is not null && request.Reason is not "InvalidImageName" and not "ErrImageNeverPull")
        {
            if (inspection is not null)
            {
                KubeletPullCheck check;
                using (DiagnosisStageTimes.Measure(DiagnosisStage.Registry))
                {
                    check = await registry.CheckWithPullSecretsAsync(image, inspection.PullSecrets.UsableSecrets, nodePlatform, cancellationToken).ConfigureAwait(false);
                }

                resolution = check.Resolution;
                evidence.AddRange(SecretLookupEvidence(inspection.PullSecrets));
                evidence.AddRange(check.AllEvidence);
                registryFacts = Facts(check.Outcome);
            }
            else
            {
                RegistryCheck check;
                using (DiagnosisStageTimes.Measure(DiagnosisStage.Registry))
                {
                    check = await registry.CheckAsync(image, null, nodePlatform, cancellationToken).ConfigureAwait(false);
                }

                evidence.Add(new Evidence("pull secrets", EvidenceOutcome.Skipped, "the pod could not be read, so the registry was asked anonymously"));
                evidence.AddRange(check.Evidence);
                registryFacts = Facts(check);
            }
        }

        var secrets = inspection is null
            ? PullSecretFacts.Unknown
            : await SecretFactsAsync(inspection, image, resolution, evidence, cancellationToken).ConfigureAwait(false);

        WorkloadShape? shape = null;
        if (inspection is not null && connection.Client is { } reader)
        {
            using (DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes))
            {
                shape = await WorkloadShapes.ReadAsync(reader, request.Namespace, inspection.Owners, cancellationToken).ConfigureAwait(false);
            }

            evidence.AddRange(ShapeEvidence(shape));
        }

        var previous = await previousRead.ConfigureAwait(false);

        var facts = new DiagnosisFacts(
            request.Cluster,
            request.Namespace,
            request.Image,
            image,
            imageError,
            request.Reason,
            request.Message,
            request.Workload,
            request.Container,
            inspection?.PullSecrets.ServiceAccount,
            inspection?.Node.NodeName ?? request.NodeName,
            inspection?.Node.Facts?.UnderDiskPressure,
            inspection?.Node.Facts?.Platform,
            secrets,
            registryFacts,
            image is not null && credentialSources.HasSourceFor(image.Domain),
            previous)
        {
            Shape = shape,
            Kubelet = kubelet,
        };
        var diagnosis = DiagnosisPlanner.Plan(facts, evidence, time.GetUtcNow());
        metrics.Diagnosed(diagnosis.Cause);
        LogDiagnosed(logger, request.Namespace, request.Subject, diagnosis.Cause, diagnosis.Confidence);
        return diagnosis;
    }

    private async Task<(int, string)?> PreviousRevisionAsync(Request request, CancellationToken cancellationToken)
    {
        if (request.Workload is not { Kind: "Deployment" } deployment || connection.Client is not { } client || request.Container.Length == 0)
        {
            return null;
        }

        using (DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes))
        {
            return await new RolloutHistory(client).PreviousAsync(request.Namespace, deployment.Name, request.Container, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What about the workload decides how a fix acts on it: paused, OnDelete, a partition, another tool owning it.</summary>
    private static IEnumerable<Evidence> ShapeEvidence(WorkloadShape? shape)
    {
        if (shape is null)
        {
            yield break;
        }

        var target = shape.Ref.ToString();
        if (shape.Paused)
        {
            yield return new Evidence("workload", EvidenceOutcome.Info, $"{target} is paused (spec.paused): a change to its pod template does not roll out until it is resumed");
        }

        if (shape.IsOnDelete)
        {
            yield return new Evidence("workload", EvidenceOutcome.Info, $"{target} has updateStrategy OnDelete: its pods are replaced only when deleted");
        }

        if (shape.Partition > 0)
        {
            yield return new Evidence("workload", EvidenceOutcome.Info, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{target} has partition {shape.Partition}: only pods with ordinal {shape.Partition} and above take a new template"));
        }

        if (shape.Owner is { } owner)
        {
            yield return new Evidence("owner", EvidenceOutcome.Info, $"{(owner.Certain ? "managed by" : "maybe managed by")} {owner.Describe()} ({owner.Evidence})");
        }
    }

    private static RegistryFacts Facts(RegistryCheck check) => new(
        check.Cause,
        check.Summary,
        check.SuggestedTags.Select(s => s.Tag).ToArray(),
        check.CredentialLifetime?.ExpiresAt,
        check.Platforms.Select(p => p.ToString()).ToArray());

    /// <summary>Secrets the pod refers to but kubelet cannot use (missing, forbidden, wrong type), as evidence.</summary>
    private static IEnumerable<Evidence> SecretLookupEvidence(PullSecretReport report) =>
        report.Secrets
            .Where(s => !s.Usable)
            .Select(s => new Evidence($"pull secret {s.Name}", s.Lookup == SecretLookup.Forbidden ? EvidenceOutcome.Skipped : EvidenceOutcome.Failed, s.Problem ?? s.Lookup.ToString()));

    private async Task<PullSecretFacts> SecretFactsAsync(PodInspection inspection, ImageReference? image, PullSecretResolution? resolution, List<Evidence> evidence, CancellationToken cancellationToken)
    {
        var report = inspection.PullSecrets;
        var used = report.Secrets.Where(s => s.UsedByKubelet).ToArray();
        var matching = resolution?.Matches.Count > 0 ? Name(resolution.Matches[0].SecretName) : null;
        var readable = !report.Secrets.Any(s => s.Lookup == SecretLookup.Forbidden);
        var unattached = new List<string>();
        if (image is not null && matching is null && connection.Client is { } client)
        {
            var referenced = report.Secrets.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            var candidates = UnattachedCandidates(image).Where(n => !referenced.Contains(n)).ToList();
            var forbidden = false;
            foreach (var name in candidates)
            {
                try
                {
                    using var reading = DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes);
                    var secret = await client.CoreV1.ReadNamespacedSecretAsync(name, inspection.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                    if (resolver.Resolve(image, [secret]).Matches.Count > 0)
                    {
                        unattached.Add(name);
                    }
                }
                catch (HttpOperationException e) when (ApiError.From(e).IsNotFound)
                {
                }
                catch (HttpOperationException e) when (ApiError.From(e).IsForbidden)
                {
                    forbidden = true;
                }
            }

            if (unattached.Count > 0)
            {
                evidence.Add(new Evidence("unattached secrets", EvidenceOutcome.Info, $"{string.Join(", ", unattached)} in {inspection.Namespace} {(unattached.Count == 1 ? "has" : "have")} credentials for {image.Domain} but the pod does not use {(unattached.Count == 1 ? "it" : "them")}"));
            }
            else if (forbidden)
            {
                evidence.Add(new Evidence("unattached secrets", EvidenceOutcome.Skipped, $"the bot may not read secrets in {inspection.Namespace}, so {string.Join(", ", candidates)} could not be looked at"));
            }
        }

        return new PullSecretFacts(
            used.Select(s => s.Name).ToArray(),
            used.Where(s => s.Lookup == SecretLookup.Missing).Select(s => s.Name).ToArray(),
            matching,
            unattached,
            readable);
    }

    /// <summary>
    /// The secrets that might hold credentials for the image's registry although the pod does not use them, read by name
    /// (the bot never lists Secrets): the one the bot writes for that registry ("pull-ghcr-io"), then Kubernetes:PullSecretNames.
    /// </summary>
    private IEnumerable<string> UnattachedCandidates(ImageReference image) =>
        new[] { DiagnosisPlanner.PullSecretName(image.Domain) }.Concat(kubernetes.CurrentValue.PullSecretNames).Distinct(StringComparer.Ordinal);

    /// <summary>The pod whose message says the most: specific errors beat back-off lines; active pods beat recovered ones.</summary>
    private static AffectedPod? Representative(Incident incident) =>
        incident.Pods
            .OrderBy(p => p.ResolvedAt is not null)
            .ThenByDescending(p => IncidentGrouping.Specificity(Core.Classification.MessageClassifier.Classify(p.Message, p.Reason).Cause))
            .ThenByDescending(p => p.LastSeen)
            .FirstOrDefault();

    private static string? ImageOf(PodInspection? inspection, string? container) => ContainerOf(inspection, container)?.Image;

    private static string? PullPolicyOf(PodInspection? inspection, string? container) => ContainerOf(inspection, container)?.PullPolicy;

    /// <summary>The named container's image and pull policy, from the pod's containers, init containers or ephemeral containers.</summary>
    private static (string? Image, string? PullPolicy)? ContainerOf(PodInspection? inspection, string? container)
    {
        var spec = inspection?.PodObject?.Spec;
        if (spec is null || container is null)
        {
            return null;
        }

        if ((spec.Containers?.FirstOrDefault(c => c.Name == container) ?? spec.InitContainers?.FirstOrDefault(c => c.Name == container)) is { } found)
        {
            return (found.Image, found.ImagePullPolicy);
        }

        return spec.EphemeralContainers?.FirstOrDefault(c => c.Name == container) is { } ephemeral ? (ephemeral.Image, ephemeral.ImagePullPolicy) : null;
    }

    /// <summary>"namespace/name" → "name".</summary>
    private static string Name(string secretName) => secretName[(secretName.IndexOf('/', StringComparison.Ordinal) + 1)..];

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Diagnosed {Namespace}/{Subject}: {Cause} ({Confidence:0.00})")]
    private static partial void LogDiagnosed(ILogger logger, string @namespace, string subject, PullCause cause, double confidence);

    private sealed record Request(string Cluster, string Namespace, string Image, string Reason, string Message, string Container, WorkloadRef? Workload, string? NodeName)
    {
        public string? PullPolicy { get; init; }

        public string Subject => Workload?.ToString() ?? Image;
    }
}
