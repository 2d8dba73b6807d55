using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Commands;

/// <summary><c>check &lt;image&gt;</c> through Slack against Debian's docker-registry (anonymous and htpasswd) started by the registry fixture.</summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class CheckCommandTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly string _credentials = Path.Combine(Path.GetTempPath(), "chatopspull-check-" + Guid.NewGuid().ToString("N") + ".json");
    private FakeSlackServer _slack = null!;
    private SlackTestHost _host = null!;

    public async Task InitializeAsync()
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.BasicUser}:{RegistryFixture.BasicPassword}"));
        var config = new JsonObject { ["auths"] = new JsonObject { [$"http://{registry.Basic}"] = new JsonObject { ["auth"] = auth } } };
        await File.WriteAllTextAsync(_credentials, config.ToJsonString());
        _slack = await FakeSlackServer.StartAsync();
        _host = SlackTestHost.Start(_slack, new Dictionary<string, string?>
        {
            ["Slack:InlineReplyBudget"] = "00:00:00",
            ["Kubernetes:WatchEnabled"] = "false",
            ["Registry:Hosts:0:Host"] = registry.Anonymous,
            ["Registry:Hosts:0:PlainHttp"] = "true",
            ["Registry:Hosts:1:Host"] = registry.Basic,
            ["Registry:Hosts:1:PlainHttp"] = "true",
            ["Commands:CheckCredentialsFile"] = _credentials,
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _slack.DisposeAsync();
        SlackTestHost.DeleteDirectory(_host.DataDirectory);
        File.Delete(_credentials);
    }

    private async Task<JsonObject> AskAsync(string text)
    {
        var before = _slack.CallsTo("response_url").Count;
        using var response = await _host.PostCommandAsync(SlackCommandEndpointTests.Form(text, _slack.NewResponseUrl()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SlackInbound.WorkingOnIt, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["text"]!.GetValue<string>());
        await _slack.WaitUntilAsync(calls => calls.Count(c => c.Method == "response_url") > before, TimeSpan.FromSeconds(40), "the check follow-up");
        var followUp = _slack.CallsTo("response_url")[before];
        Assert.True(followUp.Ok, followUp.Error);
        Assert.Equal("ephemeral", followUp.Body["response_type"]!.GetValue<string>());
        Assert.Empty(BlockKitRules.Check(followUp.Body));
        return followUp.Body;
    }

    [Fact]
    public async Task Missing_tag_is_answered_with_the_cause_the_evidence_and_tags_that_exist()
    {
        var texts = CommandTestKit.BlockTexts(await AskAsync($"check {registry.Anonymous}/team/app:1.4.3"));

        Assert.Contains($"{registry.Anonymous}/team/app:1.4.3: Image or tag not found", texts, StringComparison.Ordinal);
        Assert.Contains("image_not_found (high confidence)", texts, StringComparison.Ordinal);
        Assert.Contains("anonymous", texts, StringComparison.Ordinal);
        Assert.Contains("No entry of the configured credentials matches", texts, StringComparison.Ordinal);
        Assert.Contains("`1.4.2`", texts, StringComparison.Ordinal);
        Assert.Matches(@"TCP 127\.0\.0\.1:\d+\*: connected", texts);
    }

    [Fact]
    public async Task Private_image_is_checked_with_the_configured_credentials_whose_secret_never_shows()
    {
        var answer = await AskAsync($"check {registry.Basic}/private/app:1.0");
        var raw = answer.ToJsonString();
        var texts = CommandTestKit.BlockTexts(answer);

        Assert.Contains("can be pulled", texts, StringComparison.Ordinal);
        Assert.Contains("the username/password from", texts, StringComparison.Ordinal);
        Assert.DoesNotContain(RegistryFixture.BasicUser, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(RegistryFixture.BasicPassword, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.BasicUser}:{RegistryFixture.BasicPassword}")), raw, StringComparison.Ordinal);
    }
}
