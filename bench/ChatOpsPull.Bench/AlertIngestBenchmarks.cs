using BenchmarkDotNet.Attributes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Load;

namespace ChatOpsPull.Bench;

/// <summary>
/// What one Alertmanager request costs the bot before its INSERT: the body read into pull alerts, the plan (re-send filter
/// and receipt) and the inbox rows' JSON, on the load driver's own body (<see cref="AlertmanagerPayloads"/>: ten
/// kube-prometheus KubeContainerWaiting alerts). Allocations are the figure to trust on a loaded machine.
/// <c>--filter '*AlertIngestBenchmarks*' --job short --inProcess</c>.
/// </summary>
[MemoryDiagnoser]
public class AlertIngestBenchmarks
{
    private byte[] _body = [];
    private AlertmanagerPayloadReader _reader = null!;
    private SeenAlerts _seen = null!;
    private PullAlertBatch _batch = null!;
    private IReadOnlyList<PullAlert> _toApply = [];

    [GlobalSetup]
    public void Setup()
    {
        _body = new AlertmanagerPayloads(0, 10).Next();
        var reasons = new HashSet<string>(PullFailure.PullReasons, StringComparer.Ordinal);
        _reader = new AlertmanagerPayloadReader(new AlertmanagerWebhookOptions(), reasons, "default", TimeProvider.System);
        _seen = new SeenAlerts(new AlertmanagerWebhookOptions().DeduplicationCapacity);
        _batch = _reader.Read(_body, out _).Batch ?? throw new InvalidOperationException("the load body does not read");
        _toApply = AlertDelivery.Plan(_batch, _seen).ToApply;
    }

    [Benchmark]
    public int Read() => _reader.Read(_body, out _).Batch!.Alerts.Count;

    [Benchmark]
    public int Plan() => AlertDelivery.Plan(_batch, _seen).ToApply.Count;

    [Benchmark]
    public int InboxRows() => AlertInbox.RowsOf(_toApply).Count;

    /// <summary>The three together, as a request runs them.</summary>
    [Benchmark]
    public int Accept()
    {
        var batch = _reader.Read(_body, out _).Batch!;
        return AlertInbox.RowsOf(AlertDelivery.Plan(batch, _seen).ToApply).Count;
    }
}
