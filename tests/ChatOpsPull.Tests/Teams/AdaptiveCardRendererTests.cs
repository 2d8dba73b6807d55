using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Teams;

public sealed partial class AdaptiveCardRendererTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Kinds() => SampleCards.AllKinds();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_card_kind_is_a_valid_Adaptive_Card_1_5_under_the_Teams_limit(string kind, Card card)
    {
        foreach (var view in new[] { CardView.Everyone, new CardView(false, ["29:1a"]), new CardView(true, ["29:1a"]) })
        {
            var json = AdaptiveCardRenderer.Render(card, view);

            Assert.Empty(AdaptiveCardCheck.Validate(json));
            Assert.Equal("1.5", json["version"]!.GetValue<string>());
            Assert.Equal("Full", json["msteams"]!["width"]!.GetValue<string>());
            Assert.True(AdaptiveCardRenderer.Utf16Bytes(json) <= AdaptiveCardRenderer.MaxCardUtf16Bytes, $"{kind} is {AdaptiveCardRenderer.Utf16Bytes(json)} bytes");
            Assert.Contains(card.Title, CardJson.Texts(json), StringComparison.Ordinal);
            Assert.Equal(card.FallbackText, json["fallbackText"]!.GetValue<string>());
            output.WriteLine($"{kind} (approver actions: {view.ShowApproverActions}, refresh: {view.RefreshUserIds is not null}): {AdaptiveCardRenderer.Utf16Bytes(json)} UTF-16 bytes, {System.Text.Encoding.UTF8.GetByteCount(AdaptiveCardRenderer.Serialize(json))} UTF-8 bytes");
        }
    }

    [Fact]
    public void Buttons_are_Action_Execute_with_the_verb_and_the_payload()
    {
        var json = AdaptiveCardRenderer.Render(SampleCards.Incident(), CardView.Everyone);

        var approve = CardJson.Executes(json).Single(a => a["verb"]!.GetValue<string>() == "approve");
        Assert.Equal("approve|apr-7c1d2e", approve["data"]!["payload"]!.GetValue<string>());
        Assert.Equal(SampleCards.IncidentKey, approve["data"]!["cardKey"]!.GetValue<string>());
        Assert.Equal("positive", approve["style"]!.GetValue<string>());
        Assert.Equal("destructive", CardJson.Executes(json).Single(a => a["verb"]!.GetValue<string>() == "deny")["style"]!.GetValue<string>());
        Assert.Equal(["request", "approve", "deny", "rediagnose", "snooze"], CardJson.Verbs(json));
    }

    [Fact]
    public void Risky_button_opens_a_confirmation_before_anything_runs()
    {
        var json = AdaptiveCardRenderer.Render(SampleCards.Incident(), CardView.Everyone);

        var actions = json["body"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "ActionSet")!["actions"]!.AsArray();
        var first = actions[0]!;
        Assert.Equal(("Action.ShowCard", "Set tag 1.4.2"), (first["type"]!.GetValue<string>(), first["title"]!.GetValue<string>()));
        Assert.Contains("Change the image of Deployment/api?", CardJson.Texts(first["card"]), StringComparison.Ordinal);
        var inner = Assert.Single(first["card"]!["actions"]!.AsArray())!;
        Assert.Equal(("Action.Execute", "request", "Run it"), (inner["type"]!.GetValue<string>(), inner["verb"]!.GetValue<string>(), inner["title"]!.GetValue<string>()));
        Assert.Equal("request|inc-4f2a9c|set_tag:container=api,tag=1.4.2", inner["data"]!["payload"]!.GetValue<string>());
    }

    [Fact]
    public void Viewer_view_has_no_approve_or_deny_and_says_why()
    {
        var viewer = AdaptiveCardRenderer.Render(SampleCards.Incident(), new CardView(false, ["29:1approver"]));
        var approver = AdaptiveCardRenderer.Render(SampleCards.Incident(), new CardView(true, ["29:1approver"]));

        Assert.Equal(["request", "rediagnose", "snooze"], CardJson.Verbs(viewer));
        Assert.Contains("shown to approvers only", CardJson.Texts(viewer), StringComparison.Ordinal);
        Assert.Contains("approve", CardJson.Verbs(approver));
        foreach (var card in new[] { viewer, approver })
        {
            Assert.Equal("Action.Execute", card["refresh"]!["action"]!["type"]!.GetValue<string>());
            Assert.Equal("refresh", card["refresh"]!["action"]!["verb"]!.GetValue<string>());
            Assert.Equal(SampleCards.IncidentKey, card["refresh"]!["action"]!["data"]!["cardKey"]!.GetValue<string>());
            Assert.Equal(["29:1approver"], card["refresh"]!["userIds"]!.AsArray().Select(u => u!.GetValue<string>()));
        }
    }

    [Fact]
    public void Refresh_lists_at_most_60_users()
    {
        var users = Enumerable.Range(0, 75).Select(i => $"29:1user{i}").ToList();

        var json = AdaptiveCardRenderer.Render(SampleCards.Incident(), new CardView(false, users));

        Assert.Equal(60, json["refresh"]!["userIds"]!.AsArray().Count);
    }

    [Fact]
    public void Storm_card_is_cut_to_fit_and_says_how_much_was_left_out()
    {
        var json = AdaptiveCardRenderer.Render(SampleCards.Storm(), CardView.Everyone);
        var texts = CardJson.Texts(json);

        Assert.True(AdaptiveCardRenderer.Utf16Bytes(json) <= AdaptiveCardRenderer.MaxCardUtf16Bytes);
        var shown = Regex.Count(texts, "api-7d9c5b-[0-9a-f]{4} ImagePullBackOff");
        var hidden = int.Parse(MorePods().Match(texts).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(shown > 0, "some pods are still listed");
        Assert.Equal(5000, shown + hidden);
        Assert.Matches("more characters not shown", texts);
        Assert.Contains("GET /v2/shop/api/manifests/1.4.3 → 404 MANIFEST_UNKNOWN", texts, StringComparison.Ordinal);
        Assert.Equal(5, CardJson.Verbs(json).Count());
    }

    [Fact]
    public void Builder_hidden_count_is_shown_honestly()
    {
        var json = AdaptiveCardRenderer.Render(SampleCards.Digest(), CardView.Everyone);

        Assert.Contains("…and 12 more lines", CardJson.Texts(json), StringComparison.Ordinal);
    }

    [Fact]
    public void Bold_and_code_spans_become_bold_and_monospace_runs_and_tone_becomes_container_style()
    {
        var json = AdaptiveCardRenderer.Render(SampleCards.Incident(), CardView.Everyone);

        Assert.Contains("The registry says MANIFEST_UNKNOWN for tag 1.4.3. Nearest existing tags: 1.4.2, 1.4.1.", CardJson.Texts(json), StringComparison.Ordinal);
        var runs = CardJson.Nodes(json).Where(n => n["type"]?.GetValue<string>() == "TextRun").ToList();
        Assert.Contains(runs, r => r["text"]!.GetValue<string>() == "MANIFEST_UNKNOWN" && r["weight"]?.GetValue<string>() == "Bolder");
        Assert.Contains(runs, r => r["text"]!.GetValue<string>() == "1.4.3" && r["fontType"]?.GetValue<string>() == "Monospace");
        Assert.DoesNotContain("`", CardJson.Texts(json), StringComparison.Ordinal);
        Assert.Equal("attention", json["body"]![0]!["style"]!.GetValue<string>());
        var code = runs.Single(n => n["text"]!.GetValue<string>().StartsWith("Failed to pull image", StringComparison.Ordinal));
        Assert.Equal("Monospace", code["fontType"]!.GetValue<string>());
    }

    [GeneratedRegex("…and ([0-9]+) more pods")]
    private static partial Regex MorePods();
}
