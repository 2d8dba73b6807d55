using System.Text;
using ChatOpsPull.Chat.Slack;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackFormTests
{
    [Fact]
    public void The_documented_slash_command_form_decodes()
    {
        Assert.True(SlackForm.TryParse(Encoding.UTF8.GetBytes(SlackFixtures.Text("signature-example-body.txt")), out var fields, out _));
        Assert.Equal("/webhook-collect", fields["command"]);
        Assert.Equal(string.Empty, fields["text"]);
        Assert.Equal("https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN", fields["response_url"]);
        Assert.Equal("U2CERLKJA", fields["user_id"]);
    }

    [Fact]
    public void Plus_and_percent_escapes_and_utf8_decode()
    {
        Assert.True(SlackForm.TryParse("text=diagnose+shop%2Fapi+%C3%A9%E2%9C%85"u8, out var fields, out _));
        Assert.Equal("diagnose shop/api é✅", fields["text"]);
    }

    [Theory]
    [InlineData("text=%zz")]
    [InlineData("text=%4")]
    [InlineData("text=%C3%28")]
    [InlineData("text=%00")]
    [InlineData("=value")]
    [InlineData("novalue")]
    [InlineData("text=a&text=b")]
    [InlineData("text=a\nb")]
    public void Malformed_forms_are_refused(string body)
    {
        Assert.False(SlackForm.TryParse(Encoding.UTF8.GetBytes(body), out _, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Invalid_raw_utf8_bytes_are_refused()
    {
        Assert.False(SlackForm.TryParse([(byte)'t', (byte)'=', 0xC3, 0x28], out _, out _));
    }
}
