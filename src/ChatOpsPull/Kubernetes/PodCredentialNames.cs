using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>
/// The names a pod's spec gives for its pull credentials: <c>spec.serviceAccountName</c> ("default" when empty, as
/// <see cref="PullSecretInspector"/> reads it) and <c>spec.imagePullSecrets</c> (non-empty names, first occurrence kept,
/// in order). Names only, never a secret's contents. Both fields are immutable once the pod exists.
/// </summary>
public sealed record PodCredentialNames(string ServiceAccount, IReadOnlyList<string> PullSecrets)
{
    public static PodCredentialNames Of(V1Pod pod) =>
        Of(pod.Spec?.ServiceAccountName, pod.Spec?.ImagePullSecrets?.Select(r => r.Name));

    public static PodCredentialNames Of(string? serviceAccountName, IEnumerable<string?>? pullSecrets) => new(
        string.IsNullOrEmpty(serviceAccountName) ? "default" : serviceAccountName,
        pullSecrets is null ? [] : [.. pullSecrets.Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).Distinct(StringComparer.Ordinal)]);

    /// <summary>Whether both name the same ServiceAccount and the same secrets in the same order (records compare lists by reference).</summary>
    public bool SameAs(PodCredentialNames other) =>
        string.Equals(ServiceAccount, other.ServiceAccount, StringComparison.Ordinal) && PullSecrets.SequenceEqual(other.PullSecrets, StringComparer.Ordinal);
}

/// <summary>
/// The credential names (<see cref="PodCredentialNames"/>) of the failing pods a watcher has reported, by cluster,
/// namespace and pod, handed on beside the report: a diagnosis of such a pod sends its ServiceAccount and pull-secret
/// reads beside the pod read instead of after it. Only a hint: the diagnosis checks it against the pod as read and
/// reads the right objects when they differ (a pod deleted and created again under the same name), so a missing or
/// stale entry costs a round trip, never a wrong answer. Kept while the pod fails; at most <see cref="Limit"/> pods, then
/// all are dropped (the diagnoses that follow read the ordinary way until the watcher reports again).
/// </summary>
public sealed class ReportedPodCredentials
{
    public const int Limit = 100_000;
    private readonly Dictionary<(string Cluster, string Namespace, string Pod), PodCredentialNames> _pods = [];
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _pods.Count;
            }
        }
    }

    public void Remember(string cluster, string @namespace, string pod, PodCredentialNames names)
    {
        lock (_gate)
        {
            if (_pods.Count >= Limit && !_pods.ContainsKey((cluster, @namespace, pod)))
            {
                _pods.Clear();
            }

            _pods[(cluster, @namespace, pod)] = names;
        }
    }

    public void Forget(string cluster, string @namespace, string pod)
    {
        lock (_gate)
        {
            _pods.Remove((cluster, @namespace, pod));
        }
    }

    public PodCredentialNames? Find(string cluster, string @namespace, string pod)
    {
        lock (_gate)
        {
            return _pods.GetValueOrDefault((cluster, @namespace, pod));
        }
    }
}
