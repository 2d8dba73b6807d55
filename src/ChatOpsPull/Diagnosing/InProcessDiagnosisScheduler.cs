using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The <see cref="IDiagnosisScheduler"/> the engine asks once an incident is stored: the diagnosis starts in this
/// process at once (<see cref="DiagnosisWorkers"/>) instead of waiting for a job server's poll. Asking costs a queue
/// write, nothing stored: the request is already durable as the incident's diagnosis ticket, written in the incident's
/// own transaction, and the one taker of a ticket left undone — after a crash or a stop — is <see cref="DiagnosisSweepJob"/>
/// (Hangfire's recurring job, on whichever host is up). (Before, each request scheduled a Hangfire job as its backstop:
/// a synchronous job-storage write per incident under the incident's subject lock, most of a 5,000-pod storm's intake
/// time on SQLite.) The queue is bounded: a request that finds it full is handed to the job queue at once, so nothing is
/// lost and memory stays bounded. A request already queued or running here is not queued twice; one whose run failed
/// is handed to the job queue (Hangfire's retries). A request handed over is taken on its ticket for the job's retries
/// (<see cref="HangfireDiagnosisScheduler.HandOverAsync"/>), so the sweep leaves it to the job. Once-only of the
/// result is the diagnosis ticket's (<see cref="DiagnosisRun"/>).
/// </summary>
public sealed partial class InProcessDiagnosisScheduler : IDiagnosisScheduler
{
    private readonly Channel<DiagnosisRequest> _requests;
    private readonly HangfireDiagnosisScheduler _jobs;
    private readonly IOptions<DiagnosisOptions> _options;
    private readonly ILogger<InProcessDiagnosisScheduler> _logger;
    private readonly ConcurrentDictionary<(string IncidentId, int Version), byte> _taken = new();
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

        if (!_taken.TryAdd((incidentId, requestVersion), 0))
        {
            return Task.CompletedTask; // queued or running here already
        }

        Interlocked.Increment(ref _pending);
        if (!_requests.Writer.TryWrite(new DiagnosisRequest(incidentId, requestVersion, Stopwatch.GetTimestamp())))
        {
            _taken.TryRemove((incidentId, requestVersion), out _);
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _overflowed);
            LogOverflow(_logger, incidentId, _options.Value.QueueCapacity);
            return _jobs.HandOverAsync(incidentId, requestVersion, cancellationToken);
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether requests are spread over per-cluster queues (then the in-process path is not used).</summary>
    public bool FleetMode => _jobs.FleetMode;

    /// <summary>Whether this host holds the request (queued or running here).</summary>
    internal bool Holds(string incidentId, int requestVersion) => _taken.ContainsKey((incidentId, requestVersion));

    internal void Finished(DiagnosisRequest request)
    {
        _taken.TryRemove((request.IncidentId, request.Version), out _);
        Interlocked.Decrement(ref _pending);
    }

    /// <summary>A run that failed here: the request goes to the job queue, whose retries carry it on.</summary>
    internal Task HandOverAsync(DiagnosisRequest request, CancellationToken cancellationToken) =>
        _jobs.HandOverAsync(request.IncidentId, request.Version, cancellationToken);

    /// <summary>No more requests in process (the host is stopping); what is queued is left to the sweep (<see cref="DiagnosisSweepJob"/>, on any host).</summary>
    internal void Complete() => _requests.Writer.TryComplete();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The in-process diagnosis queue is full ({Capacity}); the diagnosis of {IncidentId} goes to the job queue")]
    private static partial void LogOverflow(ILogger logger, string incidentId, int capacity);
}

/// <summary>One request on the in-process queue, with the moment it was asked for (queue wait).</summary>
internal sealed record DiagnosisRequest(string IncidentId, int Version, long RequestedAt);

