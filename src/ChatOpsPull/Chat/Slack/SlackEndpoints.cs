using System.Text;
using System.Text.Json;

namespace ChatOpsPull.Chat.Slack;

/// <summary>Slack's inbound HTTP endpoints: slash commands, interactivity (buttons) and the Events API.</summary>
public static class SlackEndpoints
{
    private const string Form = "application/x-www-form-urlencoded";
    private const string Json = "application/json";
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static IEndpointRouteBuilder MapSlack(this IEndpointRouteBuilder app)
    {
        var slack = app.MapGroup("/slack");
        slack.MapPost("/commands", CommandsAsync);
        slack.MapPost("/interactions", InteractionsAsync);
        slack.MapPost("/events", EventsAsync);
        return app;
    }

    /// <summary>A slash command: answered within the budget or acknowledged with "Working on it…".</summary>
    private static async Task<IResult> CommandsAsync(HttpRequest request, SlackRequestGate gate, SlackInbound inbound)
    {
        var gated = await gate.ReadAsync(request, Form).ConfigureAwait(false);
        if (gated.Refusal is not null)
        {
            return gated.Refusal;
        }

        if (!SlackForm.TryParse(gated.Body, out var fields, out var formError))
        {
            return gate.BadRequest(request, formError);
        }

        var parsed = SlackPayloads.ParseCommand(fields.GetValueOrDefault);
        if (parsed.Value is not { } command)
        {
            return gate.BadRequest(request, parsed.Error!);
        }

        var ack = await inbound.AcceptCommandAsync(command).ConfigureAwait(false);
        return Results.Text(ack!.ToJsonString(), Json, Encoding.UTF8);
    }

    /// <summary>Interactivity: a block_actions click is acknowledged with an empty 200 and handled in the background.</summary>
    private static async Task<IResult> InteractionsAsync(HttpRequest request, SlackRequestGate gate, SlackInbound inbound)
    {
        var gated = await gate.ReadAsync(request, Form).ConfigureAwait(false);
        if (gated.Refusal is not null)
        {
            return gated.Refusal;
        }

        if (!SlackForm.TryParse(gated.Body, out var fields, out var formError))
        {
            return gate.BadRequest(request, formError);
        }

        if (!fields.TryGetValue("payload", out var payloadText) || payloadText.Length == 0)
        {
            return gate.BadRequest(request, "the form has no payload field");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payloadText, DocumentOptions);
        }
        catch (JsonException)
        {
            return gate.BadRequest(request, "the payload is not valid JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            var type = SlackPayloads.Text(root, "type");
            if (root.ValueKind != JsonValueKind.Object || string.IsNullOrEmpty(type))
            {
                return gate.BadRequest(request, "the payload has no type");
            }

            if (type != SlackPayloads.BlockActions)
            {
                gate.Ignored(type);
                return Results.Ok();
            }

            var parsed = SlackPayloads.ParseBlockActions(root);
            if (parsed.Value is not { } click)
            {
                return gate.BadRequest(request, parsed.Error!);
            }

            inbound.AcceptClick(click);
            return Results.Ok();
        }
    }

    /// <summary>Events API: url_verification is echoed; event_callback is de-duplicated by event_id and handled in the background.</summary>
    private static async Task<IResult> EventsAsync(HttpRequest request, SlackRequestGate gate, SlackInbound inbound)
    {
        var gated = await gate.ReadAsync(request, Json).ConfigureAwait(false);
        if (gated.Refusal is not null)
        {
            return gated.Refusal;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(gated.Body, DocumentOptions);
        }
        catch (JsonException)
        {
            return gate.BadRequest(request, "the body is not valid JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            var type = SlackPayloads.Text(root, "type");
            if (root.ValueKind != JsonValueKind.Object || string.IsNullOrEmpty(type))
            {
                return gate.BadRequest(request, "the body has no type");
            }

            switch (type)
            {
                case "url_verification":
                    var challenge = SlackPayloads.Text(root, "challenge");
                    return string.IsNullOrEmpty(challenge) || challenge.Length > 1000
                        ? gate.BadRequest(request, "url_verification without a challenge")
                        : Results.Json(new { challenge });

                case "event_callback":
                    var parsed = SlackPayloads.ParseEventCallback(root);
                    if (parsed.Value is not { } slackEvent)
                    {
                        return gate.BadRequest(request, parsed.Error!);
                    }

                    var retry = request.Headers["X-Slack-Retry-Num"].ToString();
                    var fresh = await inbound.AcceptEventAsync(slackEvent, request.HttpContext.RequestAborted).ConfigureAwait(false);
                    if (!fresh && retry.Length > 0)
                    {
                        gate.RetryIgnored(slackEvent.EventId, retry, request.Headers["X-Slack-Retry-Reason"].ToString());
                    }

                    return Results.Ok();

                default:
                    gate.Ignored(type);
                    return Results.Ok();
            }
        }
    }
}
