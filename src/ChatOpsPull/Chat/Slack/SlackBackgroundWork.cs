using System.Collections.Concurrent;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Work that runs after Slack has been acknowledged (handlers, replies). Tracked so shutdown waits for it, cancelled
/// when the host stops, and never tied to the HTTP request that started it.
/// </summary>
public sealed partial class SlackBackgroundWork(IHostApplicationLifetime lifetime, ILogger<SlackBackgroundWork> log) : IHostedService
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    public CancellationToken Stopping => lifetime.ApplicationStopping;

    public int Running => _running.Count;

    public void Run(string what, Func<CancellationToken, Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work(Stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
            {
                LogCancelled(log, what);
            }
#pragma warning disable CA1031 // the failure is logged; nobody else could observe it
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogFailed(log, ex, what);
            }
        });
        _running.TryAdd(task, 0);
        _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Waits for work under way (its token is already cancelled) until the host's shutdown timeout.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_running.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogAbandoned(log, _running.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Slack background work '{What}' failed.")]
    private static partial void LogFailed(ILogger logger, Exception exception, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack background work '{What}' cancelled by shutdown.")]
    private static partial void LogCancelled(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} Slack background task(s) still running at shutdown.")]
    private static partial void LogAbandoned(ILogger logger, int count);
}
