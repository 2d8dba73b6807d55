using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Prevention;

namespace ChatOpsPull.Admission;

/// <summary>
/// The admission.k8s.io/v1 AdmissionReview as the API server sends it and expects it back (kubernetes.io, "Dynamic
/// Admission Control", Webhook request and response): a POST of <c>{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{…}}</c>,
/// answered with the same apiVersion and kind and a <c>response</c> holding the request's <c>uid</c>, <c>allowed</c>, and
/// optionally <c>status</c> (code and message of a refusal), <c>warnings</c> and <c>auditAnnotations</c>.
/// Anything else is refused with a sentence, before any lookup.
/// </summary>
public static class AdmissionReviewJson
{
    public const string ApiVersion = "admission.k8s.io/v1";
    public const string Kind = "AdmissionReview";

    /// <summary>A request uid is a Kubernetes UID (36 characters); anything much longer is not one.</summary>
    private const int MaxUidLength = 128;

    /// <summary>Reads a review; on failure <paramref name="problem"/> says what is wrong.</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, [NotNullWhen(true)] out string? uid, [NotNullWhen(true)] out AdmissionSubject? subject, [NotNullWhen(false)] out string? problem)
    {
        uid = null;
        subject = null;
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            problem = $"the body is not JSON ({e.Message})";
            return false;
        }

        if (root is not JsonObject review)
        {
            problem = "the body must be a JSON object (an AdmissionReview)";
            return false;
        }

        if (Text(review["apiVersion"]) != ApiVersion || Text(review["kind"]) != Kind)
        {
            problem = $"only {ApiVersion} {Kind} is served (the webhook configuration must list admissionReviewVersions: [\"v1\"])";
            return false;
        }

        if (review["request"] is not JsonObject request)
        {
            problem = "the AdmissionReview has no request";
            return false;
        }

        if (Text(request["uid"]) is not { Length: > 0 and <= MaxUidLength } id)
        {
            problem = "request.uid must be a non-empty string";
            return false;
        }

        if (request["kind"] is not JsonObject kind || Text(kind["kind"]) is not { Length: > 0 } kindName || Text(kind["group"]) is not { } group)
        {
            problem = "request.kind must name the group, version and kind of the object";
            return false;
        }

        if (Text(request["operation"]) is not { Length: > 0 } operation)
        {
            problem = "request.operation must be CREATE, UPDATE, DELETE or CONNECT";
            return false;
        }

        var dryRun = request["dryRun"] switch
        {
            null => false,
            JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
            JsonValue v when v.GetValueKind() is JsonValueKind.False or JsonValueKind.Null => false,
            _ => (bool?)null,
        };
        if (dryRun is null)
        {
            problem = "request.dryRun must be true or false";
            return false;
        }

        uid = id;
        subject = new AdmissionSubject(
            group,
            kindName,
            Text(request["subResource"]),
            Text(request["namespace"]) ?? string.Empty,
            Text(request["name"]),
            operation,
            dryRun.Value,
            Text((request["userInfo"] as JsonObject)?["username"]) ?? "(unknown user)",
            request["object"],
            request["oldObject"]);
        problem = null;
        return true;
    }

    /// <summary>The response review for <paramref name="uid"/>.</summary>
    public static byte[] Write(string uid, AdmissionVerdict verdict)
    {
        var response = new JsonObject
        {
            ["uid"] = uid,
            ["allowed"] = verdict.Allowed,
        };
        if (!verdict.Allowed)
        {
            response["status"] = new JsonObject
            {
                ["code"] = StatusCodes.Status403Forbidden,
                ["reason"] = "Forbidden",
                ["message"] = verdict.DenyMessage ?? "refused",
            };
        }

        if (verdict.Warnings.Count > 0)
        {
            response["warnings"] = new JsonArray(verdict.Warnings.Select(w => (JsonNode?)w).ToArray());
        }

        if (verdict.AuditAnnotations.Count > 0)
        {
            var annotations = new JsonObject();
            foreach (var (key, value) in verdict.AuditAnnotations)
            {
                annotations[key] = value;
            }

            response["auditAnnotations"] = annotations;
        }

        var review = new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = Kind,
            ["response"] = response,
        };
        return JsonSerializer.SerializeToUtf8Bytes(review);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
