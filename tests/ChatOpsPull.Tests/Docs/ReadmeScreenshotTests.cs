using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Web;
using Microsoft.Playwright;
using SkiaSharp;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Docs;

/// <summary>
/// One incident card from the real builder, drawn by the three renderers the tests use: the bot's web page (its HTML and
/// stylesheet), Slack (Block Kit drawn the way Slack lays it out, tests/card-render/slack.html) and Teams (the real
/// adaptivecards renderer with the Teams markdown subset, tests/card-render/index.html), in Debian's Chromium. The
/// screenshots are the README's pictures: <c>CHATOPSPULL_WRITE_DOCS_IMAGES=1 dotnet test --filter ReadmeScreenshotTests</c>
/// writes them to docs/images/; otherwise they go to a temporary directory.
/// </summary>
public sealed class ReadmeScreenshotTests(ChromiumCardRenderer chromium, ITestOutputHelper output) : IClassFixture<ChromiumCardRenderer>
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 9, 14, 0, TimeSpan.Zero);

    private static readonly string Target = Environment.GetEnvironmentVariable("CHATOPSPULL_WRITE_DOCS_IMAGES") == "1"
        ? Path.Combine(Manifests.RenderedManifests.RepositoryRoot, "docs", "images")
        : Directory.CreateTempSubdirectory("chatopspull-readme-images-").FullName;

    [Fact]
    public async Task The_web_page_draws_the_card_with_its_facts_icons_and_buttons()
    {
        var card = Card();
        var page = await chromium.BlankAsync(900);
        using var css = typeof(CardHtmlRenderer).Assembly.GetManifestResourceStream("ChatOpsPull.Web.Assets.page.css")!;
        var style = await new StreamReader(css).ReadToEndAsync();
        await page.SetContentAsync($"<!doctype html><html><head><meta charset=\"utf-8\"><style>{style} main {{ padding: 12px; }}</style></head><body><main>{CardHtmlRenderer.Render(card, "/web/actions", "__rvt", "token")}</main></body></html>");

        var article = page.Locator("article.card");
        var text = await article.InnerTextAsync();
        Assert.Contains(card.Title, text, StringComparison.Ordinal);
        Assert.Equal(card.Actions.Count, await article.Locator("button").CountAsync());
        await SaveAsync(article, "web-card.png");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Slack_draws_the_block_kit_message_with_code_as_code()
    {
        var card = Card();
        var page = await chromium.OpenAsync("slack.html");
        var blocks = BlockKitRenderer.Render(card).Blocks.ToJsonString();

        var text = await page.EvaluateAsync<string>("json => window.renderBlocks(JSON.parse(json))", blocks);

        Assert.Contains(card.Title, text, StringComparison.Ordinal);
        Assert.DoesNotContain("`", text, StringComparison.Ordinal);
        Assert.True(await page.Locator("#message code").CountAsync() > 0, "code spans are drawn as code");
        Assert.True(await page.Locator("#message pre").CountAsync() > 0, "the runtime message is a code block");
        await SaveAsync(page.Locator("#message"), "slack-card.png");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Teams_draws_the_adaptive_card_as_teams_shows_it()
    {
        var card = Card();

        var findings = await chromium.RenderAsync(AdaptiveCardRenderer.Render(card, CardView.Everyone));

        Assert.Empty(findings);
        var text = await chromium.Card.InnerTextAsync();
        Assert.DoesNotContain("`", text, StringComparison.Ordinal);
        Assert.DoesNotContain("**", text, StringComparison.Ordinal);
        await SaveAsync(chromium.Card, "teams-card.png");
    }

    private async Task SaveAsync(ILocator element, string file)
    {
        Directory.CreateDirectory(Target);
        var path = Path.Combine(Target, file);
        var png = await element.ScreenshotAsync(new LocatorScreenshotOptions { Path = path });
        using var bitmap = SKBitmap.Decode(png);
        output.WriteLine($"{path}: {bitmap.Width}×{bitmap.Height}");
        Assert.True(bitmap.Width >= 500 && bitmap.Height >= 300, $"{file} is {bitmap.Width}×{bitmap.Height}: the card did not render");
    }

    /// <summary>A diagnosed incident waiting for approval, as the builder makes it.</summary>
    internal static Card Card()
    {
        var setTag = new RemediationPlan(
            RemediationKind.SetImageTag, "shop", "Deployment", "web", "Set tag to 1.4.2",
            "Sets container `web` of deployment/web to `registry.example.com/shop/web:1.4.2`, which the registry confirmed exists.", RemediationRisk.Medium,
            new Dictionary<string, string> { ["container"] = "web", ["image"] = "registry.example.com/shop/web:1.4.2" });
        var rollback = new RemediationPlan(
            RemediationKind.RollBack, "shop", "Deployment", "web", "Roll back to revision 6",
            "Returns the Deployment to revision 6 (image `registry.example.com/shop/web:1.4.2`), like `kubectl rollout undo`.", RemediationRisk.High,
            new Dictionary<string, string> { ["revision"] = "6" });
        var diagnosis = new Diagnosis(
            PullCause.ImageNotFound,
            0.97,
            "Tag `1.4.3` does not exist in registry.example.com/shop/web; nearest existing tags: `1.4.2`, `1.4.1`.",
            [
                new Evidence("DNS", EvidenceOutcome.Passed, "registry.example.com → 10.0.4.12", TimeSpan.FromMilliseconds(3)),
                new Evidence("TLS", EvidenceOutcome.Passed, "certificate valid for registry.example.com", TimeSpan.FromMilliseconds(41)),
                new Evidence("pull secret", EvidenceOutcome.Passed, "`regcred` has credentials for registry.example.com, accepted", TimeSpan.FromMilliseconds(58)),
                new Evidence("registry manifest", EvidenceOutcome.Failed, "GET /v2/shop/web/manifests/1.4.3 → 404 MANIFEST_UNKNOWN", TimeSpan.FromMilliseconds(22)),
                new Evidence("tags", EvidenceOutcome.Info, "1.4.2, 1.4.1, 1.4.0 exist (newest first)", TimeSpan.FromMilliseconds(31)),
            ],
            "Failed to pull image \"registry.example.com/shop/web:1.4.3\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/web:1.4.3\": failed to resolve reference \"registry.example.com/shop/web:1.4.3\": registry.example.com/shop/web:1.4.3: not found",
            [setTag, rollback]);
        var pods = new[] { "web-7d9c5b6f4-x2x4p", "web-7d9c5b6f4-q8z2m", "web-7d9c5b6f4-k7n4v" }
            .Select(p => new AffectedPod(p, "web", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3\"", Now.AddMinutes(-6), Now))
            .ToArray();
        var incident = new Incident("inc-4f2a9c", new IncidentKey("prod-eu", "shop", "deployment/web", PullCause.ImageNotFound), "registry.example.com/shop/web:1.4.3",
            IncidentState.AwaitingApproval, Now.AddMinutes(-6), Now, pods, 4)
        {
            Workload = new WorkloadRef("Deployment", "web"),
            Diagnosis = diagnosis,
        };
        var request = new ApprovalRequest("apr-7c1d2e", incident.Id, setTag, new Actor("slack", "U024BE7LH", "Ada", []), Now.AddMinutes(-1), Now.AddMinutes(59), ApprovalStatus.Pending, 1, [], 1)
        {
            DryRun = "spec.template.spec.containers[web].image: …/shop/web:1.4.3 → …/shop/web:1.4.2",
        };
        return IncidentCardBuilder.Build(new IncidentCardInput(incident, [request], [], [], Now));
    }
}
