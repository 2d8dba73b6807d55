using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Cli.Demo;
using ChatOpsPull.Hosting;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace ChatOpsPull.Tests.Demo;

/// <summary>
/// <c>chatopspull demo --simulate</c> end to end in Debian's headless Chromium: the real bot against the simulated cluster
/// (API stand-in over HTTP, simulated kubelet, in-memory registry). Three cards appear with the three causes, each marked
/// simulated; asking for (and so approving) the suggested tag on the missing-tag card runs the real remediation job, the controller rolls the
/// pods, the kubelet pulls the new tag and the pods become Ready; the incident resolves, so the page drops the card and the
/// chat card ends resolved with the run done.
/// </summary>
public sealed class SimulatedDemoBrowserTests : IAsyncLifetime
{
    private SimulatedDemo _demo = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _baseUrl = null!;

    public async Task InitializeAsync()
    {
        _demo = await SimulatedDemo.StartAsync([$"--urls={BoundPort.LoopbackAnyPort}", "--Logging:LogLevel:Default=Warning"]);
        _baseUrl = $"http://127.0.0.1:{BoundPort.Of(_demo.App)}";

        _playwright = await HeadlessChromium.PlaywrightAsync();
        _browser = await HeadlessChromium.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
        await _demo.DisposeAsync();
    }

