using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

/// <summary>The raw body of a verified request, or the answer that refuses it.</summary>
public sealed record SlackGateResult(byte[]? Body, IResult? Refusal);

/// <summary>
/// Everything an inbound Slack request passes before anything is processed: Slack configured and in HTTP mode, body at
/// most 256 KiB (read once, refused with 413 before hashing), signature and timestamp valid, expected media type.
/// </summary>
public sealed partial class SlackRequestGate(IOptionsMonitor<SlackOptions> options, TimeProvider time, ILogger<SlackRequestGate> log)
{
    public const int MaxBodyBytes = 256 * 1024;

    private volatile Verifier? _verifier;

    public async Task<SlackGateResult> ReadAsync(HttpRequest request, string mediaType)
    {
        var current = options.CurrentValue;
        if (!current.IsConfigured)
        {
            return Refuse(request, StatusCodes.Status503ServiceUnavailable, "not configured",
                "Slack is not configured on this bot: set Slack:SigningSecret and Slack:BotToken (see the README).");
        }

        if (current.SocketMode)
        {
            return Refuse(request, StatusCodes.Status404NotFound, "socket mode",
                "This bot talks to Slack over Socket Mode (Slack:SocketMode is true); its HTTP endpoints are off.");
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return Refuse(request, StatusCodes.Status413PayloadTooLarge, "body too large", "The request body is larger than 256 KiB; Slack never sends that much.");
        }

        var body = await ReadBodyAsync(request).ConfigureAwait(false);
        if (body is null)
        {
            return Refuse(request, StatusCodes.Status413PayloadTooLarge, "body too large", "The request body is larger than 256 KiB; Slack never sends that much.");
        }

        var check = SignatureFor(current.SigningSecret!).Verify(
            request.Headers[SlackSignature.TimestampHeader].ToString(),
            request.Headers[SlackSignature.SignatureHeader].ToString(),
            body);
        var reason = check switch
        {
            SignatureCheck.Valid => null,
            SignatureCheck.MissingHeaders => "X-Slack-Signature or X-Slack-Request-Timestamp is missing",
            SignatureCheck.BadTimestamp => "X-Slack-Request-Timestamp is not a Unix time in seconds",
            SignatureCheck.StaleTimestamp => "X-Slack-Request-Timestamp is more than 5 minutes away from now",
            SignatureCheck.Mismatch => "the signature does not match",
            _ => "the signature could not be checked",
        };
        if (reason is not null)
        {
            return Refuse(request, StatusCodes.Status401Unauthorized, reason, $"This request is not signed by Slack: {reason}.");
        }

        if (!MediaTypeIs(request, mediaType))
        {
            return Refuse(request, StatusCodes.Status415UnsupportedMediaType, "media type", $"Expected a {mediaType} body, as Slack sends.");
        }

        return new SlackGateResult(body, null);
    }

    /// <summary>A 400 for a verified request whose content is malformed; logged, nothing processed.</summary>
    public IResult BadRequest(HttpRequest request, string reason)
    {
        LogRefused(log, request.Path, StatusCodes.Status400BadRequest, reason);
        return Results.Text($"Malformed Slack request: {reason}.", "text/plain", statusCode: StatusCodes.Status400BadRequest);
    }

    public void Ignored(string type) => LogIgnored(log, type);

    public void RetryIgnored(string eventId, string retryNum, string retryReason) => LogRetryIgnored(log, eventId, retryNum, retryReason);

    private SlackGateResult Refuse(HttpRequest request, int status, string reason, string message)
    {
        LogRefused(log, request.Path, status, reason);
        return new SlackGateResult(null, Results.Text(message + "\n", "text/plain", statusCode: status));
    }

    private SlackSignature SignatureFor(string secret)
    {
        var verifier = _verifier;
        if (verifier is null || !string.Equals(verifier.Secret, secret, StringComparison.Ordinal))
        {
            verifier = new Verifier(secret, new SlackSignature(secret, time));
            _verifier = verifier;
        }

        return verifier.Signature;
    }

    /// <returns>The body, or null when it is larger than <see cref="MaxBodyBytes"/>.</returns>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request)
    {
        var buffer = new byte[request.ContentLength is { } length and >= 0 and <= MaxBodyBytes ? (int)length + 1 : 16 * 1024];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (buffer.Length > MaxBodyBytes)
                {
                    return null;
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxBodyBytes + 1));
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(total), request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
            if (total > MaxBodyBytes)
            {
                return null;
            }
        }

        return buffer.AsSpan(0, total).ToArray();
    }

    private static bool MediaTypeIs(HttpRequest request, string mediaType) =>
        request.ContentType is { } contentType
        && contentType.Split(';')[0].Trim().Equals(mediaType, StringComparison.OrdinalIgnoreCase);

    private sealed record Verifier(string Secret, SlackSignature Signature);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused Slack request to {Path} with {Status}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string path, int status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored a Slack payload of type {Type}.")]
    private static partial void LogIgnored(ILogger logger, string type);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack retry {RetryNum} ({RetryReason}) of event {EventId} acknowledged without processing it again.")]
    private static partial void LogRetryIgnored(ILogger logger, string eventId, string retryNum, string retryReason);
}
