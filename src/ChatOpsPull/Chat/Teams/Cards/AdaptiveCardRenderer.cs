using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Chat.Teams.Cards;

/// <summary>Who a rendering is for.</summary>
/// <param name="ShowApproverActions">Include Approve/Deny buttons (approvers' view). Other buttons are for everyone: asking is not approving.</param>
/// <param name="RefreshUserIds">
/// When not null, the card carries a <c>refresh</c> (Action.Execute, verb "refresh") with these Teams user ids (MRIs,
/// at most 60): Teams asks the bot for their own view when they look at the card. An empty list means "refresh on
/// demand" (the card's … menu).
/// </param>
public sealed record CardView(bool ShowApproverActions, IReadOnlyList<string>? RefreshUserIds)
{
    public static CardView Everyone { get; } = new(true, null);
}

/// <summary>
/// Renders the channel-neutral <see cref="Card"/> as an Adaptive Card 1.5 for Teams: the title in a styled container,
/// a FactSet, sections (markdown text, monospace code, marked lists), the buttons as Action.Execute (verb = the card
/// verb, data = {"payload": …, "cardKey": …}) and a full-width layout. Adaptive Cards have no confirm dialog, so a
/// risky button (one with a <see cref="CardConfirm"/>) is an Action.ShowCard that opens the confirmation text with the
/// real Action.Execute inside it: two deliberate clicks, no server round trip, nothing runs on the first.
/// The serialized card is kept under <see cref="MaxCardUtf16Bytes"/>; what had to be cut is said on the card.
/// </summary>
public static class AdaptiveCardRenderer
{
    public const string ContentType = "application/vnd.microsoft.card.adaptive";

    public const string SchemaVersion = "1.5";

    public const string RefreshVerb = "refresh";

    /// <summary>
    /// Teams refuses a message over about 28 KB with 413 MessageSizeTooBig, counting the payload as UTF-16.
    /// The card gets 27 KB of that; the activity around it needs well under 1 KB.
    /// </summary>
    public const int MaxCardUtf16Bytes = 27 * 1024;

    /// <summary>Teams shows at most 6 actions in a set; cards from the builder have fewer.</summary>
    public const int MaxActions = 6;

    /// <summary>Teams refreshes automatically for at most 60 listed users.</summary>
    public const int MaxRefreshUsers = 60;

    private const int MaxLineChars = 1000;

    /// <summary>No list shows more than this many lines (a card is read, not scrolled); the rest is counted.</summary>
    private const int MaxLinesPerSection = 100;

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public static bool IsApproverOnly(CardVerb verb) => verb is CardVerb.Approve or CardVerb.Deny;

    /// <summary>Renders and, if needed, shortens the card until it fits the Teams size limit.</summary>
    public static JsonObject Render(Card card, CardView view)
    {
        var current = Clip(card);
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var json = Build(current, view);
            if (Utf16Bytes(json) <= MaxCardUtf16Bytes)
            {
                return json;
            }

            var smaller = Shrink(current);
            if (smaller is null)
            {
                break;
            }

            current = smaller;
        }

