using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>The validation the real API server does on the fields the fake knows (names, containers, pod updates, leases).</summary>
public static partial class ObjectValidation
{
    public static void ValidatePodUpdate(JsonObject existing, JsonObject updated, string name)
    {
        static JsonNode? WithoutImages(JsonNode? spec)
        {
            var copy = spec?.DeepClone();
            foreach (var list in new[] { "containers", "initContainers" })
            {
                if (copy?[list] is JsonArray containers)
                {
                    foreach (var c in containers.OfType<JsonObject>())
                    {
                        c.Remove("image");
                    }
                }
            }

            if (copy is JsonObject o)
            {
                o.Remove("activeDeadlineSeconds");
                o.Remove("tolerations");
                o.Remove("ephemeralContainers");
            }

            return copy;
        }

        if (!JsonNode.DeepEquals(WithoutImages(existing["spec"]), WithoutImages(updated["spec"])))
        {
            throw ApiStatus.Invalid(ResourceType.Of("pods"), name,
            [
                ("spec", "FieldValueForbidden",
                    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"),
            ]);
        }
    }

    public static void Validate(ResourceType type, string name, JsonObject obj)
    {
        var causes = new List<(string, string, string)>();
        if (type.Group == "rbac.authorization.k8s.io")
        {
            // ValidateRBACName is path.ValidatePathSegmentName: anything but "." and "..", "/" and "%".
            if (name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('%', StringComparison.Ordinal))
            {
                causes.Add(("metadata.name", "FieldValueInvalid", $"Invalid value: \"{name}\": may not contain '/'"));
            }
        }
        else if (!Rfc1123Subdomain().IsMatch(name) || name.Length > 253)
        {
            causes.Add(("metadata.name", "FieldValueInvalid",
                $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }

        var podSpec = type.Kind switch
        {
            "Pod" => obj["spec"],
            "Deployment" or "ReplicaSet" or "StatefulSet" or "DaemonSet" or "Job" => obj["spec"]?["template"]?["spec"],
            "CronJob" => obj["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"],
            _ => null,
        };
        var prefix = type.Kind switch
        {
            "Pod" => "spec",
            "CronJob" => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        };
        if (podSpec is not null || type.Kind == "Pod")
        {
            if (podSpec?["containers"] is not JsonArray { Count: > 0 } containers)
            {
                causes.Add(($"{prefix}.containers", "FieldValueRequired", "Required value"));
            }
            else
            {
                for (var i = 0; i < containers.Count; i++)
                {
                    if (string.IsNullOrEmpty(containers[i]?["name"]?.GetValue<string>()))
                    {
                        causes.Add(($"{prefix}.containers[{i}].name", "FieldValueRequired", "Required value"));
                    }

                    if (type.Kind != "Pod" && string.IsNullOrEmpty(containers[i]?["image"]?.GetValue<string>()))
                    {
                        causes.Add(($"{prefix}.containers[{i}].image", "FieldValueRequired", "Required value"));
                    }
                }
            }
        }

        if (type.Kind == "Lease" && obj["spec"]?["leaseDurationSeconds"] is JsonValue duration && ObjectStore.Number(duration) <= 0)
        {
            causes.Add(("spec.leaseDurationSeconds", "FieldValueInvalid", $"Invalid value: {ObjectStore.Number(duration)}: must be greater than 0"));
        }

        if (causes.Count > 0)
        {
            throw ApiStatus.Invalid(type, name, causes);
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Rfc1123Subdomain();
}
