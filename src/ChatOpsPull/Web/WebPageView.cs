using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Web;

/// <summary>Everything one view of the page shows.</summary>
/// <param name="UserName">The signed-in name, or null for anonymous loopback access (no users configured).</param>
public sealed record WebPageModel(
    string Cluster,
    string? UserName,
    string? Flash,
    WebCardsHtml Cards,
    IReadOnlyList<OutboxFailure> FailedSends,
    AuditPage Audit,
    long? AuditBefore,
    TimeSpan RefreshInterval,
    string AntiforgeryField,
    string AntiforgeryToken,
    DateTimeOffset Now);

/// <summary>The page's HTML: plain, accessible markup; the cards come from <see cref="CardHtmlRenderer"/>.</summary>
public static class WebPageView
{
    public const string ActionPath = "/web/actions";
    public const string CardsPath = "/web/cards";
    public const string StylePath = "/web/page.css";
    public const string ScriptPath = "/web/page.js";

    public static string Page(WebPageModel model, string dashboardPath)
    {
        var html = new StringBuilder(16_384);
        html.Append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>ChatOpsPull · ").Append(Text(model.Cluster)).Append("</title>")
            .Append("<link rel=\"stylesheet\" href=\"").Append(StylePath).Append("\">")
            .Append("<script src=\"").Append(ScriptPath).Append("\" defer></script>")
            .Append("</head><body>");

        if (SimulationBanner.IsSimulated(model.Cluster))
        {
            html.Append("<p class=\"simulated page\" role=\"note\" id=\"simulated\">").Append(Text(SimulationBanner.Text)).Append("</p>");
        }

        html.Append("<header><h1>ChatOpsPull <span class=\"cluster\">").Append(Text(model.Cluster)).Append("</span></h1><nav aria-label=\"Bot\">");
        html.Append("<a href=\"").Append(Text(dashboardPath)).Append("\">Jobs dashboard</a>");
        if (model.UserName is { } user)
        {
            html.Append("<span class=\"who\">Signed in as <strong>").Append(Text(user)).Append("</strong></span>")
                .Append("<form method=\"post\" action=\"").Append(LoginEndpoints.LogoutPath).Append("\" class=\"inline\">")
                .Append(Hidden(model.AntiforgeryField, model.AntiforgeryToken))
                .Append("<button type=\"submit\">Sign out</button></form>");
        }
        else
        {
            html.Append("<span class=\"who\">Local access (no users configured; only this machine may open the page)</span>");
        }

        html.Append("</nav></header><main>");
        if (model.Flash is { Length: > 0 } flash)
        {
            html.Append("<p class=\"flash\" role=\"status\" id=\"flash\">").Append(Text(flash)).Append("</p>");
        }

        html.Append("<section aria-labelledby=\"incidents-heading\"><h2 id=\"incidents-heading\">Open incidents</h2>")
            .Append("<p class=\"refresh\" aria-live=\"polite\" id=\"refresh-status\">Updated ").Append(Clock(model.Now)).Append("</p>")
            .Append("<div id=\"cards\" data-refresh-url=\"").Append(CardsPath).Append("\" data-refresh-seconds=\"")
            .Append(((int)Math.Max(1, model.RefreshInterval.TotalSeconds)).ToString(CultureInfo.InvariantCulture)).Append("\">")
            .Append(model.Cards.ToString(model.AntiforgeryToken))
            .Append("</div></section>");

        html.Append("<section aria-labelledby=\"failures-heading\"><h2 id=\"failures-heading\">Failed chat sends</h2>");
        if (model.FailedSends.Count == 0)
        {
            html.Append("<p>None: every Slack and Teams message was delivered or is still on its way.</p>");
        }
        else
        {
            html.Append("<table><thead><tr><th scope=\"col\">Failed at</th><th scope=\"col\">Platform</th><th scope=\"col\">Channel</th><th scope=\"col\">Operation</th><th scope=\"col\">Attempts</th><th scope=\"col\">Error</th></tr></thead><tbody>");
            foreach (var failure in model.FailedSends)
            {
                html.Append("<tr><td>").Append(Clock(failure.FailedAt)).Append("</td><td>").Append(Text(failure.Platform.ToString()))
                    .Append("</td><td>").Append(Text(failure.Channel)).Append("</td><td>").Append(Text(failure.Operation))
                    .Append("</td><td>").Append(failure.Attempts.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td>").Append(Text(failure.LastError ?? "(no error recorded)")).Append("</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("</section>");

        html.Append("<section aria-labelledby=\"audit-heading\"><h2 id=\"audit-heading\">Audit log</h2>");
        if (model.Audit.Entries.Count == 0)
        {
            html.Append("<p>").Append(model.AuditBefore is null ? "Nothing recorded yet." : "No older lines.").Append("</p>");
        }
        else
        {
            html.Append("<table class=\"audit\"><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">Action</th><th scope=\"col\">About</th><th scope=\"col\">Outcome</th><th scope=\"col\">Detail</th></tr></thead><tbody>");
            foreach (var entry in model.Audit.Entries)
            {
                var outcome = entry.Outcome switch
                {
                    AuditOutcome.Done => "done",
                    AuditOutcome.Refused => "refused",
                    AuditOutcome.Failed => "failed",
                    _ => throw new ArgumentOutOfRangeException(nameof(model), entry.Outcome, "unknown audit outcome"),
                };
                html.Append("<tr class=\"").Append(outcome).Append("\"><td>").Append(Clock(entry.At)).Append("</td><td>")
                    .Append(Text(entry.Actor.Name)).Append(" <span class=\"platform\">(").Append(Text(entry.Actor.Platform)).Append(")</span></td><td>")
                    .Append(Text(entry.Action)).Append("</td><td>").Append(Text(entry.IncidentId ?? entry.ApprovalId ?? string.Empty))
                    .Append("</td><td>").Append(outcome).Append("</td><td>").Append(Text(entry.Detail ?? string.Empty)).Append("</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("<nav class=\"pager\" aria-label=\"Audit log pages\">");
        if (model.AuditBefore is not null)
        {
            html.Append("<a href=\"/#audit-heading\">Newest</a>");
        }

        if (model.Audit.OlderThan is { } older)
        {
            html.Append("<a href=\"/?auditBefore=").Append(older.ToString(CultureInfo.InvariantCulture)).Append("#audit-heading\">Older</a>");
        }

        html.Append("</nav></section></main></body></html>");
        return html.ToString();
    }

    /// <summary>The cards alone: the fragment the page fetches to refresh itself.</summary>
    public static string Cards(IReadOnlyList<Card> cards, string antiforgeryField, string antiforgeryToken)
    {
        if (cards.Count == 0)
        {
            return WebCardsHtml.Empty;
        }

        var html = new StringBuilder(cards.Count * 4096);
        foreach (var card in cards)
        {
            html.Append(CardHtmlRenderer.Render(card, ActionPath, antiforgeryField, antiforgeryToken));
        }

        return html.ToString();
    }

    /// <summary>A small page for a refused post (forged token, unknown button): the message and the way back.</summary>
    public static string Problem(string message) =>
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Nothing was changed · ChatOpsPull</title>"
        + "<link rel=\"stylesheet\" href=\"" + StylePath + "\"></head><body><main><p class=\"flash problem\" role=\"alert\">"
        + Text(message) + "</p><p><a href=\"/\">Back to the incidents</a></p></main></body></html>";

    private static string Hidden(string name, string value) =>
        "<input type=\"hidden\" name=\"" + Text(name) + "\" value=\"" + Text(value) + "\">";

    private static string Clock(DateTimeOffset at) => Text(at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));

    private static string Text(string text) => HtmlEncoder.Default.Encode(text);
}
