using ChatOpsPull.Core.Classification;

namespace ChatOpsPull.Core.Tests.Classification;

/// <summary>The one-pass scanner must find exactly what a plain IndexOf per phrase finds.</summary>
public sealed class PhraseScannerTests
{
    private static readonly string[] Phrases =
    [
        "not found", " not found", "notfound", "manifest unknown", "x509:", "tls: ", "dial tcp", "401 unauthorized",
        "unauthorized", "no such host", "..x", "nnn", "..n", "n.n",
    ];

    [Fact]
    public void Scanning_real_messages_finds_exactly_the_phrases_a_naive_search_finds()
    {
        var table = new PhraseTable();
        var masks = Phrases.Select(p => table.Any(p)).ToArray();
        var scanner = table.Build();
        var texts = MessageFixtures.All.Select(f => f.Message.ToLowerInvariant())
            .Concat(["", "no", "nnnn", "..n.n..x", "not found", "xnot foundx not found"]);

        foreach (var text in texts)
        {
            var found = scanner.Scan(text);
            for (var i = 0; i < Phrases.Length; i++)
            {
                Assert.True(
                    found.Intersects(masks[i]) == text.Contains(Phrases[i], StringComparison.Ordinal),
                    $"phrase \"{Phrases[i]}\" in \"{text}\"");
            }
        }
    }

    [Fact]
    public void A_phrase_keeps_its_bit_when_added_again_and_bad_phrases_are_refused()
    {
        var table = new PhraseTable();
        var first = table.Any("not found", "manifest unknown");
        Assert.Equal(first, table.Any("manifest unknown", "not found"));
        Assert.Throws<ArgumentException>(() => table.Any("No"));
        Assert.Throws<ArgumentException>(() => table.Any("ab"));
        Assert.Throws<ArgumentException>(() => table.Any("café"));
    }

    [Fact]
    public void The_table_refuses_more_phrases_than_the_mask_holds()
    {
        var table = new PhraseTable();
        for (var i = 0; i < PhraseMask.Capacity; i++)
        {
            table.Any($"phrase {i:D3}");
        }

        Assert.Throws<InvalidOperationException>(() => table.Any("one too many"));
    }
}
