using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Chat.Slack.BlockKit;

/// <summary>A message body: the notification text and its blocks.</summary>
public sealed record SlackMessageContent(string Text, JsonArray Blocks)
{
    /// <summary>A fresh JSON object {"text", "blocks"} to add channel/ts/response_type to.</summary>
    public JsonObject ToJson() => new() { ["text"] = Text, ["blocks"] = Blocks.DeepClone() };
}

/// <summary>
/// Renders the channel-neutral <see cref="Card"/> as Block Kit: header, facts as section fields, one section per card
/// section, buttons, image note and footer. Every Block Kit limit is respected by cutting, and every cut says so.
/// </summary>
public static class BlockKitRenderer
{
    /// <summary>At most this many actions blocks (100 buttons); more buttons are counted in a note.</summary>
    private const int MaxActionBlocks = 4;

    /// <summary>At most this many facts (ten full field sections).</summary>
    private const int MaxFacts = BlockKitLimits.FieldsPerSection * 10;

    public static SlackMessageContent Render(Card card)
    {
        ArgumentNullException.ThrowIfNull(card);
        var header = Header(card);
        var facts = FactSections(card.Facts);
        var (actions, droppedButtons) = ActionBlocks(card.Actions);

        var tail = new List<JsonObject>();
        if (SimulationBanner.Applies(card))
        {
            // Right under the header (moved there below): a simulated card cannot pass for a real one.
            facts.Insert(0, Context("🧪 *" + SlackText.Escape(SimulationBanner.Text) + "*"));
        }

        if (droppedButtons > 0)
        {
            tail.Add(Context($"_…and {SlackText.Count(droppedButtons)} more button{(droppedButtons == 1 ? string.Empty : "s")} not shown here; the bot's web page has them all._"));
        }

        if (card.Image is { } image)
        {
            tail.Add(Context($"🖼️ *{SlackText.Escape(image.Title)}*: {SlackText.Escape(image.AltText)} — _the chart is on the bot's web page; it is not uploaded to Slack._"));
        }

        if (!string.IsNullOrWhiteSpace(card.Footer))
        {
            tail.Add(Context(SlackText.Mrkdwn(card.Footer)));
        }

        var room = BlockKitLimits.BlocksPerMessage - 1 - facts.Count - actions.Count - tail.Count;
        var sections = card.Sections.Select(Section).ToList();
        if (sections.Count > room)
        {
            var hidden = sections.Count - (room - 1);
            sections = sections.Take(room - 1).ToList();
            sections.Add(Section($"_…and {SlackText.Count(hidden)} more section{(hidden == 1 ? string.Empty : "s")} not shown (Slack allows {BlockKitLimits.BlocksPerMessage} blocks per message); the bot's web page has the whole card._"));
        }

        var blocks = new JsonArray { header };
        foreach (var block in facts.Concat(sections).Concat(actions).Concat(tail))
        {
            blocks.Add(block);
        }

        return new SlackMessageContent(FallbackText(SimulationBanner.Fallback(card, string.IsNullOrWhiteSpace(card.FallbackText) ? card.Title : card.FallbackText), card.Title), blocks);
    }

    /// <summary>Top-level text: what notifications and screen readers show. Never empty.</summary>
    public static string FallbackText(string? text, string? title)
    {
        var value = !string.IsNullOrWhiteSpace(text) ? text : !string.IsNullOrWhiteSpace(title) ? title : "ChatOpsPull";
        return SlackText.Cut(SlackText.Escape(value), BlockKitLimits.FallbackText);
    }

    private static JsonObject Header(Card card)
    {
        var mark = card.Tone switch
        {
            CardTone.Bad => "🔴 ",
            CardTone.Warning => "🟠 ",
            CardTone.Good => "🟢 ",
            CardTone.Neutral => string.Empty,
            _ => string.Empty,
        };
        var title = string.IsNullOrWhiteSpace(card.Title) ? "(untitled)" : card.Title.Trim();
        return new JsonObject
        {
            ["type"] = "header",
            ["text"] = PlainText(SlackText.Cut(mark + title, BlockKitLimits.HeaderText)),
        };
    }

