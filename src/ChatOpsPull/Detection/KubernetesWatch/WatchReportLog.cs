using System.Globalization;
using System.Text;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// How the watcher logs what it reports, so that a storm reads in a few lines instead of one per pod: every report
/// and every resolve at Debug; at Information the first report of each workload (the first resolve under each
/// controller) in an interval, as before, and once per <see cref="Interval"/> one line per workload with how many more
/// there were, by reason, and the last pod. A single failing pod still logs its one Information line at once; 5,000
/// pods of 100 workloads log about 100 lines, plus 100 per interval while the storm lasts. Thread-safe: the watcher's
/// delivery lanes call it at once.
/// </summary>
internal sealed partial class WatchReportLog(ILogger logger, TimeProvider time)
{
    /// <summary>How often the counted reports are summed up.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<(bool Resolve, string Namespace, string Group), Window> _windows = [];
    private long _since = time.GetTimestamp();

    /// <summary>A report handed to the incident engine.</summary>
    public void Reported(PullFailure report)
    {
        LogReport(logger, report.Namespace, report.Pod, report.Container, report.Reason);
        var workload = report.Workload?.ToString() ?? "pod/" + report.Pod;
        if (Count(false, report.Namespace, workload, report.Reason, report.Pod))
        {
            LogFirstReport(logger, report.Namespace, report.Pod, report.Container, report.Reason, workload, (int)Interval.TotalSeconds);
        }
    }

    /// <summary>A resolve handed to the incident engine (a null container: the whole pod).</summary>
    public void Resolved(TrackedPod pod, string? container, PodResolution resolution)
    {
        LogResolve(logger, pod.Namespace, pod.Name, container ?? "*", resolution);
        var owner = pod.Owners.Count > 0 ? $"{pod.Owners[0].Kind?.ToLowerInvariant()}/{pod.Owners[0].Name}" : "pod/" + pod.Name;
        if (Count(true, pod.Namespace, owner, resolution.ToString(), pod.Name))
        {
            LogFirstResolve(logger, pod.Namespace, pod.Name, container ?? "*", resolution, owner, (int)Interval.TotalSeconds);
        }
    }

    /// <summary>Logs one line per workload with reports counted since the last call, and starts a new interval.</summary>
    public void Flush()
    {
        List<((bool Resolve, string Namespace, string Group) Key, Window Window)> counted;
        long since;
        lock (_gate)
        {
            counted = [.. _windows.Where(w => w.Value.More > 0).Select(w => (w.Key, w.Value))];
            _windows.Clear();
            since = _since;
            _since = time.GetTimestamp();
        }

        var seconds = (int)Math.Round(time.GetElapsedTime(since).TotalSeconds);
        foreach (var (key, window) in counted.OrderBy(c => c.Key.Namespace, StringComparer.Ordinal).ThenBy(c => c.Key.Group, StringComparer.Ordinal))
        {
            // Counted only while Information is on (Count), so the text is wanted.
            var reasons = window.Describe();
            if (key.Resolve)
            {
                LogMoreResolved(logger, key.Namespace, key.Group, window.More, seconds, reasons, window.LastPod);
            }
            else
            {
                LogMoreReported(logger, key.Namespace, key.Group, window.More, seconds, reasons, window.LastPod);
            }
        }
    }

    /// <summary>Counts one; true when it is the first of its group in this interval (logged on its own, at once).</summary>
    private bool Count(bool resolve, string @namespace, string group, string reason, string pod)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return false;
        }

        lock (_gate)
        {
            if (!_windows.TryGetValue((resolve, @namespace, group), out var window))
            {
                _windows[(resolve, @namespace, group)] = new Window();
                return true;
            }

            window.Add(reason, pod);
            return false;
        }
    }

    /// <summary>What was counted after the first of a group: how many, by reason, and the last pod.</summary>
    private sealed class Window
    {
        private readonly List<(string Reason, int Count)> _reasons = [];

        public int More { get; private set; }

        public string LastPod { get; private set; } = string.Empty;

        public void Add(string reason, string pod)
        {
            More++;
            LastPod = pod;
            var at = _reasons.FindIndex(r => r.Reason == reason);
            if (at < 0)
            {
                _reasons.Add((reason, 1));
            }
            else
            {
                _reasons[at] = (reason, _reasons[at].Count + 1);
            }
        }

        /// <summary>"ErrImagePull 40, ImagePullBackOff 9".</summary>
        public string Describe()
        {
            var text = new StringBuilder();
            foreach (var (reason, count) in _reasons)
            {
                text.Append(text.Length > 0 ? ", " : string.Empty).Append(reason).Append(' ').Append(count.ToString(CultureInfo.InvariantCulture));
            }

            return text.ToString();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pull failure: {Namespace}/{Pod} container {Container}: {Reason}.")]
    private static partial void LogReport(ILogger logger, string @namespace, string pod, string container, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pull failure: {Namespace}/{Pod} container {Container}: {Reason}. More failures of {Workload} are counted and summed up every {IntervalSeconds} s.")]
    private static partial void LogFirstReport(ILogger logger, string @namespace, string pod, string container, string reason, string workload, int intervalSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pull failures: {Count} more in {Namespace}/{Workload} in the last {Seconds} s ({Reasons}); the last {Pod}.")]
    private static partial void LogMoreReported(ILogger logger, string @namespace, string workload, int count, int seconds, string reasons, string pod);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pull failure resolved: {Namespace}/{Pod} container {Container}: {Resolution}.")]
    private static partial void LogResolve(ILogger logger, string @namespace, string pod, string container, PodResolution resolution);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pull failure resolved: {Namespace}/{Pod} container {Container}: {Resolution}. More resolved under {Owner} are counted and summed up every {IntervalSeconds} s.")]
    private static partial void LogFirstResolve(ILogger logger, string @namespace, string pod, string container, PodResolution resolution, string owner, int intervalSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pull failures resolved: {Count} more in {Namespace} under {Owner} in the last {Seconds} s ({Resolutions}); the last {Pod}.")]
    private static partial void LogMoreResolved(ILogger logger, string @namespace, string owner, int count, int seconds, string resolutions, string pod);
}
