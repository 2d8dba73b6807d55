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
    ReportedPodCredentials reportedCredentials,
    IOptionsMonitor<KubernetesOptions> kubernetes,
    BotMetrics metrics,
    TimeProvider time,
    ILogger<EvidenceDiagnoser> logger) : IIncidentDiagnoser, IPullFailureDiagnoser
{
    public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken) =>
        DiagnoseAsync(incident, SharedReads.Now(), cancellationToken);

    /// <summary>
    /// The pod, its node (the one the pod was reported on), the workload the incident names and the unattached secrets
    /// that might hold credentials for the incident's registry are read at once — and, when the watcher reported the pod
    /// with its ServiceAccount and pull-secret names (<see cref="ReportedPodCredentials"/>), those too; then what the pod
    /// as read adds (owners, and the pull secrets and ServiceAccount when they were not known or differ); then the
    /// registry. Reads of the same node, ServiceAccount or secret that other diagnoses have in flight, sent since
    /// <paramref name="askedAt"/>, are joined rather than sent again (<see cref="SharedReads"/>): the evidence is never
    /// older than the request.
    /// </summary>
    public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, long askedAt, CancellationToken cancellationToken)
    {
        var pod = Representative(incident);
        var credentials = pod is null ? null : reportedCredentials.Find(incident.Key.Cluster, incident.Key.Namespace, pod.Pod);
        return DiagnoseAsync(incident, pod, askedAt, credentials, counted: true, cancellationToken);
    }

    /// <summary>
    /// The start-up self-check (<see cref="DiagnosisWarmUp"/>): <paramref name="incident"/> (made up from a pod the cluster
    /// has) diagnosed through the same code as any incident, with the credential names the pod was listed with, but not
    /// counted in the diagnoses metric nor logged as a diagnosis. Read only, like every diagnosis.
    /// </summary>
    internal Task<Core.Diagnoses.Diagnosis> SelfCheckAsync(Incident incident, PodCredentialNames? credentials, CancellationToken cancellationToken) =>
        DiagnoseAsync(incident, Representative(incident), SharedReads.Now(), credentials, counted: false, cancellationToken);

    private async Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, AffectedPod? pod, long askedAt, PodCredentialNames? credentials, bool counted, CancellationToken cancellationToken)
    {
        var began = askedAt;
        PodInspection? inspection = null;
        var evidence = new List<Evidence>();

        // The workload the incident names is read beside the pod (it does not depend on it); used when the pod's owner
        // chain ends there, as it almost always does. So are the unattached secrets for the incident's registry (they
        // depend on its name alone): used when none of the pod's own secrets fits the image, on the same registry.
        var early = connection.Client is { } client && incident.Workload is { } named && pod is not null
            ? WorkloadRead.Start(client, incident.Key.Namespace, named, pod.Container, cancellationToken)
            : null;
        var earlyUnattached = connection.Client is not null && pod is not null && ImageReference.TryParse(incident.Image, out var incidentImage, out _) && incidentImage is not null
            ? UnattachedRead.Start(services.GetRequiredService<PullSecretInspector>(), incident.Key.Namespace, incidentImage.Domain, UnattachedCandidates(incidentImage), began, cancellationToken)
            : null;
        if (pod is not null && connection.Client is not null)
        {
            PodInspection? found;
            PodInspectionFailure? failure;
            try
            {
                using (DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes))
                {
                    // The node the pod was reported on, and the ServiceAccount and secrets it was reported with, are read beside
                    // the pod (a pod's node never changes once set; its ServiceAccount and pull secrets never change).
                    (found, failure) = await services.GetRequiredService<PodInspector>()
                        .InspectAsync(incident.Key.Namespace, pod.Pod, pod.NodeName, credentials, began, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                early?.Abandon();
                earlyUnattached?.Abandon();
                throw;
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
        return await DiagnoseAsync(request, inspection, evidence, new EarlyReads(early, earlyUnattached), began, counted, cancellationToken).ConfigureAwait(false);
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
        return DiagnoseAsync(request, inspection, [], new EarlyReads(null, null), SharedReads.Now(), counted: true, cancellationToken);
    }

    /// <summary>Reads a diagnosis started before the pod answered, used when they are of what the pod as read needs.</summary>
    private sealed record EarlyReads(WorkloadRead? Workload, UnattachedRead? Unattached);

    /// <param name="began">When the diagnosis was asked for (<see cref="SharedReads.Now"/>): no read it joins was sent before.</param>
    /// <param name="counted">False for the start-up self-check: not counted as a diagnosis nor logged as one.</param>
    private async Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Request request, PodInspection? inspection, List<Evidence> evidence, EarlyReads early, long began, bool counted, CancellationToken cancellationToken)
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

        // The workload (its shape and, for a Deployment, the rollout history) does not depend on the registry's answer:
        // read it while the registry is asked.
        var workloadRead = ReadWorkloadAsync(request, inspection, early.Workload, cancellationToken);
        var nodePlatform = Platform.TryParse(inspection?.Node.Facts?.Platform, out var platform, out _) ? platform : null;
        RegistryFacts? registryFacts = null;
        var nodeLimit = image is not null && Core.Classification.MessageClassifier.Classify(request.Message, request.Reason).Cause == PullCause.NodePullLimit;
        var asksRegistry = image is not null && !nodeLimit && request.Reason is not "InvalidImageName" and not "ErrImageNeverPull";

        // Which of the pod's secrets kubelet would use for the image is known before the registry is asked; when none
        // fits, the unattached secrets that might are read while the registry is asked, too.
        var resolution = asksRegistry && inspection is not null ? resolver.Resolve(image!, inspection.PullSecrets.UsableSecrets) : null;
        var matching = resolution?.Matches.Count > 0 ? Name(resolution.Matches[0].SecretName) : null;
        var unattachedRead = inspection is not null && image is not null && matching is null
            ? ReadUnattachedAsync(inspection, image, early.Unattached, began, cancellationToken)
            : Abandoned(early.Unattached);
        if (nodeLimit)
        {
            evidence.Add(new Evidence("registry", EvidenceOutcome.Skipped, $"not asked: the limit that was hit is kubelet's own on the node, not {image!.Domain}'s"));
        }
        else if (asksRegistry)
        {
            if (inspection is not null)
            {
                KubeletPullCheck check;
                using (DiagnosisStageTimes.Measure(DiagnosisStage.Registry))
                {
                    check = await registry.CheckWithPullSecretsAsync(image!, inspection.PullSecrets.UsableSecrets, nodePlatform, cancellationToken).ConfigureAwait(false);
                }

                evidence.AddRange(SecretLookupEvidence(inspection.PullSecrets));
                evidence.AddRange(check.AllEvidence);
                registryFacts = Facts(check.Outcome);
            }
            else
            {
                RegistryCheck check;
                using (DiagnosisStageTimes.Measure(DiagnosisStage.Registry))
                {
                    check = await registry.CheckAsync(image!, null, nodePlatform, cancellationToken).ConfigureAwait(false);
                }

                evidence.Add(new Evidence("pull secrets", EvidenceOutcome.Skipped, "the pod could not be read, so the registry was asked anonymously"));
                evidence.AddRange(check.Evidence);
                registryFacts = Facts(check);
            }
        }

        var unattached = await unattachedRead.ConfigureAwait(false);
        var secrets = inspection is null
            ? PullSecretFacts.Unknown
            : SecretFacts(inspection, image, matching, unattached, evidence);

        var (shape, previous) = await workloadRead.ConfigureAwait(false);
        evidence.AddRange(ShapeEvidence(shape));

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
        if (counted)
        {
            metrics.Diagnosed(diagnosis.Cause);
            LogDiagnosed(logger, request.Namespace, request.Subject, diagnosis.Cause, diagnosis.Confidence);
        }

        return diagnosis;
    }

    /// <summary>
    /// The workload at the top of the owner chain, read once: its shape (when the pod was inspected) and, for a
    /// Deployment, the previous revision from its ReplicaSets, listed at the same time; the read started early when it is
    /// of that workload. Nothing when there is no cluster connection or the workload cannot be read.
    /// </summary>
    private async Task<(WorkloadShape? Shape, (int, string)? Previous)> ReadWorkloadAsync(Request request, PodInspection? inspection, WorkloadRead? early, CancellationToken cancellationToken)
    {
        var history = request.Workload is { Kind: "Deployment" } && request.Container.Length > 0;
        if (connection.Client is not { } client || request.Workload is not { } workload || (inspection is null && !history))
        {
            early?.Abandon();
            return (null, null);
        }

        var read = early;
        if (read is null || !read.Serves(request.Namespace, workload, request.Container))
        {
            early?.Abandon();
            read = WorkloadRead.Start(client, request.Namespace, workload, request.Container, cancellationToken);
        }

        using (DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes))
        {
            return await read.ResultAsync(inspection?.Owners).ConfigureAwait(false);
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

    /// <summary>What the planner weighs of a registry check.</summary>
    internal static RegistryFacts Facts(RegistryCheck check) => new(
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

    private static PullSecretFacts SecretFacts(PodInspection inspection, ImageReference? image, string? matching, UnattachedSecrets? unattached, List<Evidence> evidence)
    {
        var report = inspection.PullSecrets;
        var used = report.Secrets.Where(s => s.UsedByKubelet).ToArray();
        var readable = !report.Secrets.Any(s => s.Lookup == SecretLookup.Forbidden);
        if (image is not null && unattached is not null)
        {
            if (unattached.Names.Count > 0)
            {
                evidence.Add(new Evidence("unattached secrets", EvidenceOutcome.Info, $"{string.Join(", ", unattached.Names)} in {inspection.Namespace} {(unattached.Names.Count == 1 ? "has" : "have")} credentials for {image.Domain} but the pod does not use {(unattached.Names.Count == 1 ? "it" : "them")}"));
            }
            else if (unattached.Forbidden)
            {
                evidence.Add(new Evidence("unattached secrets", EvidenceOutcome.Skipped, $"the bot may not read secrets in {inspection.Namespace}, so {string.Join(", ", unattached.Candidates)} could not be looked at"));
            }
        }

        return new PullSecretFacts(
            used.Select(s => s.Name).ToArray(),
            used.Where(s => s.Lookup == SecretLookup.Missing).Select(s => s.Name).ToArray(),
            matching,
            unattached?.Names ?? [],
            readable);
    }

    /// <summary>
    /// The candidate secrets the pod does not name, read by name at once: those with credentials for the image. The reads
    /// started beside the pod serve when they are of the image's registry in the pod's namespace; otherwise they are
    /// dropped and the candidates read now. A storm's diagnoses in one namespace ask for the same candidates: a read of one
    /// in flight, sent since this diagnosis was asked for, answers them all (<see cref="SharedReads"/>).
    /// </summary>
    private async Task<UnattachedSecrets?> ReadUnattachedAsync(PodInspection inspection, ImageReference image, UnattachedRead? early, long began, CancellationToken cancellationToken)
    {
        if (connection.Client is null)
        {
            early?.Abandon();
            return null;
        }

        var read = early;
        if (read is null || !read.Serves(inspection.Namespace, image.Domain))
        {
            early?.Abandon();
            read = UnattachedRead.Start(services.GetRequiredService<PullSecretInspector>(), inspection.Namespace, image.Domain, UnattachedCandidates(image), began, cancellationToken);
        }

        var referenced = inspection.PullSecrets.Secrets.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        using var reading = DiagnosisStageTimes.Measure(DiagnosisStage.Kubernetes);
        var answers = await read.ResultAsync(referenced).ConfigureAwait(false);
        return new UnattachedSecrets(
            [.. answers.Select(a => a.Name)],
            [.. answers.Where(a => a.Secret is not null && resolver.Resolve(image, [a.Secret]).Matches.Count > 0).Select(a => a.Name)],
            answers.Any(a => a.Forbidden));
    }

    /// <summary>No unattached secrets are needed: reads started early are dropped.</summary>
    private static Task<UnattachedSecrets?> Abandoned(UnattachedRead? early)
    {
        early?.Abandon();
        return Task.FromResult<UnattachedSecrets?>(null);
    }

    /// <summary>The unattached secrets looked at, those with credentials for the image, and whether any could not be read.</summary>
    private sealed record UnattachedSecrets(IReadOnlyList<string> Candidates, IReadOnlyList<string> Names, bool Forbidden);

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
