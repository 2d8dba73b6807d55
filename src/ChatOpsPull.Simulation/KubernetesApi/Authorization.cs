using System.Net;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>Who a request is from, after authentication (and impersonation).</summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups, string? Uid = null)
{
    public static UserInfo Anonymous { get; } = new("system:anonymous", ["system:unauthenticated"]);

    /// <summary>A service account user with the groups the token authenticator gives it.</summary>
    public static UserInfo ServiceAccount(string ns, string name) =>
        new($"system:serviceaccount:{ns}:{name}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"]);

    /// <summary>An ordinary user (client certificate or OIDC): their groups plus system:authenticated.</summary>
    public static UserInfo User(string name, params string[] groups) =>
        new(name, [.. groups.Where(g => g != "system:authenticated"), "system:authenticated"]);
}

/// <summary>What is asked: a resource request (verb on group/resource[/subresource] in a namespace) or a non-resource URL.</summary>
public sealed record RequestAttributes(string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name, string? Path = null)
{
    public bool IsResourceRequest => Path is null;
}

public enum AuthorizationMode
{
    /// <summary>Everything is allowed except what <see cref="FakeKubernetesApi.Deny"/> lists (the fake's old default).</summary>
    AlwaysAllow,

    /// <summary>The RBAC authorizer: Roles, ClusterRoles and their bindings in the store decide (plus the Deny list).</summary>
    Rbac,
}

/// <summary>
/// The RBAC authorizer of k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac: a request is allowed when a rule of a role
/// bound to the user (by a ClusterRoleBinding, or a RoleBinding in the request's namespace) matches its verb, API group,
/// resource (or "resource/subresource", "*", "*/subresource"), resource name and non-resource URL. The reason of an
/// allowed request names the binding as the real server does. Also answers SelfSubjectRulesReview.
/// </summary>
public sealed class RbacAuthorizer(ObjectStore store)
{
    private static readonly ResourceType ClusterRoles = ResourceType.Of("clusterroles");
    private static readonly ResourceType ClusterRoleBindings = ResourceType.Of("clusterrolebindings");
    private static readonly ResourceType Roles = ResourceType.Of("roles");
    private static readonly ResourceType RoleBindings = ResourceType.Of("rolebindings");

    public (bool Allowed, string Reason) Authorize(UserInfo user, RequestAttributes request)
    {
        foreach (var (binding, subject, rules, source) in BoundRules(user, request.Namespace))
        {
            if (rules.Any(rule => Allows(rule, request)))
            {
                return (true, $"RBAC: allowed by {source} to {Describe(subject, binding)}");
            }
        }

        return (false, string.Empty);
    }

    /// <summary>SelfSubjectRulesReview status: every rule that applies to the user in the namespace.</summary>
    public JsonObject Rules(UserInfo user, string ns)
    {
        var resourceRules = new JsonArray();
        var nonResourceRules = new JsonArray();
        foreach (var (_, _, rules, _) in BoundRules(user, ns))
        {
            foreach (var rule in rules)
            {
                if (rule["nonResourceURLs"] is JsonArray { Count: > 0 } urls)
                {
                    nonResourceRules.Add(new JsonObject { ["verbs"] = rule["verbs"]?.DeepClone(), ["nonResourceURLs"] = urls.DeepClone() });
                }
                else
                {
                    var copy = new JsonObject { ["verbs"] = rule["verbs"]?.DeepClone() };
                    foreach (var field in new[] { "apiGroups", "resources", "resourceNames" })
                    {
                        if (rule[field] is JsonArray { Count: > 0 } values)
                        {
                            copy[field] = values.DeepClone();
                        }
                    }

                    resourceRules.Add(copy);
                }
            }
        }

        return new JsonObject { ["resourceRules"] = resourceRules, ["nonResourceRules"] = nonResourceRules, ["incomplete"] = false };
    }

