using System.Text;
using ChatOpsPull.Chat.Slack;
using Microsoft.Extensions.Time.Testing;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackSignatureTests
{
    private static readonly string[] Expected = SlackFixtures.Text("signature-example-expected.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
    private static readonly string Secret = Expected[0];
    private static readonly string Timestamp = Expected[1];
    private static readonly string Signature = Expected[2];
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(SlackFixtures.Text("signature-example-body.txt"));

    [Fact]
    public void Slacks_documented_example_computes_the_documented_signature()
    {
        Assert.Equal("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", Signature);
        Assert.Equal(Signature, SlackSignature.Compute(Secret, Timestamp, Body));
    }

    [Fact]
    public void Slacks_documented_example_verifies_at_its_own_time()
    {
        var signature = new SlackSignature(Secret, At(1531420618 + 30));
        Assert.Equal(SignatureCheck.Valid, signature.Verify(Timestamp, Signature, Body));
    }

    [Fact]
    public void A_changed_body_or_another_secret_does_not_verify()
    {
        var changed = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("roadrunner", "coyote", StringComparison.Ordinal));
        Assert.Equal(SignatureCheck.Mismatch, new SlackSignature(Secret, At(1531420618)).Verify(Timestamp, Signature, changed));
        Assert.Equal(SignatureCheck.Mismatch, new SlackSignature("8f742231b10e8888abcd99yyyzzz85a6", At(1531420618)).Verify(Timestamp, Signature, Body));
    }

    [Theory]
    [InlineData(-301, SignatureCheck.StaleTimestamp)]
    [InlineData(301, SignatureCheck.StaleTimestamp)]
    [InlineData(-300, SignatureCheck.Valid)]
    [InlineData(300, SignatureCheck.Valid)]
    [InlineData(-86_400, SignatureCheck.StaleTimestamp)]
    public void Timestamps_more_than_five_minutes_from_now_are_refused_both_ways(int nowMinusTimestamp, SignatureCheck expected)
    {
        var signature = new SlackSignature(Secret, At(1531420618 + nowMinusTimestamp));
        Assert.Equal(expected, signature.Verify(Timestamp, Signature, Body));
    }

    [Theory]
    [InlineData(null, "v0=abc", SignatureCheck.MissingHeaders)]
    [InlineData("1531420618", null, SignatureCheck.MissingHeaders)]
    [InlineData("", "", SignatureCheck.MissingHeaders)]
    [InlineData("abc", "v0=abc", SignatureCheck.BadTimestamp)]
    [InlineData("-1531420618", "v0=abc", SignatureCheck.BadTimestamp)]
    [InlineData("1.5e9", "v0=abc", SignatureCheck.BadTimestamp)]
    [InlineData(" 1531420618", "v0=abc", SignatureCheck.BadTimestamp)]
    [InlineData("99999999999999999999", "v0=abc", SignatureCheck.BadTimestamp)]
    public void Missing_headers_and_non_numeric_timestamps_are_refused(string? timestamp, string? signature, SignatureCheck expected)
    {
        Assert.Equal(expected, new SlackSignature(Secret, At(1531420618)).Verify(timestamp, signature, Body));
    }

    [Theory]
    [InlineData("v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503")]
    [InlineData("v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")]
    [InlineData("a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")]
    [InlineData("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50")]
    [InlineData("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503 ")]
    [InlineData("v0=ä2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")]
    public void Near_miss_signatures_are_refused(string forged)
    {
        Assert.Equal(SignatureCheck.Mismatch, new SlackSignature(Secret, At(1531420618)).Verify(Timestamp, forged, Body));
    }

    private static FakeTimeProvider At(long unixSeconds) => new(DateTimeOffset.FromUnixTimeSeconds(unixSeconds));
}
