using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>The generic webhook with both a bearer token and an HMAC secret configured: either one lets a request in.</summary>
public sealed class GenericWebhookBearerTests : IClassFixture<TokenBot>
{
    private readonly BotOnKestrel _bot;

    public GenericWebhookBearerTests(TokenBot fixture)
    {
        _bot = fixture.Bot;
    }

    [Fact]
    public async Task Bearer_token_is_accepted()
    {
        using var client = _bot.CreateClient();

        using var response = await client.SendAsync(BearerRequest("generic-bearer", AlertmanagerFixture.BearerToken));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_bot.Sink.Reports("generic-bearer"));
    }

    [Fact]
    public async Task Signature_is_accepted_too()
    {
        using var client = _bot.CreateClient();

        using var response = await client.SendAsync(WebhookCalls.SignedGenericRequest(Body("generic-bearer-signed")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_bot.Sink.Reports("generic-bearer-signed"));
    }

    [Fact]
    public async Task Wrong_bearer_token_is_401_even_with_a_valid_signature()
    {
        using var client = _bot.CreateClient();
        using var request = WebhookCalls.SignedGenericRequest(Body("generic-bearer-wrong"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token-0123456789abcdef");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_bot.Sink.Reports("generic-bearer-wrong"));
    }

    private static HttpRequestMessage BearerRequest(string ns, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "alerts") { Content = new StringContent(Body(ns), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static string Body(string ns) => $$"""{"status":"firing","namespace":"{{ns}}","pod":"web-0","reason":"ErrImagePull"}""";
}
