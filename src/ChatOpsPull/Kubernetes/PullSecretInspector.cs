using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>Where a pull secret name came from.</summary>
public enum PullSecretOrigin
{
    /// <summary>Only in the pod's spec.imagePullSecrets.</summary>
    Pod,

    /// <summary>Only in the ServiceAccount's imagePullSecrets (not copied into this pod).</summary>
    ServiceAccount,

    /// <summary>In both.</summary>
    PodAndServiceAccount,
}

/// <summary>What reading one secret returned.</summary>
public enum SecretLookup
{
    Found,
    Missing,
    Forbidden,
    Failed,
}

/// <summary>
/// One pull secret the pod refers to, directly or through its ServiceAccount. <see cref="Secret"/> is the object itself
/// (for PullSecretResolver); it is never printed: <see cref="ToString"/> leaves it out.
/// </summary>
/// <param name="UsedByKubelet">True when the name is in the pod's spec.imagePullSecrets: kubelet uses only those.
/// The ServiceAccount's list is copied into a pod at admission, and only when the pod names none itself.</param>
/// <param name="Problem">Why kubelet cannot use it, in a sentence; null when usable.</param>
public sealed record PullSecretCheck(
    string Name,
    PullSecretOrigin Origin,
    bool UsedByKubelet,
    SecretLookup Lookup,
    string? Type,
    string? Problem)
{
    public V1Secret? Secret { get; init; }

    public bool Usable => Lookup == SecretLookup.Found && Problem is null;

    public override string ToString() => $"{Name} ({Origin}, {Lookup}{(Type is null ? string.Empty : ", " + Type)}{(Problem is null ? string.Empty : ": " + Problem)})";
}

/// <summary>The pod's effective pull secrets and how the ServiceAccount lookup went.</summary>
/// <param name="ServiceAccountNote">Why the ServiceAccount could not be read, or null.</param>
public sealed record PullSecretReport(string Namespace, string ServiceAccount, IReadOnlyList<PullSecretCheck> Secrets, string? ServiceAccountNote)
{
    /// <summary>The secrets kubelet will try, found and of a usable type: what PullSecretResolver should get.</summary>
    public IReadOnlyList<V1Secret> UsableSecrets => Secrets.Where(s => s.UsedByKubelet && s.Usable && s.Secret is not null).Select(s => s.Secret!).ToArray();
}

/// <summary>
/// Resolves the pod's pull secrets as kubelet sees them (spec.imagePullSecrets, which admission fills from the
/// ServiceAccount), reads each secret, and checks its type and key. Secret data is never logged or printed.
/// </summary>
public sealed class PullSecretInspector
{
    public const string DockerConfigJsonType = "kubernetes.io/dockerconfigjson";
    public const string DockerCfgType = "kubernetes.io/dockercfg";
    private readonly IKubernetes _client;
    private readonly SharedReads _reads;

    public PullSecretInspector(IKubernetes client, SharedReads? reads = null)
    {
        _client = client;
        _reads = reads ?? new SharedReads();
    }

    public Task<PullSecretReport> InspectAsync(V1Pod pod, CancellationToken cancellationToken) =>
        InspectAsync(pod, SharedReads.Now(), cancellationToken);

    /// <summary>
    /// One secret read by name (diagnoses use it for the unattached secrets that might fit, too): a read of the same
    /// secret in flight, sent no earlier than <paramref name="notBefore"/>, answers it (<see cref="SharedReads"/>).
    /// </summary>
    public Task<V1Secret> ReadSecretAsync(string ns, string name, long notBefore, CancellationToken cancellationToken) =>
        _reads.ReadAsync($"secret/{ns}/{name}", notBefore, () => _client.CoreV1.ReadNamespacedSecretAsync(name, ns), cancellationToken);

    /// <summary>
    /// The ServiceAccount and the secrets the pod names are read at once (the pod's list does not depend on the
    /// ServiceAccount), then the secrets only the ServiceAccount names, also at once: two round trips, not one per secret.
    /// Reads of the same ServiceAccount or secret in flight for other pods, sent after <paramref name="notBefore"/>, are
    /// joined (<see cref="SharedReads"/>): a storm's pods in one namespace share them.
    /// </summary>
    public Task<PullSecretReport> InspectAsync(V1Pod pod, long notBefore, CancellationToken cancellationToken) =>
        InspectAsync(pod, notBefore, null, cancellationToken);

    /// <summary>
    /// Starts the reads of a pod's ServiceAccount and of the secrets it names before the pod is read, from the names
    /// the pod was reported with: <see cref="InspectAsync(V1Pod, long, CredentialReads?, CancellationToken)"/> uses them
    /// when the pod as read names the same ones.
    /// </summary>
    public CredentialReads StartReads(string ns, PodCredentialNames names, long notBefore, CancellationToken cancellationToken) => new(
        ns,
        names,
        ServiceAccountSecretsAsync(ns, names.ServiceAccount, notBefore, cancellationToken),
        [.. names.PullSecrets.Select(name => CheckAsync(ns, name, usedByKubelet: true, notBefore, cancellationToken))]);