    private static List<JsonObject> FactSections(IReadOnlyList<CardFact> facts)
    {
        var fields = new List<string>();
        var shown = facts.Count > MaxFacts ? MaxFacts - 1 : facts.Count;
        foreach (var fact in facts.Take(shown))
        {
            var label = SlackText.Cut(SlackText.Escape(fact.Label.Trim()), 200);
            var value = string.IsNullOrWhiteSpace(fact.Value) ? "—" : SlackText.Mrkdwn(fact.Value);
            fields.Add(SlackText.Cut($"*{label}*\n{value}", BlockKitLimits.FieldText));
        }

        if (shown < facts.Count)
        {
            fields.Add($"_…and {SlackText.Count(facts.Count - shown)} more facts not shown._");
        }

        return fields.Chunk(BlockKitLimits.FieldsPerSection)
            .Select(chunk => new JsonObject
            {
                ["type"] = "section",
                ["fields"] = new JsonArray(chunk.Select(f => (JsonNode)Mrkdwn(f)).ToArray()),
            })
            .ToList();
    }

    private static JsonObject Section(CardSection section)
    {
        var heading = string.IsNullOrWhiteSpace(section.Heading) ? string.Empty : $"*{SlackText.Cut(SlackText.Escape(section.Heading.Trim()), 200)}*\n";
        var text = section.Style switch
        {
            SectionStyle.Text => heading + FitText(section.Text, BlockKitLimits.SectionText - heading.Length, code: false),
            SectionStyle.Code => heading + FitText(section.Text, BlockKitLimits.SectionText - heading.Length, code: true),
            SectionStyle.List => heading + FitLines(section.Lines, section.HiddenCount, BlockKitLimits.SectionText - heading.Length),
            _ => heading + FitText(section.Text, BlockKitLimits.SectionText - heading.Length, code: false),
        };
        return Section(text);
    }

    private static JsonObject Section(string mrkdwn) => new()
    {
        ["type"] = "section",
        ["text"] = Mrkdwn(string.IsNullOrWhiteSpace(mrkdwn) ? "_(empty)_" : mrkdwn),
    };

    /// <summary>Markdown or code text within <paramref name="room"/> characters; a cut says where it happened.</summary>
    private static string FitText(string text, int room, bool code)
    {
        string Render(string part) => code ? "```\n" + SlackText.Escape(part) + "\n```" : SlackText.Mrkdwn(part);

        var whole = Render(text);
        if (whole.Length <= room)
        {
            return whole;
        }

        var keep = room;
        while (true)
        {
            var prefix = SlackText.Prefix(text, keep);
            var note = $"\n_…message cut at {SlackText.Count(prefix.Length)} of {SlackText.Count(text.Length)} characters._";
            var rendered = Render(prefix) + note;
            if (rendered.Length <= room || keep == 0)
            {
                return SlackText.Prefix(rendered, room);
            }

            // Escaping makes rendered text longer than its source: shrink in proportion, and always by at least one.
            var body = Math.Max(rendered.Length - note.Length, 1);
            var proportional = (int)((long)prefix.Length * Math.Max(room - note.Length, 0) / body);
            keep = Math.Max(0, Math.Min(prefix.Length - 1, proportional));
        }
    }

