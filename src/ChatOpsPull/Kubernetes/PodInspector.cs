using ChatOpsPull.Core.Diagnoses;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>Everything the cluster says about a failing pod, as data and as <see cref="Evidence"/>.</summary>
public sealed record PodInspection(
    string Namespace,
    string Pod,
    OwnerChain Owners,
    PullSecretReport PullSecrets,
    NodeReport Node,
    IReadOnlyList<Evidence> Evidence)
{
    /// <summary>The pod object as read, for callers that need more (container specs, pull policy).</summary>
    public V1Pod? PodObject { get; init; }
}

/// <summary>The pod could not be read at all.</summary>
public sealed record PodInspectionFailure(string Namespace, string Pod, string Reason)
{
    public Evidence ToEvidence() => new("pod", EvidenceOutcome.Skipped, Reason);
}

/// <summary>Inspects a pod: owner chain, effective pull secrets (and the secret objects), node platform and disk pressure.</summary>
public sealed class PodInspector
{
    private readonly IKubernetes _client;
    private readonly OwnerResolver _owners;
    private readonly PullSecretInspector _secrets;
    private readonly NodeInspector _nodes;
    private readonly TimeProvider _time;

    public PodInspector(IKubernetes client, OwnerResolver owners, PullSecretInspector secrets, NodeInspector nodes, TimeProvider time)
    {
        _client = client;
        _owners = owners;
        _secrets = secrets;
        _nodes = nodes;
        _time = time;
    }

    /// <summary>Reads the pod, then inspects it; a pod that cannot be read gives a failure saying why.</summary>
    public Task<(PodInspection? Inspection, PodInspectionFailure? Failure)> InspectAsync(string @namespace, string pod, CancellationToken cancellationToken) =>
        InspectAsync(@namespace, pod, null, null, SharedReads.Now(), cancellationToken);

