using System.Globalization;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Chat.Commands;

/// <summary>The answer to <c>diagnose</c>: one pod's diagnosis as a card (no buttons: fixes run from the incident card).</summary>
public static class DiagnosisCard
{
    public const int MaxRawMessageChars = 1500;

    /// <param name="incidentId">The open incident this pod is part of, if any.</param>
    /// <param name="otherContainers">Further failing containers of the same pod, one line each.</param>
    /// <param name="fixCommands">Null: fixes are asked for from the incident card. Otherwise (the bot only observes) each plan's kubectl commands by key.</param>
    public static Card Build(
        PullFailure failure,
        Core.Diagnoses.Diagnosis diagnosis,
        string? incidentId,
        IReadOnlyList<string> otherContainers,
        DateTimeOffset now,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? fixCommands = null)
    {
        var facts = new List<CardFact>
        {
            new("Cluster", failure.Cluster),
            new("Pod", $"{failure.Namespace}/{failure.Pod}"),
            new("Container", $"{failure.Container} ({failure.Reason})"),
            new("Image", failure.Image.Length > 0 ? failure.Image : "(unknown)"),
            new("Cause", $"{diagnosis.Cause.ToSnakeCase()} ({diagnosis.ConfidenceLabel} confidence)"),
        };
        if (failure.Workload is { } workload)
        {
            facts.Insert(2, new CardFact("Workload", workload.ToString()));
        }

        if (failure.NodeName is { Length: > 0 } node)
        {
            facts.Add(new CardFact("Node", node));
        }

        facts.Add(new CardFact("Incident", incidentId ?? "none open for this pod"));

        var sections = new List<CardSection> { CardSection.Markdown(null, diagnosis.Summary) };
        if (diagnosis.Evidence.Count > 0)
        {
            sections.Add(CardSection.List("Evidence", diagnosis.Evidence.Select(IncidentCardBuilder.EvidenceLine).ToArray()));
        }

        if (diagnosis.Remediations.Count > 0 && fixCommands is not null)
        {
            foreach (var plan in diagnosis.Remediations.Where(p => fixCommands.ContainsKey(p.Key)).Take(IncidentCardBuilder.MaxRemediationButtons))
            {
                sections.Add(CardSection.Code($"Fix by hand: {plan.Title}", string.Join('\n', fixCommands[plan.Key])));
            }

            sections.Add(CardSection.Markdown(null, FixOffer.ObserveSentence(failure.Cluster)));
        }
        else if (diagnosis.Remediations.Count > 0)
        {
            var where = incidentId is null ? "ask for them with `retry`, or from the incident card once one opens" : $"ask for them from the card of `{incidentId}`";
            sections.Add(CardSection.List(
                $"Fixes that fit ({where})",
                diagnosis.Remediations.Select(p => new CardLine($"*{p.Title}*: {p.Description}", LineMark.Info)).ToArray()));
        }

        if (otherContainers.Count > 0)
        {
            sections.Add(CardSection.List("Other containers of this pod that cannot pull", otherContainers.Select(c => new CardLine(c, LineMark.Failed)).ToArray()));
        }

        var raw = diagnosis.RawMessage.Length > 0 ? diagnosis.RawMessage : failure.Message;
        if (raw.Length > 0)
        {
            sections.Add(CardSection.Code("Runtime message", raw.Length <= MaxRawMessageChars ? raw : string.Concat(raw.AsSpan(0, MaxRawMessageChars), $"… (cut at {MaxRawMessageChars} of {raw.Length} characters)")));
        }

        var title = $"🔎 {diagnosis.Cause.Describe()}: {failure.Namespace}/{failure.Pod}";
        var fallback = $"{diagnosis.Cause.Describe()} for {failure.Namespace}/{failure.Pod} container {failure.Container}: {diagnosis.Summary}";
        return new Card($"diagnosis:{failure.Namespace}/{failure.Pod}", title, CardTone.Bad, fallback, facts, sections, [])
        {
            Footer = $"Diagnosed {now.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)} · network checks run from the bot's own network",
        };
    }
}
