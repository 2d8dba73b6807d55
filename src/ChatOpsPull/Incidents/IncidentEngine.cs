using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents.Engine;

namespace ChatOpsPull.Incidents;

/// <summary>
/// The incident engine: every detection source reports here (<see cref="IPullFailureSink"/>), and every other capability
/// changes incidents (state transitions, snooze, mute, re-diagnosis, diagnosis results) and announces news about them
/// (approvals, remediation runs) through it. Each change is stored with optimistic concurrency and its audit line in one
/// transaction, then told to the <see cref="IIncidentNotifier"/>s once, in order per incident — unless the incident is
/// snoozed or muted — and on the storm's card when the incident is rolled up under another.
/// A façade over the parts in <c>Incidents/Engine/</c>:
/// <see cref="PullFailureIntake"/> (reports, resolves, group commit), <see cref="IncidentCommands"/> (transitions,
/// snooze, diagnoses), <see cref="IncidentMutes"/> (mutes and their cache), <see cref="StormRollup"/> (storms and where
/// their news goes), <see cref="IncidentNewsDispatch"/> (per-incident mailboxes, collapsing, the notifiers), all writing
/// through <see cref="SubjectWriter"/> (subject locks, transactions, retries, after-commit work).
/// </summary>
public sealed class IncidentEngine : IPullFailureSink, ISubjectReportSink
{
    private readonly PullFailureIntake _intake;
    private readonly IncidentCommands _commands;
    private readonly IncidentMutes _mutes;
    private readonly IncidentNewsDispatch _news;

    internal IncidentEngine(PullFailureIntake intake, IncidentCommands commands, IncidentMutes mutes, IncidentNewsDispatch news)
    {
        _intake = intake;
        _commands = commands;
        _mutes = mutes;
        _news = news;
    }

