using System.Diagnostics.Metrics;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Observability;

/// <summary>
/// The bot's own metrics (System.Diagnostics.Metrics, meter "ChatOpsPull"), exported in Prometheus format at /metrics.
/// Labels are closed sets (cause, platform, outcome, state) so cardinality stays bounded; never a name or a secret.
/// prometheus-net names each series after the meter and the instrument: "pull_failures_seen" is exported as
/// <c>chatopspull_pull_failures_seen</c>.
/// </summary>
public sealed class BotMetrics
{
    public const string MeterName = "ChatOpsPull";

    private readonly Counter<long> _failuresSeen;
    private readonly Counter<long> _incidents;
    private readonly Counter<long> _diagnoses;
    private readonly Counter<long> _chatSends;
    private readonly Counter<long> _chatThrottled;
    private readonly Counter<long> _jobs;
    private readonly Histogram<double> _approvalLatency;
    private readonly Counter<long> _rejectedRequests;
    private readonly Counter<long> _admissionReviews;
    private readonly Histogram<double> _admissionSeconds;
    private readonly Counter<long> _findings;
    private readonly Counter<long> _sweeps;
    private readonly Histogram<double> _diagnosisStages;
    private volatile IReadOnlyList<(string Source, string Kind, int Count)> _openFindings = [];

    public BotMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _failuresSeen = meter.CreateCounter<long>("pull_failures_seen", description: "Pull failures reported by a source (watch, alertmanager, webhook).");
        _incidents = meter.CreateCounter<long>("incidents", description: "Incident lifecycle events (opened, resolved, reopened).");
        _diagnoses = meter.CreateCounter<long>("diagnoses", description: "Diagnoses made, by cause.");
        _chatSends = meter.CreateCounter<long>("chat_sends", description: "Chat platform calls, by platform and outcome.");
        _chatThrottled = meter.CreateCounter<long>("chat_throttled", description: "HTTP 429 answers from chat platforms.");
        _jobs = meter.CreateCounter<long>("jobs", description: "Remediation and diagnosis jobs, by kind and state.");
        _approvalLatency = meter.CreateHistogram<double>("approval_latency_seconds", unit: "s", description: "From approval request to decision.");
        _rejectedRequests = meter.CreateCounter<long>("rejected_requests", description: "Inbound requests refused, by endpoint and reason.");
        _admissionReviews = meter.CreateCounter<long>("admission_reviews", description: "Admission reviews answered, by outcome (skipped, allowed, warned, denied, unverified).");
        _admissionSeconds = meter.CreateHistogram<double>("admission_review_seconds", unit: "s", description: "Time to answer an admission review (the webhook's budget bounds it).");
        _findings = meter.CreateCounter<long>("prevention_findings", description: "Findings opened: prevented (admission) or will_fail (sweep), by kind.");
        _sweeps = meter.CreateCounter<long>("prevention_sweep_containers", description: "Containers the sweep checked, by result (checked, finding, resolved).");
        _diagnosisStages = meter.CreateHistogram<double>("diagnosis_stage_seconds", unit: "s", description: "Where an incident's diagnosis spends its time, by stage (queue_wait, kubernetes, registry, database, card).");
        meter.CreateObservableGauge("prevention_findings_open", () => _openFindings.Select(f => new Measurement<int>(
            f.Count, new KeyValuePair<string, object?>("source", f.Source), new KeyValuePair<string, object?>("kind", f.Kind))),
            description: "Open prevention findings (\"will fail\" and \"prevented\" cards), by source and kind.");
    }

    public void FailureSeen(FailureSource source) =>
        _failuresSeen.Add(1, new KeyValuePair<string, object?>("source", source.ToString().ToLowerInvariant()));

    /// <param name="event">"opened", "resolved", "reopened", "rolled_up".</param>
    public void Incident(string @event) => _incidents.Add(1, new KeyValuePair<string, object?>("event", @event));

    /// <summary>One diagnosis's time per stage; a stage it did not reach (queue wait of a job run) is left out.</summary>
    public void DiagnosisStages(DiagnosisStageTimes times, bool queued)
    {
        foreach (var stage in Enum.GetValues<DiagnosisStage>())
        {
            if (stage != DiagnosisStage.QueueWait || queued)
            {
                _diagnosisStages.Record(times[stage].TotalSeconds, new KeyValuePair<string, object?>("stage", StageLabel(stage)));
            }
        }
    }

    public static string StageLabel(DiagnosisStage stage) => stage switch
    {
        DiagnosisStage.QueueWait => "queue_wait",
        DiagnosisStage.Kubernetes => "kubernetes",
        DiagnosisStage.Registry => "registry",
        DiagnosisStage.Database => "database",
        DiagnosisStage.SubjectLock => "database_subject_lock",
        DiagnosisStage.WriteTurn => "database_write_turn",
        DiagnosisStage.WriteTurnHandOver => "database_write_turn_handover",
        _ => "card",
    };

    public void Diagnosed(PullCause cause) => _diagnoses.Add(1, new KeyValuePair<string, object?>("cause", cause.ToSnakeCase()));

    /// <param name="outcome">"delivered", "retry", "failed".</param>
    public void ChatSend(string platform, string outcome) =>
        _chatSends.Add(1, new KeyValuePair<string, object?>("platform", platform), new KeyValuePair<string, object?>("outcome", outcome));

    public void ChatThrottled(string platform) => _chatThrottled.Add(1, new KeyValuePair<string, object?>("platform", platform));

    /// <param name="kind">"diagnose", "remediate", "digest".</param>
    /// <param name="state">"started", "succeeded", "failed", "retried".</param>
    public void Job(string kind, string state) =>
        _jobs.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("state", state));

    public void ApprovalDecided(TimeSpan sinceRequest) => _approvalLatency.Record(sinceRequest.TotalSeconds);

    /// <param name="outcome">"skipped", "allowed", "warned", "denied", "unverified", "invalid".</param>
    public void AdmissionReviewed(string outcome, TimeSpan took)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _admissionReviews.Add(1, tag);
        _admissionSeconds.Record(took.TotalSeconds, tag);
    }

    /// <param name="source">"prevented" or "will_fail".</param>
    /// <param name="kind">The finding kind ("image_missing", "credentials_refused" …).</param>
    public void Finding(string source, string kind) =>
        _findings.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("kind", kind));

    public void SweepRan(int @checked, int findings, int resolved)
    {
        _sweeps.Add(@checked, new KeyValuePair<string, object?>("result", "checked"));
        _sweeps.Add(findings, new KeyValuePair<string, object?>("result", "finding"));
        _sweeps.Add(resolved, new KeyValuePair<string, object?>("result", "resolved"));
    }

    /// <summary>The open findings now, by source and kind (closed sets), for the prevention_findings_open gauge.</summary>
    public void SetOpenFindings(IReadOnlyList<(string Source, string Kind, int Count)> counts) => _openFindings = counts;

    /// <param name="endpoint">"slack", "teams", "alertmanager", "webhook", "web".</param>
    /// <param name="reason">"signature", "stale", "token", "malformed", "too_large", "forbidden" …</param>
    public void Rejected(string endpoint, string reason) =>
        _rejectedRequests.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("reason", reason));
}
