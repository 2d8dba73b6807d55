using System.Diagnostics;

namespace ChatOpsPull.Kubernetes;

/// <summary>
/// One API read for callers that ask for the same object at once. A storm's diagnoses run side by side and read the same
/// few objects — the node their pods run on, a namespace's ServiceAccount and pull secrets — so a caller joins a read of
/// that object already in flight instead of sending its own, but only a read sent no earlier than <c>notBefore</c>, the
/// moment the caller's diagnosis was asked for (its incident's queue stamp, or now for a job run): the answer it gets was
/// read after the failure it explains was reported. Nothing is kept once a read has answered (the next caller reads
/// again), so no evidence is ever served from a cache. A shared read is not cancelled by any one caller, who may stop waiting on its own token; its
/// failure (an <see cref="k8s.Autorest.HttpOperationException"/>: not found, forbidden) is every joined caller's.
/// </summary>
public sealed class SharedReads
{
    /// <summary>
    /// A caller's wait on a read another caller sent, as an activity ("shared read joined", from the join to the answer),
    /// so a trace shows a diagnosis waiting on a read it did not send (the bench counts Kubernetes rounds with it).
    /// Nothing is made while no one listens.
    /// </summary>
    public static readonly ActivitySource JoinedReads = new("ChatOpsPull.Kubernetes.SharedReads");

    private readonly Dictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);
    private long _sent;
    private long _joined;

    /// <summary>Reads sent to the API server.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Callers answered by a read another caller sent.</summary>
    public long Joined => Interlocked.Read(ref _joined);

    /// <summary>
    /// Now, as a <c>notBefore</c> for the reads that follow: the real monotonic clock (<see cref="Stopwatch"/>), whatever
    /// clock the caller keeps, since freshness is about when the API server answered.
    /// </summary>
    public static long Now() => Stopwatch.GetTimestamp();

    /// <param name="key">The object: kind, namespace and name (a key is always read with the same <typeparamref name="T"/>).</param>
    /// <param name="notBefore">The oldest send this caller accepts (<see cref="Now"/> when its diagnosis was asked for).</param>
    public Task<T> ReadAsync<T>(string key, long notBefore, Func<Task<T>> read, CancellationToken cancellationToken)
    {
        TaskCompletionSource<T> answer;
        InFlight started;
        lock (_inFlight)
        {
            if (_inFlight.TryGetValue(key, out var flight) && flight.SentAt >= notBefore)
            {
                Interlocked.Increment(ref _joined);
                var joined = ((Task<T>)flight.Answer).WaitAsync(cancellationToken);
                TraceJoin(joined);
                return joined;
            }

            // A read sent before this caller began is not joined; this one, fresher, is what later callers join.
            answer = new TaskCompletionSource<T>();
            started = new InFlight(Now(), answer.Task);
            _inFlight[key] = started;
        }

        Interlocked.Increment(ref _sent);
        _ = SendAsync(key, started, read, answer);
        return answer.Task.WaitAsync(cancellationToken);
    }

    private static void TraceJoin(Task joined)
    {
        if (!JoinedReads.HasListeners())
        {
            return;
        }

        // Not made current: the caller's own activity stays its flow's parent.
        var current = Activity.Current;
        var activity = JoinedReads.StartActivity("shared read joined");
        Activity.Current = current;
        _ = activity is null ? null : joined.ContinueWith(static (_, a) => ((Activity)a!).Stop(), activity, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendAsync<T>(string key, InFlight started, Func<Task<T>> read, TaskCompletionSource<T> answer)
    {
        T result;
        try
        {
            result = await read().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // handed to every caller waiting for this read
        catch (Exception e)
#pragma warning restore CA1031
        {
            Forget(key, started);
            answer.SetException(e);
            return;
        }

        Forget(key, started);
        answer.SetResult(result);
    }

    /// <summary>A read that has answered is no longer joined: its answer is kept by no one but its callers.</summary>
    private void Forget(string key, InFlight started)
    {
        lock (_inFlight)
        {
            if (_inFlight.TryGetValue(key, out var current) && ReferenceEquals(current, started))
            {
                _inFlight.Remove(key);
            }
        }
    }

    private sealed record InFlight(long SentAt, Task Answer);
}
