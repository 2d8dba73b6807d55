using System.Globalization;
using System.Text;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Prevention;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Web;

/// <summary>
/// The cards the web page shows: every open incident (rolled-up ones inside their parent's card) as the same card Slack
/// and Teams get, with its approvals and runs, and approval requests that belong to no open incident (a <c>retry</c>
/// asked for on its own) as small cards with Approve/Deny, then the open "will fail" and "prevented" findings.
/// Reads the stores every time; <see cref="WebCardsCache"/> keeps what it rendered.
/// </summary>
public sealed class WebIncidentBoard(IncidentStore incidents, IServiceProvider services, FixOffer fixes, IOptionsMonitor<WebPageOptions> options, TimeProvider time)
{
    public async Task<IReadOnlyList<Card>> CardsAsync(CancellationToken cancellationToken) =>
        [.. (await ReadAsync(cancellationToken).ConfigureAwait(false)).Select(c => c.Build())];

    /// <summary>
    /// What the board shows now, each card not yet built: its <see cref="WebBoardCard.Version"/> names everything the card
    /// shows, so a card already rendered at that version is not built again.
    /// </summary>
    public async Task<IReadOnlyList<WebBoardCard>> ReadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var minute = MinuteOf(now);
        var nextMinute = minute.AddMinutes(1);
        var open = await incidents.ListOpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var queries = services.GetService<IApprovalQueries>();
        var cards = new List<WebBoardCard>();
        var shown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var incident in open.Where(i => i.RollupOf is null).Take(options.CurrentValue.MaxIncidents))
        {
            IReadOnlyList<ApprovalRequest> approvals = [];
            IReadOnlyList<RemediationRun> runs = [];
            if (queries is not null)
            {
                approvals = await queries.ListForIncidentAsync(incident.Id, cancellationToken).ConfigureAwait(false);
                runs = await queries.ListRunsForIncidentAsync(incident.Id, cancellationToken).ConfigureAwait(false);
            }

            var rolledUp = open.Where(i => i.RollupOf == incident.Id).ToList();
            var version = new StringBuilder("incident:").Append(incident.Id).Append('.').Append(incident.Version).Append('@').Append(minute.ToUnixTimeSeconds());
            foreach (var a in approvals)
            {
                version.Append("|a:").Append(a.Id).Append('.').Append(a.Version).Append('.').Append(a.Status).Append('.').Append(a.Votes.Count);
            }

            foreach (var r in runs)
            {
                version.Append("|r:").Append(r.ApprovalId).Append('.').Append(r.Status).Append('.').Append(r.FinishedAt?.ToUnixTimeMilliseconds()).Append('.').Append(r.Detail);
            }

            foreach (var child in rolledUp)
            {
                version.Append("|c:").Append(child.Id).Append('.').Append(child.Version);
            }

            // The card reads the clock: the footer's minute, an approval that expires, a snooze that ends.
            var validUntil = Earliest(nextMinute, now, approvals.Where(a => a.Status == ApprovalStatus.Pending).Select(a => a.ExpiresAt).Append(incident.SnoozedUntil ?? DateTimeOffset.MaxValue));
            var commands = await fixes.CommandsForAsync(incident, cancellationToken).ConfigureAwait(false);
            cards.Add(new WebBoardCard(version.ToString(), validUntil, () => IncidentCardBuilder.Build(new IncidentCardInput(incident, approvals, runs, rolledUp, now, commands, fixes.ManagedWorkloads))));
            shown.Add(incident.Id);
        }

        if (queries is not null)
        {
            var alone = (await queries.ListPendingAsync(null, cancellationToken).ConfigureAwait(false))
                .Where(a => !shown.Contains(a.IncidentId) && !a.IsExpiredAt(now))
                .OrderBy(a => a.RequestedAt);
            cards.AddRange(alone.Select(a => new WebBoardCard(
                string.Create(CultureInfo.InvariantCulture, $"approval:{a.Id}.{a.Version}.{a.Status}.{a.Votes.Count}@{minute.ToUnixTimeSeconds()}"),
                Earliest(nextMinute, now, [a.ExpiresAt]),
                () => StandaloneApprovalCard(a, now))));
        }

        if (services.GetService<FindingCardPublisher>() is { } findings)
        {
            // Few and cheap: built again with every read of the board.
            cards.AddRange((await findings.OpenCardsAsync(null, cancellationToken).ConfigureAwait(false)).Select(c => new WebBoardCard(null, nextMinute, () => c)));
        }

        return cards;
    }

    private static DateTimeOffset MinuteOf(DateTimeOffset at) => new(at.Ticks - (at.Ticks % TimeSpan.TicksPerMinute), at.Offset);

    private static DateTimeOffset Earliest(DateTimeOffset first, DateTimeOffset now, IEnumerable<DateTimeOffset> others) =>
        others.Where(t => t > now).Append(first).Min();

    /// <summary>A request with no open incident card to show it on (e.g. <c>retry ns/workload</c> asked for on its own).</summary>
    public static Card StandaloneApprovalCard(ApprovalRequest request, DateTimeOffset now)
    {
        var plan = request.Plan;
        var votes = request.Votes.Count == 0
            ? "none yet"
            : string.Join(", ", request.Votes.Select(v => (v.Approve ? "approved by " : "denied by ") + v.By.Name));
        var facts = new List<CardFact>
        {
            new("Namespace", plan.Namespace),
            new("Workload", $"{plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}"),
            new("Asked by", request.RequestedBy.Name),
            new("Approvals", $"{request.ApprovalCount}/{request.Required} ({votes})"),
            new("Expires", request.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)),
        };
        CardConfirm? confirm = plan.Risk == RemediationRisk.Low
            ? null
            : new CardConfirm($"{plan.Title}?", $"{plan.Description} Namespace {plan.Namespace}, {plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}.");
        var actions = new List<CardAction>
        {
            new($"Approve: {plan.Title}", new CardActionPayload(CardVerb.Approve, request.Id), ActionStyle.Primary, confirm),
            new("Deny", new CardActionPayload(CardVerb.Deny, request.Id), ActionStyle.Danger),
        };
        var title = $"Waiting for approval: {plan.Title}";
        return new Card($"approval:{request.Id}", title, CardTone.Warning, $"{title} in {plan.Namespace}, asked by {request.RequestedBy.Name}", facts, [CardSection.Markdown(null, plan.Description)], actions)
        {
            Footer = $"{request.Id} · no open incident · as of {now.UtcDateTime.ToString("HH:mm 'UTC'", CultureInfo.InvariantCulture)}",
        };
    }
}

/// <summary>One card of the web board, not built yet.</summary>
/// <param name="Version">Names everything the card shows (null: build it every time); equal versions render equal HTML.</param>
/// <param name="ValidUntil">When the card would read differently with nothing stored having changed (the clock moved on).</param>
public sealed record WebBoardCard(string? Version, DateTimeOffset ValidUntil, Func<Card> Build);
