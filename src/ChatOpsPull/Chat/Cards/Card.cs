namespace ChatOpsPull.Chat.Cards;

/// <summary>How a card or a line should look: renderers map it to colours/emoji.</summary>
public enum CardTone
{
    Neutral,
    Good,
    Warning,
    Bad,
}

/// <summary>A mark in front of a list line (evidence results).</summary>
public enum LineMark
{
    None,
    Passed,
    Failed,
    Info,
    Skipped,
}

public enum SectionStyle
{
    /// <summary>Markdown-ish text: *bold*, `code` — renderers translate to mrkdwn / Adaptive Card markdown.</summary>
    Text,

    /// <summary>Preformatted, shown in a code block (raw runtime messages).</summary>
    Code,

    /// <summary>A list of lines, each with a mark.</summary>
    List,
}

public enum ActionStyle
{
    Default,
    Primary,
    Danger,
}

/// <summary>A label/value pair (Cluster, Namespace, Workload, Image, Cause, Pods…).</summary>
public sealed record CardFact(string Label, string Value);

public sealed record CardLine(string Text, LineMark Mark = LineMark.None);

/// <summary>
/// A block of content. <see cref="HiddenCount"/> says how many further items were left out by the card builder,
/// so renderers can say "…and 37 more" honestly; renderers that must cut more add to it.
/// </summary>
public sealed record CardSection(string? Heading, SectionStyle Style, string Text, IReadOnlyList<CardLine> Lines, int HiddenCount = 0)
{
    public static CardSection Markdown(string? heading, string text) => new(heading, SectionStyle.Text, text, []);

    public static CardSection Code(string? heading, string text) => new(heading, SectionStyle.Code, text, []);

    public static CardSection List(string? heading, IReadOnlyList<CardLine> lines, int hiddenCount = 0) =>
        new(heading, SectionStyle.List, string.Empty, lines, hiddenCount);
}

/// <summary>A confirmation the platform shows before a risky click goes through.</summary>
public sealed record CardConfirm(string Title, string Text, string ConfirmLabel = "Run it", string DenyLabel = "Cancel");

/// <summary>
/// A button. <see cref="Payload"/> carries only ids (see <see cref="CardActionPayload"/>); the server decides what a click may do.
/// </summary>
public sealed record CardAction(string Label, CardActionPayload Payload, ActionStyle Style = ActionStyle.Default, CardConfirm? Confirm = null);

/// <summary>An image shown with the card (digest charts). The file lives under the data directory.</summary>
public sealed record CardImage(string Title, string FilePath, string AltText)
{
    /// <summary>
    /// Where a client can load the image, for platforms that show images by URL (Teams Adaptive Cards): an https URL or
    /// a <c>data:image/png;base64,…</c> URI. Null: the platform attaches the file itself (Slack upload) or does not show it.
    /// </summary>
    public string? Url { get; init; }
}

/// <summary>
/// The channel-neutral card: Slack renders it as Block Kit, Teams as an Adaptive Card 1.5, the web page as HTML.
/// </summary>
/// <param name="Key">Identity of the card ("incident:inc-4f2a9c", "digest:ops:2026-11-25"): one posted message per key per channel, updated in place.</param>
/// <param name="FallbackText">Plain text for notifications and clients that cannot render the card.</param>
public sealed record Card(
    string Key,
    string Title,
    CardTone Tone,
    string FallbackText,
    IReadOnlyList<CardFact> Facts,
    IReadOnlyList<CardSection> Sections,
    IReadOnlyList<CardAction> Actions)
{
    /// <summary>Small print at the bottom: "Updated 12:04 UTC · checked from the bot's network".</summary>
    public string? Footer { get; init; }

    public CardImage? Image { get; init; }
}
