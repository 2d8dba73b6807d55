using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Detection.Webhooks;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>Builds webhook bodies and requests the way the senders do.</summary>
internal static class WebhookCalls
{
    private static long _fingerprint = 0x5eed;

    /// <summary>An alert as Alertmanager renders it in a webhook message (template.Alert).</summary>
    public static JsonObject Alert(string status, IReadOnlyDictionary<string, string> labels, string? description = null, string? fingerprint = null, DateTimeOffset? startsAt = null)
    {
        var labelObject = new JsonObject();
        foreach (var (name, value) in labels)
        {
            labelObject[name] = value;
        }

        return new JsonObject
        {
            ["status"] = status,
            ["labels"] = labelObject,
            ["annotations"] = description is null ? new JsonObject() : new JsonObject { ["description"] = description },
            ["startsAt"] = (startsAt ?? DateTimeOffset.UtcNow.AddMinutes(-61)).ToString("O", CultureInfo.InvariantCulture),
            ["endsAt"] = status == "resolved" ? DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) : "0001-01-01T00:00:00Z",
            ["generatorURL"] = "http://prometheus.example:9090/graph?g0.expr=kube_pod_container_status_waiting_reason",
            ["fingerprint"] = fingerprint ?? Interlocked.Increment(ref _fingerprint).ToString("x16", CultureInfo.InvariantCulture),
        };
    }

    public static Dictionary<string, string> PullLabels(string ns, string pod, string container = "app", string reason = "ImagePullBackOff") => new()
    {
        ["alertname"] = "KubeContainerWaiting",
        ["reason"] = reason,
        ["namespace"] = ns,
        ["pod"] = pod,
        ["container"] = container,
        ["severity"] = "warning",
    };

    /// <summary>An Alertmanager webhook message (version 4) around the alerts.</summary>
    public static JsonObject Message(params JsonObject[] alerts)
    {
        var status = alerts.Any(a => a["status"]!.GetValue<string>() == "firing") ? "firing" : "resolved";
        return new JsonObject
        {
            ["receiver"] = "chatopspull",
            ["status"] = status,
            ["alerts"] = new JsonArray(alerts.Select(a => (JsonNode)a).ToArray()),
            ["groupLabels"] = new JsonObject { ["namespace"] = alerts[0]["labels"]!["namespace"]?.GetValue<string>() },
            ["commonLabels"] = new JsonObject(),
            ["commonAnnotations"] = new JsonObject(),
            ["externalURL"] = "http://alertmanager.example:9093",
            ["version"] = "4",
            ["groupKey"] = "{}:{namespace=\"test\"}",
            ["truncatedAlerts"] = 0,
        };
    }

    public static HttpRequestMessage AlertmanagerRequest(string body, string? token = AlertmanagerFixture.BearerToken, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "alerts/alertmanager")
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    public static HttpRequestMessage SignedGenericRequest(string body, string secret = AlertmanagerFixture.HmacSecret, DateTimeOffset? signedAt = null, string? signatureOverride = null)
    {
        var timestamp = (signedAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, "alerts")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(WebhookAuthentication.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookAuthentication.SignatureHeader, signatureOverride ?? WebhookAuthentication.Sign(secret, timestamp, Encoding.UTF8.GetBytes(body)));
        return request;
    }

    /// <summary>The problem body of a refused request.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>The "path" of every error in a problem body.</summary>
    public static IReadOnlyList<string> ErrorPaths(JsonElement problem) =>
        problem.TryGetProperty("errors", out var errors) ? errors.EnumerateArray().Select(e => e.GetProperty("path").GetString()!).ToList() : [];

    public static async Task<JsonElement> ReceiptAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
