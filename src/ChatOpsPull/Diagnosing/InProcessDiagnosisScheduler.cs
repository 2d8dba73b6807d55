using System.Diagnostics;
using System.Threading.Channels;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The <see cref="IDiagnosisScheduler"/> the engine asks once an incident is stored: the diagnosis starts in this
/// process at once (<see cref="DiagnosisWorkers"/>) instead of waiting for a job server's poll, and a Hangfire job is
/// scheduled as its durable backstop (<see cref="DiagnosisOptions.BackstopDelay"/> later): after a crash or stop it
/// runs the request on any host of the same database, otherwise it finds the request applied and skips. The queue is
/// bounded: a request that finds it full is put on the job queue at once, so nothing is lost and memory stays bounded.
/// Once-only is the diagnosis ticket's (<see cref="DiagnosisRun"/>): both paths may run, one result is stored.
/// </summary>
public sealed partial class InProcessDiagnosisScheduler : IDiagnosisScheduler
{
    private readonly Channel<DiagnosisRequest> _requests;
    private readonly HangfireDiagnosisScheduler _jobs;
    private readonly IOptions<DiagnosisOptions> _options;
    private readonly ILogger<InProcessDiagnosisScheduler> _logger;
    private int _pending;

    public InProcessDiagnosisScheduler(HangfireDiagnosisScheduler jobs, IOptions<DiagnosisOptions> options, ILogger<InProcessDiagnosisScheduler> logger)
    {
        _jobs = jobs;
        _options = options;
        _logger = logger;
        _requests = Channel.CreateBounded<DiagnosisRequest>(new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite answers false when full; nothing is dropped silently
            SingleWriter = false,
            SingleReader = false,
        });
    }

    /// <summary>Requests taken in process and not finished yet (queued or running).</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Requests that found the queue full and went to the job queue.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    private long _overflowed;

    internal ChannelReader<DiagnosisRequest> Reader => _requests.Reader;

    public Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        if (_jobs.FleetMode)
        {
            // A fleet's diagnoses run on the host of the incident's cluster: its job queue says which.
            return _jobs.EnqueueAsync(incidentId, requestVersion, cancellationToken);
        }

        Interlocked.Increment(ref _pending);
        if (!_requests.Writer.TryWrite(new DiagnosisRequest(incidentId, requestVersion, Stopwatch.GetTimestamp())))
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _overflowed);
            LogOverflow(_logger, incidentId, _options.Value.QueueCapacity);
            return _jobs.EnqueueAsync(incidentId, requestVersion, cancellationToken);
        }

        // Stored before anything can be lost: a crash from here on leaves the scheduled job to do the work.
        _jobs.ScheduleBackstop(incidentId, requestVersion, _options.Value.BackstopDelay);
        return Task.CompletedTask;
    }

    internal void Finished() => Interlocked.Decrement(ref _pending);

    /// <summary>No more requests in process (the host is stopping); what is queued is left to the backstop jobs.</summary>
    internal void Complete() => _requests.Writer.TryComplete();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The in-process diagnosis queue is full ({Capacity}); the diagnosis of {IncidentId} goes to the job queue")]
    private static partial void LogOverflow(ILogger logger, string incidentId, int capacity);
}

/// <summary>One request on the in-process queue, with the moment it was asked for (queue wait).</summary>
internal sealed record DiagnosisRequest(string IncidentId, int Version, long RequestedAt);

/// <summary>
/// <see cref="DiagnosisOptions.Workers"/> loops that carry out the in-process queue's requests. A diagnosis that fails
/// is logged and left to its backstop job (which has Hangfire's retries); stopping the host cancels what is running
/// and leaves it, and whatever is still queued, to the backstop jobs.
/// </summary>
internal sealed partial class DiagnosisWorkers(
    InProcessDiagnosisScheduler queue,
    IServiceScopeFactory scopes,
    IOptions<DiagnosisOptions> options,
    ChatOpsPull.Observability.BotMetrics metrics,
    ILogger<DiagnosisWorkers> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.Workers).Select(_ => Task.Run(() => WorkAsync(stoppingToken), CancellationToken.None)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Complete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    // Counted like the diagnose job's runs (chatopspull_jobs{kind="diagnose"}): it is the same work.
                    metrics.Job("diagnose", "started");
                    await using var scope = scopes.CreateAsyncScope();
                    var run = scope.ServiceProvider.GetRequiredService<DiagnosisRun>();
                    await run.RunAsync(request.IncidentId, request.Version, Stopwatch.GetElapsedTime(request.RequestedAt), stoppingToken).ConfigureAwait(false);
                    metrics.Job("diagnose", "succeeded");
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    throw;
                }
#pragma warning disable CA1031 // the backstop job carries the request on (with retries); one failure must not stop the worker
                catch (Exception e)
#pragma warning restore CA1031
                {
                    metrics.Job("diagnose", "failed");
                    LogFailed(logger, e, request.IncidentId, request.Version);
                }
                finally
                {
                    queue.Finished();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "In-process diagnosis of {IncidentId} v{Version} failed; its backstop job will try again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string incidentId, int version);
}
