using System.Buffers;
using System.Net.Http.Headers;
using ChatOpsPull.Observability;
using ChatOpsPull.Prevention;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Admission;

/// <summary>
/// <c>POST /admission/validate</c>: the validating admission webhook, served only over HTTPS on Admission:Port (and that
/// port serves nothing else). The body is read up to Admission:MaxReviewBytes; a body that is not an admission.k8s.io/v1
/// AdmissionReview gets 400 with a sentence; a review gets 200 with the response review (<see cref="AdmissionReviewJson"/>),
/// whatever the verdict. Unauthenticated by design, like every admission webhook: the API server is the caller, and the
/// answer reveals only what the caller sent and whether its images can be pulled.
/// </summary>
public static partial class AdmissionEndpoints
{
    public const string Path = "/admission/validate";

    /// <summary>The only paths the admission port answers: the webhook and a liveness probe.</summary>
    private static readonly string[] PortPaths = [Path, "/healthz"];

    public static IEndpointRouteBuilder MapAdmission(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<AdmissionOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        var port = options.Port;
        app.Use(async (context, next) =>
        {
            var onAdmissionPort = context.Connection.LocalPort == port;
            var isWebhook = context.Request.Path.Equals(Path, StringComparison.Ordinal);
            if ((onAdmissionPort && !PortPaths.Contains(context.Request.Path.Value, StringComparer.Ordinal)) || (isWebhook && !(onAdmissionPort && context.Request.IsHttps)))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context).ConfigureAwait(false);
        });
        app.MapPost(Path, ValidateAsync).AllowAnonymous().DisableAntiforgery();
        return app;
    }

    private static async Task ValidateAsync(HttpContext context, AdmissionReviewer reviewer, IOptionsMonitor<AdmissionOptions> options, BotMetrics metrics, ILoggerFactory loggers)
    {
        var max = options.CurrentValue.MaxReviewBytes;
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var media) || !string.Equals(media.MediaType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, metrics, "an AdmissionReview is sent as application/json").ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentLength > max)
        {
            await RefuseAsync(context, metrics, $"the AdmissionReview is larger than Admission:MaxReviewBytes ({max} bytes)").ConfigureAwait(false);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(max + 1, (int)(context.Request.ContentLength ?? 64 * 1024) + 1));
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > max)
                    {
                        await RefuseAsync(context, metrics, $"the AdmissionReview is larger than Admission:MaxReviewBytes ({max} bytes)").ConfigureAwait(false);
                        return;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(max + 1, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > max)
                {
                    await RefuseAsync(context, metrics, $"the AdmissionReview is larger than Admission:MaxReviewBytes ({max} bytes)").ConfigureAwait(false);
                    return;
                }
            }

            if (!AdmissionReviewJson.TryRead(buffer.AsSpan(0, length), out var uid, out var subject, out var problem))
            {
                LogMalformed(loggers.CreateLogger(typeof(AdmissionEndpoints)), problem);
                await RefuseAsync(context, metrics, problem).ConfigureAwait(false);
                return;
            }

            var verdict = await reviewer.ReviewAsync(subject, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(AdmissionReviewJson.Write(uid, verdict), context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task RefuseAsync(HttpContext context, BotMetrics metrics, string problem)
    {
        metrics.AdmissionReviewed("invalid", TimeSpan.Zero);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"Not an admission review this webhook serves: {problem}.", context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admission: refused a request that is not an AdmissionReview: {Problem}")]
    private static partial void LogMalformed(ILogger logger, string problem);
}
