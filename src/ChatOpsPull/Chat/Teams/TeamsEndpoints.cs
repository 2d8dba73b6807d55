using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Chat.Teams.Auth;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Teams;

public static class TeamsEndpoints
{
    public const string MessagesPath = "/api/messages";

    /// <summary>
    /// <c>POST /api/messages</c>, the Bot Framework messaging endpoint: 503 when Teams is not configured; 401 without
    /// a valid Bot Connector token for this very activity; 400 for an oversized or malformed body; 403 for a
    /// serviceUrl outside the trust list; otherwise the activity's answer (invoke responses as JSON).
    /// </summary>
    public static IEndpointRouteBuilder MapTeams(this IEndpointRouteBuilder app)
    {
        app.MapPost(MessagesPath, HandleAsync);
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpContext context, IOptions<TeamsOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.IsConfigured)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "Teams is not configured on this bot: set Teams:MicrosoftAppId and Teams:MicrosoftAppPassword.");
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Error(StatusCodes.Status401Unauthorized, "A Bot Connector token (Authorization: Bearer …) is required.");
        }

        if (context.Request.ContentLength > settings.MaxRequestBytes)
        {
            return Error(StatusCodes.Status400BadRequest, $"The activity is larger than {settings.MaxRequestBytes} bytes.");
        }

        var body = await ReadLimitedAsync(context.Request.Body, settings.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return Error(StatusCodes.Status400BadRequest, $"The activity is larger than {settings.MaxRequestBytes} bytes.");
        }

        TeamsActivity? activity;
        try
        {
            activity = JsonSerializer.Deserialize(body, TeamsActivityJson.Default.TeamsActivity);
        }
        catch (JsonException)
        {
            activity = null;
        }

        if (activity is null)
        {
            return Error(StatusCodes.Status400BadRequest, "The body is not a JSON Bot Framework activity.");
        }

        var validator = context.RequestServices.GetRequiredService<BotFrameworkTokenValidator>();
        var check = await validator.ValidateAsync(authorization, activity.ServiceUrl, activity.ChannelId, cancellationToken).ConfigureAwait(false);
        switch (check.Outcome)
        {
            case TokenOutcome.Valid:
                break;
            case TokenOutcome.Rejected:
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                return Error(StatusCodes.Status401Unauthorized, $"Unauthorized: {check.Reason}.");
            case TokenOutcome.KeysUnavailable:
                return Error(StatusCodes.Status503ServiceUnavailable, "The Bot Connector's signing keys cannot be fetched right now; try again later.");
            default:
                throw new InvalidOperationException($"unknown token outcome {check.Outcome}");
        }

        if (!TeamsConnectorClient.IsTrusted(settings, activity.ServiceUrl))
        {
            return Error(StatusCodes.Status403Forbidden, "The activity's serviceUrl host is not on Teams:AllowedServiceUrlHosts, so the bot could never answer it.");
        }

        var processor = context.RequestServices.GetRequiredService<TeamsActivityProcessor>();
        var result = await processor.ProcessAsync(activity, cancellationToken).ConfigureAwait(false);
        return result.Body is null
            ? Results.StatusCode(result.StatusCode)
            : Results.Content(result.Body.ToJsonString(), "application/json", statusCode: result.StatusCode);
    }

    private static async Task<byte[]?> ReadLimitedAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static IResult Error(int status, string message) =>
        Results.Content(new JsonObject { ["error"] = new JsonObject { ["message"] = message } }.ToJsonString(), "application/json", statusCode: status);
}