    private static string FitLines(IReadOnlyList<CardLine> lines, int hiddenByBuilder, int room)
    {
        const int noteRoom = 48;
        var builder = new StringBuilder();
        var shown = 0;
        foreach (var line in lines)
        {
            var rendered = $"{Mark(line.Mark)} {SlackText.Mrkdwn(line.Text)}";
            var separator = builder.Length == 0 ? 0 : 1;
            var left = room - noteRoom - builder.Length - separator;
            if (rendered.Length > left)
            {
                if (shown == 0)
                {
                    builder.Append(SlackText.Cut(rendered, Math.Max(left, 1)));
                    shown++;
                }

                break;
            }

            if (separator == 1)
            {
                builder.Append('\n');
            }

            builder.Append(rendered);
            shown++;
        }

        var hidden = hiddenByBuilder + (lines.Count - shown);
        if (hidden > 0)
        {
            builder.Append(builder.Length == 0 ? string.Empty : "\n").Append("_…and ").Append(SlackText.Count(hidden)).Append(" more_");
        }

        return builder.ToString();
    }

    private static string Mark(LineMark mark) => mark switch
    {
        LineMark.Passed => "✅",
        LineMark.Failed => "❌",
        LineMark.Info => "ℹ️",
        LineMark.Skipped => "⏭",
        LineMark.None => "•",
        _ => "•",
    };

    private static (List<JsonObject> Blocks, int Dropped) ActionBlocks(IReadOnlyList<CardAction> actions)
    {
        var buttons = new List<JsonObject>();
        var dropped = 0;
        for (var i = 0; i < actions.Count; i++)
        {
            var button = Button(actions[i], i);
            if (button is null || buttons.Count == MaxActionBlocks * BlockKitLimits.ElementsPerActions)
            {
                dropped++;
                continue;
            }

            buttons.Add(button);
        }

        var blocks = buttons.Chunk(BlockKitLimits.ElementsPerActions)
            .Select((chunk, index) => new JsonObject
            {
                ["type"] = "actions",
                ["block_id"] = $"actions-{index}",
                ["elements"] = new JsonArray(chunk.Select(b => (JsonNode)b).ToArray()),
            })
            .ToList();
        return (blocks, dropped);
    }

    private static JsonObject? Button(CardAction action, int index)
    {
        var value = action.Payload.ToString();
        if (value.Length > BlockKitLimits.ButtonValue)
        {
            return null;
        }

        var label = string.IsNullOrWhiteSpace(action.Label) ? "(no label)" : action.Label.Trim();
        var button = new JsonObject
        {
            ["type"] = "button",
            ["text"] = PlainText(SlackText.Cut(label, BlockKitLimits.ButtonText)),
            ["action_id"] = SlackText.Cut($"{CardActionPayload.VerbName(action.Payload.Verb)}-{index}", BlockKitLimits.ActionId),
            ["value"] = value,
        };
        switch (action.Style)
        {
            case ActionStyle.Primary:
                button["style"] = "primary";
                break;
            case ActionStyle.Danger:
                button["style"] = "danger";
                break;
            case ActionStyle.Default:
                break;
        }

        if (action.Confirm is { } confirm)
        {
            button["confirm"] = new JsonObject
            {
                ["title"] = PlainText(SlackText.Cut(NonEmpty(confirm.Title, "Are you sure?"), BlockKitLimits.ConfirmTitle)),
                ["text"] = PlainText(SlackText.Cut(NonEmpty(confirm.Text, "Please confirm."), BlockKitLimits.ConfirmText)),
                ["confirm"] = PlainText(SlackText.Cut(NonEmpty(confirm.ConfirmLabel, "Run it"), BlockKitLimits.ConfirmButton)),
                ["deny"] = PlainText(SlackText.Cut(NonEmpty(confirm.DenyLabel, "Cancel"), BlockKitLimits.ConfirmButton)),
                ["style"] = action.Style == ActionStyle.Danger ? "danger" : "primary",
            };
        }

        return button;
    }

    private static JsonObject Context(string mrkdwn) => new()
    {
        ["type"] = "context",
        ["elements"] = new JsonArray(Mrkdwn(SlackText.Cut(mrkdwn, BlockKitLimits.ContextText))),
    };

    private static JsonObject PlainText(string text) => new() { ["type"] = "plain_text", ["text"] = text, ["emoji"] = true };

    private static JsonObject Mrkdwn(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    private static string NonEmpty(string? value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
}
