using System.Text.Json;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Chat.Teams.Auth;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ChatOpsPull.Tests.Teams;

/// <summary>The outbox delivery against the stand-in's error answers, called directly as the outbox would.</summary>
[Collection(TeamsTestGroup.Name)]
public sealed class TeamsDeliveryTests
{
    /// <summary>An Adaptive Card of a version Teams does not render (it answers 400).</summary>
    private const string CardTeamsRefuses = """{"type":"AdaptiveCard","version":"1.6","body":[{"type":"TextBlock","text":"hi"}]}""";

    private readonly BotConnectorStandIn _standIn;

    public TeamsDeliveryTests(StandInFixture fixture)
    {
        _standIn = fixture.StandIn;
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);
        _standIn.EnforceRateLimits = false;
        _standIn.ClearCalls();
    }

    [Fact]
    public async Task Throttled_send_is_retried_after_the_given_Retry_After()
    {
        await using var host = await JoinedHostAsync();
        _standIn.FailNext(429, TimeSpan.FromSeconds(7));

        var result = await DeliverTextAsync(host, "hello");

        Assert.Equal(DeliveryOutcome.Retry, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(7), result.RetryAfter);
        Assert.Contains("TooManyRequests", result.Error, StringComparison.Ordinal);
        Assert.Equal(DeliveryOutcome.Delivered, (await DeliverTextAsync(host, "hello")).Outcome);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(412)]
    public async Task Server_errors_are_retried(int status)
    {
        await using var host = await JoinedHostAsync();
        _standIn.FailNext(status);

        var result = await DeliverTextAsync(host, "hello");

        Assert.Equal(DeliveryOutcome.Retry, result.Outcome);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public async Task A_refused_token_is_replaced_once_and_the_send_goes_through()
    {
        await using var host = await JoinedHostAsync();
        Assert.Equal(DeliveryOutcome.Delivered, (await DeliverTextAsync(host, "the token is cached now")).Outcome);
        var tokenRequests = _standIn.TokenRequests;
        _standIn.ClearCalls();
        _standIn.FailNext(401);

        var result = await DeliverTextAsync(host, "hello");

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal(tokenRequests + 1, _standIn.TokenRequests);
        Assert.Equal([401, 201], _standIn.Calls.Select(c => c.Status));
    }

    [Fact]
    public async Task A_second_401_goes_back_to_the_outbox_without_a_third_try()
    {
        await using var host = await JoinedHostAsync();
        _standIn.ClearCalls();
        _standIn.FailNext(401, times: 2);

        var result = await DeliverTextAsync(host, "hello");

        Assert.NotEqual(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Contains("HTTP 401", result.Error, StringComparison.Ordinal);
        Assert.Equal([401, 401], _standIn.Calls.Select(c => c.Status));
        Assert.Equal(DeliveryOutcome.Delivered, (await DeliverTextAsync(host, "hello again")).Outcome);
    }

    [Fact]
    public async Task Rate_limit_of_the_thread_is_met_with_429_and_Retry()
    {
        await using var host = await JoinedHostAsync();
        _standIn.EnforceRateLimits = true;

        var results = new List<DeliveryResult>();
        for (var i = 0; i < 10; i++)
        {
            results.Add(await DeliverTextAsync(host, $"message {i}"));
        }

        Assert.Equal(7, results.Count(r => r.Outcome == DeliveryOutcome.Delivered));
        Assert.All(results.Skip(7), r => Assert.Equal((DeliveryOutcome.Retry, TimeSpan.FromSeconds(1)), (r.Outcome, r.RetryAfter)));
    }

    [Fact]
    public async Task Card_Teams_refuses_fails_for_good_with_the_error_body()
    {
        await using var host = await JoinedHostAsync();

        var result = await PostCardAsync(host, "incident:inc-0a0b0c", CardTeamsRefuses, "hi");

        Assert.Equal(DeliveryOutcome.Failed, result.Outcome);
        Assert.Contains("HTTP 400", result.Error, StringComparison.Ordinal);
        Assert.Contains("is not one Teams renders (1.0", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Thread_reply_under_a_card_whose_post_failed_for_good_fails_instead_of_waiting_for_it_forever()
    {
        await using var host = await JoinedHostAsync();
        var post = await PostCardAsync(host, "incident:inc-0d0e0f", CardTeamsRefuses, "hi");
        var calls = _standIn.Calls.Count;

        var reply = await DeliverAsync(host, TeamsMessages.ThreadReply, new TeamsOutboxPayload(TeamsTestHost.GeneralChannel, "incident:inc-0d0e0f", "Bob approved the fix"));

        Assert.Equal(DeliveryOutcome.Failed, post.Outcome);
        Assert.Equal(DeliveryOutcome.Failed, reply.Outcome);
        Assert.Contains("could not be posted", reply.Error, StringComparison.Ordinal);
        Assert.Equal(calls, _standIn.Calls.Count);
    }

    [Fact]
    public async Task Message_over_the_Teams_size_limit_fails_with_MessageSizeTooBig()
    {
        await using var host = await JoinedHostAsync();
        var huge = $$"""{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"{{new string('x', 20_000)}}"}]}""";

        var result = await PostCardAsync(host, "incident:inc-b16b16", huge, "big");

        Assert.Equal(DeliveryOutcome.Failed, result.Outcome);
        Assert.Contains("HTTP 413", result.Error, StringComparison.Ordinal);
        Assert.Contains("MessageSizeTooBig", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conversation_the_bot_never_joined_fails_without_any_call()
    {
        await using var host = new TeamsTestHost(_standIn);

        var result = await DeliverTextAsync(host, "hello", "19:never-joined@thread.tacv2");

        Assert.Equal(DeliveryOutcome.Failed, result.Outcome);
        Assert.Contains("no conversation reference for 19:never-joined@thread.tacv2", result.Error, StringComparison.Ordinal);
        Assert.Empty(_standIn.Calls);
    }

    [Fact]
    public async Task Service_url_outside_the_trust_list_is_never_called()
    {
        await using var host = new TeamsTestHost(_standIn);
        var store = host.Services.GetRequiredService<TeamsConversationStore>();
        await store.SaveReferenceAsync(new TeamsConversationReference("19:planted@thread.tacv2", "https://attacker.example/amer/", null, null, null, null, null, "channel", BotConnectorStandIn.BotId, null), CancellationToken.None);
        var tokensBefore = _standIn.TokenRequests;

        var result = await DeliverTextAsync(host, "hello", "19:planted@thread.tacv2");

        Assert.Equal(DeliveryOutcome.Failed, result.Outcome);
        Assert.Contains("not on Teams:AllowedServiceUrlHosts", result.Error, StringComparison.Ordinal);
        Assert.Equal(tokensBefore, _standIn.TokenRequests);
    }

    [Fact]
    public async Task Rejected_credentials_fail_without_the_secret_in_the_error()
    {
        await using var host = await JoinedHostAsync(new Dictionary<string, string?> { ["Teams:MicrosoftAppPassword"] = "wrong-secret-value" });

        var result = await DeliverTextAsync(host, "hello");

        Assert.Equal(DeliveryOutcome.Failed, result.Outcome);
        Assert.Contains("invalid_client", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-value", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("AADSTS", result.Error, StringComparison.Ordinal);
        Assert.Empty(_standIn.Calls);
    }

    [Fact]
    public async Task Bot_token_is_reused_until_five_minutes_before_it_expires()
    {
        await using var host = new TeamsTestHost(_standIn);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var source = new BotTokenSource(
            host.Services.GetRequiredService<IHttpClientFactory>(),
            host.Services.GetRequiredService<IOptions<TeamsOptions>>(),
            time,
            NullLogger<BotTokenSource>.Instance);
        var before = _standIn.TokenRequests;

        var first = await source.GetAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(54));
        var cached = await source.GetAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(2));
        var renewed = await source.GetAsync(CancellationToken.None);

        Assert.Equal(first.Token, cached.Token);
        Assert.NotEqual(first.Token, renewed.Token);
        Assert.Equal(before + 2, _standIn.TokenRequests);
    }

    private async Task<TeamsTestHost> JoinedHostAsync(IDictionary<string, string?>? settings = null)
    {
        var host = new TeamsTestHost(_standIn, settings: settings);
        using var response = await host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        response.EnsureSuccessStatusCode();
        return host;
    }

    /// <summary>Stores <paramref name="cardJson"/> as the card <paramref name="cardKey"/> of the general channel and delivers its post.</summary>
    private static async Task<DeliveryResult> PostCardAsync(TeamsTestHost host, string cardKey, string cardJson, string summary)
    {
        await host.Services.GetRequiredService<TeamsConversationStore>()
            .SaveCardAsync(TeamsTestHost.GeneralChannel, cardKey, cardJson, cardJson, [], summary, CancellationToken.None);
        return await DeliverAsync(host, TeamsMessages.CardPost, new TeamsOutboxPayload(TeamsTestHost.GeneralChannel, cardKey));
    }

    private static Task<DeliveryResult> DeliverTextAsync(TeamsTestHost host, string text, string conversation = TeamsTestHost.GeneralChannel) =>
        DeliverAsync(host, TeamsMessages.Send, new TeamsOutboxPayload(conversation, Text: text));

    private static async Task<DeliveryResult> DeliverAsync(TeamsTestHost host, string operation, TeamsOutboxPayload payload)
    {
        var delivery = host.Services.GetServices<IOutboxDelivery>().Single(d => d.Platform == ChatPlatform.Teams);
        var message = new OutboxMessage(1, ChatPlatform.Teams, payload.ConversationId, operation, JsonSerializer.Serialize(payload), null, 0, DateTimeOffset.UtcNow);
        return await delivery.DeliverAsync(message, CancellationToken.None);
    }
}
