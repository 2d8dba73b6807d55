using System.Globalization;
using System.Text.Json;

namespace ChatOpsPull.Registry;

/// <summary>
/// What can be read about when a registry credential stops working, from the credential alone:
/// the <c>exp</c> claim of a JWT (ACR refresh tokens, GitLab and Harbor tokens, identity tokens),
/// the <c>expiration</c> inside an Amazon ECR token (12 hours), or what is known about Google OAuth access tokens (1 hour, not readable).
/// </summary>
/// <param name="ExpiresAt">When it expires, when readable.</param>
/// <param name="Kind">What the credential looks like: "JWT", "Amazon ECR token", "Google OAuth access token".</param>
public sealed record CredentialLifetime(DateTimeOffset? ExpiresAt, string Kind)
{
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } at && at <= now;

    /// <summary>"expired 2h ago (2024-05-01 10:00 UTC)", "expires in 3h (…)", or why the expiry is unknown.</summary>
    public string Describe(DateTimeOffset now)
    {
        if (ExpiresAt is not { } at)
        {
            return Kind == GoogleAccessToken
                ? "Google OAuth access token: valid 1 hour from issue; its expiry cannot be read from the token"
                : $"{Kind}: no expiry readable";
        }

        var when = at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return at <= now
            ? $"{Kind} expired {Span(now - at)} ago ({when})"
            : $"{Kind} expires in {Span(at - now)} ({when})";
    }

    internal const string GoogleAccessToken = "Google OAuth access token";

    /// <summary>"45s", "12m", "3h", "2h 5m", "4d".</summary>
    public static string Span(TimeSpan span)
    {
        span = span.Duration();
        if (span < TimeSpan.FromMinutes(1))
        {
            return $"{(int)span.TotalSeconds}s";
        }

        if (span < TimeSpan.FromHours(1))
        {
            return $"{(int)span.TotalMinutes}m";
        }

        if (span < TimeSpan.FromDays(2))
        {
            return span.Minutes == 0 ? $"{(int)span.TotalHours}h" : $"{(int)span.TotalHours}h {span.Minutes}m";
        }

        return $"{(int)span.TotalDays}d";
    }

    /// <summary>Reads what the credential reveals; null when it reveals nothing (an opaque password or token).</summary>
    public static CredentialLifetime? Read(string? username, string? password, string? identityToken, string? registryToken)
    {
        foreach (var token in new[] { registryToken, identityToken, password })
        {
            if (JwtExpiry(token) is { } lifetime)
            {
                return lifetime;
            }
        }

        if (string.Equals(username, "AWS", StringComparison.Ordinal) && EcrExpiry(password) is { } ecr)
        {
            return ecr;
        }

        if (string.Equals(username, "oauth2accesstoken", StringComparison.Ordinal) && password is not null && password.StartsWith("ya29.", StringComparison.Ordinal))
        {
            return new CredentialLifetime(null, GoogleAccessToken);
        }

        return null;
    }

    private static CredentialLifetime? JwtExpiry(string? token)
    {
        if (token is null || token.Length > 16_384)
        {
            return null;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || DecodeBase64Url(parts[0]) is not { } header || DecodeBase64Url(parts[1]) is not { } payload)
        {
            return null;
        }

        try
        {
            using var headerJson = JsonDocument.Parse(header);
            if (headerJson.RootElement.ValueKind != JsonValueKind.Object || !headerJson.RootElement.TryGetProperty("alg", out _))
            {
                return null;
            }

            using var payloadJson = JsonDocument.Parse(payload);
            if (payloadJson.RootElement.ValueKind == JsonValueKind.Object
                && payloadJson.RootElement.TryGetProperty("exp", out var exp)
                && exp.ValueKind == JsonValueKind.Number
                && exp.TryGetDouble(out var seconds))
            {
                return new CredentialLifetime(DateTimeOffset.FromUnixTimeSeconds((long)seconds), "JWT");
            }

            return new CredentialLifetime(null, "JWT without exp");
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>ECR's password is base64 of {"payload":…,"datakey":…,"version":"2","type":"DATA_KEY","expiration":epoch-seconds}.</summary>
    private static CredentialLifetime? EcrExpiry(string? password)
    {
        if (password is null || password.Length > 65_536)
        {
            return null;
        }

        try
        {
            var json = Convert.FromBase64String(password);
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("expiration", out var expiration)
                && expiration.ValueKind == JsonValueKind.Number
                && expiration.TryGetInt64(out var seconds))
            {
                return new CredentialLifetime(DateTimeOffset.FromUnixTimeSeconds(seconds), "Amazon ECR token");
            }
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }

        return null;
    }

    private static byte[]? DecodeBase64Url(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        s += (s.Length % 4) switch { 2 => "==", 3 => "=", _ => string.Empty };
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