    /// <summary>
    /// Reads the pod, then inspects it; a pod that cannot be read gives a failure saying why. <paramref name="expectedNode"/>,
    /// the node the pod was reported on (an incident's pod), is read beside the pod instead of after it: a pod's
    /// spec.nodeName never changes once set, so when the pod as read names that node the read is the pod's node, sent
    /// in this inspection; when it names another (or none) the read is dropped and the pod's own node read.
    /// <paramref name="expectedCredentials"/>, the ServiceAccount and pull-secret names the pod was reported with (by the
    /// watcher), are read beside the pod the same way: used when the pod as read names the same ones, else dropped.
    /// </summary>
    /// <param name="notBefore">The oldest send of a read of the node, ServiceAccount or a secret that another inspection
    /// has in flight this one may join (<see cref="SharedReads"/>); the pod itself is always read anew.</param>
    public async Task<(PodInspection? Inspection, PodInspectionFailure? Failure)> InspectAsync(
        string @namespace, string pod, string? expectedNode, PodCredentialNames? expectedCredentials, long notBefore, CancellationToken cancellationToken)
    {
        var early = string.IsNullOrEmpty(expectedNode) ? null : TimedAsync(() => _nodes.InspectAsync(expectedNode, notBefore, cancellationToken));
        var earlyCredentials = expectedCredentials is null ? null : _secrets.StartReads(@namespace, expectedCredentials, notBefore, cancellationToken);
        V1Pod podObject;
        try
        {
            podObject = await _client.CoreV1.ReadNamespacedPodAsync(pod, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            UnusedReads.Drop(early);
            earlyCredentials?.Abandon();
            var error = ApiError.From(e);
            var reason = error.IsForbidden
                ? $"the bot may not read pods in namespace {@namespace}: grant get on pods"
                : error.IsNotFound ? $"pod {@namespace}/{pod} does not exist (any more)" : error.Message;
            return (null, new PodInspectionFailure(@namespace, pod, reason));
        }
        catch
        {
            UnusedReads.Drop(early);
            earlyCredentials?.Abandon();
            throw;
        }

        if (early is not null && podObject.Spec?.NodeName != expectedNode)
        {
            UnusedReads.Drop(early);
            early = null;
        }

        return (await InspectAsync(podObject, notBefore, early, earlyCredentials, cancellationToken).ConfigureAwait(false), null);
    }

    /// <summary>Owners, pull secrets and node are independent reads, so they are asked for at once.</summary>
    public Task<PodInspection> InspectAsync(V1Pod pod, CancellationToken cancellationToken) =>
        InspectAsync(pod, SharedReads.Now(), null, null, cancellationToken);

    private async Task<PodInspection> InspectAsync(V1Pod pod, long notBefore, Task<(NodeReport, TimeSpan)>? nodeRead, CredentialReads? credentialReads, CancellationToken cancellationToken)
    {
        var owners = TimedAsync(() => _owners.ResolveAsync(pod, cancellationToken));
        var secrets = TimedAsync(() => _secrets.InspectAsync(pod, notBefore, credentialReads, cancellationToken));
        var node = nodeRead ?? TimedAsync(() => _nodes.InspectAsync(pod.Spec?.NodeName, notBefore, cancellationToken));
        var (ownerChain, ownersTook) = await owners.ConfigureAwait(false);
        var (secretReport, secretsTook) = await secrets.ConfigureAwait(false);
        var (nodeReport, nodeTook) = await node.ConfigureAwait(false);

        var evidence = new List<Evidence> { OwnerEvidence(ownerChain, ownersTook) };
        evidence.AddRange(SecretEvidence(secretReport, secretsTook));
        evidence.AddRange(NodeEvidence(nodeReport, nodeTook));
        return new PodInspection(pod.Metadata.NamespaceProperty, pod.Metadata.Name, ownerChain, secretReport, nodeReport, evidence) { PodObject = pod };
    }

    private async Task<(T Result, TimeSpan Took)> TimedAsync<T>(Func<Task<T>> read)
    {
        var started = _time.GetTimestamp();
        var result = await read().ConfigureAwait(false);
        return (result, _time.GetElapsedTime(started));
    }

    public static Evidence OwnerEvidence(OwnerChain owners, TimeSpan? took = null) =>
        new("owner chain", owners.Note is null ? EvidenceOutcome.Info : EvidenceOutcome.Skipped,
            owners.Note is null ? $"pod belongs to {owners}" : $"pod belongs to {owners} ({owners.Note})", took);

    public static IEnumerable<Evidence> SecretEvidence(PullSecretReport report, TimeSpan? took = null)
    {
        if (report.ServiceAccountNote is not null)
        {
            yield return new Evidence($"serviceaccount {report.ServiceAccount}", EvidenceOutcome.Skipped, report.ServiceAccountNote, took);
        }

        if (report.Secrets.Count == 0)
        {
            yield return new Evidence("pull secrets", EvidenceOutcome.Info,
                $"neither the pod nor serviceaccount {report.ServiceAccount} names an imagePullSecret: pulls are anonymous", took);
            yield break;
        }

        foreach (var check in report.Secrets)
        {
            var where = check.Origin switch
            {
                PullSecretOrigin.Pod => "named by the pod",
                PullSecretOrigin.ServiceAccount => $"named by serviceaccount {report.ServiceAccount} but not in the pod's spec, so kubelet does not use it (it is copied only into new pods that name no secret)",
                PullSecretOrigin.PodAndServiceAccount => $"named by the pod and serviceaccount {report.ServiceAccount}",
                _ => throw new ArgumentOutOfRangeException(nameof(report), check.Origin, "unknown origin"),
            };
            var (outcome, detail) = check.Lookup switch
            {
                SecretLookup.Found when check.Problem is null => (check.UsedByKubelet ? EvidenceOutcome.Passed : EvidenceOutcome.Info, $"exists, type {check.Type}; {where}"),
                SecretLookup.Found => (EvidenceOutcome.Failed, $"{check.Problem}; {where}"),
                SecretLookup.Missing => (EvidenceOutcome.Failed, $"{check.Problem}; {where}"),
                SecretLookup.Forbidden => (EvidenceOutcome.Skipped, check.Problem!),
                SecretLookup.Failed => (EvidenceOutcome.Skipped, $"could not read it: {check.Problem}"),
                _ => throw new ArgumentOutOfRangeException(nameof(report), check.Lookup, "unknown lookup"),
            };
            yield return new Evidence($"pull secret {check.Name}", outcome, detail, took);
        }
    }

    public static IEnumerable<Evidence> NodeEvidence(NodeReport report, TimeSpan? took = null)
    {
        if (report.Facts is null)
        {
            yield return new Evidence(report.NodeName is null ? "node" : $"node {report.NodeName}", EvidenceOutcome.Skipped, report.Note ?? "not read", took);
            yield break;
        }

        var facts = report.Facts;
        yield return new Evidence($"node {facts.Name} platform", EvidenceOutcome.Info,
            $"{facts.Platform ?? "unknown platform"}{(facts.ContainerRuntime is null ? string.Empty : ", runtime " + facts.ContainerRuntime)}{(facts.KubeletVersion is null ? string.Empty : ", kubelet " + facts.KubeletVersion)}", took);
        yield return facts.DiskPressure switch
        {
            null => new Evidence($"node {facts.Name} disk", EvidenceOutcome.Info, "the node reports no DiskPressure condition"),
            "True" => new Evidence($"node {facts.Name} disk", EvidenceOutcome.Failed, $"DiskPressure is True: {facts.DiskPressureMessage}"),
            _ => new Evidence($"node {facts.Name} disk", EvidenceOutcome.Passed, $"DiskPressure is {facts.DiskPressure}"),
        };
    }
}
