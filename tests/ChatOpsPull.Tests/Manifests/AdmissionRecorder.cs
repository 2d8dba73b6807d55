using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>One write as the API server hands it to a ValidatingAdmissionPolicy (the shape tests/admission-policy reads).</summary>
public sealed record AdmissionCase(string Name, JsonObject Request, JsonObject? NewObject, JsonObject? OldObject)
{
    public string Operation => Request["operation"]!.GetValue<string>();

    public string Resource => Request["resource"]!["resource"]!.GetValue<string>();

    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["request"] = Request.DeepClone(),
        ["object"] = NewObject?.DeepClone(),
        ["oldObject"] = OldObject?.DeepClone(),
    };

    /// <summary>A copy under another name, changed by <paramref name="change"/> (request, object, oldObject are copies).</summary>
    public AdmissionCase With(string name, Action<JsonObject, JsonObject?, JsonObject?> change)
    {
        var copy = new AdmissionCase(name, (JsonObject)Request.DeepClone(), (JsonObject?)NewObject?.DeepClone(), (JsonObject?)OldObject?.DeepClone());
        change(copy.Request, copy.NewObject, copy.OldObject);
        return copy;
    }

    public static JsonObject RequestFor(string operation, string user, string group, string version, string resource, string? subResource, string? @namespace, string? name, bool dryRun)
    {
        var request = new JsonObject
        {
            ["operation"] = operation,
            ["userInfo"] = new JsonObject { ["username"] = user },
            ["resource"] = new JsonObject { ["group"] = group, ["version"] = version, ["resource"] = resource },
            ["dryRun"] = dryRun,
        };
        if (subResource is not null)
        {
            request["subResource"] = subResource;
        }

        if (@namespace is not null)
        {
            request["namespace"] = @namespace;
        }

        if (name is not null)
        {
            request["name"] = name;
        }

        return request;
    }
}

/// <summary>
/// Records every write the bot sends to the fake API server (not its dry runs, which store nothing) as the
/// AdmissionRequest the real API server would evaluate a ValidatingAdmissionPolicy against: operation, user, resource,
/// namespace and name, the stored object after the write (<c>object</c>) and before it (<c>oldObject</c>) — taken from the
/// store's own change record of that write, so the deployment controller's reaction (status, revision) is not in it,
/// as it is not at admission. Uses the fake's public hooks (<see cref="FakeKubernetesApi.BeforeServing"/>,
/// <see cref="FakeKubernetesApi.AfterWriting"/>, <see cref="ObjectStore.Written"/>); the fake has no admission chain.
/// </summary>
public sealed class AdmissionRecorder
{
    private readonly AsyncLocal<Pending?> _current = new();
    private readonly ConcurrentQueue<AdmissionCase> _cases = new();

    public AdmissionRecorder(FakeKubernetesApi api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.BeforeServing = request =>
        {
            // Not async on purpose: the AsyncLocal set here stays visible to the rest of this request's handling.
            _current.Value = request.Verb is "create" or "update" or "patch" or "delete" && !request.DryRun ? new Pending(request) : null;
            return Task.CompletedTask;
        };
        api.Store.Written += OnWritten;
        api.AfterWriting = request =>
        {
            if (_current.Value is { } pending && pending.Request == request)
            {
                _current.Value = null;
                if (pending.Record is { } record)
                {
                    _cases.Enqueue(ToCase(pending.Request, record));
                }
            }

            return Task.CompletedTask;
        };
    }

    public IReadOnlyList<AdmissionCase> Cases => _cases.ToArray();

    private void OnWritten(WatchRecord record)
    {
        if (_current.Value is not { } pending)
        {
            return;
        }

        var request = pending.Request;
        var resource = request.Resource.Split('/')[0];
        var matches = record.Resource.Plural == resource
            && ObjectStore.Namespace(record.Current) == (request.Namespace ?? string.Empty)
            && (request.Name is null ? record.Type == "ADDED" : ObjectStore.Name(record.Current) == request.Name);
        // The controller reacts inside the same write (its own records come in between): the request's write is the oldest.
        if (matches && (pending.Record is null || record.ResourceVersion < pending.Record.ResourceVersion))
        {
            pending.Record = record with { Current = (JsonObject)record.Current.DeepClone(), Old = (JsonObject?)record.Old?.DeepClone() };
        }
    }

    private static AdmissionCase ToCase(FakeRequest request, WatchRecord record)
    {
        var parts = request.Resource.Split('/');
        var type = record.Resource;
        var operation = request.Verb switch { "create" => "CREATE", "delete" => "DELETE", _ => "UPDATE" };
        var name = ObjectStore.Name(record.Current);
        var json = AdmissionCase.RequestFor(operation, FakeKubernetesApi.BotUser, type.Group, type.Version, parts[0], parts.Length > 1 ? parts[1] : null, request.Namespace, name, dryRun: false);
        var current = (JsonObject)record.Current.DeepClone();
        return operation switch
        {
            "CREATE" => new AdmissionCase($"{request.Verb} {type.QualifiedName} {request.Namespace}/{name}", json, current, null),
            "DELETE" => new AdmissionCase($"{request.Verb} {type.QualifiedName} {request.Namespace}/{name}", json, null, record.Old),
            _ => new AdmissionCase($"{request.Verb} {type.QualifiedName} {request.Namespace}/{name}", json, current, record.Old),
        };
    }

    private sealed class Pending(FakeRequest request)
    {
        public FakeRequest Request { get; } = request;

        public WatchRecord? Record { get; set; }
    }
}
