using Microsoft.Net.Http.Headers;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// The front half both alert endpoints share: credentials (from the headers, then the signature over the raw body),
/// content type and size. Hands back the body, or the answer that turns the request away.
/// </summary>
public sealed class WebhookReceiver
{
    private readonly AlertEndpoint _endpoint;
    private readonly WebhookAuthentication _authentication;
    private readonly int _maxBodyBytes;
    private readonly AlertEndpointCounts _counts;
    private readonly ILogger _logger;

    public WebhookReceiver(AlertEndpoint endpoint, WebhookAuthentication authentication, int maxBodyBytes, AlertEndpointCounts counts, ILogger logger)
    {
        _endpoint = endpoint;
        _authentication = authentication;
        _maxBodyBytes = maxBodyBytes;
        _counts = counts;
        _logger = logger;
    }

    public AlertEndpointCounts Counts => _counts;

    public async Task<(RequestBody? Body, IResult? Refusal)> ReceiveAsync(HttpContext context)
    {
        var request = context.Request;
        var credentials = _authentication.CheckHeaders(request.Headers);
        switch (credentials.Check)
        {
            case CredentialCheck.Accepted:
            case CredentialCheck.SignatureToVerify:
                break;
            case CredentialCheck.NotConfigured:
                return (null, Refuse(context, RejectionReason.NotConfigured, StatusCodes.Status503ServiceUnavailable, credentials.Detail));
            case CredentialCheck.Missing:
            case CredentialCheck.Rejected:
                return (null, Unauthorized(context, credentials.Detail));
            default:
                throw new InvalidOperationException($"unknown credential check {credentials.Check}");
        }

        if (!IsUtf8Json(request.ContentType))
        {
            var detail = $"Send the body as JSON with Content-Type: application/json (got {(string.IsNullOrEmpty(request.ContentType) ? "none" : JsonProblems.Quote(request.ContentType))}).";
            return (null, Refuse(context, RejectionReason.UnsupportedMediaType, StatusCodes.Status415UnsupportedMediaType, detail));
        }

        var body = await RequestBody.ReadAsync(context, _maxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            var detail = $"The body is larger than {_maxBodyBytes} bytes (Alerts:MaxBodyBytes); send fewer alerts per request.";
            return (null, Refuse(context, RejectionReason.TooLarge, StatusCodes.Status413PayloadTooLarge, detail));
        }

        if (credentials.Check == CredentialCheck.SignatureToVerify)
        {
            var signature = _authentication.CheckSignature(request.Headers, body.Span);
            if (signature.Check != CredentialCheck.Accepted)
            {
                body.Dispose();
                return (null, Unauthorized(context, signature.Detail));
            }
        }

        return (body, null);
    }

    /// <summary>Turns a request away after reading it, with a problem body, and counts it.</summary>
    public IResult Refuse(HttpContext context, RejectionReason reason, int status, string detail, IReadOnlyList<PayloadError>? errors = null)
    {
        _counts.CountRejected(reason);
        AlertWebhookLog.Refused(_logger, _endpoint, context.Connection.RemoteIpAddress?.ToString(), status, errors is { Count: > 0 } ? $"{detail} First: {errors[0].Path}: {errors[0].Message}" : detail);
        return WebhookResults.Problem(status, detail, errors);
    }

    private IResult Unauthorized(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"chatopspull\"";
        return Refuse(context, RejectionReason.Unauthorized, StatusCodes.Status401Unauthorized, detail);
    }

    /// <summary>application/json or any +json type, in UTF-8 (JSON's only encoding, RFC 8259).</summary>
    private static bool IsUtf8Json(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            return false;
        }

        var isJson = mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);
        var charset = mediaType.Charset;
        return isJson && (!charset.HasValue || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));
    }
}
