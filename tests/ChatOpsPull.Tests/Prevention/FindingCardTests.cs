using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Prevention;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Prevention;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Web;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>
/// "Will fail" and "prevented" cards: what they say, that Slack's Block Kit rules, the Adaptive Card size limit and the web
/// page take them, and what their fix buttons do — a stand-alone request through the approval policy, refused under the
/// observe profile, and nothing at all for an unknown, resolved or outdated finding.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class FindingCardTests(RegistryFixture registry)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);

    public static PreventionFinding Finding(FindingSource source, bool denied = false, bool open = true, int plans = 2) => new(
        "fnd-0a1b2c3d4e",
        "key",
        source,
        FindingKind.ImageMissing,
        "prod",
        "shop",
        "Deployment",
        "web",
        "web",
        "registry.example.com/shop/web:1.4.3",
        "image shop/web:1.4.3 does not exist in registry.example.com; nearest tag 1.4.2",
        "set the tag to 1.4.2",
        [new Evidence("manifest registry.example.com/shop/web:1.4.3", EvidenceOutcome.Failed, "404 MANIFEST_UNKNOWN", TimeSpan.FromMilliseconds(12))],
        Enumerable.Range(0, plans).Select(i => new RemediationPlan(
            RemediationKind.SetImageTag, "shop", "Deployment", "web", $"Set tag to 1.4.{2 - i}", "Sets container `web` …", RemediationRisk.Medium,
            new Dictionary<string, string> { ["container"] = "web", ["image"] = $"registry.example.com/shop/web:1.4.{2 - i}" })).ToList(),
        open ? FindingState.Open : FindingState.Resolved,
        Now.AddHours(-2),
        Now.AddMinutes(-5),
        open ? null : Now,
        3)
    {
        Change = source == FindingSource.Admission ? new AdmissionChange("alice@example.com", "UPDATE", "registry.example.com/shop/web:1.4.2", denied) : null,
    };

    [Fact]
    public void A_will_fail_card_says_what_fails_and_offers_the_fixes_as_buttons()
    {
        var card = FindingCardBuilder.Build(Finding(FindingSource.Sweep), null, Now);

        Assert.Equal("finding:fnd-0a1b2c3d4e", card.Key);
        Assert.Equal("Will fail: Image or tag gone from the registry in shop/deployment/web", card.Title);
        Assert.Equal(CardTone.Warning, card.Tone);
        Assert.Equal("The pods run now, but the next pull fails: Image shop/web:1.4.3 does not exist in registry.example.com; nearest tag 1.4.2.", card.Sections[0].Text);
        Assert.Equal("Set the tag to 1.4.2.", Assert.Single(card.Sections, s => s.Heading == "Fix").Text);
        Assert.Equal(["request|fnd-0a1b2c3d4e|SetImageTag:container=web,image=registry.example.com/shop/web:1.4.2", "request|fnd-0a1b2c3d4e|SetImageTag:container=web,image=registry.example.com/shop/web:1.4.1"],
            card.Actions.Select(a => a.Payload.ToString()));
        Assert.Contains(card.Facts, f => f.Label == "State" && f.Value.StartsWith("open since 2026-12-02 07:30 UTC (seen 3 times", StringComparison.Ordinal));
    }

    [Fact]
    public void A_prevented_card_says_who_changed_what_and_a_refused_change_offers_no_button()
    {
        var refused = Finding(FindingSource.Admission, denied: true, plans: 0);
        var card = FindingCardBuilder.Build(refused, null, Now);

        Assert.Equal("Prevented: Image or tag gone from the registry in shop/deployment/web", card.Title);
        Assert.Contains(card.Facts, f => f.Label == "Changed by" && f.Value == "alice@example.com");
        Assert.Contains(card.Facts, f => f.Label == "Change" && f.Value == "UPDATE: registry.example.com/shop/web:1.4.2 → registry.example.com/shop/web:1.4.3");
        Assert.Contains(card.Facts, f => f.Label == "Admitted" && f.Value.StartsWith("no", StringComparison.Ordinal));
        Assert.StartsWith("The change was refused before any pod was made:", card.Sections[0].Text, StringComparison.Ordinal);
        Assert.Empty(card.Actions);
    }

    [Fact]
    public void Finding_cards_pass_block_kit_rules_the_adaptive_card_limit_and_render_on_the_web_page()
    {
        var cards = new[]
        {
            FindingCardBuilder.Build(Finding(FindingSource.Sweep), null, Now),
            FindingCardBuilder.Build(Finding(FindingSource.Admission), null, Now),
            FindingCardBuilder.Build(Finding(FindingSource.Admission, denied: true, plans: 0), null, Now),
            FindingCardBuilder.Build(Finding(FindingSource.Sweep, open: false), null, Now),
            FindingCardBuilder.Build(Finding(FindingSource.Sweep), new Dictionary<string, IReadOnlyList<string>>
            {
                ["SetImageTag:container=web,image=registry.example.com/shop/web:1.4.2"] = ["kubectl -n shop set image deployment/web web=registry.example.com/shop/web:1.4.2"],
                ["SetImageTag:container=web,image=registry.example.com/shop/web:1.4.1"] = ["kubectl -n shop set image deployment/web web=registry.example.com/shop/web:1.4.1"],
            }, Now),
        };

        foreach (var card in cards)
        {
            var slack = BlockKitRenderer.Render(card).ToJson();
            Assert.Empty(BlockKitRules.Check(slack));
            var teams = AdaptiveCardRenderer.Render(card, CardView.Everyone);
            Assert.True(AdaptiveCardRenderer.Utf16Bytes(teams) <= AdaptiveCardRenderer.MaxCardUtf16Bytes);
            var html = CardHtmlRenderer.Render(card, "/web/actions", "__RequestVerificationToken", "token");
            Assert.Contains(System.Net.WebUtility.HtmlEncode(card.Title).Replace("&#39;", "'", StringComparison.Ordinal)[..20], html, StringComparison.Ordinal);
            Assert.Equal(card.Actions.Count, Teams.CardJson.Nodes(teams).Count(n => n["type"]?.GetValue<string>() == "Action.Execute"));
        }

        Assert.Empty(cards[3].Actions);
        Assert.Empty(cards[4].Actions);
        Assert.Equal(2, cards[4].Sections.Count(s => s.Style == SectionStyle.Code));
    }

    [Fact]
    public async Task A_fix_button_asks_for_a_stand_alone_request_and_odd_clicks_change_nothing()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new()
        {
            ["Approvals:Rules:0:Cluster"] = "prod",
            ["Approvals:Rules:0:Namespace"] = "shop",
            ["Approvals:Rules:0:Approvers:0"] = "slack:" + People.Bob.Id,
            ["Approvals:Rules:0:Required"] = "1",
        });
        bed.Api.Seed(RemediationBed.Deployment("web", $"{registry.Anonymous}/team/app:1.4.3", 1));
        var finding = await bed.Get<FindingRecorder>().RecordAsync(Observation($"{registry.Anonymous}/team/app:1.4.3", $"{registry.Anonymous}/team/app:1.4.2"), CancellationToken.None);
        var handler = bed.Get<IChatActionHandler>();
        var plan = finding.Plans[0];

        var unknown = await Click(handler, "fnd-00000000ff", plan.Key);
        var outdated = await Click(handler, finding.Id, "SetImageTag:container=web,image=elsewhere");
        var asked = await Click(handler, finding.Id, plan.Key);

        Assert.Equal("There is no finding fnd-00000000ff; the card may come from another bot. Nothing changed.", unknown.Text);
        Assert.StartsWith("This card is out of date", outdated.Text, StringComparison.Ordinal);
        Assert.Equal($"finding:{finding.Id}", outdated.UpdatedCard!.Key);
        var request = Assert.Single(await bed.Get<IApprovalQueries>().ListPendingAsync(null, CancellationToken.None));
        Assert.Equal((plan.Key, string.Empty, "prod"), (request.Plan.Key, request.IncidentId, request.Cluster));
        Assert.Contains("1.4.2", request.DryRun, StringComparison.Ordinal);
        Assert.Equal($"approval:{request.Id}", asked.Card!.Key);

        await bed.Get<FindingRecorder>().ResolveAsync(finding.Id, CancellationToken.None);
        var late = await Click(handler, finding.Id, plan.Key);
        Assert.StartsWith($"Finding {finding.Id} is resolved", late.Text, StringComparison.Ordinal);
        Assert.Single(await bed.Get<IApprovalQueries>().ListPendingAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Under_the_observe_profile_a_forged_fix_click_is_refused_and_requests_nothing()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Bot:Profile"] = "Observe" });
        var finding = await bed.Get<FindingRecorder>().RecordAsync(Observation($"{registry.Anonymous}/team/app:1.4.3", $"{registry.Anonymous}/team/app:1.4.2"), CancellationToken.None);

        var reply = await Click(bed.Get<IChatActionHandler>(), finding.Id, finding.Plans[0].Key);

        Assert.StartsWith(ApprovalWorkflow.ObserveOnly, reply.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListPendingAsync(null, CancellationToken.None));
        var card = bed.Get<FindingCardPublisher>().Build(finding);
        Assert.Empty(card.Actions);
        Assert.Contains(card.Sections, s => s.Heading == "Fix by hand: Set tag to 1.4.2");
    }

    private static FindingObservation Observation(string image, string suggested) => new(
        FindingSource.Sweep, FindingKind.ImageMissing, "prod", "shop", "Deployment", "web", "app", image,
        "the tag does not exist", "set the tag to 1.4.2", [],
        [new RemediationPlan(RemediationKind.SetImageTag, "shop", "Deployment", "web", "Set tag to 1.4.2", "Sets container `app`.", RemediationRisk.Medium,
            new Dictionary<string, string> { ["container"] = "app", ["image"] = suggested })],
        null);

    private static Task<ChatReply> Click(IChatActionHandler handler, string target, string argument) =>
        handler.HandleAsync(new ChatActionRequest(People.Alice, new CardActionPayload(CardVerb.Request, target, argument), AdmissionBed.Channel, null), CancellationToken.None);
}
