using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Tests.Images;

public sealed class TagSuggestionsTests
{
    private static readonly string[] AppTags = ["1.4.0", "1.4.2", "1.5.0", "2.0.0", "latest", "main", "sha-3f2a9c1"];

    [Fact]
    public void Missing_patch_suggests_the_closest_lower_patch_then_the_newest_of_the_major()
    {
        var suggestions = TagSuggestions.For("1.4.3", AppTags);

        Assert.Equal(["1.4.2", "1.5.0"], suggestions.Select(s => s.Tag));
        Assert.Equal(TagSuggestionReason.ClosestLowerVersion, suggestions[0].Reason);
        Assert.Equal("closest lower 1.4 version", suggestions[0].Explanation);
        Assert.Equal("newest 1.x", suggestions[1].Explanation);
    }

    [Fact]
    public void Typo_in_a_name_suggests_the_name()
    {
        var suggestions = TagSuggestions.For("lates", AppTags);

        Assert.Equal("latest", suggestions[0].Tag);
        Assert.Equal(TagSuggestionReason.ClosestName, suggestions[0].Reason);
    }

    [Fact]
    public void Wrong_case_is_the_closest_name()
    {
        Assert.Equal("latest", TagSuggestions.For("Latest", AppTags)[0].Tag);
    }

    [Fact]
    public void Missing_latest_suggests_the_newest_release()
    {
        var suggestions = TagSuggestions.For("latest", ["1.0.0", "1.10.0", "1.9.3", "1.11.0-rc1"]);

        Assert.Equal("1.10.0", Assert.Single(suggestions).Tag);
        Assert.Equal(TagSuggestionReason.NewestRelease, suggestions[0].Reason);
    }

    [Fact]
    public void Version_order_is_numeric_not_lexical()
    {
        var suggestions = TagSuggestions.For("1.10.5", ["1.9.0", "1.10.4", "1.10.10", "1.2.0"]);

        Assert.Equal(["1.10.4", "1.10.10"], suggestions.Select(s => s.Tag));
    }

    [Fact]
    public void Suffix_and_v_prefix_must_agree()
    {
        var tags = new[] { "1.25.2", "1.25.2-alpine", "1.25.4-alpine", "v1.25.1-alpine", "1.26.0-alpine" };

        var suggestions = TagSuggestions.For("1.25.3-alpine", tags);

        Assert.Equal(["1.25.2-alpine", "1.26.0-alpine"], suggestions.Select(s => s.Tag));
    }

    [Fact]
    public void Missing_major_line_suggests_the_newest_release()
    {
        var suggestions = TagSuggestions.For("3.0.0", AppTags);

        Assert.Equal("2.0.0", Assert.Single(suggestions).Tag);
        Assert.Equal(TagSuggestionReason.NewestRelease, suggestions[0].Reason);
    }

    [Fact]
    public void Nothing_lower_in_the_line_suggests_the_closest_higher()
    {
        var suggestions = TagSuggestions.For("1.3.9", ["1.4.0", "1.4.2", "2.0.0"]);

        Assert.Equal(["1.4.0", "1.4.2"], suggestions.Select(s => s.Tag));
        Assert.Equal(TagSuggestionReason.ClosestHigherVersion, suggestions[0].Reason);
    }

    [Fact]
    public void Two_part_versions_use_the_major_line()
    {
        var suggestions = TagSuggestions.For("3.19", ["3.17", "3.18", "3.20", "edge"]);

        Assert.Equal(["3.18", "3.20"], suggestions.Select(s => s.Tag));
    }

    [Fact]
    public void Nothing_close_suggests_nothing_for_versions_with_no_kin()
    {
        Assert.Empty(TagSuggestions.For("1.0.0", ["main", "dev"]));
        Assert.Empty(TagSuggestions.For("anything", []));
    }

    [Theory]
    [InlineData("latest", "lates", 1)]
    [InlineData("1.4.2", "1.2.4", 2)]
    [InlineData("main", "mian", 1)]
    [InlineData("", "abc", 3)]
    public void Edit_distance_counts_adjacent_swaps_as_one(string a, string b, int expected)
    {
        Assert.Equal(expected, TagSuggestions.EditDistance(a, b));
    }
}
