using System.Collections.Concurrent;
using System.Diagnostics;
using ChatOpsPull.Observability;

namespace ChatOpsPull.Bench;

/// <summary>
/// Where the Kubernetes stage of a diagnosis goes, per request the diagnoses send to the API stand-in: the whole round
/// trip as the client sees it (send to response headers), the part spent waiting for a connection of the client's pool,
/// and the stand-in's own handling (its server request activity, which is a child of the client's). Requests outside a
/// diagnosis (the watcher, the warm-up) are not counted. Listens to the runtime's activities; changes nothing.
/// </summary>
internal sealed class KubernetesReadProbe : IDisposable
{
    private const string ClientRequest = "System.Net.Http.HttpRequestOut";
    private const string WaitForConnection = "Experimental.System.Net.Http.Connections.WaitForConnection";
    private const string ServerRequest = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    private readonly ActivityListener _listener;
    private readonly int _apiPort;
    private readonly ConcurrentDictionary<ActivitySpanId, Read> _reads = new();
    private readonly ConcurrentDictionary<ActivitySpanId, (DateTime Start, double Duration)> _serverTimes = new();

    /// <summary>Per diagnosis: when each Kubernetes read it waited for ran (sent by it, or another's it joined).</summary>
    private readonly ConcurrentDictionary<DiagnosisStageTimes, ConcurrentQueue<(DateTime Start, DateTime End)>> _waits = new();

    public KubernetesReadProbe(int apiPort)
    {
        _apiPort = apiPort;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "System.Net.Http" or "Experimental.System.Net.Http.Connections" or "Microsoft.AspNetCore"
                || source == ChatOpsPull.Kubernetes.SharedReads.JoinedReads,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = Stopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private void Stopped(Activity activity)
    {
        switch (activity.OperationName)
        {
            case ClientRequest when DiagnosisStageTimes.Current is not null
                && Equals(activity.GetTagItem("server.port")?.ToString(), _apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
                && activity.GetTagItem("url.full") is string url:
                var read = _reads.GetOrAdd(activity.SpanId, _ => new Read());
                read.Kind = Kind(activity.GetTagItem("http.request.method") as string ?? "GET", new Uri(url).AbsolutePath);
                read.Total = activity.Duration.TotalMilliseconds;
                read.Start = activity.StartTimeUtc;
                read.Done = true;
                Waited(activity);
                break;
            case "shared read joined" when DiagnosisStageTimes.Current is not null:
                Waited(activity);
                break;
            case WaitForConnection when activity.Parent is { OperationName: ClientRequest } parent:
                _reads.GetOrAdd(parent.SpanId, _ => new Read()).ConnectionWait += activity.Duration.TotalMilliseconds;
                break;
            case ServerRequest when activity.ParentSpanId != default:
                _serverTimes[activity.ParentSpanId] = (activity.StartTimeUtc, activity.Duration.TotalMilliseconds);
                break;
        }
    }

    private void Waited(Activity activity) =>
        _waits.GetOrAdd(DiagnosisStageTimes.Current!, _ => new()).Enqueue((activity.StartTimeUtc, activity.StartTimeUtc + activity.Duration));

    public void Clear()
    {
        _reads.Clear();
        _serverTimes.Clear();
        _waits.Clear();
    }

    /// <summary>
    /// Per diagnosis, its sequential Kubernetes rounds: the longest chain of reads it waited for (sent or joined) each
    /// started after the one before it had answered. Reads sent at once are one round; a read started only once another
    /// answered is the next one. Owner reads answered by the owner cache, or joined there, are not seen.
    /// </summary>
    public double[] Rounds() => _waits.Values.Select(w => (double)Depth([.. w])).Order().ToArray();

    private static int Depth((DateTime Start, DateTime End)[] reads)
    {
        Array.Sort(reads, (a, b) => a.Start.CompareTo(b.Start));
        var depth = new int[reads.Length];
        for (var i = 0; i < reads.Length; i++)
        {
            depth[i] = 1;
            for (var j = 0; j < i; j++)
            {
                if (reads[j].End <= reads[i].Start)
                {
                    depth[i] = Math.Max(depth[i], depth[j] + 1);
                }
            }
        }

        return depth.Length == 0 ? 0 : depth.Max();
    }

    /// <summary>
    /// Per kind of read ("get pods", "list replicasets"): client round trip, connection wait, stand-in handling, and the
    /// round trip's two halves outside the handling: from the client's send to the stand-in's start (request out: the
    /// client's HTTP/2 writer, TLS, the socket, the server's frame loop and dispatch) and from the stand-in's end to the
    /// response headers at the client (response back). Both halves need both activities in one process (not with
    /// <c>--api-process</c>).
    /// </summary>
    public IEnumerable<(string Kind, double[] Total, double[] ConnectionWait, double[] Server, double[] Out, double[] Back)> ByKind() =>
        _reads
            .Where(r => r.Value.Done)
            .GroupBy(r => r.Value.Kind, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .Select(g =>
            {
                var served = g.Where(r => _serverTimes.ContainsKey(r.Key)).Select(r => (Read: r.Value, Server: _serverTimes[r.Key])).ToArray();
                return (
                    g.Key,
                    g.Select(r => r.Value.Total).Order().ToArray(),
                    g.Select(r => r.Value.ConnectionWait).Order().ToArray(),
                    served.Select(s => s.Server.Duration).Order().ToArray(),
                    served.Select(s => (s.Server.Start - s.Read.Start).TotalMilliseconds).Order().ToArray(),
                    served.Select(s => s.Read.Total - (s.Server.Start - s.Read.Start).TotalMilliseconds - s.Server.Duration).Order().ToArray());
            });

    /// <summary>"get pods", "list replicasets", "get secrets": the verb and the resource, without namespace and name.</summary>
    private static string Kind(string method, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var rest = segments.Length > 0 && segments[0] == "api" ? segments[2..] : segments.Length > 2 ? segments[3..] : segments;
        if (rest.Length >= 2 && rest[0] == "namespaces" && rest.Length > 2)
        {
            rest = rest[2..];
        }

        var resource = rest.Length > 0 ? rest[0] : path;
        var named = rest.Length > 1;
        var verb = method switch
        {
            "GET" => named ? "get" : "list",
            _ => method.ToLowerInvariant(),
        };
        return $"{verb} {resource}";
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Read
    {
        public string Kind { get; set; } = "?";

        public double Total { get; set; }

        public DateTime Start { get; set; }

        public double ConnectionWait { get; set; }

        public bool Done { get; set; }
    }
}
