using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Web;
using Microsoft.Playwright;
using SkiaSharp;

namespace ChatOpsPull.Tests.WebPage;

/// <summary>
/// The web page's state icons look the same whatever fonts the browser has. Debian's headless Chromium renders a card
/// from <see cref="CardHtmlRenderer"/> twice: with the machine's fonts, and with no font at all (an empty fontconfig),
/// as a browser without an emoji font would for ✅ and ❌. Each icon's screenshot must show its colour and its white
/// symbol both times; an emoji in the same place fails the same check, so the check can fail.
/// </summary>
public sealed class CardIconTests : IAsyncLifetime
{
    private readonly string _noFonts = Directory.CreateTempSubdirectory("chatopspull-nofonts-").FullName;
    private IPlaywright _playwright = null!;
    private IBrowser _withFonts = null!;
    private IBrowser _withoutFonts = null!;

    public static TheoryData<string, string> Icons => new()
    {
        // aria-label of the icon, the colour it is drawn in
        { "failing", CardIcons.Red },
        { "passed", CardIcons.Green },
        { "failed", CardIcons.Red },
        { "info", CardIcons.Blue },
        { "skipped", CardIcons.Grey },
    };

    public async Task InitializeAsync()
    {
        var config = Path.Combine(_noFonts, "fonts.conf");
        await File.WriteAllTextAsync(config, "<?xml version=\"1.0\"?><!DOCTYPE fontconfig SYSTEM \"fonts.dtd\"><fontconfig><cachedir>" + _noFonts + "</cachedir></fontconfig>");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await HeadlessChromium.PlaywrightAsync();
        _withFonts = await LaunchAsync([]);
        _withoutFonts = await LaunchAsync([new("FONTCONFIG_FILE", config)]);
    }

    public async Task DisposeAsync()
    {
        await _withFonts.CloseAsync();
        await _withoutFonts.CloseAsync();
        _playwright.Dispose();
        Directory.Delete(_noFonts, recursive: true);
    }

    [Theory]
    [MemberData(nameof(Icons))]
    public async Task Each_icon_shows_its_colour_and_symbol_with_and_without_fonts(string name, string colour)
    {
        foreach (var browser in new[] { _withFonts, _withoutFonts })
        {
            var page = await CardPageAsync(browser);
            var icon = page.Locator($"svg.icon[aria-label='{name}']").First;
            var png = await icon.ScreenshotAsync();

            var (inColour, white) = Count(png, colour);
            Assert.True(inColour > 0.4, $"{name}: {inColour:P0} of the icon is {colour} ({(browser == _withFonts ? "with" : "without")} fonts)");
            Assert.True(white > 0.05, $"{name}: its white symbol covers only {white:P0} of the icon");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task An_emoji_mark_fails_the_same_check_without_fonts()
    {
        var page = await _withoutFonts.NewPageAsync();
        await page.SetContentAsync("<html><body style=\"font-size:16px\"><span id=\"mark\" style=\"display:inline-block;width:16px;height:16px\">✅</span></body></html>");

        var (inColour, _) = Count(await page.Locator("#mark").ScreenshotAsync(), CardIcons.Green);

        Assert.True(inColour < 0.4, $"the emoji rendered {inColour:P0} green without any font; the fontless browser is not fontless");
        await page.Context.CloseAsync();
    }

    [Fact]
    public void The_page_marks_lines_and_titles_with_drawn_icons_not_characters()
    {
        var html = CardHtmlRenderer.Render(SampleCard(), "/web/actions", "__rvt", "token");

        Assert.DoesNotContain(html, c => char.IsSurrogate(c) || c is >= '\u2190' and <= '\u2BFF');
        Assert.Equal(6, html.Split("<svg class=\"icon\"").Length - 1);
    }

    private Task<IBrowser> LaunchAsync(IEnumerable<KeyValuePair<string, string>> environment) =>
        HeadlessChromium.LaunchAsync(_playwright, environment.Append(new("HOME", _noFonts)));

    private static async Task<IPage> CardPageAsync(IBrowser browser)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 900, Height = 900 }, DeviceScaleFactor = 2 });
        using var css = typeof(CardHtmlRenderer).Assembly.GetManifestResourceStream("ChatOpsPull.Web.Assets.page.css")!;
        var style = await new StreamReader(css).ReadToEndAsync();
        await page.SetContentAsync($"<!doctype html><html><head><meta charset=\"utf-8\"><style>{style}</style></head><body><main>{CardHtmlRenderer.Render(SampleCard(), "/web/actions", "__rvt", "token")}</main></body></html>");
        return page;
    }

    private static Card SampleCard() => new(
        "incident:inc-1c0n5",
        "Image or tag not found: shop/deployment/web",
        CardTone.Bad,
        "fallback",
        [new CardFact("Image", "registry.example.com/shop/web:1.4.3")],
        [
            CardSection.List("Evidence",
            [
                new CardLine("*registry*: tag 1.4.3 not found", LineMark.Failed),
                new CardLine("*pull secret*: regcred matches the registry", LineMark.Passed),
                new CardLine("*nearest tags*: 1.4.2, 1.4.1", LineMark.Info),
                new CardLine("*TLS*: not checked", LineMark.Skipped),
                new CardLine("`web-7d9c5b6f4-x2x4p` · web · ImagePullBackOff", LineMark.Failed),
            ]),
        ],
        []);

    /// <summary>
    /// Of the pixels in the middle of the screenshot (a disc of 70 % of its width, inside the icon's shape), the share
    /// close to <paramref name="colour"/> and the share that is white (the symbol drawn on it).
    /// </summary>
    private static (double InColour, double White) Count(byte[] png, string colour)
    {
        using var bitmap = SKBitmap.Decode(png);
        var target = SKColor.Parse(colour);
        var (cx, cy, radius) = (bitmap.Width / 2.0, bitmap.Height / 2.0, 0.35 * Math.Min(bitmap.Width, bitmap.Height));
        var middle = new List<SKColor>();
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                if (Math.Pow(x + 0.5 - cx, 2) + Math.Pow(y + 0.5 - cy, 2) <= radius * radius)
                {
                    middle.Add(bitmap.GetPixel(x, y));
                }
            }
        }

        var near = middle.Count(p => Math.Abs(p.Red - target.Red) + Math.Abs(p.Green - target.Green) + Math.Abs(p.Blue - target.Blue) < 60);
        var white = middle.Count(p => p.Red > 230 && p.Green > 230 && p.Blue > 230);
        return ((double)near / middle.Count, (double)white / middle.Count);
    }
}
