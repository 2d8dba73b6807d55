using System.Globalization;
using System.Text.RegularExpressions;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Actions;

/// <summary>
/// Every button click from every platform (Slack, Teams, the web page). Nothing on the card is trusted: the ids are
/// looked up, the plan is taken from the incident's current diagnosis (an outdated card gets the current one back), and
/// approvals are decided by the policy on the server. Each answer is for the person who clicked, and carries the
/// updated card when it changed. Buttons of other cards (findings) go to the <see cref="ICardTargetHandler"/> that owns their id. Unknown ids, ids of another cluster and closed incidents get a clear answer and change nothing.
/// </summary>
public sealed partial class CardActionHandler(
    ChatApprovals approvals,
    IncidentStore incidents,
    IncidentEngine engine,
    IncidentCardPublisher cards,
    ApprovalActors actors,
    AuditLog audit,
    IOptionsMonitor<ApprovalOptions> options,
    IOptions<BotOptions> bot,
    TimeProvider time,
    IEnumerable<ICardTargetHandler> targets,
    ILogger<CardActionHandler> logger) : IChatActionHandler
{
    private readonly ICardTargetHandler[] _targets = targets.ToArray();

    public async Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken)
    {
        var payload = request.Payload;
        LogClick(logger, payload.Verb, payload.Target, request.User.Platform);
        switch (payload.Verb)
        {
            case CardVerb.Approve or CardVerb.Deny:
                if (!ApprovalIdRegex().IsMatch(payload.Target))
                {
                    return NotIssued();
                }

                return await approvals.DecideAsync(request.User, payload.Target, payload.Verb == CardVerb.Approve, cancellationToken).ConfigureAwait(false);
            case CardVerb.Request or CardVerb.Rediagnose or CardVerb.Snooze or CardVerb.MuteImage:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(request), payload.Verb, "unknown card verb");
        }

        if (Array.Find(_targets, t => t.Owns(payload.Target)) is { } owner)
        {
            return await owner.HandleAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (!IncidentIds.IsWellFormed(payload.Target))
        {
            return NotIssued();
        }

        var incident = await incidents.GetAsync(payload.Target, cancellationToken).ConfigureAwait(false);
        if (incident is null)
        {
            return new ChatReply($"There is no incident {payload.Target}; the card may come from another bot. Nothing changed.");
        }

        if (!string.Equals(incident.Key.Cluster, bot.Value.Cluster, StringComparison.Ordinal))
        {
            return new ChatReply($"Incident {incident.Id} is in cluster {incident.Key.Cluster}, and this bot acts on cluster {bot.Value.Cluster}. Nothing changed.");
        }

        if (incident.IsClosed)
        {
            return new ChatReply($"Incident {incident.Id} is {IncidentTransitions.Describe(incident.State)}; there is nothing to do on it. Nothing changed.")
            {
                UpdatedCard = await cards.BuildAsync(incident, cancellationToken).ConfigureAwait(false),
            };
        }

        return payload.Verb switch
        {
            CardVerb.Request => await RequestAsync(request, incident, cancellationToken).ConfigureAwait(false),
            CardVerb.Rediagnose => await RediagnoseAsync(request, incident, cancellationToken).ConfigureAwait(false),
            CardVerb.Snooze => await SnoozeAsync(request, incident, cancellationToken).ConfigureAwait(false),
            CardVerb.MuteImage => await MuteImageAsync(request, incident, cancellationToken).ConfigureAwait(false),
            CardVerb.Approve or CardVerb.Deny => throw new InvalidOperationException("handled above"),
            _ => throw new ArgumentOutOfRangeException(nameof(request), payload.Verb, "unknown card verb"),
        };
    }

    private async Task<ChatReply> RequestAsync(ChatActionRequest request, Incident incident, CancellationToken cancellationToken)
    {
        var key = request.Payload.Argument;
        var plan = key is null ? null : incident.Diagnosis?.Remediations.FirstOrDefault(p => p.Key == key);
        if (plan is null)
        {
            return new ChatReply("This card is out of date; here is the current one. Nothing was requested.")
            {
                UpdatedCard = await cards.BuildAsync(incident, cancellationToken).ConfigureAwait(false),
            };
        }

        return await approvals.RequestAsync(request.User, incident.Id, incident.Key.Cluster, plan, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ChatReply> RediagnoseAsync(ChatActionRequest request, Incident incident, CancellationToken cancellationToken)
    {
        var result = await engine.RequestDiagnosisAsync(incident.Id, request.User.ToAuditActor(), cancellationToken).ConfigureAwait(false);
        var text = result.Outcome == IncidentUpdateOutcome.Changed
            ? $"Diagnosing {incident.Id} again: the registry, pull secrets and network are checked now; the card updates when it is done."
            : $"{incident.Id} could not be diagnosed again: {result.Message}";
        return new ChatReply(text) { UpdatedCard = await cards.BuildAsync(result.Incident ?? incident, cancellationToken).ConfigureAwait(false) };
    }

    private async Task<ChatReply> SnoozeAsync(ChatActionRequest request, Incident incident, CancellationToken cancellationToken)
    {
        if (!TryParseDuration(request.Payload.Argument, out var duration))
        {
            return new ChatReply($"\"{request.Payload.Argument}\" is not a snooze duration the bot issued (e.g. 30m, 1h, 1d, at most {ChatCommandParser.MaxSnooze.TotalDays:0}d). Nothing changed.");
        }

        var until = time.GetUtcNow() + duration;
        var result = await engine.SnoozeAsync(incident.Id, until, request.User.ToAuditActor(), cancellationToken).ConfigureAwait(false);
        var text = result.Outcome is IncidentUpdateOutcome.Changed or IncidentUpdateOutcome.Unchanged
            ? $"Snoozed {incident.Id} until {until.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC: no updates in the channel until then (it is still recorded)."
            : $"{incident.Id} could not be snoozed: {result.Message}";
        return new ChatReply(text) { UpdatedCard = await cards.BuildAsync(result.Incident ?? incident, cancellationToken).ConfigureAwait(false) };
    }

    private async Task<ChatReply> MuteImageAsync(ChatActionRequest request, Incident incident, CancellationToken cancellationToken)
    {
        var actor = await actors.ResolveAsync(request.User, cancellationToken).ConfigureAwait(false);
        var policy = options.CurrentValue.ToPolicy();
        if (!policy.IsApprover(incident.Key.Cluster, incident.Key.Namespace, actor))
        {
            var why = $"Only approvers for namespace {incident.Key.Namespace} may mute an image. Nothing changed.";
            await audit.AppendAsync(new AuditRecord(actor.ToAuditActor(), ApprovalAuditActions.Refused, incident.Id, null, "mute image: " + why, AuditOutcome.Refused), cancellationToken).ConfigureAwait(false);
            return new ChatReply(why);
        }

        var mute = await engine.MuteImageOfAsync(incident.Id, null, request.User.ToAuditActor(), cancellationToken).ConfigureAwait(false);
        return mute is null
            ? new ChatReply($"There is no incident {incident.Id} any more. Nothing changed.")
            : new ChatReply($"Muted {mute.Pattern} in cluster {mute.Cluster} ({mute.Id}): no cards for it until someone removes the mute. Failures are still recorded.");
    }

    /// <summary>"30m", "1h", "2h", "1d": digits and a unit, positive and at most the command's snooze limit.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = text is null ? Match.Empty : DurationRegex().Match(text);
        if (!match.Success || !int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return false;
        }

        duration = match.Groups[2].Value switch
        {
            "m" => TimeSpan.FromMinutes(amount),
            "h" => TimeSpan.FromHours(amount),
            _ => TimeSpan.FromDays(amount),
        };
        return duration <= ChatCommandParser.MaxSnooze;
    }

    private static ChatReply NotIssued() => new("This button's id is not one the bot issued. Nothing changed.");

    [GeneratedRegex("^apr-[0-9a-z]{8}$", RegexOptions.CultureInvariant)]
    private static partial Regex ApprovalIdRegex();

    [GeneratedRegex("^([0-9]{1,4})([mhd])$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationRegex();

    [LoggerMessage(Level = LogLevel.Information, Message = "Click {Verb} on {Target} from {Platform}")]
    private static partial void LogClick(ILogger logger, CardVerb verb, string target, ChatPlatform platform);
}
