using System.Net;
using System.Text.RegularExpressions;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Commands;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ChatOpsPull.Tests.WebPage;

/// <summary>The cards fragment is rendered once per version and served from memory, and still shows every change at once.</summary>
public sealed partial class WebPageTests
{
    /// <summary>
    /// No diagnosis jobs and no time-based re-read within the test. The in-process diagnosis still runs after a report and
    /// changes the card when it is stored: a test that needs the card to stand still waits for it (<see cref="DiagnosedAsync"/>).
    /// </summary>
    private static readonly Dictionary<string, string?> CachedCards = new()
    {
        ["Jobs:RunServer"] = "false",
        ["Web:Page:CardsMaxAge"] = "00:01:00",
    };

    /// <summary>The HTML without the viewer's token and the footer's minute.</summary>
    private static string Unstamped(string html) => FooterMinuteRegex().Replace(TokenRegex().Replace(html, "token"), "updated minute");

    [GeneratedRegex("updated [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC")]
    private static partial Regex FooterMinuteRegex();

    [Fact]
    public async Task Cards_fragment_is_not_rebuilt_per_request_and_each_viewer_gets_a_working_token()
    {
        await using var host = Host(extra: CachedCards);
        var incident = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        await DiagnosedAsync(host, incident.Id); // the card's last change of its own: from then on it stands still
        using var client = Browser(host);
        await SignInAsync(client, "alice");
        var cache = host.Services.GetRequiredService<WebCardsCache>();
        var first = await PageAsync(client, WebPageView.CardsPath);
        var readsBefore = cache.Reads;

        var later = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            later.Add(await PageAsync(client, WebPageView.CardsPath));
        }

        // At most one more read: the card's footer shows the minute, which may turn during the loop.
        Assert.InRange(cache.Reads - readsBefore, 0, 1);
        Assert.Contains($"data-card-key=\"incident:{incident.Id}\"", first, StringComparison.Ordinal);
        Assert.All(later, html => Assert.Equal(Unstamped(first), Unstamped(html)));
        Assert.NotEqual(Token(first), Token(later[^1]));

        // The token written into the cached HTML is this viewer's and works.
        using var click = await ClickAsync(client, Token(later[^1]), $"snooze|{incident.Id}|1h", $"incident:{incident.Id}");
        Assert.Equal(HttpStatusCode.SeeOther, click.StatusCode);
        Assert.Equal($"snooze|{incident.Id}|1h", Assert.Single(_approvals.Clicks).Payload.ToString());
    }

    /// <summary>Waits until the in-process diagnosis of the report is stored (under load it can land minutes into a test).</summary>
    private static Task<Incident?> DiagnosedAsync(BotTestHost host, string incidentId) =>
        Eventually.ValueAsync(
            () => host.Services.GetRequiredService<IncidentStore>().GetAsync(incidentId),
            incident => incident?.Diagnosis is not null,
            "the incident's in-process diagnosis to be stored",
            TimeSpan.FromSeconds(60),
            incident => incident is null ? "no incident" : $"{incident.State}, no diagnosis");

    [Fact]
    public async Task Requests_at_once_for_cards_not_read_yet_share_one_read_of_the_board()
    {
        await using var host = Host(extra: CachedCards);
        await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        var services = host.Services;
        // A cache of its own on a clock that stands still: no minute turns, no max age passes, nothing invalidates it.
        var cache = new WebCardsCache(
            services.GetRequiredService<WebIncidentBoard>(),
            services.GetRequiredService<IOptionsMonitor<WebPageOptions>>(),
            services.GetRequiredService<IOptions<AntiforgeryOptions>>(),
            new FakeTimeProvider(DateTimeOffset.UtcNow));

        var pages = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => cache.GetAsync(CancellationToken.None))));

        // Requests that missed the stored cards while the shared read finished find them under the lock: one read, any interleaving.
        Assert.Equal(1, cache.Reads);
        Assert.All(pages, page => Assert.Same(pages[0], page));
    }

    [Fact]
    public async Task Changed_incident_shows_its_new_card_on_the_next_fragment_request()
    {
        await using var host = Host(extra: CachedCards);
        var incident = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        using var client = Browser(host);
        await SignInAsync(client, "alice");
        Assert.Contains("<dd>1 failing</dd>", await PageAsync(client, WebPageView.CardsPath), StringComparison.Ordinal);

        await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-p4m2z");
        var grown = await PageAsync(client, WebPageView.CardsPath);

        var other = await CommandTestKit.ReportAsync(host.Services, "shop", "api", "api-5c8d7f6b9-q9w8e", "registry.example.com/shop/api:2.0.0-typo");
        var opened = await PageAsync(client, WebPageView.CardsPath);

        await host.Services.GetRequiredService<IncidentEngine>().SnoozeAsync(incident.Id, DateTimeOffset.UtcNow.AddHours(1), AuditActor.Bot);
        var snoozed = await PageAsync(client, WebPageView.CardsPath);

        await host.Services.GetRequiredService<IncidentEngine>().SnoozeAsync(incident.Id, null, AuditActor.Bot);
        await host.Services.GetRequiredService<IncidentEngine>().TransitionAsync(
            incident.Id, IncidentState.Resolved, AuditActor.Bot, IncidentChange.Resolved, "pods Ready");
        var resolved = await PageAsync(client, WebPageView.CardsPath);

        Assert.Contains("<dd>2 failing</dd>", grown, StringComparison.Ordinal);
        Assert.DoesNotContain("<dd>1 failing</dd>", grown, StringComparison.Ordinal);
        Assert.Contains($"data-card-key=\"incident:{other.Id}\"", opened, StringComparison.Ordinal);
        Assert.Contains("snoozed until", snoozed, StringComparison.Ordinal);
        Assert.DoesNotContain($"data-card-key=\"incident:{incident.Id}\"", resolved, StringComparison.Ordinal);
        Assert.Contains($"data-card-key=\"incident:{other.Id}\"", resolved, StringComparison.Ordinal);
    }
}
