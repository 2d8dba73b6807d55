using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Web;

/// <summary>
/// The page's state icons as inline SVG: drawn shapes, no glyphs, so they look the same in every browser whatever fonts
/// it has (emoji such as ✅ need a colour emoji font and show as empty boxes without one). Each carries its meaning as
/// an accessible name.
/// </summary>
public static class CardIcons
{
    public const string Green = "#1e7b34";
    public const string Red = "#b3261e";
    public const string Blue = "#1d4ed8";
    public const string Grey = "#667085";
    public const string Amber = "#b26a00";

    private const string Check = "<path d=\"M4.5 8.3l2.3 2.3 4.7-4.9\" fill=\"none\" stroke=\"#fff\" stroke-width=\"1.8\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>";
    private const string Cross = "<path d=\"M5.2 5.2l5.6 5.6M10.8 5.2l-5.6 5.6\" fill=\"none\" stroke=\"#fff\" stroke-width=\"1.8\" stroke-linecap=\"round\"/>";
    private const string Info = "<circle cx=\"8\" cy=\"4.9\" r=\"1.1\" fill=\"#fff\"/><rect x=\"7.1\" y=\"6.9\" width=\"1.8\" height=\"5\" rx=\".9\" fill=\"#fff\"/>";
    private const string Skip = "<path d=\"M4.6 5l3.2 3-3.2 3zM8.4 5l3.2 3-3.2 3z\" fill=\"#fff\"/>";
    private const string Bang = "<rect x=\"7.1\" y=\"3.6\" width=\"1.8\" height=\"5.6\" rx=\".9\" fill=\"#fff\"/><circle cx=\"8\" cy=\"11.6\" r=\"1.1\" fill=\"#fff\"/>";

    /// <summary>The mark in front of a list line; empty for <see cref="LineMark.None"/>.</summary>
    public static string For(LineMark mark) => mark switch
    {
        LineMark.None => string.Empty,
        LineMark.Passed => Circle("passed", Green, Check),
        LineMark.Failed => Circle("failed", Red, Cross),
        LineMark.Info => Circle("info", Blue, Info),
        LineMark.Skipped => Circle("skipped", Grey, Skip),
        _ => throw new ArgumentOutOfRangeException(nameof(mark), mark, "unknown mark"),
    };

    /// <summary>The mark in front of a card's title, from its tone.</summary>
    public static string For(CardTone tone) => tone switch
    {
        CardTone.Neutral => Circle("note", Blue, Info),
        CardTone.Good => Circle("resolved", Green, Check),
        CardTone.Warning => Triangle("in progress", Amber),
        CardTone.Bad => Circle("failing", Red, Bang),
        _ => throw new ArgumentOutOfRangeException(nameof(tone), tone, "unknown tone"),
    };

    private static string Circle(string name, string colour, string inner) =>
        $"<svg class=\"icon\" viewBox=\"0 0 16 16\" width=\"16\" height=\"16\" role=\"img\" aria-label=\"{name}\"><circle cx=\"8\" cy=\"8\" r=\"8\" fill=\"{colour}\"/>{inner}</svg>";

    private static string Triangle(string name, string colour) =>
        $"<svg class=\"icon\" viewBox=\"0 0 16 16\" width=\"16\" height=\"16\" role=\"img\" aria-label=\"{name}\"><path d=\"M8 .8l7.6 14H.4z\" fill=\"{colour}\" stroke=\"{colour}\" stroke-linejoin=\"round\"/><rect x=\"7.1\" y=\"5\" width=\"1.8\" height=\"5\" rx=\".9\" fill=\"#fff\"/><circle cx=\"8\" cy=\"12.2\" r=\"1.1\" fill=\"#fff\"/></svg>";
}
