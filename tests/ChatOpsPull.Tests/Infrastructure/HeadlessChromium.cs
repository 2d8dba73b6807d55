using Microsoft.Playwright;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// The one way the browser tests launch Debian's headless Chromium through Playwright (never a downloaded browser), with
/// the flags a shared CI machine needs (no sandbox as root, no GPU, no background traffic).
/// <code>
/// var playwright = await HeadlessChromium.PlaywrightAsync();
/// var browser = await HeadlessChromium.LaunchAsync(playwright);
/// </code>
/// </summary>
public static class HeadlessChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    /// <summary>Playwright's driver, told not to download a browser of its own.</summary>
    public static Task<IPlaywright> PlaywrightAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        return Playwright.CreateAsync();
    }

    /// <param name="environment">The browser's environment instead of the test process's (e.g. a font configuration), or null.</param>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright, IEnumerable<KeyValuePair<string, string>>? environment = null) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Env = environment,
            Args = Flags,
        });
}
