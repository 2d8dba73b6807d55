using System.Globalization;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Prevention;

namespace ChatOpsPull.Chat.Prevention;

/// <summary>
/// The card of a finding: "Will fail" (the sweep) or "Prevented" / "Warned at admission" (the admission check), with who
/// changed what, the cause, the fix in words, the evidence, and each fix the bot can run as a button — or, when the bot
/// only observes, as the kubectl commands to run (<see cref="FixOffer"/> decides, the same rule as incident cards).
/// Channel-neutral; Slack, Teams and the web page render it. Resolved findings keep their card, marked resolved, without buttons.
/// </summary>
public static class FindingCardBuilder
{
    public const string KeyPrefix = "finding:";
    public const int MaxButtons = 2;

    /// <param name="fixCommands">Null: fixes are buttons. Otherwise each plan's commands by plan key (observe profile).</param>
    public static Card Build(PreventionFinding finding, IReadOnlyDictionary<string, IReadOnlyList<string>>? fixCommands, DateTimeOffset now)
    {
        var change = finding.Change;
        var what = finding.Source switch
        {
            FindingSource.Sweep => "Will fail",
            FindingSource.Admission when change?.Denied == true => "Prevented",
            FindingSource.Admission => "Warned at admission",
            _ => throw new ArgumentOutOfRangeException(nameof(finding), finding.Source, "unknown finding source"),
        };
        var title = $"{(finding.IsOpen ? string.Empty : "Resolved: ")}{what}: {finding.Kind.Describe()} in {finding.Namespace}/{finding.Workload}";
        var facts = new List<CardFact>
        {
            new("Cluster", finding.Cluster),
            new("Namespace", finding.Namespace),
            new("Workload", finding.Workload),
            new("Container", finding.Container),
            new("Image", finding.Image),
            new("Cause", finding.Kind.Name()),
        };
        if (change is not null)
        {
            facts.Add(new CardFact("Changed by", change.User));
            facts.Add(new CardFact("Change", change.PreviousImage is { } previous && previous != finding.Image
                ? $"{change.Operation}: {previous} → {finding.Image}"
                : $"{change.Operation} with {finding.Image}"));
            facts.Add(new CardFact("Admitted", change.Denied ? "no: refused by the namespace's deny setting" : "yes, with a warning to the user"));
        }

        facts.Add(new CardFact("State", finding.IsOpen
            ? $"open since {Time(finding.FirstSeen)} (seen {finding.Seen} time{(finding.Seen == 1 ? string.Empty : "s")}, last {Time(finding.LastSeen)})"
            : $"resolved {Time(finding.ResolvedAt ?? finding.LastSeen)}"));

        var sections = new List<CardSection> { CardSection.Markdown(null, Lead(finding) + Capital(finding.Summary) + ".") };
        if (finding.IsOpen && finding.Fix is { Length: > 0 } fix)
        {
            sections.Add(CardSection.Markdown("Fix", Capital(fix) + "."));
        }

        if (finding.Evidence.Count > 0)
        {
            sections.Add(CardSection.List("Evidence", finding.Evidence.Select(IncidentCardBuilder.EvidenceLine).ToArray()));
        }

        var actions = new List<CardAction>();
        if (finding.IsOpen)
        {
            var plans = finding.Plans.Take(MaxButtons).ToList();
            if (fixCommands is null)
            {
                foreach (var plan in plans)
                {
                    actions.Add(new CardAction(
                        plan.Title,
                        new CardActionPayload(CardVerb.Request, finding.Id, plan.Key),
                        actions.Count == 0 ? ActionStyle.Primary : ActionStyle.Default,
                        plan.Risk == RemediationRisk.High ? new CardConfirm($"{plan.Title}?", plan.Description) : null));
                }
            }
            else
            {
                foreach (var plan in plans.Where(p => fixCommands.ContainsKey(p.Key)))
                {
                    sections.Add(CardSection.Code($"Fix by hand: {plan.Title}", string.Join('\n', fixCommands[plan.Key])));
                }

                if (plans.Count > 0)
                {
                    sections.Add(CardSection.Markdown(null, FixOffer.ObserveSentence(finding.Cluster)));
                }
            }
        }

        var tone = finding.IsOpen ? CardTone.Warning : CardTone.Good;
        var fallback = $"{title}: {finding.Summary}";
        return new Card(KeyPrefix + finding.Id, title, tone, fallback, facts, sections, actions)
        {
            Footer = $"{finding.Id} · updated {Time(now)} · registry checks run from the bot's own network",
        };
    }

    private static string Lead(PreventionFinding finding) => finding.Source switch
    {
        FindingSource.Sweep when finding.IsOpen => "The pods run now, but the next pull fails: ",
        FindingSource.Sweep => "No longer a problem. It was: ",
        FindingSource.Admission when !finding.IsOpen => "A later change fixed it. It was: ",
        FindingSource.Admission when finding.Change?.Denied == true => "The change was refused before any pod was made: ",
        FindingSource.Admission => "The change was admitted, and its new pods will not pull: ",
        _ => throw new ArgumentOutOfRangeException(nameof(finding), finding.Source, "unknown finding source"),
    };

    private static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
