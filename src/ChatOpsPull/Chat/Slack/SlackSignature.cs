using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ChatOpsPull.Chat.Slack;

public enum SignatureCheck
{
    Valid,
    MissingHeaders,
    BadTimestamp,
    StaleTimestamp,
    Mismatch,
}

/// <summary>
/// Slack request signing: <c>X-Slack-Signature</c> is "v0=" + hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}"
/// keyed with the signing secret. Timestamps more than five minutes away from now (either way) are refused as replays.
/// </summary>
public sealed class SlackSignature
{
    public const string SignatureHeader = "X-Slack-Signature";
    public const string TimestampHeader = "X-Slack-Request-Timestamp";
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    public SlackSignature(string signingSecret, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        _key = Encoding.UTF8.GetBytes(signingSecret);
        _time = time;
    }

    public SignatureCheck Verify(string? timestamp, string? signature, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
        {
            return SignatureCheck.MissingHeaders;
        }

        if (timestamp.Length > 12 || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return SignatureCheck.BadTimestamp;
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > (long)Tolerance.TotalSeconds)
        {
            return SignatureCheck.StaleTimestamp;
        }

        Span<byte> expected = stackalloc byte[3 + 64];
        Write(_key, timestamp, body, expected);
        Span<byte> given = stackalloc byte[3 + 64];
        if (signature.Length != given.Length || Encoding.ASCII.GetBytes(signature, given) != given.Length)
        {
            return SignatureCheck.Mismatch;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given) ? SignatureCheck.Valid : SignatureCheck.Mismatch;
    }

    /// <summary>"v0=…" for a request, as Slack computes it (the load driver and tests sign with it too).</summary>
    public static string Compute(string signingSecret, string timestamp, ReadOnlySpan<byte> body)
    {
        Span<byte> buffer = stackalloc byte[3 + 64];
        Write(Encoding.UTF8.GetBytes(signingSecret), timestamp, body, buffer);
        return Encoding.ASCII.GetString(buffer);
    }

    private static void Write(byte[] key, string timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData("v0:"u8);
        hmac.AppendData(Encoding.ASCII.GetBytes(timestamp));
        hmac.AppendData(":"u8);
        hmac.AppendData(body);
        Span<byte> mac = stackalloc byte[32];
        hmac.GetHashAndReset(mac);
        "v0="u8.CopyTo(destination);
        for (var i = 0; i < mac.Length; i++)
        {
            var b = mac[i];
            destination[3 + (2 * i)] = HexDigit(b >> 4);
            destination[4 + (2 * i)] = HexDigit(b & 0xF);
        }
    }

    private static byte HexDigit(int value) => (byte)(value < 10 ? '0' + value : 'a' + value - 10);
}
