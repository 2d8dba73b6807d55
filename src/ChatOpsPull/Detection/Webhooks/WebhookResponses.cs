using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>One thing wrong with a payload: where (a JSON path such as <c>$.alerts[3].labels.namespace</c>) and what.</summary>
public sealed record PayloadError(string Path, string Message);

/// <summary>An RFC 9457 problem body (<c>application/problem+json</c>) for every rejected request.</summary>
public sealed record WebhookProblem(
    string Type,
    string Title,
    int Status,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<PayloadError>? Errors = null);

/// <summary>The answer to an accepted request: what became of its alerts.</summary>
/// <param name="Alerts">Alerts in the request.</param>
/// <param name="Reported">Firing pull failures handed to the incident engine.</param>
/// <param name="Resolved">Resolved pull failures handed to the incident engine.</param>
/// <param name="Ignored">Alerts that are not about image pulls (acknowledged, nothing done).</param>
/// <param name="Duplicates">Re-sends of alerts already delivered (Alertmanager's group_interval / repeat_interval).</param>
public sealed record WebhookReceipt(int Alerts, int Reported, int Resolved, int Ignored, int Duplicates);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(WebhookProblem))]
[JsonSerializable(typeof(WebhookReceipt))]
[JsonSerializable(typeof(string))]
public sealed partial class WebhookResponseJsonContext : JsonSerializerContext
{
    /// <summary>Quotes and apostrophes in messages stay readable (these bodies are JSON, never embedded in HTML).</summary>
    public static WebhookResponseJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>The results the webhook endpoints answer with.</summary>
public static class WebhookResults
{
    public const string ProblemContentType = "application/problem+json";

    public static IResult Accepted(WebhookReceipt receipt) =>
        TypedResults.Json(receipt, WebhookResponseJsonContext.Readable.WebhookReceipt, "application/json", StatusCodes.Status200OK);

    public static IResult Problem(int status, string detail, IReadOnlyList<PayloadError>? errors = null)
    {
        var title = status switch
        {
            StatusCodes.Status400BadRequest => "The payload is not valid for this endpoint",
            StatusCodes.Status401Unauthorized => "Unauthorized",
            StatusCodes.Status413PayloadTooLarge => "The request body is too large",
            StatusCodes.Status415UnsupportedMediaType => "Unsupported content type",
            StatusCodes.Status503ServiceUnavailable => "The endpoint cannot take alerts now",
            _ => "The request was not accepted",
        };
        var problem = new WebhookProblem("about:blank", title, status, detail, errors);
        return TypedResults.Json(problem, WebhookResponseJsonContext.Readable.WebhookProblem, ProblemContentType, status);
    }
}
