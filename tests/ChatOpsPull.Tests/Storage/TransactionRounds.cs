using System.Collections.Concurrent;
using System.Diagnostics;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Tests.Storage;

/// <summary>The bot's "TRANSACTION" activities under one call's trace, with the rounds each held.</summary>
internal sealed class TransactionRounds : IDisposable
{
    private readonly ConcurrentQueue<int> _rounds = new();
    private ActivityListener? _listener;

    public IReadOnlyList<int> Rounds => [.. _rounds];

    public async Task CountAsync(Func<Task> call)
    {
        var outer = Activity.Current;
        using var marker = new Activity("storm commits").Start();
        var trace = marker.TraceId;
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == BotDatabase.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
                o.Parent.TraceId == trace ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = a =>
            {
                if (a.OperationName == "TRANSACTION" && a.TraceId == trace)
                {
                    _rounds.Enqueue(a.GetTagItem("rounds") is int n ? n : 1);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
        try
        {
            await call();
        }
        finally
        {
            marker.Stop();
            Activity.Current = outer;
        }
    }

    public void Dispose() => _listener?.Dispose();
}
