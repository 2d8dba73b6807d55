using System.Net;
using System.Text.Json;
using k8s.Autorest;

namespace ChatOpsPull.Kubernetes;

/// <summary>An API server refusal, read from the <c>Status</c> body it sends (never from a guess).</summary>
public sealed record ApiError(HttpStatusCode Code, string Reason, string Message)
{
    public bool IsForbidden => Code == HttpStatusCode.Forbidden;

    public bool IsNotFound => Code == HttpStatusCode.NotFound;

    public static ApiError From(HttpOperationException exception)
    {
        var code = exception.Response?.StatusCode ?? 0;
        var content = exception.Response?.Content;
        var reason = code.ToString();
        var message = $"the API server answered {(int)code} {code}";
        if (!string.IsNullOrEmpty(content))
        {
            try
            {
                using var document = JsonDocument.Parse(content);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    if (root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String)
                    {
                        reason = r.GetString()!;
                    }

                    if (root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                    {
                        message = m.GetString()!;
                    }
                }
            }
            catch (JsonException)
            {
                // not a Status body; keep the code
            }
        }

        return new ApiError(code, reason, message);
    }
}