    /// <summary>
    /// Reports of one subject that arrive while another is being stored are stored together in the next transaction
    /// (group commit): a storm of a thousand pods of one workload costs a few transactions, not a thousand.
    /// </summary>
    public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken) =>
        _intake.ReportAsync(failure, cancellationToken);

    public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken) =>
        _intake.ResolveAsync(cluster, @namespace, pod, container, resolution, cancellationToken);

    /// <summary>
    /// One subject's reports and recoveries in one transaction with the source's <paramref name="claim"/> (the alert inbox
    /// removing the rows it applies): all of them are applied, or none (see <see cref="ISubjectReportSink"/>).
    /// </summary>
    public Task ApplySubjectAsync(string cluster, string @namespace, string subject, Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Storage.TransactionLock, Task<IReadOnlyList<PodReport>>> claim, CancellationToken cancellationToken) =>
        _intake.ApplySubjectAsync(cluster, @namespace, subject, claim, cancellationToken);

    /// <summary>
    /// Runs the intake's write path once and rolls it back (a start-up warm-up): nothing is stored or told. False when it
    /// could not run; see <see cref="PullFailureIntake.RehearseAsync"/>.
    /// </summary>
    public Task<bool> RehearseIntakeAsync(CancellationToken cancellationToken) =>
        _intake.RehearseAsync(cancellationToken);

    /// <summary>
    /// Moves an incident to <paramref name="to"/> if <see cref="IncidentTransitions.IsAllowed"/> says so; refused moves
    /// change nothing but are written to the audit log. Notifiers hear <paramref name="change"/> with <paramref name="detail"/>.
    /// </summary>
    public Task<IncidentUpdate> TransitionAsync(string id, IncidentState to, AuditActor actor, IncidentChange change, string? detail, CancellationToken cancellationToken = default) =>
        _commands.TransitionAsync(id, to, actor, change, detail, cancellationToken);

    /// <summary>
    /// Progress of work on the incident (an approval, a remediation run): moves it to <paramref name="to"/> when that is
    /// legal from where it stands, otherwise (already there, closed) only announces <paramref name="line"/>.
    /// </summary>
    public Task TransitionOrAnnounceAsync(string id, IncidentState to, AuditActor actor, IncidentChange change, string line, CancellationToken cancellationToken = default) =>
        _commands.TransitionOrAnnounceAsync(id, to, actor, change, line, cancellationToken);

    /// <summary>
    /// Tells an announcement the caller owed in its own transaction (<see cref="OwedAnnouncements.OweAsync"/>, beside the
    /// approval or run write it is about), after that transaction committed: moves the incident to
    /// <see cref="OwedAnnouncement.MoveTo"/> when that is legal from where it stands, otherwise only announces it — as
    /// <see cref="TransitionOrAnnounceAsync"/> does — and the announcement is no longer owed once told. If this host
    /// stops before, another host tells it after Incidents:NewsRetellGrace, once.
    /// </summary>
    public Task TellAsync(OwedAnnouncement announcement, CancellationToken cancellationToken = default) =>
        _commands.TellAnnouncementAsync(announcement, cancellationToken);

    /// <summary>Snoozes the incident until <paramref name="until"/> (null wakes it). Notifiers hear Snoozed once, then nothing until it ends.</summary>
    public Task<IncidentUpdate> SnoozeAsync(string id, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken = default) =>
        _commands.SnoozeAsync(id, until, actor, cancellationToken);

    /// <summary>Asks for a new diagnosis (a "re-diagnose" click or command): bumps the version and enqueues the job.</summary>
    public Task<IncidentUpdate> RequestDiagnosisAsync(string id, AuditActor actor, CancellationToken cancellationToken = default) =>
        _commands.RequestDiagnosisAsync(id, actor, cancellationToken);

    /// <summary>
    /// Stores a diagnosis made for request <paramref name="requestVersion"/>; Open/Diagnosed incidents become Diagnosed.
    /// A request already applied, or superseded by a newer one, changes nothing (so a retried job never applies twice).
    /// </summary>
    public Task<IncidentUpdate> ApplyDiagnosisAsync(string id, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, CancellationToken cancellationToken = default) =>
        _commands.ApplyDiagnosisAsync(id, null, requestVersion, diagnosis, cancellationToken);

    /// <summary>
    /// The same, for an incident the caller has read already (the diagnosis run): its key names the subject lock, so the
    /// incident is not read once more before the transaction (which reads it again, as stored, under the lock).
    /// </summary>
    public Task<IncidentUpdate> ApplyDiagnosisAsync(Incident read, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, CancellationToken cancellationToken = default) =>
        _commands.ApplyDiagnosisAsync(read.Id, read, requestVersion, diagnosis, cancellationToken);

    /// <summary>Mutes incidents matching an image or namespace pattern (globs), until a time or forever (<paramref name="until"/> null).</summary>
    public Task<IncidentMute> MuteAsync(MuteScope scope, string cluster, string pattern, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken = default) =>
        _mutes.MuteAsync(scope, cluster, pattern, until, actor, cancellationToken);

    /// <summary>
    /// The "mute image" button: mutes the incident's image name without tag or digest (every tag of that repository) in the
    /// incident's cluster. Returns null when the incident does not exist.
    /// </summary>
    public Task<IncidentMute?> MuteImageOfAsync(string incidentId, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken = default) =>
        _mutes.MuteImageOfAsync(incidentId, until, actor, cancellationToken);

    public Task<bool> UnmuteAsync(string muteId, AuditActor actor, CancellationToken cancellationToken = default) =>
        _mutes.UnmuteAsync(muteId, actor, cancellationToken);

    /// <summary>True when notifiers are not told about this incident now (snoozed, or a mute matches).</summary>
    public Task<bool> IsSilencedAsync(Incident incident, CancellationToken cancellationToken = default) =>
        _mutes.IsSilencedAsync(incident, cancellationToken);

    /// <summary>
    /// News about an incident from outside the engine (approval requests and decisions, remediation runs): the one way
    /// such news reaches the notifiers. It is told like the engine's own news: through the incident's mailbox, in order
    /// with the rest, not while the incident is snoozed or muted, and on the storm's card when the incident is rolled up.
    /// </summary>
    public Task AnnounceAsync(string incidentId, IncidentChange change, string? detail, CancellationToken cancellationToken = default) =>
        _news.AnnounceAsync(incidentId, change, detail, cancellationToken);
}
