using ChatOpsPull.Kubernetes;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The reads, by name, of the secrets that might hold credentials for a registry although a pod does not use them (the
/// bot never lists Secrets). Which secrets those are depends on the registry's name alone, so a diagnosis starts them
/// (<see cref="Start"/>) from the image its incident names, beside the pod read, and uses them when the pod as read has
/// no secret of its own for its image on that same registry (<see cref="Serves"/>). Each read goes through
/// <see cref="PullSecretInspector.ReadSecretAsync"/>, so a read of the same secret in flight, sent since the diagnosis
/// was asked for, answers it.
/// </summary>
internal sealed class UnattachedRead
{
    private readonly IReadOnlyList<(string Name, Task<(V1Secret? Secret, bool Forbidden)> Read)> _reads;

    private UnattachedRead(string @namespace, string domain, IReadOnlyList<(string, Task<(V1Secret?, bool)>)> reads)
    {
        Namespace = @namespace;
        Domain = domain;
        _reads = reads;
    }

    public string Namespace { get; }

    /// <summary>The registry the candidates were named for.</summary>
    public string Domain { get; }

    /// <param name="candidates">The candidate names for <paramref name="domain"/>, in the order the evidence names them.</param>
    /// <param name="notBefore">When the diagnosis was asked for: no read it joins was sent earlier.</param>
    public static UnattachedRead Start(PullSecretInspector secrets, string @namespace, string domain, IEnumerable<string> candidates, long notBefore, CancellationToken cancellationToken) =>
        new(@namespace, domain, [.. candidates.Select(name => (name, ReadAsync(secrets, @namespace, name, notBefore, cancellationToken)))]);

    /// <summary>Whether these are the candidates for the image's registry in the pod's namespace.</summary>
    public bool Serves(string @namespace, string domain) =>
        Namespace == @namespace && string.Equals(Domain, domain, StringComparison.Ordinal);

    /// <summary>
    /// The candidates the pod does not refer to (<paramref name="referenced"/>), in order, each with its secret (null when
    /// it does not exist or may not be read) and whether it may not be read. The reads of candidates the pod refers to are
    /// not waited for (their failure, if any, is observed and dropped). Any other failure is the diagnosis's.
    /// </summary>
    public async Task<IReadOnlyList<(string Name, V1Secret? Secret, bool Forbidden)>> ResultAsync(IReadOnlySet<string> referenced)
    {
        var wanted = _reads.Where(r => !referenced.Contains(r.Name)).ToArray();
        UnusedReads.Drop(_reads.Where(r => referenced.Contains(r.Name)).Select(r => r.Read));
        var answers = await Task.WhenAll(wanted.Select(r => r.Read)).ConfigureAwait(false);
        return [.. wanted.Select((r, i) => (r.Name, answers[i].Secret, answers[i].Forbidden))];
    }

    /// <summary>Reads started and not used: their failures, if any, are observed and dropped.</summary>
    public void Abandon() => UnusedReads.Drop(_reads.Select(r => r.Read));

    private static async Task<(V1Secret? Secret, bool Forbidden)> ReadAsync(PullSecretInspector secrets, string @namespace, string name, long notBefore, CancellationToken cancellationToken)
    {
        try
        {
            return (await secrets.ReadSecretAsync(@namespace, name, notBefore, cancellationToken).ConfigureAwait(false), false);
        }
        catch (HttpOperationException e) when (ApiError.From(e).IsNotFound)
        {
            return (null, false);
        }
        catch (HttpOperationException e) when (ApiError.From(e).IsForbidden)
        {
            return (null, true);
        }
    }
}
