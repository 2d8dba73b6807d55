using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using k8s.Autorest;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Lists and watches one resource over the client's own HTTP connection (its handler, TLS and credentials), handing the
/// answers' bytes to a slim reader (<see cref="PodJson"/>, <see cref="EventJson"/>) instead of deserializing the full
/// models: KubernetesClient has no per-call serializer. Refusals surface as the client's own
/// <see cref="HttpOperationException"/> with the Status body, so callers treat them as they treat the client's.
/// </summary>
internal sealed class ApiListWatch
{
    private readonly k8s.Kubernetes _client;
    private readonly string _resource;
    private readonly string? _fieldSelector;

    /// <param name="resource">The core/v1 resource's plural name (<c>pods</c>, <c>events</c>).</param>
    /// <param name="fieldSelector">A field selector sent with every list and watch, if any.</param>
    public ApiListWatch(k8s.IKubernetes client, string resource, string? fieldSelector = null)
    {
        _client = client as k8s.Kubernetes
            ?? throw new ArgumentException("The watcher reads the API over the client's own connection, so it needs a k8s.Kubernetes client.", nameof(client));
        _resource = resource;
        _fieldSelector = fieldSelector;
    }

    /// <summary>One page: <c>GET /api/v1/[namespaces/NS/]RESOURCE?limit=N[&amp;continue=T]</c>, read whole by <paramref name="read"/>.</summary>
    public async Task<T> ListAsync<T>(string? ns, string? next, int limit, Func<ReadOnlySequence<byte>, T> read, CancellationToken cancellationToken)
    {
        var query = Query("limit=").Append(limit);
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
                    var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    if (result.IsCompleted)
                    {
                        var page = read(result.Buffer);
                        reader.AdvanceTo(result.Buffer.End);
                        return page;
                    }

                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// <c>GET …/RESOURCE?watch=true&amp;allowWatchBookmarks=true&amp;resourceVersion=RV&amp;timeoutSeconds=S</c>: the events,
    /// one JSON line each read by <paramref name="readLine"/>, as they arrive; ends when the server closes the stream.
    /// </summary>
    public async IAsyncEnumerable<T> WatchAsync<T>(
        string? ns,
        string? resourceVersion,
        int timeoutSeconds,
        Func<ReadOnlySequence<byte>, T> readLine,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = Query("watch=true&allowWatchBookmarks=true&timeoutSeconds=").Append(timeoutSeconds);
        if (!string.IsNullOrEmpty(resourceVersion))
        {
            query.Append("&resourceVersion=").Append(Uri.EscapeDataString(resourceVersion));
        }

        using var response = await SendAsync(Path(ns), query.ToString(), cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var reader = PipeReader.Create(stream);
            var lines = new List<T>();
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    while (buffer.PositionOf((byte)'\n') is { } end)
                    {
                        AddLine(buffer.Slice(0, end), readLine, lines);
                        buffer = buffer.Slice(buffer.GetPosition(1, end));
                    }

                    if (result.IsCompleted)
                    {
                        AddLine(buffer, readLine, lines);
                        buffer = buffer.Slice(buffer.End);
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                    foreach (var line in lines)
                    {
                        yield return line;
                    }

                    lines.Clear();
                    if (result.IsCompleted)
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

    private StringBuilder Query(string start)
    {
        var query = new StringBuilder();
        if (_fieldSelector is not null)
        {
            query.Append("fieldSelector=").Append(Uri.EscapeDataString(_fieldSelector)).Append('&');
        }

        return query.Append(start);
    }

    private static void AddLine<T>(ReadOnlySequence<byte> line, Func<ReadOnlySequence<byte>, T> readLine, List<T> lines)
    {
        if (IsBlank(line))
        {
            return;
        }

        lines.Add(readLine(line));
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

    private string Path(string? ns) =>
        ns is null ? $"api/v1/{_resource}" : $"api/v1/namespaces/{Uri.EscapeDataString(ns)}/{_resource}";

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
