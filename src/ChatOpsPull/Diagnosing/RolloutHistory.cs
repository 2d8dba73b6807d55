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

    /// <summary>The revision before the current one and that revision's image for <paramref name="container"/>, or null.</summary>
    public async Task<(int Revision, string Image)?> PreviousAsync(string @namespace, string deployment, string container, CancellationToken cancellationToken)
    {
        V1Deployment current;
        V1ReplicaSetList sets;
        try
        {
            // Independent reads: asked for at once.
            var deploymentRead = client.AppsV1.ReadNamespacedDeploymentAsync(deployment, @namespace, cancellationToken: cancellationToken);
            var setsRead = client.AppsV1.ListNamespacedReplicaSetAsync(@namespace, cancellationToken: cancellationToken);
            await Task.WhenAll(deploymentRead, setsRead).ConfigureAwait(false);
            current = await deploymentRead.ConfigureAwait(false);
            sets = await setsRead.ConfigureAwait(false);
        }
        catch (HttpOperationException)
        {
            return null;
        }

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