    /// <param name="early">Reads started before the pod was read (<see cref="StartReads"/>): used when the pod as read
    /// names the same ServiceAccount and secrets in its namespace, else dropped and the pod's own names read.</param>
    public async Task<PullSecretReport> InspectAsync(V1Pod pod, long notBefore, CredentialReads? early, CancellationToken cancellationToken)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var names = PodCredentialNames.Of(pod);
        var reads = early is not null && early.Namespace == ns && early.Names.SameAs(names) ? early : null;
        if (reads is null)
        {
            early?.Abandon();
            reads = StartReads(ns, names, notBefore, cancellationToken);
        }

        var fromPod = names.PullSecrets;
        var (fromServiceAccount, saNote) = await reads.ServiceAccount.ConfigureAwait(false);
        var serviceAccountOnly = fromServiceAccount.Where(n => !fromPod.Contains(n)).ToList();
        var serviceAccountReads = serviceAccountOnly.Select(name => CheckAsync(ns, name, usedByKubelet: false, notBefore, cancellationToken)).ToArray();
        var checks = new List<PullSecretCheck>(fromPod.Count + serviceAccountOnly.Count);
        foreach (var read in reads.PodSecrets.Concat(serviceAccountReads))
        {
            var check = await read.ConfigureAwait(false);
            var origin = (fromPod.Contains(check.Name), fromServiceAccount.Contains(check.Name)) switch
            {
                (true, true) => PullSecretOrigin.PodAndServiceAccount,
                (true, false) => PullSecretOrigin.Pod,
                _ => PullSecretOrigin.ServiceAccount,
            };
            checks.Add(check with { Origin = origin });
        }

        return new PullSecretReport(ns, names.ServiceAccount, checks, saNote);
    }

    /// <summary>The ServiceAccount's imagePullSecrets, or why it could not be read.</summary>
    private async Task<(IReadOnlyList<string> Names, string? Note)> ServiceAccountSecretsAsync(string ns, string serviceAccount, long notBefore, CancellationToken cancellationToken)
    {
        try
        {
            var sa = await _reads.ReadAsync($"serviceaccount/{ns}/{serviceAccount}", notBefore, () => _client.CoreV1.ReadNamespacedServiceAccountAsync(serviceAccount, ns), cancellationToken).ConfigureAwait(false);
            return ((sa.ImagePullSecrets ?? []).Select(r => r.Name).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.Ordinal).ToList(), null);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            return ([], error.IsForbidden
                ? $"the bot may not read serviceaccounts in namespace {ns}: grant get on serviceaccounts"
                : error.IsNotFound ? $"serviceaccount {serviceAccount} does not exist in namespace {ns}" : error.Message);
        }
    }

    /// <summary>Reads one secret; its origin is set by the caller once the ServiceAccount is known.</summary>
    private async Task<PullSecretCheck> CheckAsync(string ns, string name, bool usedByKubelet, long notBefore, CancellationToken cancellationToken)
    {
        const PullSecretOrigin origin = PullSecretOrigin.Pod;
        V1Secret secret;
        try
        {
            secret = await ReadSecretAsync(ns, name, notBefore, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            return error switch
            {
                { IsForbidden: true } => new PullSecretCheck(name, origin, usedByKubelet, SecretLookup.Forbidden, null,
                    $"the bot may not read secrets in namespace {ns}: grant get on secrets"),
                { IsNotFound: true } => new PullSecretCheck(name, origin, usedByKubelet, SecretLookup.Missing, null,
                    $"secret {name} does not exist in namespace {ns}"),
                _ => new PullSecretCheck(name, origin, usedByKubelet, SecretLookup.Failed, null, error.Message),
            };
        }

        var type = secret.Type ?? "Opaque";
        string? problem = type switch
        {
            DockerConfigJsonType when !HasKey(secret, ".dockerconfigjson") => $"secret {name} has type {type} but no .dockerconfigjson key",
            DockerCfgType when !HasKey(secret, ".dockercfg") => $"secret {name} has type {type} but no .dockercfg key",
            DockerConfigJsonType or DockerCfgType => null,
            _ => $"secret {name} has type {type}; kubelet only uses {DockerConfigJsonType} (or {DockerCfgType}) secrets for pulls",
        };
        return new PullSecretCheck(name, origin, usedByKubelet, SecretLookup.Found, type, problem) { Secret = secret };
    }

    private static bool HasKey(V1Secret secret, string key) =>
        secret.Data?.TryGetValue(key, out var bytes) == true && bytes is { Length: > 0 };
}

/// <summary>
/// A pod's ServiceAccount read and the reads of the secrets it names, started from names known before the pod is read
/// (<see cref="PullSecretInspector.StartReads"/>).
/// </summary>
public sealed record CredentialReads(
    string Namespace,
    PodCredentialNames Names,
    Task<(IReadOnlyList<string> Names, string? Note)> ServiceAccount,
    IReadOnlyList<Task<PullSecretCheck>> PodSecrets)
{
    /// <summary>Reads started and not used (the pod as read names others): their failures, if any, are observed and dropped.</summary>
    public void Abandon() => UnusedReads.Drop(PodSecrets.Append<Task>(ServiceAccount));
}
