using System.Net;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Chat.Teams.Auth;
using ChatOpsPull.Chat.Teams.Cards;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatOpsPull.Bench;

/// <summary>
/// The cost of checking one inbound Bot Connector token (keys cached, as in steady state) and of rendering cards.
/// Metadata and keys are served from memory: no network in the measured path.
/// </summary>
[MemoryDiagnoser]
public class TeamsBenchmarks
{
    private const string AppId = "3f0c3a4e-7a43-4f3d-9f3a-6b1a2c3d4e5f";
    private const string ServiceUrl = "https://smba.trafficmanager.net/amer/";
    private RSA _rsa = null!;
    private BotFrameworkTokenValidator _validator = null!;
    private string _authorization = null!;
    private Card _incident = null!;
    private Card _storm = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _rsa = RSA.Create(2048);
        var p = _rsa.ExportParameters(false);
        var jwks = $$"""{"keys":[{"kty":"RSA","use":"sig","kid":"k1","n":"{{Base64UrlEncoder.Encode(p.Modulus)}}","e":"{{Base64UrlEncoder.Encode(p.Exponent)}}","endorsements":["msteams"]}]}""";
        var metadata = """{"issuer":"https://api.botframework.com","jwks_uri":"https://login.botframework.com/v1/.well-known/keys","id_token_signing_alg_values_supported":["RS256"]}""";
        var options = Options.Create(new TeamsOptions { MicrosoftAppId = AppId, MicrosoftAppPassword = "x" });
        _validator = new BotFrameworkTokenValidator(options, TimeProvider.System, new InMemoryClients(metadata, jwks), NullLogger<BotFrameworkTokenValidator>.Instance);
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://api.botframework.com",
            Audience = AppId,
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["serviceurl"] = ServiceUrl },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        });
        _authorization = "Bearer " + token;
        var check = await _validator.ValidateAsync(_authorization, ServiceUrl, "msteams", CancellationToken.None);
        if (check.Outcome != TokenOutcome.Valid)
        {
            throw new InvalidOperationException("setup token invalid: " + check.Reason);
        }

        _incident = IncidentCard(pods: 3);
        _storm = IncidentCard(pods: 5000);
    }

    [GlobalCleanup]
    public void Cleanup() => _rsa.Dispose();

    [Benchmark]
    public Task<TokenCheck> ValidateBotConnectorToken() => _validator.ValidateAsync(_authorization, ServiceUrl, "msteams", CancellationToken.None);

    [Benchmark]
    public string RenderIncidentCard() => AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(_incident, new CardView(false, ["29:1a"])));

    [Benchmark]
    public string RenderStormCardCutToFit() => AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(_storm, CardView.Everyone));

    private static Card IncidentCard(int pods) => new(
        "incident:inc-4f2a9c",
        "shop/api cannot pull its image: tag not found",
        CardTone.Bad,
        "shop/api: tag not found",
        [new CardFact("Cluster", "prod-eu"), new CardFact("Namespace", "shop"), new CardFact("Image", "registry.example.com/shop/api:1.4.3")],
        [
            CardSection.List("Evidence", [new CardLine("GET /v2/shop/api/manifests/1.4.3 → 404 MANIFEST_UNKNOWN (58 ms)", LineMark.Failed)]),
            CardSection.List("Pods", Enumerable.Range(1, pods).Select(i => new CardLine($"api-7d9c5b-{i:x4} ImagePullBackOff")).ToList()),
            CardSection.Code("Runtime message", "failed to resolve reference: registry.example.com/shop/api:1.4.3: not found"),
        ],
        [
            new CardAction("Set tag 1.4.2", new CardActionPayload(CardVerb.Request, "inc-4f2a9c", "set_tag:container=api,tag=1.4.2"), ActionStyle.Primary, new CardConfirm("Change the image?", "Sets tag 1.4.2.")),
            new CardAction("Approve", new CardActionPayload(CardVerb.Approve, "apr-7c1d2e"), ActionStyle.Primary),
            new CardAction("Deny", new CardActionPayload(CardVerb.Deny, "apr-7c1d2e"), ActionStyle.Danger),
        ]);

    private sealed class InMemoryClients(string metadata, string jwks) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(new Documents(metadata, jwks));

        private sealed class Documents(string metadata, string jwks) : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent(request.RequestUri!.AbsolutePath.EndsWith("/keys", StringComparison.Ordinal) ? jwks : metadata, Encoding.UTF8, "application/json"),
                });
        }
    }
}
