using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Teams;

/// <summary>
/// Teams reads Adaptive Card text as markdown limited to bold, italic, lists and links ("Format cards in Teams",
/// https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format): a code span shows its
/// backticks, a heading its #. Every kind of card the bot builds — the incident card from its builder in each state, the
/// diagnose and approval cards, and the hand-written samples of every layout — is rendered for Teams and searched for
/// a backtick or markdown Teams does not have, in every field Teams reads as markdown; code is monospace TextRuns.
/// </summary>
public sealed partial class TeamsMarkdownTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static IEnumerable<object[]> Cards()
    {
        foreach (var sample in SampleCards.AllKinds())
        {
            yield return ["sample " + sample[0], sample[1]];
        }

        var diagnosis = new Diagnosis(
            PullCause.ImageNotFound,
            0.97,
            "Tag `1.4.3` does not exist in registry.example.com/shop/my_api; nearest existing tags: `1.4.2`, `1.4.1`.",
            [
                new Evidence("registry manifest", EvidenceOutcome.Failed, "`MANIFEST_UNKNOWN` for 1.4.3 (*not found*)", TimeSpan.FromMilliseconds(12)),
                new Evidence("pull secret", EvidenceOutcome.Passed, "secret `regcred` matches registry.example.com", null),
            ],
            "failed to resolve reference \"registry.example.com/shop/my_api:1.4.3\": not found; see `crictl pull` # and > quotes * stars _under_",
            [SetTag, Rollback]);
        var incident = Incident(diagnosis);
        var request = new ApprovalRequest("apr-7c1d2e", incident.Id, SetTag, new Actor("slack", "U1", "Ada", []), Now.AddMinutes(-2), Now.AddMinutes(30), ApprovalStatus.Pending, 1, [], 1) { DryRun = "image: `…:1.4.3` → `…:1.4.2`" };
        yield return ["incident diagnosing", IncidentCardBuilder.Build(new IncidentCardInput(Incident(null), [], [], [], Now))];
        yield return ["incident diagnosed", IncidentCardBuilder.Build(new IncidentCardInput(incident, [], [], [], Now))];
        yield return ["incident awaiting approval", IncidentCardBuilder.Build(new IncidentCardInput(incident with { State = IncidentState.AwaitingApproval }, [request], [], [], Now))];
        yield return ["approval without incident", StandaloneApprovalCard.Build(request, null, Now)];
        var failure = new PullFailure(FailureSource.Cli, "prod-eu", "shop", "api-7d9c5b6f4-x2x4p", "api", ContainerKind.Regular, "registry.example.com/shop/my_api:1.4.3", "ImagePullBackOff", "Back-off pulling image", Now)
        {
            Workload = new WorkloadRef("Deployment", "api"),
        };
        yield return ["diagnose command", DiagnosisCard.Build(failure, diagnosis, incident.Id, ["`sidecar` (ErrImagePull) · busybox:1.99"], Now)];
    }

    [Theory]
    [MemberData(nameof(Cards))]
    public void No_Teams_card_holds_a_backtick_or_markdown_Teams_does_not_have(string kind, Card card)
    {
        var json = AdaptiveCardRenderer.Render(card, CardView.Everyone);

        var problems = Problems(json);

        problems.ForEach(p => output.WriteLine($"{kind}: {p}"));
        Assert.Empty(problems);
    }

    [Fact]
    public void Code_spans_become_monospace_runs_and_bold_becomes_bold_runs()
    {
        var json = AdaptiveCardRenderer.Render(
            new Card("k", "t", CardTone.Bad, "f", [], [CardSection.Markdown(null, "Tag `1.4.3` is *missing*; **really**.")], []),
            CardView.Everyone);

        var block = CardJson.Nodes(json).Single(n => n["type"]?.GetValue<string>() == "RichTextBlock");
        var runs = block["inlines"]!.AsArray().Select(r => (r!["text"]!.GetValue<string>(), r["fontType"]?.GetValue<string>(), r["weight"]?.GetValue<string>())).ToList();
        Assert.Equal(
            [("Tag ", null, null), ("1.4.3", "Monospace", null), (" is ", null, null), ("missing", null, "Bolder"), ("; ", null, null), ("really", null, "Bolder"), (".", null, null)],
            runs);
    }

    [Fact]
    public void The_check_finds_backticks_and_unsupported_markdown()
    {
        var card = JsonNode.Parse("""
            {"type":"AdaptiveCard","version":"1.5","body":[
              {"type":"TextBlock","text":"tag `1.4.3`"},
              {"type":"TextBlock","text":"# Heading"},
              {"type":"TextBlock","text":"> quote"},
              {"type":"TextBlock","text":"*single star*"},
              {"type":"FactSet","facts":[{"title":"Image","value":"~~gone~~"}]},
              {"type":"RichTextBlock","inlines":[{"type":"TextRun","text":"run `x`"},{"type":"TextRun","text":"`ok in code`","fontType":"Monospace"}]},
              {"type":"TextBlock","text":"**bold**, _italic_, [link](https://example.com)\r- item\r1. first"}
            ]}
            """)!;

        var problems = Problems(card);

        Assert.Equal(6, problems.Count);
        Assert.DoesNotContain(problems, p => p.Contains("bold", StringComparison.Ordinal) && p.Contains("item", StringComparison.Ordinal));
    }

    /// <summary>Every field Teams reads as markdown, and every non-monospace run, checked against the Teams subset.</summary>
    public static List<string> Problems(JsonNode card)
    {
        var problems = new List<string>();
        foreach (var node in CardJson.Nodes(card))
        {
            var type = node["type"]?.GetValue<string>();
            if (type == "TextBlock" && node["text"] is JsonValue text)
            {
                CheckMarkdown("TextBlock", text.GetValue<string>(), problems);
            }
            else if (type == "FactSet")
            {
                foreach (var fact in node["facts"]!.AsArray())
                {
                    CheckMarkdown("Fact.title", fact!["title"]!.GetValue<string>(), problems);
                    CheckMarkdown("Fact.value", fact["value"]!.GetValue<string>(), problems);
                }
            }
            else if (type == "TextRun" && node["fontType"]?.GetValue<string>() != "Monospace" && node["text"]!.GetValue<string>().Contains('`', StringComparison.Ordinal))
            {
                problems.Add($"TextRun \"{node["text"]}\": a backtick outside a monospace run");
            }
        }

        return problems;
    }

    private static void CheckMarkdown(string field, string text, List<string> problems)
    {
        if (text.Contains('`', StringComparison.Ordinal))
        {
            problems.Add($"{field} \"{text}\": backtick (Teams shows it literally)");
            return;
        }

        var unsupported = Unsupported().Match(text);
        if (unsupported.Success)
        {
            problems.Add($"{field} \"{text}\": \"{unsupported.Value.Trim()}\" is markdown Teams does not have");
        }
    }

    private static Incident Incident(Diagnosis? diagnosis) => new(
        "inc-4f2a9c",
        new IncidentKey("prod-eu", "shop", "deployment/api", PullCause.ImageNotFound),
        "registry.example.com/shop/my_api:1.4.3",
        diagnosis is null ? IncidentState.Open : IncidentState.Diagnosed,
        Now.AddMinutes(-5),
        Now,
        [new AffectedPod("api-7d9c5b6f4-x2x4p", "api", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/my_api:1.4.3\"", Now.AddMinutes(-5), Now)],
        3)
    {
        Workload = new WorkloadRef("Deployment", "api"),
        Diagnosis = diagnosis,
    };

    private static readonly RemediationPlan SetTag = new(
        RemediationKind.SetImageTag, "shop", "Deployment", "api", "Set tag to 1.4.2", "Sets container `api` to `registry.example.com/shop/my_api:1.4.2`, which the registry confirmed exists.", RemediationRisk.Medium,
        new Dictionary<string, string> { ["container"] = "api", ["image"] = "registry.example.com/shop/my_api:1.4.2" });

    private static readonly RemediationPlan Rollback = new(
        RemediationKind.RollBack, "shop", "Deployment", "api", "Roll back to revision 6", "Returns the Deployment to revision 6 (image `…:1.4.1`), like `kubectl rollout undo`.", RemediationRisk.High,
        new Dictionary<string, string> { ["revision"] = "6" });

    /// <summary>Headings, quotes and tables at a line's start, fences, images, strikethrough, HTML, and single-star emphasis (Teams documents only **bold** and _italic_).</summary>
    [GeneratedRegex(@"(?m)^\s*(#{1,6}\s|>|\|)|```|!\[|~~|<[A-Za-z/][^>]*>|(?<![*\w])\*(?!\*)[^*\n]+\*(?![*\w])", RegexOptions.CultureInvariant)]
    private static partial Regex Unsupported();
}
