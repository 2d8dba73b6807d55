using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// The discovery documents a client reads before anything else, shaped as the real server writes them
/// (k8s.io/apimachinery/pkg/apis/meta/v1 APIVersions, APIGroupList, APIGroup, APIResourceList; aggregated discovery
/// apidiscovery.k8s.io/v2 APIGroupDiscoveryList when the client asks for it in Accept), and the OpenAPI v3 index and
/// per-group-version documents (paths with their operations, parameters and x-kubernetes-group-version-kind; schemas
/// are open objects, enough for kubectl's field-validation check, not for `kubectl explain`).
/// </summary>
public static class Discovery
{
    public const string AggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

    /// <summary>True when the Accept header asks for aggregated discovery (v2 or v2beta1) before plain JSON.</summary>
    public static string? AggregatedVersion(string? accept)
    {
        foreach (var part in (accept ?? string.Empty).Split(','))
        {
            var p = part.Replace(" ", string.Empty, StringComparison.Ordinal);
            if (p.Contains("as=APIGroupDiscoveryList", StringComparison.Ordinal) && p.Contains("g=apidiscovery.k8s.io", StringComparison.Ordinal))
            {
                return p.Contains("v=v2beta1", StringComparison.Ordinal) ? "v2beta1" : "v2";
            }

            if (p.StartsWith("application/json", StringComparison.Ordinal) && !p.Contains("as=", StringComparison.Ordinal))
            {
                return null;
            }
        }

        return null;
    }

