namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Lists and watches pods (<see cref="ApiListWatch"/>), reading the answers with <see cref="PodJson"/> instead of
/// deserializing full <c>V1Pod</c>s: the watcher keeps about one pod in twenty.
/// </summary>
internal sealed class PodListWatch(k8s.IKubernetes client)
{
    private readonly ApiListWatch _api = new(client, "pods");

    /// <summary>One page: <c>GET /api/v1/[namespaces/NS/]pods?limit=N[&amp;continue=T]</c>.</summary>
    public Task<ListPage<WatchedPod>> ListAsync(string? ns, string? next, int limit, StringPool pool, CancellationToken cancellationToken) =>
        _api.ListAsync(ns, next, limit, json => PodJson.ReadListPage(json, pool), cancellationToken);

    /// <summary>
    /// <c>GET …/pods?watch=true&amp;allowWatchBookmarks=true&amp;resourceVersion=RV&amp;timeoutSeconds=S</c>: the events, one
    /// JSON line each, as they arrive; ends when the server closes the stream.
    /// </summary>
    public IAsyncEnumerable<WatchLine<WatchedPod>> WatchAsync(string? ns, string? resourceVersion, int timeoutSeconds, StringPool pool, CancellationToken cancellationToken) =>
        _api.WatchAsync(ns, resourceVersion, timeoutSeconds, line => PodJson.ReadWatchEvent(line, pool), cancellationToken);
}
