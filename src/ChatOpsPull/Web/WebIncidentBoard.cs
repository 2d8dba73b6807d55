using System.Globalization;
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
/// </summary>
public sealed class WebIncidentBoard(IncidentStore incidents, IServiceProvider services, FixOffer fixes, IOptionsMonitor<WebPageOptions> options, TimeProvider time)
{
    public async Task<IReadOnlyList<Card>> CardsAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var open = await incidents.ListOpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var queries = services.GetService<IApprovalQueries>();
        var cards = new List<Card>();
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
            cards.Add(IncidentCardBuilder.Build(new IncidentCardInput(incident, approvals, runs, rolledUp, now, fixes.CommandsFor(incident))));
            shown.Add(incident.Id);
        }

        if (queries is not null)
        {
            var alone = (await queries.ListPendingAsync(null, cancellationToken).ConfigureAwait(false))
                .Where(a => !shown.Contains(a.IncidentId) && !a.IsExpiredAt(now))
                .OrderBy(a => a.RequestedAt);
            cards.AddRange(alone.Select(a => StandaloneApprovalCard(a, now)));
        }

        if (services.GetService<FindingCardPublisher>() is { } findings)
        {
            cards.AddRange(await findings.OpenCardsAsync(null, cancellationToken).ConfigureAwait(false));
        }

        return cards;
    }

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
