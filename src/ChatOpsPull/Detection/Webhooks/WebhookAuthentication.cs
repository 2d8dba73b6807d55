using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>What the credentials of a request say, before and after the body is read.</summary>
public enum CredentialCheck
{
    /// <summary>Valid bearer token, or anonymous access allowed.</summary>
    Accepted,

    /// <summary>Signature headers are present and fresh; the signature is checked once the body is read.</summary>
    SignatureToVerify,

    /// <summary>The endpoint has no credentials configured and anonymous access is off.</summary>
    NotConfigured,

    /// <summary>No credentials the endpoint accepts.</summary>
    Missing,

    /// <summary>Credentials present but wrong, malformed or stale.</summary>
    Rejected,
}

public readonly record struct CredentialResult(CredentialCheck Check, string Detail)
{
    public static CredentialResult Accepted { get; } = new(CredentialCheck.Accepted, string.Empty);
}

/// <summary>
/// Checks one endpoint's callers: <c>Authorization: Bearer &lt;token&gt;</c>, or an HMAC-SHA256 signature of
/// <c>"{timestamp}.{raw body}"</c> in <see cref="SignatureHeader"/> (<c>sha256=&lt;hex&gt;</c>) with the Unix time in seconds in
/// <see cref="TimestampHeader"/>. Comparisons are constant-time; details never contain a credential.
/// </summary>
public sealed class WebhookAuthentication
{
    public const string TimestampHeader = "X-ChatOpsPull-Timestamp";
    public const string SignatureHeader = "X-ChatOpsPull-Signature";
    public const string SignaturePrefix = "sha256=";

    private readonly WebhookAuthOptions _options;
    private readonly TimeProvider _time;
    private readonly byte[]? _tokenHash;
    private readonly byte[]? _hmacKey;

    public WebhookAuthentication(WebhookAuthOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _tokenHash = string.IsNullOrEmpty(options.BearerToken) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.BearerToken));
        _hmacKey = string.IsNullOrEmpty(options.HmacSecret) ? null : Encoding.UTF8.GetBytes(options.HmacSecret);
    }

    /// <summary>The signature header value for a body, as a sender computes it.</summary>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        AppendSignedContent(hmac, unixSeconds.ToString(CultureInfo.InvariantCulture), body);
        return SignaturePrefix + Convert.ToHexStringLower(hmac.GetHashAndReset());
    }

    /// <summary>Checks what the headers alone can tell.</summary>
    public CredentialResult CheckHeaders(IHeaderDictionary headers)
    {
        if (_tokenHash is null && _hmacKey is null)
        {
            return _options.AllowAnonymous
                ? CredentialResult.Accepted
                : new(CredentialCheck.NotConfigured, $"This endpoint has no credentials configured: set {_options.SectionName}:BearerToken or {_options.SectionName}:HmacSecret (or {_options.SectionName}:AllowAnonymous=true for local testing).");
        }

        if (_options.AllowAnonymous)
        {
            return CredentialResult.Accepted;
        }

        var authorization = headers.Authorization;
        if (_tokenHash is not null && !StringValues.IsNullOrEmpty(authorization))
        {
            return CheckBearer(authorization);
        }

        var signature = headers[SignatureHeader];
        if (_hmacKey is not null && !StringValues.IsNullOrEmpty(signature))
        {
            return CheckTimestamp(headers[TimestampHeader]);
        }

        var expected = (_tokenHash, _hmacKey) switch
        {
            (not null, not null) => $"an Authorization: Bearer header or the {SignatureHeader} and {TimestampHeader} headers",
            (not null, null) => "an Authorization: Bearer header",
            _ => $"the {SignatureHeader} and {TimestampHeader} headers",
        };
        return new(CredentialCheck.Missing, $"Credentials are missing: this endpoint expects {expected}.");
    }

    /// <summary>After <see cref="CredentialCheck.SignatureToVerify"/>: checks the signature over the raw body.</summary>
    public CredentialResult CheckSignature(IHeaderDictionary headers, ReadOnlySpan<byte> body)
    {
        if (_hmacKey is null)
        {
            return new(CredentialCheck.Rejected, "This endpoint does not accept signatures.");
        }

        var presented = headers[SignatureHeader].ToString();
        if (!presented.StartsWith(SignaturePrefix, StringComparison.Ordinal))
        {
            return new(CredentialCheck.Rejected, $"{SignatureHeader} must be \"{SignaturePrefix}\" followed by the hex HMAC-SHA256.");
        }

        Span<byte> presentedMac = stackalloc byte[32];
        var hex = presented.AsSpan(SignaturePrefix.Length);
        if (hex.Length != 64 || Convert.FromHexString(hex, presentedMac, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return new(CredentialCheck.Rejected, $"{SignatureHeader} must be \"{SignaturePrefix}\" followed by 64 hex digits.");
        }

        Span<byte> expectedMac = stackalloc byte[32];
        using (var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _hmacKey))
        {
            AppendSignedContent(hmac, headers[TimestampHeader].ToString(), body);
            hmac.GetHashAndReset(expectedMac);
        }

        return CryptographicOperations.FixedTimeEquals(presentedMac, expectedMac)
            ? CredentialResult.Accepted
            : new(CredentialCheck.Rejected, $"{SignatureHeader} does not match the body: sign \"{{timestamp}}.{{raw body}}\" with HMAC-SHA256 and the shared secret.");
    }

    private CredentialResult CheckBearer(StringValues authorization)
    {
        var value = authorization.ToString().AsSpan().Trim();
        const string scheme = "Bearer ";
        if (authorization.Count != 1 || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return new(CredentialCheck.Rejected, "The Authorization header must use the Bearer scheme.");
        }

        var token = value[scheme.Length..].Trim();
        Span<byte> presentedHash = stackalloc byte[32];
        var byteCount = Encoding.UTF8.GetByteCount(token);
        var bytes = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(token, bytes);
        SHA256.HashData(bytes, presentedHash);
        return CryptographicOperations.FixedTimeEquals(presentedHash, _tokenHash)
            ? CredentialResult.Accepted
            : new(CredentialCheck.Rejected, "The bearer token is not the one configured for this endpoint.");
    }

    private CredentialResult CheckTimestamp(StringValues timestampHeader)
    {
        if (timestampHeader.Count != 1 || !long.TryParse(timestampHeader.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return new(CredentialCheck.Rejected, $"{TimestampHeader} must be the Unix time in seconds when the request was signed.");
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > _options.SignatureToleranceSeconds)
        {
            return new(CredentialCheck.Rejected, $"{TimestampHeader} is more than {_options.SignatureToleranceSeconds} seconds away from the bot's clock; sign each request when it is sent.");
        }

        return new(CredentialCheck.SignatureToVerify, string.Empty);
    }

    private static void AppendSignedContent(IncrementalHash hmac, string timestamp, ReadOnlySpan<byte> body)
    {
        hmac.AppendData(Encoding.UTF8.GetBytes(timestamp));
        hmac.AppendData("."u8);
        hmac.AppendData(body);
    }
}
