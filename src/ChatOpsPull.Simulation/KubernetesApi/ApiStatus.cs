using System.Net;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>A Status object as the real API server sends it with an error (k8s.io/apimachinery/pkg/api/errors).</summary>
public sealed class ApiStatusException : Exception
{
    public ApiStatusException(HttpStatusCode code, string reason, string message, JsonObject? details = null, string? listContinue = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
        Continue = listContinue;
    }

    public HttpStatusCode Code { get; }

    public string Reason { get; }

    public JsonObject? Details { get; }

    /// <summary>The Status's metadata.continue: the inconsistent continue token an expired list page offers.</summary>
    public string? Continue { get; }

    public JsonObject ToStatus() => ApiStatus.Failure(Code, Reason, Message, Details, Continue);
}

public static class ApiStatus
{
    public static JsonObject Failure(HttpStatusCode code, string reason, string message, JsonObject? details = null, string? listContinue = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = listContinue is null ? new JsonObject() : new JsonObject { ["continue"] = listContinue },
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null)
        {
            status["details"] = details;
        }

        status["code"] = (int)code;
        return status;
    }

    public static JsonObject Success(ResourceType type, string name, string? uid) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Success",
        ["details"] = Details(type, name, uid),
    };

    public static JsonObject Details(ResourceType type, string? name, string? uid = null)
    {
        var details = new JsonObject();
        if (name is not null)
        {
            details["name"] = name;
        }

        if (type.Group.Length > 0)
        {
            details["group"] = type.Group;
        }

        details["kind"] = type.Plural;
        if (uid is not null)
        {
            details["uid"] = uid;
        }

        return details;
    }

    public static ApiStatusException NotFound(ResourceType type, string name) =>
        new(HttpStatusCode.NotFound, "NotFound", $"{type.QualifiedName} \"{name}\" not found", Details(type, name));

    public static ApiStatusException NamespaceNotFound(string ns) =>
        new(HttpStatusCode.NotFound, "NotFound", $"namespaces \"{ns}\" not found", Details(ResourceType.Of("namespaces"), ns));

    public static ApiStatusException AlreadyExists(ResourceType type, string name) =>
        new(HttpStatusCode.Conflict, "AlreadyExists", $"{type.QualifiedName} \"{name}\" already exists", Details(type, name));

    public static ApiStatusException Conflict(ResourceType type, string name) =>
        new(HttpStatusCode.Conflict, "Conflict",
            $"Operation cannot be fulfilled on {type.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            Details(type, name));

    /// <summary>k8s.io/apiserver/pkg/endpoints/handlers/responsewriters.forbiddenMessage.</summary>
    public static ApiStatusException Forbidden(ResourceType type, string? subresource, string verb, string? name, string? ns, string user)
    {
        var resource = subresource is null ? type.Plural : $"{type.Plural}/{subresource}";
        var subject = name is null ? type.QualifiedName : $"{type.QualifiedName} \"{name}\"";
        var scope = ns is null ? "at the cluster scope" : $"in the namespace \"{ns}\"";
        return new ApiStatusException(
            HttpStatusCode.Forbidden,
            "Forbidden",
            $"{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{type.Group}\" {scope}",
            Details(type, name));
    }

    public static ApiStatusException Expired(string message) => new(HttpStatusCode.Gone, "Expired", message);

    /// <summary>
    /// A list page whose continue token is older than the last compaction (k8s.io/apiserver storage/etcd3
    /// handleCompactedErrorForPaging): 410 Expired, and in the Status's metadata.continue a token with resourceVersion -1
    /// that goes on from the same key with the list as it is now (an inconsistent list).
    /// </summary>
    public static ApiStatusException ContinueExpired(string inconsistentContinue) =>
        new(HttpStatusCode.Gone, "Expired", InconsistentContinueMessage, listContinue: inconsistentContinue);

    /// <summary>storage/etcd3's inconsistentContinue, word for word.</summary>
    public const string InconsistentContinueMessage =
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without "
        + "the continue parameter, or use the continue token in this response to retrieve the remainder of the results. "
        + "Continuing with the provided token results in an inconsistent list - objects that were created, modified, or "
        + "deleted between the time the first chunk was returned and now may show up in the list.";

    public static ApiStatusException BadRequest(string message) => new(HttpStatusCode.BadRequest, "BadRequest", message);

    public static ApiStatusException Invalid(ResourceType type, string name, IReadOnlyList<(string Field, string Reason, string Message)> causes)
    {
        var details = new JsonObject { ["name"] = name };
        if (type.Group.Length > 0)
        {
            details["group"] = type.Group;
        }

        details["kind"] = type.Kind;
        var array = new JsonArray();
        foreach (var (field, reason, message) in causes)
        {
            array.Add(new JsonObject { ["reason"] = reason, ["message"] = message, ["field"] = field });
        }

        details["causes"] = array;
        var summary = causes.Count == 1
            ? $"{causes[0].Field}: {causes[0].Message}"
            : "[" + string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}")) + "]";
        return new ApiStatusException((HttpStatusCode)422, "Invalid", $"{type.Kind} \"{name}\" is invalid: {summary}", details);
    }

    public static ApiStatusException MethodNotAllowed() =>
        new(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource");

    /// <summary>negotiation.NewUnsupportedMediaTypeError: the patch types the resource accepts (custom resources have no strategic merge patch).</summary>
    public static ApiStatusException UnsupportedPatch(ResourceType type) =>
        new(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: " + (type.Custom
                ? "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                : "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"));

    public static ApiStatusException NoSuchResource() =>
        new(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
}
