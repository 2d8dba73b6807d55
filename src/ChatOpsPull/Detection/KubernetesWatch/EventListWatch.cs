namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Lists and watches core/v1 events about pods (<see cref="ApiListWatch"/>, field selector
/// <c>involvedObject.kind=Pod</c>), reading the answers with <see cref="EventJson"/> instead of deserializing full
/// <c>Corev1Event</c>s through reflection.
/// </summary>
internal sealed class EventListWatch(k8s.IKubernetes client)
{
    public const string PodEventSelector = "involvedObject.kind=Pod";

    private readonly ApiListWatch _api = new(client, "events", PodEventSelector);

    /// <summary>One page: <c>GET /api/v1/[namespaces/NS/]events?fieldSelector=involvedObject.kind%3DPod&amp;limit=N[&amp;continue=T]</c>.</summary>
    public Task<ListPage<WatchedEvent>> ListAsync(string? ns, string? next, int limit, StringPool pool, CancellationToken cancellationToken) =>
        _api.ListAsync(ns, next, limit, json => EventJson.ReadListPage(json, pool), cancellationToken);

    /// <summary>
    /// <c>GET …/events?fieldSelector=…&amp;watch=true&amp;allowWatchBookmarks=true&amp;resourceVersion=RV&amp;timeoutSeconds=S</c>:
    /// the events, one JSON line each, as they arrive; ends when the server closes the stream.
    /// </summary>
    public IAsyncEnumerable<WatchLine<WatchedEvent>> WatchAsync(string? ns, string? resourceVersion, int timeoutSeconds, StringPool pool, CancellationToken cancellationToken) =>
        _api.WatchAsync(ns, resourceVersion, timeoutSeconds, line => EventJson.ReadWatchEvent(line, pool), cancellationToken);
}