    [Fact]
    public async Task Three_marked_incidents_appear_and_approving_the_suggested_tag_rolls_the_pods_to_Ready_and_resolves_the_card()
    {
        var page = await SignedInAsync();
        var slow = new LocatorAssertionsToContainTextOptions { Timeout = 90_000 };
        await Assertions.Expect(page.Locator("#simulated")).ToContainTextAsync(SimulationBanner.Text);

        var missing = Card(page, "Image or tag not found: chatopspull-demo/deployment/missing-tag");
        var denied = Card(page, "Access denied (private or missing repository): chatopspull-demo/deployment/private-image");
        var invalid = Card(page, "Invalid image name: chatopspull-demo/deployment/invalid-name");
        await Assertions.Expect(missing).ToContainTextAsync("image_not_found (high confidence)", slow);
        await Assertions.Expect(denied).ToContainTextAsync("access_denied", slow);
        await Assertions.Expect(invalid).ToContainTextAsync("invalid_name (high confidence)", slow);
        // The private image's secret exists but nobody attached it: the card offers to attach it.
        await Assertions.Expect(denied.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = $"Attach {SimulatedDemo.PullSecret} to SA default" })).ToHaveCountAsync(1, new LocatorAssertionsToHaveCountOptions { Timeout = 90_000 });
        await Assertions.Expect(page.Locator("article[data-card-key^='incident:']")).ToHaveCountAsync(3);
        foreach (var card in await page.Locator("article[data-card-key^='incident:']").AllAsync())
        {
            await Assertions.Expect(card.Locator("p.simulated")).ToHaveTextAsync(SimulationBanner.Text);
            await Assertions.Expect(card).ToContainTextAsync("simulated");
        }

        var incidentId = (await missing.GetAttributeAsync("data-card-key"))!["incident:".Length..];
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        const string fix = "Set tag to 0.1.0-chatopspull-demo";
        await missing.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = fix, Exact = true }).ClickAsync();

        // The demo's one person is the approver (asking approves): the job runs; its progress shows on the card.
        await Assertions.Expect(page.Locator("#flash")).Not.ToContainTextAsync("Nothing changed");
        // Pods Ready resolves the incident: the page lists open incidents, so the card leaves it.
        await Assertions.Expect(page.Locator($"article[data-card-key='incident:{incidentId}']")).ToHaveCountAsync(0, new LocatorAssertionsToHaveCountOptions { Timeout = 120_000 });
        await Assertions.Expect(denied).ToHaveCountAsync(1);
        await Assertions.Expect(invalid).ToHaveCountAsync(1);

        var deployment = _demo.Api.Store.Get(ResourceType.Of("deployments"), SimulatedDemo.Namespace, "missing-tag")!;
        Assert.Equal($"{_demo.Registry.Host}/library/nginx:0.1.0-chatopspull-demo", deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        var pods = _demo.Api.Store.List(ResourceType.Of("pods"), SimulatedDemo.Namespace)
            .Where(p => p["metadata"]?["labels"]?["app.kubernetes.io/name"]?.GetValue<string>() == "missing-tag" && p["metadata"]?["deletionTimestamp"] is null)
            .ToList();
        Assert.NotEmpty(pods);
        Assert.All(pods, p => Assert.True(WorkloadControllers.IsReady(p), $"{ObjectStore.Name(p)} is not Ready"));

        // The card Slack and Teams would show now: resolved, the run done, still marked simulated.
        var final = await _demo.App.Services.GetRequiredService<IncidentCardPublisher>().BuildAsync(incidentId, CancellationToken.None);
        Assert.NotNull(final);
        var slack = BlockKitRenderer.Render(final).ToJson().ToJsonString();
        var teams = AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(final, CardView.Everyone));
        foreach (var rendered in new[] { slack, teams })
        {
            Assert.Contains("resolved", rendered, StringComparison.Ordinal);
            Assert.Contains("done: pods are Ready", rendered, StringComparison.Ordinal);
            Assert.Contains("Simulated cluster", rendered, StringComparison.Ordinal);
        }

        var screenshot = Path.Combine(Path.GetTempPath(), "chatopspull-demo-simulated.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
    }

    [Fact]
    public async Task The_simulated_kubelet_reports_what_a_real_one_does_for_each_broken_workload()
    {
        var events = await EventuallyAsync(() =>
        {
            var all = _demo.Api.Store.List(ResourceType.Of("events"), SimulatedDemo.Namespace);
            return all.Any(e => Reason(e) == "BackOff") && all.Any(e => Reason(e) == "InspectFailed") ? all : null;
        });

        var waiting = DemoWorkloads.All.ToDictionary(w => w.Name, w => WaitingReason(w.Name));
        Assert.Contains(waiting["missing-tag"], new[] { "ErrImagePull", "ImagePullBackOff" });
        Assert.Contains(waiting["private-image"], new[] { "ErrImagePull", "ImagePullBackOff" });
        Assert.Equal("InvalidImageName", waiting["invalid-name"]);
        Assert.Contains(events, e => Reason(e) == "Failed" && Message(e).EndsWith(": not found", StringComparison.Ordinal) && Message(e).Contains("rpc error: code = NotFound", StringComparison.Ordinal));
        Assert.Contains(events, e => Reason(e) == "Failed" && Message(e).Contains("pull access denied, repository does not exist or may require authorization", StringComparison.Ordinal));
        Assert.Contains(events, e => Reason(e) == "Failed" && Message(e) == "Error: ImagePullBackOff");
        Assert.Contains(events, e => Reason(e) == "InspectFailed" && Message(e).Contains("repository name (Shop/Web) must be lowercase", StringComparison.Ordinal));
        Assert.All(events, e => Assert.Equal("kubelet", e["source"]!["component"]!.GetValue<string>()));
    }

    private string WaitingReason(string workload) =>
        _demo.Api.Store.List(ResourceType.Of("pods"), SimulatedDemo.Namespace)
            .First(p => p["metadata"]?["labels"]?["app.kubernetes.io/name"]?.GetValue<string>() == workload)
            ["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"]?.GetValue<string>() ?? "(not waiting)";

    private static string Reason(JsonObject e) => e["reason"]?.GetValue<string>() ?? string.Empty;

    private static string Message(JsonObject e) => e["message"]?.GetValue<string>() ?? string.Empty;

    private static async Task<T> EventuallyAsync<T>(Func<T?> probe)
        where T : class =>
        (await Eventually.ValueAsync(() => Task.FromResult(probe()), value => value is not null, "the simulated kubelet to report the pull failures", TimeSpan.FromSeconds(60)))!;

    private static ILocator Card(IPage page, string title) =>
        page.Locator("article[data-card-key^='incident:']").Filter(new LocatorFilterOptions { Has = page.Locator("h2", new PageLocatorOptions { HasText = title }) });

    private async Task<IPage> SignedInAsync()
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 1400 } });
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(60_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync(_baseUrl + "/");
        await page.GetByLabel("User name").FillAsync(SimulatedDemo.User);
        await page.GetByLabel("Password").FillAsync(_demo.Password);
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(_baseUrl + "/", new PageWaitForURLOptions { WaitUntil = WaitUntilState.DOMContentLoaded });
        return page;
    }
}