/// <summary>
/// <see cref="DiagnosisOptions.Workers"/> loops that carry out the in-process queue's requests, each going on to its next
/// request once a diagnosis is made and handed to the write side (at most <see cref="WritesPerWorker"/> results of a worker
/// waiting to be stored) where writers run in parallel (PostgreSQL; on SQLite each waits for its write). A diagnosis that fails
/// is logged and handed to the diagnose job (which has Hangfire's retries); stopping the host cancels what is running
/// and leaves it, and whatever is still queued, to the sweep (<see cref="DiagnosisSweepJob"/>).
/// </summary>
internal sealed partial class DiagnosisWorkers(
    InProcessDiagnosisScheduler queue,
    IServiceScopeFactory scopes,
    IOptions<DiagnosisOptions> options,
    ChatOpsPull.Storage.BotDatabase database,
    ChatOpsPull.Observability.BotMetrics metrics,
    ILogger<DiagnosisWorkers> logger) : BackgroundService
{
    /// <summary>
    /// Where the store has one writer at a time (SQLite) a worker waits for its result's write, as before: the write takes
    /// the one turn ahead of the intake (a database stage of tens of milliseconds in a storm), and more results waiting for
    /// that one turn only slow the intake down (1,000-pod SQLite storm: diagnosed p99 885/719/348 ms going on vs 571/550/324 ms
    /// waiting). On PostgreSQL the results wait for their subjects' locks, behind the intake rounds, in parallel.
    /// </summary>
    private bool GoesOnBeforeTheWrite => !database.Dialect.OneWriterAtATime;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.Workers).Select(_ => Task.Run(() => WorkAsync(stoppingToken), CancellationToken.None)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Complete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Results a worker has handed to the write side and not seen stored yet, at most: beyond, it waits for one before it
    /// takes the next request (each holds only its diagnosis; the requests stay taken, <see cref="InProcessDiagnosisScheduler.Pending"/>).
    /// </summary>
    internal const int WritesPerWorker = 4;

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        // On PostgreSQL a worker goes on to the next request once a diagnosis is made: its result waits for the subject lock
        // (behind the subject's intake rounds, in a storm) without holding the worker. Until it is stored, its ticket is
        // its durability, as before: a run that fails is handed to the job; one the host stops before leaves it to the sweep.
        var writes = new List<Task>();
        try
        {
            await foreach (var request in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                var diagnosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var run = RunAsync(request, () => diagnosed.TrySetResult(), stoppingToken);
                await (GoesOnBeforeTheWrite ? Task.WhenAny(diagnosed.Task, run) : run).ConfigureAwait(false);
                writes.Add(run);
                writes.RemoveAll(w => w.IsCompleted);
                while (writes.Count >= WritesPerWorker)
                {
                    writes.Remove(await Task.WhenAny(writes).ConfigureAwait(false));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        try
        {
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One request carried out to its end (stored, skipped, or handed over); ends quietly when the host stops.</summary>
    private async Task RunAsync(DiagnosisRequest request, Action diagnosed, CancellationToken stoppingToken)
    {
        try
        {
            // Counted like the diagnose job's runs (chatopspull_jobs{kind="diagnose"}): it is the same work.
            metrics.Job("diagnose", "started");
            await using var scope = scopes.CreateAsyncScope();
            var run = scope.ServiceProvider.GetRequiredService<DiagnosisRun>();
            await run.RunAsync(request.IncidentId, request.Version, Stopwatch.GetElapsedTime(request.RequestedAt), stoppingToken, diagnosed).ConfigureAwait(false);
            metrics.Job("diagnose", "succeeded");
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The ticket is still pending: the sweep takes it up.
        }
#pragma warning disable CA1031 // the diagnose job carries the request on (with retries); one failure must not stop the worker
        catch (Exception e)
#pragma warning restore CA1031
        {
            metrics.Job("diagnose", "failed");
            LogFailed(logger, e, request.IncidentId, request.Version);
            await HandOverAsync(request, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            queue.Finished(request);
        }
    }

    private async Task HandOverAsync(DiagnosisRequest request, CancellationToken stoppingToken)
    {
        try
        {
            await queue.HandOverAsync(request, stoppingToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the ticket is still pending: the sweep (DiagnosisSweepJob) takes it up
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogHandOverFailed(logger, e, request.IncidentId, request.Version);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "In-process diagnosis of {IncidentId} v{Version} failed; the diagnose job will try again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string incidentId, int version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not hand the diagnosis of {IncidentId} v{Version} to the job queue; the diagnosis sweep will ask again")]
    private static partial void LogHandOverFailed(ILogger logger, Exception exception, string incidentId, int version);
}
