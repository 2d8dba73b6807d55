namespace ChatOpsPull.Jobs;

/// <summary>
/// A background look that runs at once and then every period until the host stops (the news retell). A look that fails
/// is handed to <c>failed</c> (to log) and the next tick tries again: a database that is away for a while must not stop
/// the sweep.
/// </summary>
public static class PeriodicSweep
{
    /// <summary>How often a sweep with this delay or grace looks: the delay, at least 1 s and at most 30 s.</summary>
    public static TimeSpan Every(TimeSpan delay) =>
        TimeSpan.FromTicks(Math.Clamp(delay.Ticks, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromSeconds(30).Ticks));

    public static async Task RunAsync(TimeSpan period, TimeProvider time, Func<CancellationToken, Task> look, Action<Exception> failed, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            do
            {
                try
                {
                    await look(stoppingToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // the next look tries again
                catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    failed(e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
