using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Web;

namespace ChatOpsPull.Tests.Web;

public sealed class CardHtmlRendererTests
{
    private static Card Card(string title, string text, params CardAction[] actions) =>
        new("incident:inc-0001", title, CardTone.Bad, "fallback", [new CardFact("Image", "<img src=x onerror=alert(1)>")], [CardSection.Markdown(null, text), CardSection.List("Pods", [new CardLine("`p1`", LineMark.Failed)], 3)], actions);

    [Fact]
    public void Everything_from_the_cluster_is_escaped()
    {
        var html = CardHtmlRenderer.Render(Card("<script>alert(1)</script>", "*bold* and `<b>code</b>` and a lone * star"), "/web/actions", "__rvt", "tok\"en");
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("<strong>bold</strong>", html, StringComparison.Ordinal);
        Assert.Contains("<code>&lt;b&gt;code&lt;/b&gt;</code>", html, StringComparison.Ordinal);
        Assert.Contains("a lone * star", html, StringComparison.Ordinal);
        Assert.Contains("…and 3 more", html, StringComparison.Ordinal);
        Assert.DoesNotContain("tok\"en", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Buttons_post_only_the_payload_and_carry_their_confirmation()
    {
        var action = new CardAction("Approve", new CardActionPayload(CardVerb.Approve, "apr-7c1d2e"), ActionStyle.Primary, new CardConfirm("Roll back?", "Returns to revision 6."));
        var html = CardHtmlRenderer.Render(Card("t", "x", action), "/web/actions", "__rvt", "token");
        Assert.Contains("name=\"payload\" value=\"approve|apr-7c1d2e\"", html, StringComparison.Ordinal);
        Assert.Contains("data-confirm=\"Roll back?", html, StringComparison.Ordinal);
        Assert.Contains("name=\"__rvt\" value=\"token\"", html, StringComparison.Ordinal);
    }
}
