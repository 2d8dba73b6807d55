using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Encodings.Web;

namespace ChatOpsPull.Web;

/// <summary>
/// The page's cards rendered once, as UTF-8, with a gap wherever a button form takes the viewer's antiforgery token.
/// Serving it to a viewer copies the bytes and writes that viewer's token into each gap; nothing is built or encoded
/// again per request.
/// </summary>
public sealed class WebCardsHtml
{
    /// <summary>What the page shows when there is no card.</summary>
    public const string Empty = "<p class=\"empty\">No open incidents. Pods that cannot pull their image show up here.</p>";

    private readonly byte[] _body;
    private readonly int[] _gaps;

    private WebCardsHtml(byte[] body, int[] gaps, int cards)
    {
        _body = body;
        _gaps = gaps;
        CardCount = cards;
    }

    public int CardCount { get; }

    /// <summary>Joins rendered cards (each cut at its token gaps, see <see cref="CardHtmlRenderer.RenderParts"/>).</summary>
    public static WebCardsHtml From(IReadOnlyList<string[]> cards)
    {
        if (cards.Count == 0)
        {
            return new WebCardsHtml(Encoding.UTF8.GetBytes(Empty), [], 0);
        }

        var body = new List<byte>(cards.Count * 4096);
        var gaps = new List<int>();
        foreach (var parts in cards)
        {
            for (var i = 0; i < parts.Length; i++)
            {
                if (i > 0)
                {
                    gaps.Add(body.Count);
                }

                body.AddRange(Encoding.UTF8.GetBytes(parts[i]));
            }
        }

        return new WebCardsHtml([.. body], [.. gaps], cards.Count);
    }

    /// <summary>The encoded form of a token, as it goes into the gaps.</summary>
    public static byte[] EncodeToken(string antiforgeryToken) => Encoding.UTF8.GetBytes(HtmlEncoder.Default.Encode(antiforgeryToken));

    /// <summary>Length in bytes with a token of <paramref name="tokenBytes"/> bytes in every gap.</summary>
    public long Length(int tokenBytes) => _body.Length + ((long)_gaps.Length * tokenBytes);

    public async ValueTask WriteAsync(PipeWriter writer, byte[] token, CancellationToken cancellationToken)
    {
        var from = 0;
        foreach (var gap in _gaps)
        {
            writer.Write(_body.AsSpan(from, gap - from));
            writer.Write(token);
            from = gap;
        }

        writer.Write(_body.AsSpan(from));
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The HTML with <paramref name="antiforgeryToken"/> in every gap (for the whole page).</summary>
    public string ToString(string antiforgeryToken)
    {
        var token = EncodeToken(antiforgeryToken);
        var bytes = new byte[Length(token.Length)];
        var at = 0;
        var from = 0;
        foreach (var gap in _gaps)
        {
            _body.AsSpan(from, gap - from).CopyTo(bytes.AsSpan(at));
            at += gap - from;
            token.CopyTo(bytes.AsSpan(at));
            at += token.Length;
            from = gap;
        }

        _body.AsSpan(from).CopyTo(bytes.AsSpan(at));
        return Encoding.UTF8.GetString(bytes);
    }
}
