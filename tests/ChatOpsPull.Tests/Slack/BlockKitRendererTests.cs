using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Slack;

public sealed class BlockKitRendererTests
{
    [Fact]
    public void Incident_card_renders_header_facts_sections_buttons_and_footer_within_limits()
    {
        var content = BlockKitRenderer.Render(SampleCards.Incident("incident:inc-4f2a9c"));
        var message = content.ToJson();

        Assert.Empty(BlockKitRules.Check(message));
        Assert.Equal("shop/api cannot pull registry.example.com/shop/api:1.4.3 — the tag does not exist", content.Text);
        var types = content.Blocks.Select(b => b!["type"]!.GetValue<string>()).ToArray();
        Assert.Equal(["header", "section", "section", "section", "section", "actions", "context"], types);
        Assert.Equal("🔴 ImagePullBackOff: shop/api — tag 1.4.3 not found", content.Blocks[0]!["text"]!["text"]!.GetValue<string>());
        Assert.Equal("*Cluster*\nprod-eu", content.Blocks[1]!["fields"]![0]!["text"]!.GetValue<string>());

        var buttons = content.Blocks[5]!["elements"]!.AsArray();
        Assert.Equal("request|inc-4f2a9c|set_tag:container=api,tag=1.4.2", buttons[0]!["value"]!.GetValue<string>());
        Assert.True(CardActionPayload.TryParse(buttons[0]!["value"]!.GetValue<string>(), out _));
        Assert.Equal("primary", buttons[0]!["style"]!.GetValue<string>());
        Assert.Equal("danger", buttons[1]!["style"]!.GetValue<string>());
        Assert.Null(buttons[2]!["style"]);
        Assert.Equal("Change the image?", buttons[0]!["confirm"]!["title"]!["text"]!.GetValue<string>());
        Assert.Equal(3, buttons.Select(b => b!["action_id"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public void Evidence_lines_carry_their_marks_and_code_goes_in_a_code_block()
    {
        var content = BlockKitRenderer.Render(SampleCards.Incident("incident:inc-4f2a9c"));

        var evidence = content.Blocks[3]!["text"]!["text"]!.GetValue<string>();
        Assert.Equal("*Evidence*\n✅ Registry reachable over TLS (42 ms)\n❌ Manifest 1.4.3: MANIFEST_UNKNOWN\nℹ️ Nearest tags: 1.4.2, 1.4.1\n⏭ Node disk pressure: not checked", evidence);
        var code = content.Blocks[4]!["text"]!["text"]!.GetValue<string>();
        Assert.StartsWith("*Runtime message*\n```\nFailed to pull image", code, StringComparison.Ordinal);
        Assert.EndsWith("&lt;manifest unknown&gt;\n```", code, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_is_escaped_as_slack_requires_and_markdown_kept()
    {
        var card = Card(sections: [CardSection.Markdown(null, "*bold* and `code` & <@U123> <!channel> **strong**")]);

        var text = BlockKitRenderer.Render(card).Blocks[1]!["text"]!["text"]!.GetValue<string>();

        Assert.Equal("*bold* and `code` &amp; &lt;@U123&gt; &lt;!channel&gt; *strong*", text);
    }

    [Fact]
    public void Long_title_is_cut_at_150_characters()
    {
        var content = BlockKitRenderer.Render(Card(title: new string('t', 400)));

        var header = content.Blocks[0]!["text"]!["text"]!.GetValue<string>();
        Assert.Equal(150, header.Length);
        Assert.EndsWith("…", header, StringComparison.Ordinal);
        Assert.Empty(BlockKitRules.Check(content.ToJson()));
    }

    [Fact]
    public void Facts_go_ten_to_a_section_and_past_a_hundred_say_how_many_more()
    {
        var content = BlockKitRenderer.Render(Card(facts: Enumerable.Range(1, 150).Select(i => new CardFact($"Pod {i}", "ImagePullBackOff")).ToList()));

        var sections = content.Blocks.Where(b => b!["fields"] is not null).ToList();
        Assert.Equal(10, sections.Count);
        Assert.All(sections, s => Assert.Equal(10, s!["fields"]!.AsArray().Count));
        Assert.Equal("_…and 51 more facts not shown._", sections[^1]!["fields"]![9]!["text"]!.GetValue<string>());
        Assert.Empty(BlockKitRules.Check(content.ToJson()));
    }

    [Fact]
    public void Long_fact_value_is_cut_at_2000_characters()
    {
        var content = BlockKitRenderer.Render(Card(facts: [new CardFact("Image", new string('x', 5000))]));

        var field = content.Blocks[1]!["fields"]![0]!["text"]!.GetValue<string>();
        Assert.Equal(2000, field.Length);
        Assert.EndsWith("…", field, StringComparison.Ordinal);
    }

    [Fact]
    public void Long_markdown_is_cut_below_3000_and_says_where()
    {
        var content = BlockKitRenderer.Render(Card(sections: [CardSection.Markdown("Summary", new string('m', 10_000))]));

        var text = content.Blocks[1]!["text"]!["text"]!.GetValue<string>();
        Assert.True(text.Length <= 3000, $"{text.Length} characters");
        Assert.Matches(@"_…message cut at 2,9\d\d of 10,000 characters\._$", text);
        Assert.Empty(BlockKitRules.Check(content.ToJson()));
    }

    [Fact]
    public void Long_code_keeps_its_code_block_closed_and_says_where_it_was_cut()
    {
        var content = BlockKitRenderer.Render(Card(sections: [CardSection.Code("Runtime message", string.Concat(Enumerable.Repeat("<error & more> ", 1000)))]));

        var text = content.Blocks[1]!["text"]!["text"]!.GetValue<string>();
        Assert.True(text.Length <= 3000, $"{text.Length} characters");
        Assert.Contains("\n```\n_…message cut at ", text, StringComparison.Ordinal);
        Assert.Matches(@"of 15,000 characters\._$", text);
        Assert.DoesNotMatch("&[a-z]{0,3}\n```", text);
    }

    [Fact]
    public void Cutting_never_splits_an_escape_or_a_surrogate_pair()
    {
        var escapes = BlockKitRenderer.Render(Card(sections: [CardSection.Markdown(null, new string('&', 5000))])).Blocks[1]!["text"]!["text"]!.GetValue<string>();
        var emoji = BlockKitRenderer.Render(Card(sections: [CardSection.Markdown(null, string.Concat(Enumerable.Repeat("😀", 4000)))])).Blocks[1]!["text"]!["text"]!.GetValue<string>();

        var kept = escapes[..escapes.IndexOf('\n', StringComparison.Ordinal)];
        Assert.Matches("^(&amp;)+$", kept);
        var keptEmoji = emoji[..emoji.IndexOf('\n', StringComparison.Ordinal)];
        Assert.False(char.IsHighSurrogate(keptEmoji[^1]));
        Assert.Equal(0, keptEmoji.Length % 2);
    }

    [Fact]
    public void Long_list_shows_what_fits_and_counts_the_rest_with_what_the_builder_left_out()
    {
        var lines = Enumerable.Range(1, 500).Select(i => new CardLine($"pod api-7d9c-{i:D4} ImagePullBackOff", LineMark.Failed)).ToList();

        var content = BlockKitRenderer.Render(Card(sections: [CardSection.List("Pods", lines, hiddenCount: 37)]));

        var text = content.Blocks[1]!["text"]!["text"]!.GetValue<string>();
        Assert.True(text.Length <= 3000, $"{text.Length} characters");
        var shown = text.Split('\n').Count(l => l.StartsWith("❌ ", StringComparison.Ordinal));
        Assert.EndsWith($"_…and {500 - shown + 37} more_", text, StringComparison.Ordinal);
        Assert.True(shown > 50);
    }

    [Fact]
    public void Builder_hidden_count_is_reported_even_when_everything_else_fits()
    {
        var content = BlockKitRenderer.Render(Card(sections: [CardSection.List("Pods", [new CardLine("api-1"), new CardLine("api-2")], hiddenCount: 37)]));

        Assert.Equal("*Pods*\n• api-1\n• api-2\n_…and 37 more_", content.Blocks[1]!["text"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public void More_than_fifty_blocks_keeps_header_facts_buttons_and_footer_and_counts_the_hidden_sections()
    {
        var sections = Enumerable.Range(1, 80).Select(i => CardSection.Markdown($"Section {i}", "text")).ToList();
        var card = Card(sections: sections, actions: [Button(0)]) with { Footer = "footer" };

        var content = BlockKitRenderer.Render(card);

        Assert.Equal(50, content.Blocks.Count);
        Assert.Equal("header", content.Blocks[0]!["type"]!.GetValue<string>());
        Assert.Equal("actions", content.Blocks[^2]!["type"]!.GetValue<string>());
        Assert.Equal("context", content.Blocks[^1]!["type"]!.GetValue<string>());
        var note = content.Blocks[^3]!["text"]!["text"]!.GetValue<string>();
        Assert.StartsWith("_…and 34 more sections not shown", note, StringComparison.Ordinal);
        Assert.Empty(BlockKitRules.Check(content.ToJson()));
    }

    [Fact]
    public void Buttons_go_25_to_an_actions_block_and_past_a_hundred_say_how_many_more()
    {
        var content = BlockKitRenderer.Render(Card(actions: Enumerable.Range(0, 130).Select(Button).ToList()));

        var actionBlocks = content.Blocks.Where(b => b!["type"]!.GetValue<string>() == "actions").ToList();
        Assert.Equal(4, actionBlocks.Count);
        Assert.All(actionBlocks, b => Assert.Equal(25, b!["elements"]!.AsArray().Count));
        var ids = actionBlocks.SelectMany(b => b!["elements"]!.AsArray()).Select(e => e!["action_id"]!.GetValue<string>()).ToList();
        Assert.Equal(100, ids.Distinct().Count());
        Assert.Contains(content.Blocks, b => b!["type"]!.GetValue<string>() == "context" && b["elements"]![0]!["text"]!.GetValue<string>().Contains("…and 30 more buttons", StringComparison.Ordinal));
        Assert.Empty(BlockKitRules.Check(content.ToJson()));
    }

    [Fact]
    public void Button_and_confirm_texts_are_cut_at_their_limits()
    {
        var action = new CardAction(new string('b', 200), new CardActionPayload(CardVerb.Request, "inc-4f2a9c", "rollback"), ActionStyle.Danger,
            new CardConfirm(new string('T', 300), new string('x', 900), new string('c', 80), new string('d', 80)));

        var button = BlockKitRenderer.Render(Card(actions: [action])).Blocks.Single(b => b!["type"]!.GetValue<string>() == "actions")!["elements"]![0]!;

        Assert.Equal(75, button["text"]!["text"]!.GetValue<string>().Length);
        Assert.Equal(100, button["confirm"]!["title"]!["text"]!.GetValue<string>().Length);
        Assert.Equal(300, button["confirm"]!["text"]!["text"]!.GetValue<string>().Length);
        Assert.Equal(30, button["confirm"]!["confirm"]!["text"]!.GetValue<string>().Length);
        Assert.Equal(30, button["confirm"]!["deny"]!["text"]!.GetValue<string>().Length);
        Assert.Equal("danger", button["confirm"]!["style"]!.GetValue<string>());
    }

    [Fact]
    public void Button_value_longer_than_2000_characters_is_left_out_and_counted()
    {
        var tooLong = new CardAction("Huge", new CardActionPayload(CardVerb.Request, "inc-4f2a9c", new string('a', 2100)));

        var content = BlockKitRenderer.Render(Card(actions: [tooLong, Button(1)]));

        var buttons = content.Blocks.Single(b => b!["type"]!.GetValue<string>() == "actions")!["elements"]!.AsArray();
        Assert.Single(buttons);
        Assert.Contains(content.Blocks, b => b!["type"]!.GetValue<string>() == "context" && b["elements"]![0]!["text"]!.GetValue<string>().Contains("…and 1 more button not shown", StringComparison.Ordinal));
    }

    [Fact]
    public void Empty_fallback_uses_the_title_and_an_empty_section_is_never_empty_text()
    {
        var content = BlockKitRenderer.Render(Card(title: "Digest", fallback: " ", sections: [CardSection.Markdown(null, string.Empty)]));

        Assert.Equal("Digest", content.Text);
        Assert.Equal("_(empty)_", content.Blocks[1]!["text"]!["text"]!.GetValue<string>());
        Assert.Empty(BlockKitRules.Check(content.ToJson()));
    }

    [Fact]
    public void Image_is_announced_honestly_as_not_uploaded()
    {
        var card = Card() with { Image = new CardImage("Pull times", "/data/charts/d.png", "slowest pulls this week") };

        var content = BlockKitRenderer.Render(card);

        var note = content.Blocks[^1]!["elements"]![0]!["text"]!.GetValue<string>();
        Assert.Contains("*Pull times*: slowest pulls this week", note, StringComparison.Ordinal);
        Assert.Contains("not uploaded to Slack", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Everything_at_once_still_passes_slacks_checks()
    {
        var card = Card(
            title: new string('h', 500),
            facts: Enumerable.Range(0, 300).Select(i => new CardFact(new string('l', 300), new string('v', 3000))).ToList(),
            sections: Enumerable.Range(0, 100).Select(i => i % 3 == 0
                ? CardSection.Code(new string('H', 500), new string('<', 9000))
                : i % 3 == 1 ? CardSection.List("L", Enumerable.Range(0, 400).Select(j => new CardLine(new string('&', 50), LineMark.Info)).ToList(), 9)
                : CardSection.Markdown(null, new string('*', 8000))).ToList(),
            actions: Enumerable.Range(0, 300).Select(Button).ToList()) with { Footer = new string('f', 9000), Image = new CardImage(new string('i', 4000), "x.png", new string('a', 4000)) };

        var message = BlockKitRenderer.Render(card).ToJson();

        Assert.Empty(BlockKitRules.Check(message));
        Assert.Equal(50, message["blocks"]!.AsArray().Count);
        Assert.True(message["text"]!.GetValue<string>().Length <= BlockKitLimits.FallbackText);
    }

    private static CardAction Button(int i) => new($"Button {i}", new CardActionPayload(CardVerb.Snooze, "inc-4f2a9c", $"{i + 1}h"));

    private static Card Card(
        string title = "Card",
        string fallback = "fallback",
        IReadOnlyList<CardFact>? facts = null,
        IReadOnlyList<CardSection>? sections = null,
        IReadOnlyList<CardAction>? actions = null) =>
        new("incident:inc-4f2a9c", title, CardTone.Warning, fallback, facts ?? [], sections ?? [], actions ?? []);
}