    public static JsonObject ApiVersions(Uri server) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = $"{server.Host}:{server.Port}" }),
    };

    public static JsonObject GroupList(IReadOnlyList<ResourceType> types) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray([.. Groups(types).Where(g => g.Key.Length > 0).Select(g => Group(g.Key, g.Value))]),
    };

    public static JsonObject? Group(IReadOnlyList<ResourceType> types, string group) =>
        Groups(types).TryGetValue(group, out var versions) ? Group(group, versions).Also(o => { o["kind"] = "APIGroup"; o["apiVersion"] = "v1"; }) : null;

    public static JsonObject? ResourceList(IReadOnlyList<ResourceType> types, string group, string version)
    {
        var served = types.Where(t => t.Group == group && t.Version == version).OrderBy(t => t.Plural, StringComparer.Ordinal).ToList();
        if (served.Count == 0)
        {
            return null;
        }

        var resources = new JsonArray();
        foreach (var type in served)
        {
            var resource = new JsonObject
            {
                ["name"] = type.Plural,
                ["singularName"] = type.SingularName,
                ["namespaced"] = type.Namespaced,
                ["kind"] = type.Kind,
                ["verbs"] = Strings(type.Verbs),
            };
            if (type.ShortNames.Count > 0)
            {
                resource["shortNames"] = Strings(type.ShortNames);
            }

            if (type.Categories.Count > 0)
            {
                resource["categories"] = Strings(type.Categories);
            }

            resources.Add(resource);
            foreach (var (sub, kind, subGroup, subVersion) in Subresources(type))
            {
                var entry = new JsonObject
                {
                    ["name"] = $"{type.Plural}/{sub}",
                    ["singularName"] = string.Empty,
                    ["namespaced"] = type.Namespaced,
                };
                if (subGroup != type.Group || subVersion != type.Version)
                {
                    entry["group"] = subGroup;
                    entry["version"] = subVersion;
                }

                entry["kind"] = kind;
                entry["verbs"] = new JsonArray("get", "patch", "update");
                resources.Add(entry);
            }
        }

        var list = new JsonObject { ["kind"] = "APIResourceList" };
        if (group.Length > 0)
        {
            list["apiVersion"] = "v1";
        }

        list["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}";
        list["resources"] = resources;
        return list;
    }

    /// <summary>APIGroupDiscoveryList for /api (core only) or /apis (every other group).</summary>
    public static JsonObject Aggregated(IReadOnlyList<ResourceType> types, bool core, string version)
    {
        var items = new JsonArray();
        foreach (var (group, versions) in Groups(types).Where(g => (g.Key.Length == 0) == core))
        {
            var metadata = new JsonObject();
            if (group.Length > 0)
            {
                metadata["name"] = group;
            }

            metadata["creationTimestamp"] = null;
            var versionArray = new JsonArray();
            foreach (var v in versions)
            {
                var resources = new JsonArray();
                foreach (var type in types.Where(t => t.Group == group && t.Version == v).OrderBy(t => t.Plural, StringComparer.Ordinal))
                {
                    var resource = new JsonObject
                    {
                        ["resource"] = type.Plural,
                        ["responseKind"] = new JsonObject { ["group"] = type.Group, ["version"] = type.Version, ["kind"] = type.Kind },
                        ["scope"] = type.Namespaced ? "Namespaced" : "Cluster",
                        ["singularResource"] = type.SingularName,
                        ["verbs"] = Strings(type.Verbs),
                    };
                    if (type.ShortNames.Count > 0)
                    {
                        resource["shortNames"] = Strings(type.ShortNames);
                    }

                    if (type.Categories.Count > 0)
                    {
                        resource["categories"] = Strings(type.Categories);
                    }

                    var subs = Subresources(type).ToList();
                    if (subs.Count > 0)
                    {
                        resource["subresources"] = new JsonArray([.. subs.Select(s => (JsonNode)new JsonObject
                        {
                            ["subresource"] = s.Name,
                            ["responseKind"] = new JsonObject { ["group"] = s.Group, ["version"] = s.Version, ["kind"] = s.Kind },
                            ["verbs"] = new JsonArray("get", "patch", "update"),
                        })]);
                    }

                    resources.Add(resource);
                }

                versionArray.Add(new JsonObject { ["version"] = v, ["resources"] = resources, ["freshness"] = "Current" });
            }

            items.Add(new JsonObject { ["metadata"] = metadata, ["versions"] = versionArray });
        }

        return new JsonObject
        {
            ["kind"] = "APIGroupDiscoveryList",
            ["apiVersion"] = $"apidiscovery.k8s.io/{version}",
            ["metadata"] = new JsonObject(),
            ["items"] = items,
        };
    }

    /// <summary>/openapi/v3: one entry per group-version, each with a hashed URL the client may cache.</summary>
    public static JsonObject OpenApiIndex(IReadOnlyList<ResourceType> types)
    {
        var paths = new JsonObject();
        foreach (var (group, versions) in Groups(types))
        {
            foreach (var version in versions)
            {
                var key = group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";
                var hash = Convert.ToHexString(SHA512.HashData(Encoding.UTF8.GetBytes(OpenApi(types, group, version)!.ToJsonString())));
                paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
            }
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>The OpenAPI v3 document of one group-version, or null when none is served.</summary>
    public static JsonObject? OpenApi(IReadOnlyList<ResourceType> types, string group, string version)
    {
        var served = types.Where(t => t.Group == group && t.Version == version).ToList();
        if (served.Count == 0)
        {
            return null;
        }

        var prefix = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var type in served)
        {
            var schemaName = SchemaName(type);
            var reference = new JsonObject { ["$ref"] = $"#/components/schemas/{schemaName}" };
            schemas[schemaName] = new JsonObject
            {
                ["description"] = $"{type.Kind} ({type.ApiVersion}), as the fake API server serves it.",
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["apiVersion"] = new JsonObject { ["type"] = "string" },
                    ["kind"] = new JsonObject { ["type"] = "string" },
                    ["metadata"] = new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
                },
                ["x-kubernetes-preserve-unknown-fields"] = true,
                ["x-kubernetes-group-version-kind"] = new JsonArray(Gvk(type)),
            };
            var collection = type.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{type.Plural}" : $"{prefix}/{type.Plural}";
            var item = collection + "/{name}";
            if (!type.Persisted)
            {
                paths[collection] = new JsonObject { ["post"] = Operation(type, "post", reference, ["dryRun", "fieldManager", "fieldValidation", "pretty"]) };
                continue;
            }

            paths[collection] = new JsonObject
            {
                ["get"] = Operation(type, "list", reference, ["allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch", "pretty"]),
                ["post"] = Operation(type, "post", reference, ["dryRun", "fieldManager", "fieldValidation", "pretty"]),
            };
            paths[item] = new JsonObject
            {
                ["get"] = Operation(type, "get", reference, ["pretty"]),
                ["put"] = Operation(type, "put", reference, ["dryRun", "fieldManager", "fieldValidation", "pretty"]),
                ["patch"] = Operation(type, "patch", reference, ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]),
                ["delete"] = Operation(type, "delete", reference, ["dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents", "propagationPolicy", "pretty"]),
            };
            if (type.HasStatus)
            {
                paths[item + "/status"] = new JsonObject
                {
                    ["get"] = Operation(type, "get", reference, ["pretty"]),
                    ["put"] = Operation(type, "put", reference, ["dryRun", "fieldManager", "fieldValidation", "pretty"]),
                    ["patch"] = Operation(type, "patch", reference, ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]),
                };
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = FakeKubernetesApi.GitVersion },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static JsonObject Operation(ResourceType type, string action, JsonObject reference, string[] parameters)
    {
        var op = new JsonObject
        {
            ["description"] = $"{action} {type.Kind}",
            ["operationId"] = action + type.Kind,
            ["parameters"] = new JsonArray([.. parameters.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p,
                ["in"] = "query",
                ["description"] = p,
                ["schema"] = new JsonObject { ["type"] = p is "limit" or "timeoutSeconds" or "gracePeriodSeconds" ? "integer" : p is "watch" or "allowWatchBookmarks" or "force" or "orphanDependents" or "sendInitialEvents" or "ignoreStoreReadErrorWithClusterBreakingPotential" ? "boolean" : "string" },
                ["uniqueItems"] = true,
            })]),
            ["responses"] = new JsonObject
            {
                ["200"] = new JsonObject
                {
                    ["description"] = "OK",
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = reference.DeepClone() } },
                },
            },
            ["x-kubernetes-action"] = action,
            ["x-kubernetes-group-version-kind"] = Gvk(type),
        };
        if (action is "post" or "put" or "patch")
        {
            var contentTypes = action == "patch"
                ? new[] { "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json" }
                : ["*/*"];
            var content = new JsonObject();
            foreach (var contentType in contentTypes)
            {
                content[contentType] = new JsonObject { ["schema"] = action == "patch" ? new JsonObject { ["type"] = "object" } : reference.DeepClone() };
            }

            op["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true };
        }

        return op;
    }

    private static JsonObject Gvk(ResourceType type) => new() { ["group"] = type.Group, ["kind"] = type.Kind, ["version"] = type.Version };

    private static string SchemaName(ResourceType type)
    {
        if (type.Custom)
        {
            var reversed = string.Join('.', type.Group.Split('.').Reverse());
            return $"{reversed}.{type.Version}.{type.Kind}";
        }

        var package = type.Group switch
        {
            "" => "core",
            "rbac.authorization.k8s.io" => "rbac",
            "authorization.k8s.io" => "authorization",
            "authentication.k8s.io" => "authentication",
            "coordination.k8s.io" => "coordination",
            "apiextensions.k8s.io" => "apiextensions",
            _ => type.Group,
        };
        return type.Group == "apiextensions.k8s.io"
            ? $"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{type.Version}.{type.Kind}"
            : $"io.k8s.api.{package}.{type.Version}.{type.Kind}";
    }

    private static IEnumerable<(string Name, string Kind, string Group, string Version)> Subresources(ResourceType type)
    {
        if (type.HasScale)
        {
            yield return ("scale", "Scale", "autoscaling", "v1");
        }

        if (type.HasStatus)
        {
            yield return ("status", type.Kind, type.Group, type.Version);
        }
    }

    /// <summary>Groups in the order the real server lists them (core first, then registration order), with their versions.</summary>
    private static Dictionary<string, List<string>> Groups(IReadOnlyList<ResourceType> types)
    {
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (!groups.TryGetValue(type.Group, out var versions))
            {
                versions = [];
                groups[type.Group] = versions;
            }

            if (!versions.Contains(type.Version))
            {
                versions.Add(type.Version);
            }
        }

        return groups;
    }

    private static JsonObject Group(string group, List<string> versions)
    {
        var versionArray = new JsonArray([.. versions.Select(v => (JsonNode)new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v })]);
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = versionArray,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{group}/{versions[0]}", ["version"] = versions[0] },
        };
    }

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private static JsonObject Also(this JsonObject obj, Action<JsonObject> action)
    {
        action(obj);
        return obj;
    }
}
