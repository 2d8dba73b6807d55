using System.Text.Json;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;

namespace ChatOpsPull.Chat.Teams.Auth;

/// <summary>
/// The Bot Connector's OpenID metadata and its signing keys, with each key's <c>endorsements</c>
/// (the channel ids a key may vouch for), as published at the metadata document's <c>jwks_uri</c>.
/// </summary>
public sealed class BotFrameworkSigningKeys
{
    public BotFrameworkSigningKeys(string? issuer, IReadOnlyList<string> algorithms, IReadOnlyDictionary<string, SigningKey> keys)
    {
        Issuer = issuer;
        Algorithms = algorithms;
        Keys = keys;
    }

    public string? Issuer { get; }

    /// <summary><c>id_token_signing_alg_values_supported</c> (RS256 for the Bot Connector).</summary>
    public IReadOnlyList<string> Algorithms { get; }

    /// <summary>By <c>kid</c>.</summary>
    public IReadOnlyDictionary<string, SigningKey> Keys { get; }

    public sealed record SigningKey(SecurityKey Key, IReadOnlyList<string> Endorsements);
}

/// <summary>
/// Reads the metadata document, then its <c>jwks_uri</c>, keeping the <c>endorsements</c> array that the plain
/// OpenID Connect retriever drops. Used by <see cref="ConfigurationManager{T}"/> for caching and refresh.
/// </summary>
public sealed class BotFrameworkSigningKeysRetriever : IConfigurationRetriever<BotFrameworkSigningKeys>
{
    public async Task<BotFrameworkSigningKeys> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
    {
        var metadataJson = await retriever.GetDocumentAsync(address, cancel).ConfigureAwait(false);
        using var metadata = JsonDocument.Parse(metadataJson);
        var root = metadata.RootElement;
        var jwksUri = root.TryGetProperty("jwks_uri", out var uri) && uri.ValueKind == JsonValueKind.String ? uri.GetString() : null;
        if (string.IsNullOrEmpty(jwksUri))
        {
            throw new InvalidOperationException($"The OpenID metadata at {address} has no jwks_uri.");
        }

        var issuer = root.TryGetProperty("issuer", out var iss) && iss.ValueKind == JsonValueKind.String ? iss.GetString() : null;
        var algorithms = new List<string>();
        if (root.TryGetProperty("id_token_signing_alg_values_supported", out var algs) && algs.ValueKind == JsonValueKind.Array)
        {
            algorithms.AddRange(algs.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!));
        }

        if (algorithms.Count == 0)
        {
            algorithms.Add(SecurityAlgorithms.RsaSha256);
        }

        var keysJson = await retriever.GetDocumentAsync(jwksUri, cancel).ConfigureAwait(false);
        var keys = new Dictionary<string, BotFrameworkSigningKeys.SigningKey>(StringComparer.Ordinal);
        using var keysDocument = JsonDocument.Parse(keysJson);
        if (!keysDocument.RootElement.TryGetProperty("keys", out var keyArray) || keyArray.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidOperationException($"The signing key document at {jwksUri} has no \"keys\" array.");
        }

        foreach (var element in keyArray.EnumerateArray())
        {
            var jwk = new JsonWebKey(element.GetRawText());
            if (string.IsNullOrEmpty(jwk.Kid) || jwk.Kty != JsonWebAlgorithmsKeyTypes.RSA || (jwk.Use is { Length: > 0 } use && use != "sig"))
            {
                continue;
            }

            var endorsements = new List<string>();
            if (element.TryGetProperty("endorsements", out var e) && e.ValueKind == JsonValueKind.Array)
            {
                endorsements.AddRange(e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
            }

            keys[jwk.Kid] = new BotFrameworkSigningKeys.SigningKey(jwk, endorsements);
        }

        return new BotFrameworkSigningKeys(issuer, algorithms, keys);
    }
}
