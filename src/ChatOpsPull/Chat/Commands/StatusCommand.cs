using System.Globalization;
using System.Text;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// <c>status [namespace] [--cluster GLOB]</c>: open incidents (id, cluster/namespace/workload, cause, pods, state, age),
/// approvals waiting (who asked, what, votes, expiry) and the last audit lines, as a card with a plain-text fallback; in a
/// fleet also its clusters (live bots, or when one was last heard of). <c>--cluster</c> keeps the clusters matching the glob.
/// Ephemeral.
/// </summary>
public sealed class StatusCommand(
    IncidentStore incidents,
    AuditLog audit,
    ClusterQueues queues,
    FleetRegistry fleet,
    IServiceProvider services,
    IOptionsMonitor<ChatCommandOptions> options,
    TimeProvider time)
{
    /// <summary>Audit lines read to find those of one namespace's incidents.</summary>
    private const int AuditScan = 500;

    public async Task<ChatReply> AnswerAsync(ChatCommand.Status command, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var now = time.GetUtcNow();
        var glob = command.ClusterGlob;
        var open = (await incidents.ListOpenAsync(null, command.Namespace, cancellationToken).ConfigureAwait(false))
            .Where(i => i.RollupOf is null && (glob is null || Glob.IsMatch(glob, i.Key.Cluster)))
            .ToList();
        var approvalQueries = services.GetService<IApprovalQueries>();
        var approvals = approvalQueries is null
            ? null
            : (await approvalQueries.ListPendingAsync(command.Namespace, cancellationToken).ConfigureAwait(false))
                .Where(a => !a.IsExpiredAt(now) && (glob is null || Glob.IsMatch(glob, a.Cluster)))
                .OrderBy(a => a.ExpiresAt)
                .ToList();

        IReadOnlyList<AuditEntry> lines = [];
        if (settings.StatusAuditLines > 0)
        {
            if (command.Namespace is null && glob is null)
            {
                lines = await audit.RecentAsync(settings.StatusAuditLines, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var ours = open.Select(i => i.Id).Concat(approvals?.Select(a => a.IncidentId) ?? []).ToHashSet(StringComparer.Ordinal);
                var approvalIds = approvals?.Select(a => a.Id).ToHashSet(StringComparer.Ordinal) ?? [];
                lines = (await audit.RecentAsync(AuditScan, cancellationToken).ConfigureAwait(false))
                    .Where(e => (e.IncidentId is not null && ours.Contains(e.IncidentId)) || (e.ApprovalId is not null && approvalIds.Contains(e.ApprovalId)))
                    .Take(settings.StatusAuditLines)
                    .ToList();
            }
        }

        var clusters = queues.FleetMode
            ? (await fleet.ListAsync(cancellationToken).ConfigureAwait(false)).Where(c => glob is null || Glob.IsMatch(glob, c.Name)).ToList()
            : null;
        var card = Build(command.Namespace, open, approvals, lines, settings, now, clusters, glob);
        return new ChatReply(card.FallbackText) { Card = card };
    }

    public static Card Build(
        string? @namespace,
        IReadOnlyList<Incident> open,
        IReadOnlyList<ApprovalRequest>? approvals,
        IReadOnlyList<AuditEntry> audit,
        ChatCommandOptions settings,
        DateTimeOffset now,
        IReadOnlyList<FleetCluster>? fleet = null,
        string? clusterGlob = null)
    {
        var where = @namespace is null ? "all namespaces" : $"namespace {@namespace}";
        if (clusterGlob is not null)
        {
            where += $" of clusters {clusterGlob}";
        }

        var incidentLines = open.Take(settings.StatusIncidents).Select(i => new CardLine(IncidentLine(i, now, withCluster: fleet is not null), LineMark.Failed)).ToList();
        var approvalLines = approvals?.Take(settings.StatusApprovals).Select(a => new CardLine(ApprovalLine(a), LineMark.Info)).ToList() ?? [];
        var auditLines = audit.Select(e => new CardLine(AuditLine(e), e.Outcome == AuditOutcome.Done ? LineMark.None : LineMark.Failed)).ToList();

        var sections = new List<CardSection>();
        sections.Add(open.Count == 0
            ? CardSection.Markdown("Open incidents", $"No open image-pull incidents in {where}.")
            : CardSection.List("Open incidents", incidentLines, open.Count - incidentLines.Count));
        if (approvals is null)
        {
            sections.Add(CardSection.Markdown("Approvals waiting", "Approvals are not set up on this bot."));
        }
        else
        {
            sections.Add(approvals.Count == 0
                ? CardSection.Markdown("Approvals waiting", "None.")
                : CardSection.List("Approvals waiting", approvalLines, approvals.Count - approvalLines.Count));
        }

        if (fleet is not null)
        {
            sections.Add(fleet.Count == 0
                ? CardSection.Markdown("Fleet", clusterGlob is null ? "No cluster has joined the fleet yet." : $"No cluster of the fleet matches {clusterGlob}.")
                : CardSection.List("Fleet", fleet.Select(c => new CardLine(ClusterLine(c, now), c.IsLive ? LineMark.Passed : LineMark.Failed)).ToList()));
        }

        if (settings.StatusAuditLines > 0)
        {
            sections.Add(audit.Count == 0
                ? CardSection.Markdown("Recent actions", "Nothing recorded yet.")
                : CardSection.List("Recent actions", auditLines));
        }

        var title = open.Count switch
        {
            0 => $"All clear in {where}",
            1 => $"1 open incident in {where}",
            _ => $"{open.Count} open incidents in {where}",
        };
        var facts = new List<CardFact>
        {
            new("Open incidents", open.Count.ToString(CultureInfo.InvariantCulture)),
            new("Approvals waiting", approvals is null ? "not set up" : approvals.Count.ToString(CultureInfo.InvariantCulture)),
        };

        if (fleet is not null)
        {
            facts.Add(new("Clusters live", $"{fleet.Count(c => c.IsLive).ToString(CultureInfo.InvariantCulture)} of {fleet.Count.ToString(CultureInfo.InvariantCulture)}"));
        }

        var fallback = new StringBuilder(title).Append('.');
        foreach (var line in incidentLines)
        {
            fallback.Append('\n').Append("• ").Append(line.Text);
        }

        if (open.Count > incidentLines.Count)
        {
            fallback.Append("\n…and ").Append(open.Count - incidentLines.Count).Append(" more");
        }

        if (approvalLines.Count > 0)
        {
            fallback.Append("\nWaiting for approval:");
            foreach (var line in approvalLines)
            {
                fallback.Append("\n• ").Append(line.Text);
            }
        }

        if (fleet is not null)
        {
            fallback.Append("\nFleet:");
            foreach (var cluster in fleet)
            {
                fallback.Append("\n• ").Append(ClusterLine(cluster, now));
            }
        }

        var tone = open.Count == 0 ? CardTone.Good : CardTone.Bad;
        return new Card($"status:{@namespace ?? "all"}", title, tone, fallback.ToString(), facts, sections, [])
        {
            Footer = $"As of {ChatCommandHandler.Time(now)} · only you can see this",
        };
    }

    /// <summary>"prod-eu · 2 bots live · fixes run" or "prod-us · waiting for cluster prod-us: no live bot, last heard of 12m ago".</summary>
    private static string ClusterLine(FleetCluster cluster, DateTimeOffset now)
    {
        var fixes = cluster.Profile == InstallProfile.Observe ? "observes only" : "fixes run";
        return cluster.IsLive
            ? $"*{cluster.Name}* · {cluster.LiveBots} bot{(cluster.LiveBots == 1 ? string.Empty : "s")} live · {fixes}"
            : $"*{cluster.Name}* · waiting for cluster {cluster.Name}: no live bot, last heard of {Age(now - cluster.LastSeen)} ago; its work waits until one is back";
    }

    private static string IncidentLine(Incident incident, DateTimeOffset now, bool withCluster)
    {
        var cause = incident.Diagnosis?.Cause ?? incident.Key.Cause;
        var subject = incident.Workload?.ToString() ?? incident.Key.Subject;
        var snoozed = incident.SnoozedUntil is { } until && until > now ? $", snoozed until {ChatCommandHandler.Time(until)}" : string.Empty;
        var cluster = withCluster ? incident.Key.Cluster + "/" : string.Empty;
        return $"`{incident.Id}` {cluster}{incident.Key.Namespace}/{subject} · {cause.Describe()} · {incident.ActivePodCount} pod(s) · {StateName(incident.State)}{snoozed} · {Age(now - incident.OpenedAt)}";
    }

    private static string ApprovalLine(ApprovalRequest request)
    {
        var votes = request.Votes.Count == 0
            ? "no votes yet"
            : string.Join(", ", request.Votes.Select(v => (v.Approve ? "approved by " : "denied by ") + v.By.Name));
        var incident = request.IncidentId.Length > 0 ? $" for `{request.IncidentId}`" : string.Empty;
        return $"`{request.Id}` *{request.Plan.Title}* in {request.Plan.Namespace}{incident}, asked by {request.RequestedBy.Name} · {request.ApprovalCount}/{request.Required} approvals ({votes}) · expires {ChatCommandHandler.Time(request.ExpiresAt)}";
    }

    private static string AuditLine(AuditEntry entry)
    {
        var about = entry.IncidentId ?? entry.ApprovalId;
        var subject = about is null ? string.Empty : $" `{about}`";
        var detail = string.IsNullOrEmpty(entry.Detail) ? string.Empty : " — " + Shorten(entry.Detail, 160);
        var outcome = entry.Outcome switch
        {
            AuditOutcome.Done => string.Empty,
            AuditOutcome.Refused => " (refused)",
            AuditOutcome.Failed => " (failed)",
            _ => throw new ArgumentOutOfRangeException(nameof(entry), entry.Outcome, "unknown audit outcome"),
        };
        return $"{entry.At.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)} {entry.Actor.Name} {entry.Action}{subject}{outcome}{detail}";
    }

    internal static string StateName(IncidentState state) => state switch
    {
        IncidentState.Open => "open",
        IncidentState.Diagnosed => "diagnosed",
        IncidentState.AwaitingApproval => "awaiting approval",
        IncidentState.Remediating => "remediating",
        IncidentState.Resolved => "resolved",
        IncidentState.Failed => "remediation failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown incident state"),
    };

    /// <summary>"45s", "12m", "3h 5m", "2d 4h".</summary>
    internal static string Age(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            age = TimeSpan.Zero;
        }

        return age.TotalMinutes < 1 ? $"{(int)age.TotalSeconds}s"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours}h {age.Minutes}m"
            : $"{(int)age.TotalDays}d {age.Hours}h";
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}
