using System.Collections.Concurrent;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>What a detection source handed to the incident engine.</summary>
public sealed record SinkResolve(string Cluster, string Namespace, string Pod, string? Container, PodResolution Resolution);

/// <summary>Stands in for the incident store: records every report and resolve, and can be told to fail.</summary>
public sealed class RecordingPullFailureSink : IPullFailureSink
{
    private readonly ConcurrentQueue<PullFailure> _reports = new();
    private readonly ConcurrentQueue<SinkResolve> _resolves = new();

    /// <summary>While set, every call throws, as an unavailable database would.</summary>
    public bool Failing { get; set; }

    public IReadOnlyList<PullFailure> Reports(string @namespace) => _reports.Where(r => r.Namespace == @namespace).ToList();

    public IReadOnlyList<SinkResolve> Resolves(string @namespace) => _resolves.Where(r => r.Namespace == @namespace).ToList();

    public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new InvalidOperationException("incident store unavailable (test)");
        }

        _reports.Enqueue(failure);
        return Task.CompletedTask;
    }

    public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new InvalidOperationException("incident store unavailable (test)");
        }

        _resolves.Enqueue(new SinkResolve(cluster, @namespace, pod, container, resolution));
        return Task.CompletedTask;
    }
}
