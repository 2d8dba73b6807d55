using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>Workload manifests as a user writes them (the shape of the examples in the Kubernetes documentation).</summary>
public static class Workloads
{
    /// <summary>A Deployment like https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#creating-a-deployment.</summary>
    public static JsonObject Deployment(string ns, string name, string image, int replicas = 3) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = name } },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = Template(name, image),
        },
    };

    /// <summary>A StatefulSet like https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#components (without volumes).</summary>
    public static JsonObject StatefulSet(string ns, string name, string image, int replicas = 3, string strategy = "RollingUpdate", int? partition = null)
    {
        var update = new JsonObject { ["type"] = strategy };
        if (partition is not null)
        {
            update["rollingUpdate"] = new JsonObject { ["partition"] = partition };
        }

        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "StatefulSet",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["serviceName"] = name,
                ["replicas"] = replicas,
                ["updateStrategy"] = update,
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
                ["template"] = Template(name, image),
            },
        };
    }

    /// <summary>A DaemonSet like https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#create-a-daemonset.</summary>
    public static JsonObject DaemonSet(string ns, string name, string image, string strategy = "RollingUpdate") => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "DaemonSet",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["updateStrategy"] = new JsonObject { ["type"] = strategy },
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = Template(name, image),
        },
    };

    private static JsonObject Template(string name, string image) => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "app",
                ["image"] = image,
                ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080 }),
            }),
        },
    };
}
