using System.Text;
using System.Text.Encodings.Web;
using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Web;

/// <summary>
/// Renders a channel-neutral card as HTML for the bot's own page. Buttons are forms that POST the payload
/// (with an antiforgery token) so approvals go through the same server-side policy as Slack and Teams.
/// </summary>
public static class CardHtmlRenderer
{
    public static string Render(Card card, string actionUrl, string antiforgeryField, string antiforgeryToken) =>
        string.Join(Attr(antiforgeryToken), RenderParts(card, actionUrl, antiforgeryField));

    /// <summary>
    /// The card's HTML cut where each button form's antiforgery token goes: join the parts with the viewer's encoded
    /// token. Lets the page render a card once and serve it to every viewer (<see cref="WebCardsCache"/>).
    /// </summary>
    public static string[] RenderParts(Card card, string actionUrl, string antiforgeryField)
    {
        var parts = new List<string>();
        var html = new StringBuilder(4096);
        var tone = card.Tone.ToString().ToLowerInvariant();
        html.Append("<article class=\"card ").Append(tone).Append("\" data-card-key=\"").Append(Attr(card.Key)).Append("\">");
        html.Append("<h2>").Append(CardIcons.For(card.Tone)).Append(Text(card.Title)).Append("</h2>");
        if (SimulationBanner.Applies(card))
        {
            html.Append("<p class=\"simulated\" role=\"note\">").Append(Text(SimulationBanner.Text)).Append("</p>");
        }

        html.Append("<dl class=\"facts\">");
        foreach (var fact in card.Facts)
        {
            html.Append("<dt>").Append(Text(fact.Label)).Append("</dt><dd>").Append(Text(fact.Value)).Append("</dd>");
        }

        html.Append("</dl>");
        foreach (var section in card.Sections)
        {
            html.Append("<section>");
            if (section.Heading is not null)
            {
                html.Append("<h3>").Append(Text(section.Heading)).Append("</h3>");
            }

            switch (section.Style)
            {
                case SectionStyle.Text:
                    html.Append("<p>").Append(Markdown(section.Text)).Append("</p>");
                    break;
                case SectionStyle.Code:
                    html.Append("<pre><code>").Append(Text(section.Text)).Append("</code></pre>");
                    break;
                case SectionStyle.List:
                    html.Append("<ul>");
                    foreach (var line in section.Lines)
                    {
                        html.Append("<li class=\"").Append(line.Mark.ToString().ToLowerInvariant()).Append("\">")
                            .Append(CardIcons.For(line.Mark)).Append(Markdown(line.Text)).Append("</li>");
                    }

                    if (section.HiddenCount > 0)
                    {
                        html.Append("<li class=\"more\">…and ").Append(section.HiddenCount).Append(" more</li>");
                    }

                    html.Append("</ul>");
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(card), section.Style, "unknown section style");
            }

            html.Append("</section>");
        }

        if (card.Actions.Count > 0)
        {
            html.Append("<div class=\"actions\">");
            foreach (var action in card.Actions)
            {
                html.Append("<form method=\"post\" action=\"").Append(Attr(actionUrl)).Append('"');
                if (action.Confirm is { } confirm)
                {
                    html.Append(" data-confirm=\"").Append(Attr(confirm.Title + "\n\n" + confirm.Text)).Append('"');
                }

                html.Append('>')
                    .Append("<input type=\"hidden\" name=\"").Append(Attr(antiforgeryField)).Append("\" value=\"");
                parts.Add(html.ToString());
                html.Clear()
                    .Append("\">")
                    .Append("<input type=\"hidden\" name=\"payload\" value=\"").Append(Attr(action.Payload.ToString())).Append("\">")
                    .Append("<input type=\"hidden\" name=\"card\" value=\"").Append(Attr(card.Key)).Append("\">")
                    .Append("<button type=\"submit\" class=\"").Append(action.Style.ToString().ToLowerInvariant()).Append("\">")
                    .Append(Text(action.Label)).Append("</button></form>");
            }

            html.Append("</div>");
        }

        if (card.Footer is not null)
        {
            html.Append("<footer>").Append(Text(card.Footer)).Append("</footer>");
        }

        html.Append("</article>");
        parts.Add(html.ToString());
        return [.. parts];
    }

    private static string Text(string text) => HtmlEncoder.Default.Encode(text);

    private static string Attr(string text) => HtmlEncoder.Default.Encode(text);

    /// <summary>The card's light markup: *bold* and `code`; everything else escaped.</summary>
    private static string Markdown(string text)
    {
        var html = new StringBuilder(text.Length + 32);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is '`' or '*')
            {
                var end = text.IndexOf(c, i + 1);
                var newline = text.IndexOf('\n', i + 1);
                if (end > i + 1 && (newline < 0 || end < newline))
                {
                    var tag = c == '`' ? "code" : "strong";
                    html.Append('<').Append(tag).Append('>').Append(Text(text[(i + 1)..end])).Append("</").Append(tag).Append('>');
                    i = end + 1;
                    continue;
                }
            }

            if (c == '\n')
            {
                html.Append("<br>");
                i++;
                continue;
            }

            var next = text.IndexOfAny(['`', '*', '\n'], i + 1);
            var stop = next < 0 ? text.Length : next;
            html.Append(Text(text[i..stop]));
            i = stop;
        }

        return html.ToString();
    }
}
