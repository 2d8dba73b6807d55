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

    [Fact]
    public void Case_is_ignored_and_positional_phrases_are_reported_where_they_start()
    {
        var table = new PhraseTable();
        var status = table.Positional("status");
        var unknown = table.Any("manifest unknown");
        var scanner = table.Build();
        var recorder = new Recorder();
        const string text = "Unexpected STATUS 404: MANIFEST Unknown, status again";

        var found = scanner.Scan(text, ref recorder);

        Assert.True(found.Intersects(status));
        Assert.True(found.Intersects(unknown));
        Assert.Equal([11, 41], recorder.Starts);
        Assert.False(scanner.Scan("manifest unknow").Intersects(unknown));
    }

    [Fact]
    public void Text_longer_than_a_vector_block_and_non_ascii_characters_are_scanned_to_the_end()
    {
        var table = new PhraseTable();
        var tail = table.Any("not found");
        var scanner = table.Build();
        foreach (var padding in new[] { 0, 1, 7, 15, 16, 17, 31, 33 })
        {
            var text = new string('\u00e9', padding) + "\u4e2d NOT FOUND";
            Assert.True(scanner.Scan(text).Intersects(tail), text);
            Assert.False(scanner.Scan(text.AsSpan(0, text.Length - 1)).Intersects(tail), text);
        }
    }

    private struct Recorder : IPhraseVisitor
    {
        public Recorder()
        {
        }

        public List<int> Starts { get; } = [];

        public readonly void Found(int phrase, ReadOnlySpan<char> text, int at) => Starts.Add(at);
    }
}
