using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// A Deployment's revision history as <c>kubectl rollout history</c> sees it: its ReplicaSets and their
/// <c>deployment.kubernetes.io/revision</c> annotations. Used to offer a rollback to the previous revision's image.
/// </summary>
public sealed class RolloutHistory(IKubernetes client)
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";

    /// <summary>The namespace's ReplicaSets (what <c>kubectl rollout history</c> reads beside the Deployment), or null when they cannot be read.</summary>
    public async Task<V1ReplicaSetList?> ReplicaSetsAsync(string @namespace, CancellationToken cancellationToken)
    {
        try
        {
            return await client.AppsV1.ListNamespacedReplicaSetAsync(@namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException)
        {
            return null;
        }
    }

    /// <summary>From a Deployment already read and its namespace's ReplicaSets: the previous revision and its image, or null.</summary>
    public static (int Revision, string Image)? Previous(V1Deployment current, V1ReplicaSetList sets, string container)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(sets);
        var currentRevision = Revision(current.Metadata);
        var previous = (sets.Items ?? [])
            .Where(rs => rs.Metadata?.OwnerReferences?.Any(o => o.Kind == "Deployment" && o.Uid == current.Metadata.Uid) == true)
            .Select(rs => (Revision: Revision(rs.Metadata), Set: rs))
            .Where(r => r.Revision > 0 && r.Revision < currentRevision)
            .OrderByDescending(r => r.Revision)
            .FirstOrDefault();
        var image = previous.Set?.Spec?.Template?.Spec?.Containers?.FirstOrDefault(c => c.Name == container)?.Image;
        return image is null ? null : (previous.Revision, image);
    }

    private static int Revision(V1ObjectMeta? metadata) =>
        metadata?.Annotations is { } annotations
        && annotations.TryGetValue(RevisionAnnotation, out var text)
        && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var revision)
            ? revision
            : 0;
}
