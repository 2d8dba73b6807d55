using ChatOpsPull.Core.Prevention;

namespace ChatOpsPull.Core.Tests.Prevention;

/// <summary>Warnings within the documented limits: 120 characters where possible, never over 256, not too many, one line each.</summary>
public sealed class AdmissionWarningsTests
{
    [Fact]
    public void Short_warnings_pass_as_they_are_once_each()
    {
        var fitted = AdmissionWarnings.Fit(["image shop/web:1.4.3 does not exist in registry.example.com; nearest tag 1.4.2", "image shop/web:1.4.3 does not exist in registry.example.com; nearest tag 1.4.2", " "]);

        Assert.Equal(["image shop/web:1.4.3 does not exist in registry.example.com; nearest tag 1.4.2"], fitted);
    }

    [Fact]
    public void Too_many_warnings_end_with_how_many_more_there_are()
    {
        var fitted = AdmissionWarnings.Fit(Enumerable.Range(0, 20).Select(i => $"image app:{i} does not exist"));

        Assert.Equal(AdmissionWarnings.MaxCount, fitted.Count);
        Assert.Equal("chatopspull: 13 more images cannot be pulled; see the bot's card", fitted[^1]);
    }

    [Fact]
    public void A_long_warning_is_cut_to_256_and_control_characters_become_spaces()
    {
        var fitted = AdmissionWarnings.Fit([new string('x', 300) + "\r\nWarning: 299 - \"forged\""]);

        var only = Assert.Single(fitted);
        Assert.Equal(AdmissionWarnings.MaxLength, only.Length);
        Assert.EndsWith("…", only, StringComparison.Ordinal);
        Assert.DoesNotContain(only, char.IsControl);
    }

    [Fact]
    public void A_long_image_name_keeps_its_registry_and_its_end()
    {
        var image = "registry.example.com/" + string.Join('/', Enumerable.Repeat("team", 30)) + "/web:1.4.3";

        var shown = AdmissionWarnings.ShortImage(image);

        Assert.True(shown.Length <= 60, shown);
        Assert.StartsWith("registry.example.com/…", shown, StringComparison.Ordinal);
        Assert.EndsWith("/web:1.4.3", shown, StringComparison.Ordinal);
        Assert.Equal("shop/web:1.4.3", AdmissionWarnings.ShortImage("shop/web:1.4.3"));
    }
}