        // Even the shortest form is too big (e.g. enormous button payloads): say so rather than send nothing.
        var minimal = card with
        {
            Facts = card.Facts.Take(8).Select(f => f with { Value = Cut(f.Value, 120) }).ToList(),
            Sections = [CardSection.Markdown(null, "This card was too large for Teams; open it on the bot's web page.")],
            Actions = [],
            Footer = null,
        };
        return Build(minimal, view);
    }

    public static string Serialize(JsonObject card) => card.ToJsonString(Compact);

    public static int Utf16Bytes(JsonNode node) => node.ToJsonString(Compact).Length * 2;

    private static JsonObject Build(Card card, CardView view)
    {
        var body = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "Container",
                ["style"] = ToneStyle(card.Tone),
                ["bleed"] = true,
                ["items"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["type"] = "TextBlock",
                        ["text"] = ToneMark(card.Tone) + " " + TeamsText.Inert(card.Title),
                        ["size"] = "Large",
                        ["weight"] = "Bolder",
                        ["wrap"] = true,
                        ["style"] = "heading",
                    },
                },
            },
        };

        if (SimulationBanner.Applies(card))
        {
            body.Add(new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = "🧪 " + TeamsText.Inert(SimulationBanner.Text),
                ["weight"] = "Bolder",
                ["color"] = "Attention",
                ["wrap"] = true,
            });
        }

        if (card.Facts.Count > 0)
        {
            var facts = new JsonArray();
            foreach (var fact in card.Facts)
            {
                facts.Add(new JsonObject { ["title"] = TeamsText.Inert(fact.Label), ["value"] = TeamsText.Inert(fact.Value) });
            }

            body.Add(new JsonObject { ["type"] = "FactSet", ["facts"] = facts, ["spacing"] = "Medium" });
        }

        foreach (var section in card.Sections)
        {
            body.Add(RenderSection(section));
        }

        if (card.Image is { Url: { Length: > 0 } imageUrl } image)
        {
            body.Add(new JsonObject
            {
                ["type"] = "Image",
                ["url"] = imageUrl,
                ["altText"] = image.AltText,
                ["size"] = "Stretch",
                ["spacing"] = "Medium",
                ["separator"] = true,
            });
        }

        var visible = card.Actions.Where(a => view.ShowApproverActions || !IsApproverOnly(a.Payload.Verb)).ToList();
        var hiddenForViewer = card.Actions.Count - visible.Count;
        if (hiddenForViewer > 0)
        {
            body.Add(new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = "Approve and Deny are shown to approvers only.",
                ["isSubtle"] = true,
                ["size"] = "Small",
                ["wrap"] = true,
            });
        }

        if (visible.Count > 0)
        {
            var actions = new JsonArray();
            foreach (var action in visible.Take(MaxActions))
            {
                actions.Add(RenderAction(card.Key, action));
            }

            body.Add(new JsonObject { ["type"] = "ActionSet", ["actions"] = actions, ["spacing"] = "Medium" });
        }

        if (!string.IsNullOrEmpty(card.Footer))
        {
            body.Add(new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = TeamsText.Inert(card.Footer),
                ["size"] = "Small",
                ["isSubtle"] = true,
                ["wrap"] = true,
                ["spacing"] = "Medium",
            });
        }

        var result = new JsonObject
        {
            ["type"] = "AdaptiveCard",
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["version"] = SchemaVersion,
            ["fallbackText"] = SimulationBanner.Fallback(card, card.FallbackText),
            ["speak"] = card.Title,
            ["msteams"] = new JsonObject { ["width"] = "Full" },
            ["body"] = body,
        };

        if (view.RefreshUserIds is not null)
        {
            var users = new JsonArray();
            foreach (var id in view.RefreshUserIds.Distinct(StringComparer.Ordinal).Take(MaxRefreshUsers))
            {
                users.Add(id);
            }

            result["refresh"] = new JsonObject
            {
                ["action"] = new JsonObject
                {
                    ["type"] = "Action.Execute",
                    ["title"] = "Refresh",
                    ["verb"] = RefreshVerb,
                    ["data"] = new JsonObject { ["cardKey"] = card.Key },
                },
                ["userIds"] = users,
            };
        }

        return result;
    }

    private static JsonObject RenderSection(CardSection section)
    {
        var items = new JsonArray();
        if (!string.IsNullOrEmpty(section.Heading))
        {
            items.Add(new JsonObject { ["type"] = "TextBlock", ["text"] = TeamsText.Inert(section.Heading), ["weight"] = "Bolder", ["wrap"] = true });
        }

        switch (section.Style)
        {
            case SectionStyle.Text:
                items.Add(TeamsText.RichText(section.Text));
                break;
            case SectionStyle.Code:
                // A TextRun is never read as markdown, so a runtime message shows exactly as the runtime wrote it.
                items.Add(new JsonObject
                {
                    ["type"] = "Container",
                    ["style"] = "emphasis",
                    ["items"] = new JsonArray { TeamsText.Monospace(section.Text) },
                });
                break;
            case SectionStyle.List:
                foreach (var line in section.Lines)
                {
                    var rich = TeamsText.RichText(line.Text, LineMarkText(line.Mark), line.Mark == LineMark.Failed ? "Attention" : null);
                    rich["spacing"] = "Small";
                    items.Add(rich);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(section), section.Style, "unknown section style");
        }

        if (section.HiddenCount > 0)
        {
            items.Add(new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = string.Create(CultureInfo.InvariantCulture, $"…and {section.HiddenCount} more {HiddenNoun(section)}"),
                ["isSubtle"] = true,
                ["wrap"] = true,
                ["spacing"] = "Small",
            });
        }

        return new JsonObject { ["type"] = "Container", ["items"] = items, ["spacing"] = "Medium", ["separator"] = true };
    }

    private static JsonObject RenderAction(string cardKey, CardAction action)
    {
        var execute = new JsonObject
        {
            ["type"] = "Action.Execute",
            ["title"] = action.Confirm?.ConfirmLabel ?? action.Label,
            ["verb"] = CardActionPayload.VerbName(action.Payload.Verb),
            ["data"] = new JsonObject { ["payload"] = action.Payload.ToString(), ["cardKey"] = cardKey },
            ["style"] = ActionStyleName(action.Style),
        };
        if (action.Confirm is null)
        {
            return execute;
        }

        return new JsonObject
        {
            ["type"] = "Action.ShowCard",
            ["title"] = action.Label,
            ["style"] = ActionStyleName(action.Style),
            ["card"] = new JsonObject
            {
                ["type"] = "AdaptiveCard",
                ["body"] = new JsonArray
                {
                    new JsonObject { ["type"] = "TextBlock", ["text"] = TeamsText.Inert(action.Confirm.Title), ["weight"] = "Bolder", ["wrap"] = true },
                    TeamsText.RichText(action.Confirm.Text),
                    new JsonObject
                    {
                        ["type"] = "TextBlock",
                        ["text"] = TeamsText.Inert($"Click \"{action.Label}\" again to close this without doing anything ({action.Confirm.DenyLabel})."),
                        ["isSubtle"] = true,
                        ["size"] = "Small",
                        ["wrap"] = true,
                    },
                },
                ["actions"] = new JsonArray { execute },
            },
        };
    }

    /// <summary>Cuts very long lines and lists before sizing starts (a 100 KB runtime message or 5,000 pods help nobody).</summary>
    private static Card Clip(Card card) => card with
    {
        Title = Cut(card.Title, 300),
        Facts = card.Facts.Select(f => f with { Value = Cut(f.Value, MaxLineChars) }).ToList(),
        Sections = card.Sections.Select(s => s with
        {
            Text = s.Style == SectionStyle.Code ? CutCode(s.Text, 6000) : Cut(s.Text, 6000),
            Lines = s.Lines.Take(MaxLinesPerSection).Select(l => l with { Text = Cut(l.Text, MaxLineChars) }).ToList(),
            HiddenCount = s.HiddenCount + Math.Max(0, s.Lines.Count - MaxLinesPerSection),
        }).ToList(),
    };

    /// <summary>One step smaller: halve the biggest section (list lines become "…and N more"), or return null.</summary>
    private static Card? Shrink(Card card)
    {
        var sizes = card.Sections.Select(Weight).ToList();
        var biggest = sizes.Count == 0 ? -1 : sizes.IndexOf(sizes.Max());
        if (biggest >= 0 && sizes[biggest] > 200)
        {
            var section = card.Sections[biggest];
            CardSection smaller;
            if (section.Style == SectionStyle.List && section.Lines.Count > 1)
            {
                var keep = section.Lines.Count / 2;
                smaller = section with { Lines = section.Lines.Take(keep).ToList(), HiddenCount = section.HiddenCount + section.Lines.Count - keep };
            }
            else if (section.Style == SectionStyle.List)
            {
                smaller = section with { Lines = section.Lines.Select(l => l with { Text = Cut(l.Text, l.Text.Length / 2) }).ToList() };
            }
            else
            {
                var half = Math.Max(100, section.Text.Length / 2);
                smaller = section with { Text = section.Style == SectionStyle.Code ? CutCode(section.Text, half) : Cut(section.Text, half) };
            }

            var sections = card.Sections.ToList();
            sections[biggest] = smaller;
            return card with { Sections = sections };
        }

        if (card.Facts.Any(f => f.Value.Length > 120))
        {
            return card with { Facts = card.Facts.Select(f => f with { Value = Cut(f.Value, 120) }).ToList() };
        }

        if (card.Footer is not null)
        {
            return card with { Footer = null };
        }

        if (card.Image is not null)
        {
            return card with { Image = null };
        }

        return null;
    }

    private static int Weight(CardSection section) =>
        section.Text.Length + section.Lines.Sum(l => l.Text.Length + 60);

    private static string Cut(string text, int max) =>
        text.Length <= max ? text : text[..Math.Max(0, max - 1)].TrimEnd() + "…";

    private static string CutCode(string text, int max) =>
        text.Length <= max
            ? text
            : text[..max].TrimEnd() + string.Create(CultureInfo.InvariantCulture, $"\n… ({text.Length - max} more characters not shown)");

    private static string HiddenNoun(CardSection section) =>
        section.Heading is { Length: > 0 } heading && !heading.Contains(' ', StringComparison.Ordinal)
            ? heading.ToLowerInvariant()
            : "lines";

    private static string ToneStyle(CardTone tone) => tone switch
    {
        CardTone.Neutral => "emphasis",
        CardTone.Good => "good",
        CardTone.Warning => "warning",
        CardTone.Bad => "attention",
        _ => throw new ArgumentOutOfRangeException(nameof(tone), tone, "unknown card tone"),
    };

    private static string ToneMark(CardTone tone) => tone switch
    {
        CardTone.Neutral => "ℹ️",
        CardTone.Good => "✅",
        CardTone.Warning => "⚠️",
        CardTone.Bad => "🔴",
        _ => throw new ArgumentOutOfRangeException(nameof(tone), tone, "unknown card tone"),
    };

    private static string LineMarkText(LineMark mark) => mark switch
    {
        LineMark.None => string.Empty,
        LineMark.Passed => "✅ ",
        LineMark.Failed => "❌ ",
        LineMark.Info => "ℹ️ ",
        LineMark.Skipped => "⏭️ ",
        _ => throw new ArgumentOutOfRangeException(nameof(mark), mark, "unknown line mark"),
    };

    private static string ActionStyleName(ActionStyle style) => style switch
    {
        ActionStyle.Default => "default",
        ActionStyle.Primary => "positive",
        ActionStyle.Danger => "destructive",
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, "unknown action style"),
    };


}
