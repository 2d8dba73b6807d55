using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace ChatOpsPull.Tests.Teams;

/// <summary>
/// Debian's Chromium (headless, driven by Playwright, never a downloaded browser) showing tests/card-render/index.html,
/// which loads the real <c>adaptivecards</c> npm renderer. The page is served by a tiny Kestrel static server on loopback.
/// </summary>
public sealed class ChromiumCardRenderer : IAsyncLifetime
{

    private WebApplication? _server;
    private string _baseUrl = string.Empty;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IPage Page { get; private set; } = null!;

    public string? Screenshots { get; private set; }

    public async Task InitializeAsync()
    {
        var root = FindCardRenderDirectory();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(BoundPort.LoopbackAnyPort);
        builder.Logging.ClearProviders();
        _server = builder.Build();
        _server.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(root), ServeUnknownFileTypes = false });
        await _server.StartAsync();

        _playwright = await HeadlessChromium.PlaywrightAsync();
        _browser = await HeadlessChromium.LaunchAsync(_playwright);
        Page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 800, Height = 1200 } });
        _baseUrl = $"http://127.0.0.1:{BoundPort.Of(_server)}";
        await Page.GotoAsync($"{_baseUrl}/index.html");
        await Page.WaitForFunctionAsync("() => typeof window.AdaptiveCards !== 'undefined' && typeof window.renderCard === 'function'");
        Screenshots = Directory.CreateTempSubdirectory("chatopspull-cards-").FullName;
    }

    /// <summary>Renders a card; returns what the renderer itself complained about while parsing and validating.</summary>
    public async Task<IReadOnlyList<string>> RenderAsync(JsonNode card)
    {
        await Page.EvaluateAsync("() => { window.executed = []; }");
        var result = await Page.EvaluateAsync<JsonElement>("json => window.renderCard(json)", card.ToJsonString());
        return result.GetProperty("findings").EnumerateArray().Select(f => f.GetString()!).ToList();
    }

    /// <summary>Another page of tests/card-render (slack.html: the Slack-like Block Kit drawing) in the same browser.</summary>
    public async Task<IPage> OpenAsync(string file, int width = 800)
    {
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 1200 }, DeviceScaleFactor = 1 });
        await page.GotoAsync($"{_baseUrl}/{file}");
        return page;
    }

    /// <summary>A blank page in the same browser (the web page's card is set as its content).</summary>
    public async Task<IPage> BlankAsync(int width = 800) =>
        await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 1200 } });

    public async Task<IReadOnlyList<JsonElement>> ExecutedAsync()
    {
        var executed = await Page.EvaluateAsync<JsonElement>("() => window.executed");
        return executed.EnumerateArray().ToList();
    }

    public ILocator Card => Page.Locator("#card");

    public ILocator Button(string title) => Card.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = title, Exact = true });

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }
    }

    private static string FindCardRenderDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "card-render");
            if (File.Exists(Path.Combine(candidate, "index.html")))
            {
                if (!File.Exists(Path.Combine(candidate, "node_modules", "adaptivecards", "dist", "adaptivecards.min.js")))
                {
                    throw new InvalidOperationException($"The adaptivecards renderer is not installed: run `npm ci` in {candidate} (.ci/install-deps does).");
                }

                return candidate;
            }
        }

        throw new InvalidOperationException("tests/card-render not found above " + AppContext.BaseDirectory);
    }
}
