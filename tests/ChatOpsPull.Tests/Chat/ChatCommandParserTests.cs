using ChatOpsPull.Chat.Commands;

namespace ChatOpsPull.Tests.Chat;

public sealed class ChatCommandParserTests
{
    [Fact]
    public void Known_commands_parse_into_their_records()
    {
        Assert.Equal(new ChatCommand.Status(null), ChatCommandParser.Parse("status"));
        Assert.Equal(new ChatCommand.Status("shop"), ChatCommandParser.Parse("  STATUS   shop "));
        Assert.Equal(new ChatCommand.Diagnose("shop", "api-7d9c-x2x4p"), ChatCommandParser.Parse("diagnose shop/api-7d9c-x2x4p"));
        Assert.Equal(new ChatCommand.Retry("shop", "Deployment", "api"), ChatCommandParser.Parse("retry shop/api"));
        Assert.Equal(new ChatCommand.Retry("data", "StatefulSet", "db"), ChatCommandParser.Parse("retry data/statefulset/db"));
        Assert.Equal(new ChatCommand.Snooze("inc-4f2a9c", TimeSpan.FromMinutes(90)), ChatCommandParser.Parse("snooze inc-4f2a9c 1h30m"));
        Assert.IsType<ChatCommand.Digest>(ChatCommandParser.Parse("digest"));
        Assert.Equal(new ChatCommand.Status(null, "prod-*"), ChatCommandParser.Parse("status --cluster prod-*"));
        Assert.Equal(new ChatCommand.Status("shop", "prod-eu"), ChatCommandParser.Parse("status --cluster=prod-eu shop"));
        Assert.Equal(new ChatCommand.Diagnose("shop", "api-7d9c-x2x4p", "prod-eu"), ChatCommandParser.Parse("diagnose prod-eu/shop/api-7d9c-x2x4p"));
        Assert.Equal(new ChatCommand.Retry("shop", "Deployment", "api", "Prod_EU"), ChatCommandParser.Parse("retry Prod_EU/shop/api"));
        Assert.Equal(new ChatCommand.Retry("data", "StatefulSet", "db", "prod-eu"), ChatCommandParser.Parse("retry prod-eu/data/statefulset/db"));
        Assert.Equal(new ChatCommand.Help(null), ChatCommandParser.Parse(""));
    }

    [Fact]
    public void Check_normalizes_the_image_and_unwraps_slack_links()
    {
        var check = Assert.IsType<ChatCommand.Check>(ChatCommandParser.Parse("check <http://ghcr.io/org/app:1.2|ghcr.io/org/app:1.2>"));
        Assert.Equal("ghcr.io/org/app:1.2", check.Image.ToString());
        Assert.Equal("docker.io/library/nginx:latest", Assert.IsType<ChatCommand.Check>(ChatCommandParser.Parse("check nginx")).Image.ToString());
    }

    [Theory]
    [InlineData("deploy shop/api", "I don't know `deploy`")]
    [InlineData("diagnose api", "`diagnose` needs")]
    [InlineData("diagnose shop/deployment/api", "`diagnose` needs")]
    [InlineData("retry prod/shop/pod/x", "not a workload kind")]
    [InlineData("retry Bad!/shop/api", "is not a cluster name")]
    [InlineData("status --cluster", "`--cluster` takes one cluster name or glob")]
    [InlineData("status --cluster prod/*", "`--cluster` takes one cluster name or glob")]
    [InlineData("status --cluster a --cluster b", "`--cluster` takes one")]
    [InlineData("retry ../../etc/passwd", "is not `<namespace>/<name>`")]
    [InlineData("snooze inc-4f2a9c forever", "is not a duration")]
    [InlineData("snooze inc-4f2a9c 8d", "at most 7 days")]
    [InlineData("snooze ../x 1h", "needs an incident id")]
    [InlineData("check Nginx:Latest", "must be lowercase")]
    [InlineData("status a b", "at most one namespace")]
    public void Bad_input_gets_help_with_the_problem_named(string text, string expected)
    {
        var help = Assert.IsType<ChatCommand.Help>(ChatCommandParser.Parse(text));
        Assert.Contains(expected, help.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Echoed_input_is_shortened_and_cannot_break_out_of_code_formatting()
    {
        var help = Assert.IsType<ChatCommand.Help>(ChatCommandParser.Parse("`" + new string('a', 500) + "\u0007"));
        Assert.True(help.Problem!.Length < 100);
        Assert.Equal(2, help.Problem.Count(c => c == '`'));
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("2h", 7200)]
    [InlineData("1d", 86400)]
    public void Durations_parse(string text, int seconds)
    {
        Assert.True(ChatCommandParser.TryParseDuration(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("0m")]
    [InlineData("-1h")]
    [InlineData("1w")]
    [InlineData("")]
    public void Bad_durations_are_refused(string text) => Assert.False(ChatCommandParser.TryParseDuration(text, out _));
}