    /// <summary>The ClusterRoles and bindings a cluster bootstraps (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy).</summary>
    public static IEnumerable<JsonObject> BootstrapPolicy()
    {
        static JsonObject Role(string name, params JsonObject[] rules) => new()
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "ClusterRole",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" },
                ["annotations"] = new JsonObject { ["rbac.authorization.kubernetes.io/autoupdate"] = "true" },
            },
            ["rules"] = new JsonArray([.. rules]),
        };

        static JsonObject Binding(string name, params string[] groups) => new()
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "ClusterRoleBinding",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" },
                ["annotations"] = new JsonObject { ["rbac.authorization.kubernetes.io/autoupdate"] = "true" },
            },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = name },
            ["subjects"] = new JsonArray([.. groups.Select(g => (JsonNode)new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Group", ["name"] = g })]),
        };

        static JsonObject Rule(string[] verbs, string[] groups, string[] resources) => new()
        {
            ["apiGroups"] = new JsonArray([.. groups.Select(g => (JsonNode)JsonValue.Create(g))]),
            ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)JsonValue.Create(r))]),
            ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)JsonValue.Create(v))]),
        };

        static JsonObject Urls(string[] verbs, string[] urls) => new()
        {
            ["nonResourceURLs"] = new JsonArray([.. urls.Select(u => (JsonNode)JsonValue.Create(u))]),
            ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)JsonValue.Create(v))]),
        };

        yield return Role("cluster-admin", Rule(["*"], ["*"], ["*"]), Urls(["*"], ["*"]));
        yield return Binding("cluster-admin", "system:masters");
        yield return Role("system:basic-user",
            Rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            Rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]));
        yield return Binding("system:basic-user", "system:authenticated");
        yield return Role("system:discovery", Urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]));
        yield return Binding("system:discovery", "system:authenticated");
        yield return Role("system:public-info-viewer", Urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"]));
        yield return Binding("system:public-info-viewer", "system:authenticated", "system:unauthenticated");
    }

    public static ApiStatusException Forbidden(RequestAttributes request, UserInfo user, ResourceType? type)
    {
        if (!request.IsResourceRequest)
        {
            return new ApiStatusException(HttpStatusCode.Forbidden, "Forbidden", $"forbidden: User \"{user.Name}\" cannot {request.Verb} path \"{request.Path}\"", new JsonObject());
        }

        var resource = request.Subresource is null ? request.Resource : $"{request.Resource}/{request.Subresource}";
        var qualified = request.Group.Length == 0 ? request.Resource : $"{request.Resource}.{request.Group}";
        var subject = request.Name is null ? qualified : $"{qualified} \"{request.Name}\"";
        var scope = request.Namespace is null ? "at the cluster scope" : $"in the namespace \"{request.Namespace}\"";
        var details = new JsonObject();
        if (request.Name is not null)
        {
            details["name"] = request.Name;
        }

        if (request.Group.Length > 0)
        {
            details["group"] = request.Group;
        }

        details["kind"] = type?.Plural ?? request.Resource;
        return new ApiStatusException(
            HttpStatusCode.Forbidden,
            "Forbidden",
            $"{subject} is forbidden: User \"{user.Name}\" cannot {request.Verb} resource \"{resource}\" in API group \"{request.Group}\" {scope}",
            details);
    }

    private IEnumerable<(JsonObject Binding, JsonObject Subject, IReadOnlyList<JsonObject> Rules, string Source)> BoundRules(UserInfo user, string? ns)
    {
        foreach (var binding in store.List(ClusterRoleBindings))
        {
            if (MatchingSubject(binding, user, null) is { } subject)
            {
                var roleName = binding["roleRef"]?["name"]?.GetValue<string>() ?? string.Empty;
                yield return (binding, subject, RulesOf(store.Get(ClusterRoles, null, roleName)),
                    $"ClusterRoleBinding \"{ObjectStore.Name(binding)}\" of ClusterRole \"{roleName}\"");
            }
        }

        if (string.IsNullOrEmpty(ns))
        {
            yield break;
        }

        foreach (var binding in store.List(RoleBindings, ns))
        {
            if (MatchingSubject(binding, user, ns) is { } subject)
            {
                var kind = binding["roleRef"]?["kind"]?.GetValue<string>() ?? "Role";
                var roleName = binding["roleRef"]?["name"]?.GetValue<string>() ?? string.Empty;
                var role = kind == "ClusterRole" ? store.Get(ClusterRoles, null, roleName) : store.Get(Roles, ns, roleName);
                yield return (binding, subject, RulesOf(role),
                    $"RoleBinding \"{ObjectStore.Name(binding)}/{ns}\" of {kind} \"{roleName}\"");
            }
        }
    }

    private static List<JsonObject> RulesOf(JsonObject? role) => (role?["rules"] as JsonArray ?? []).OfType<JsonObject>().ToList();

    private static JsonObject? MatchingSubject(JsonObject binding, UserInfo user, string? bindingNamespace)
    {
        foreach (var subject in (binding["subjects"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = subject["name"]?.GetValue<string>();
            var matches = subject["kind"]?.GetValue<string>() switch
            {
                "User" => name == user.Name,
                "Group" => user.Groups.Contains(name),
                "ServiceAccount" => user.Name == $"system:serviceaccount:{subject["namespace"]?.GetValue<string>() ?? bindingNamespace}:{name}",
                _ => false,
            };
            if (matches)
            {
                return subject;
            }
        }

        return null;
    }

    private static string Describe(JsonObject subject, JsonObject binding)
    {
        var name = subject["name"]?.GetValue<string>();
        return subject["kind"]?.GetValue<string>() switch
        {
            "ServiceAccount" => $"ServiceAccount \"{name}/{subject["namespace"]?.GetValue<string>() ?? ObjectStore.Namespace(binding)}\"",
            var kind => $"{kind} \"{name}\"",
        };
    }

    private static bool Allows(JsonObject rule, RequestAttributes request)
    {
        var verbs = Values(rule["verbs"]);
        if (!verbs.Contains("*") && !verbs.Contains(request.Verb))
        {
            return false;
        }

        if (!request.IsResourceRequest)
        {
            return Values(rule["nonResourceURLs"]).Any(url => url == "*" || url == request.Path || (url.EndsWith('*') && request.Path!.StartsWith(url[..^1], StringComparison.Ordinal)));
        }

        var groups = Values(rule["apiGroups"]);
        if (!groups.Contains("*") && !groups.Contains(request.Group))
        {
            return false;
        }

        var combined = request.Subresource is null ? request.Resource : $"{request.Resource}/{request.Subresource}";
        var resources = Values(rule["resources"]);
        var resourceMatches = resources.Any(r => r == "*" || r == combined || (request.Subresource is not null && r == "*/" + request.Subresource));
        if (!resourceMatches)
        {
            return false;
        }

        var names = Values(rule["resourceNames"]);
        return names.Count == 0 || (request.Name is not null && names.Contains(request.Name));
    }

    private static List<string> Values(JsonNode? node) => (node as JsonArray ?? []).Select(v => v?.GetValue<string>() ?? string.Empty).ToList();
}
