using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using k8s.Autorest;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Lists and watches pods over the client's own HTTP connection (its handler, TLS and credentials), reading the answers
/// with <see cref="PodJson"/> instead of deserializing full <c>V1Pod</c>s: the watcher keeps about one pod in twenty, and
/// KubernetesClient has no per-call serializer. Refusals surface as the client's own <see cref="HttpOperationException"/>
/// with the Status body, so callers treat them as they treat the client's.
/// </summary>
internal sealed class PodListWatch
{
    private readonly k8s.Kubernetes _client;

    public PodListWatch(k8s.IKubernetes client)
    {
        _client = client as k8s.Kubernetes
            ?? throw new ArgumentException("The pod watch reads the API over the client's own connection, so it needs a k8s.Kubernetes client.", nameof(client));
    }

    /// <summary>One page: <c>GET /api/v1/[namespaces/NS/]pods?limit=N[&amp;continue=T]</c>.</summary>
    public async Task<PodListPage> ListAsync(string? ns, string? next, int limit, StringPool pool, CancellationToken cancellationToken)
    {
        var query = new StringBuilder("limit=").Append(limit);
        if (!string.IsNullOrEmpty(next))
        {
            query.Append("&continue=").Append(Uri.EscapeDataString(next));
        }

        using var response = await SendAsync(Path(ns), query.ToString(), cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var reader = PipeReader.Create(stream);
            try
            {
                while (true)
                {
                    var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    if (read.IsCompleted)
                    {
                        var page = PodJson.ReadListPage(read.Buffer, pool);
                        reader.AdvanceTo(read.Buffer.End);
                        return page;
                    }

                    reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                }
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// <c>GET …/pods?watch=true&amp;allowWatchBookmarks=true&amp;resourceVersion=RV&amp;timeoutSeconds=S</c>: the events, one
    /// JSON line each, as they arrive; ends when the server closes the stream.
    /// </summary>
    public async IAsyncEnumerable<PodWatchEvent> WatchAsync(
        string? ns,
        string? resourceVersion,
        int timeoutSeconds,
        StringPool pool,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new StringBuilder("watch=true&allowWatchBookmarks=true&timeoutSeconds=").Append(timeoutSeconds);
        if (!string.IsNullOrEmpty(resourceVersion))
        {
            query.Append("&resourceVersion=").Append(Uri.EscapeDataString(resourceVersion));
        }

        using var response = await SendAsync(Path(ns), query.ToString(), cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var reader = PipeReader.Create(stream);
            var events = new List<PodWatchEvent>();
            try
            {
                while (true)
                {
                    var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var buffer = read.Buffer;
                    while (buffer.PositionOf((byte)'\n') is { } end)
                    {
                        AddLine(buffer.Slice(0, end), pool, events);
                        buffer = buffer.Slice(buffer.GetPosition(1, end));
                    }

                    if (read.IsCompleted)
                    {
                        AddLine(buffer, pool, events);
                        buffer = buffer.Slice(buffer.End);
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                    foreach (var e in events)
                    {
                        yield return e;
                    }

                    events.Clear();
                    if (read.IsCompleted)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    private static void AddLine(ReadOnlySequence<byte> line, StringPool pool, List<PodWatchEvent> events)
    {
        if (IsBlank(line))
        {
            return;
        }

        events.Add(PodJson.ReadWatchEvent(line, pool));
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static string Path(string? ns) =>
        ns is null ? "api/v1/pods" : $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/pods";

    private async Task<HttpResponseMessage> SendAsync(string path, string query, CancellationToken cancellationToken)
    {
        var baseUri = _client.BaseUri.ToString();
        var uri = new Uri((baseUri.EndsWith('/') ? baseUri : baseUri + "/") + path + "?" + query);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Accept.ParseAdd("application/json");
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var response = await _client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpOperationException($"Operation returned an invalid status code '{response.StatusCode}'")
            {
                Request = new HttpRequestMessageWrapper(request, null),
                Response = new HttpResponseMessageWrapper(response, body),
            };
        }
    }
}
