using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>AdmissionReview requests from tests/fixtures/admission (as the API server sends them), with the parts a test changes.</summary>
public static class AdmissionReviews
{
    public static JsonObject Load(string file) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "admission", file)))!;

    /// <summary>The documentation's Pod CREATE review, in <paramref name="ns"/>, with one container running <paramref name="image"/>.</summary>
    public static JsonObject PodCreate(string ns, string image, bool dryRun = false, string? pullSecret = null, Action<JsonObject>? spec = null)
    {
        var review = Load("review-pod-create.json");
        var request = (JsonObject)review["request"]!;
        request["uid"] = Guid.NewGuid().ToString();
        request["namespace"] = ns;
        request["dryRun"] = dryRun;
        var pod = (JsonObject)request["object"]!;
        pod["metadata"]!["namespace"] = ns;
        var podSpec = (JsonObject)pod["spec"]!;
        podSpec["containers"]![0]!["image"] = image;
        if (pullSecret is not null)
        {
            podSpec["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = pullSecret });
        }

        spec?.Invoke(podSpec);
        return review;
    }

    /// <summary>The documentation-shaped Deployment UPDATE: container "web" goes from <paramref name="oldImage"/> to <paramref name="newImage"/>; "sidecar" keeps <paramref name="sidecar"/>.</summary>
    public static JsonObject DeploymentUpdate(string ns, string name, string oldImage, string newImage, string sidecar, bool dryRun = false, string user = "alice@example.com")
    {
        var review = Load("review-deployment-update.json");
        var request = (JsonObject)review["request"]!;
        request["uid"] = Guid.NewGuid().ToString();
        request["namespace"] = ns;
        request["name"] = name;
        request["dryRun"] = dryRun;
        request["userInfo"]!["username"] = user;
        foreach (var (field, image) in new[] { ("object", newImage), ("oldObject", oldImage) })
        {
            var deployment = (JsonObject)request[field]!;
            deployment["metadata"]!["namespace"] = ns;
            deployment["metadata"]!["name"] = name;
            var containers = (JsonArray)deployment["spec"]!["template"]!["spec"]!["containers"]!;
            containers[0]!["image"] = image;
            containers[1]!["image"] = sidecar;
        }

        return review;
    }

    /// <summary>POSTs a review as the API server does and returns the status and the parsed answer (null when not JSON).</summary>
    public static async Task<(HttpStatusCode Status, JsonObject? Answer, string Body)> SendAsync(HttpClient client, JsonObject review) =>
        await SendAsync(client, Encoding.UTF8.GetBytes(review.ToJsonString()));

    public static async Task<(HttpStatusCode Status, JsonObject? Answer, string Body)> SendAsync(HttpClient client, byte[] body, string contentType = "application/json")
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await client.PostAsync("/admission/validate", content);
        var text = await response.Content.ReadAsStringAsync();
        JsonObject? answer = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            answer = JsonNode.Parse(text) as JsonObject;
        }

        return (response.StatusCode, answer, text);
    }

    public static string Uid(JsonObject review) => review["request"]!["uid"]!.GetValue<string>();

    /// <summary>
    /// The documented response shape: apiVersion and kind as sent, response.uid echoed, allowed a boolean, status with code
    /// and message when refused, warnings within the documented limits.
    /// </summary>
    public static JsonObject AssertResponseShape(JsonObject review, JsonObject? answer)
    {
        Assert.NotNull(answer);
        Assert.Equal("admission.k8s.io/v1", answer["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", answer["kind"]!.GetValue<string>());
        var response = Assert.IsType<JsonObject>(answer["response"]);
        Assert.Equal(Uid(review), response["uid"]!.GetValue<string>());
        var allowed = response["allowed"]!.GetValue<bool>();
        if (!allowed)
        {
            Assert.Equal(403, response["status"]!["code"]!.GetValue<int>());
            Assert.False(string.IsNullOrWhiteSpace(response["status"]!["message"]!.GetValue<string>()));
        }

        var warnings = Warnings(answer);
        Assert.InRange(warnings.Count, 0, Core.Prevention.AdmissionWarnings.MaxCount);
        Assert.All(warnings, w =>
        {
            Assert.InRange(w.Length, 1, 256);
            Assert.DoesNotContain(w, c => char.IsControl(c));
        });
        return response;
    }

    public static IReadOnlyList<string> Warnings(JsonObject? answer) =>
        (answer?["response"]?["warnings"] as JsonArray ?? []).Select(w => w!.GetValue<string>()).ToList();

    public static bool Allowed(JsonObject? answer) => answer!["response"]!["allowed"]!.GetValue<bool>();
}
