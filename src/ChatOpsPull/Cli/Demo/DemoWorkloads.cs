using k8s.Models;

namespace ChatOpsPull.Cli.Demo;

/// <summary>One broken workload of the demo: what it runs and why that cannot be pulled.</summary>
public sealed record DemoWorkload(string Name, string Image, string Why);

/// <summary>
/// The demo's namespace and three Deployments that cannot pull their images, for three different reasons the bot tells
/// apart. Everything carries <see cref="Label"/>, which is how <c>demo --clean</c> finds it.
/// </summary>
public static class DemoWorkloads
{
    public const string DefaultNamespace = "chatopspull-demo";

    public const string LabelKey = "app.kubernetes.io/part-of";

    public const string LabelValue = "chatopspull-demo";

    public static string Label => $"{LabelKey}={LabelValue}";

    public static IReadOnlyList<DemoWorkload> All { get; } =
    [
        new("missing-tag", "docker.io/library/nginx:0.0.0-chatopspull-demo", "a tag that does not exist (the card suggests the nearest tags)"),
        new("private-image", "docker.io/chatopspull/private-demo:1.0.0", "a repository that needs credentials, and no pull secret"),
        new("invalid-name", "registry.example.com/Shop/Web:1.0", "an image name that is not valid (upper-case repository)"),
    ];

    public static V1Namespace Namespace(string name) => new()
    {
        ApiVersion = "v1",
        Kind = "Namespace",
        Metadata = new V1ObjectMeta { Name = name, Labels = Labels() },
    };

    public static V1Deployment Deployment(DemoWorkload workload, string @namespace)
    {
        var selector = new Dictionary<string, string> { ["app.kubernetes.io/name"] = workload.Name };
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta
            {
                Name = workload.Name,
                NamespaceProperty = @namespace,
                Labels = Labels(selector),
                Annotations = new Dictionary<string, string> { ["chatopspull.io/demo"] = workload.Why },
            },
            Spec = new V1DeploymentSpec
            {
                Replicas = 1,
                Selector = new V1LabelSelector { MatchLabels = selector },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = Labels(selector) },
                    Spec = new V1PodSpec
                    {
                        AutomountServiceAccountToken = false,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "app",
                                Image = workload.Image,
                                ImagePullPolicy = "IfNotPresent",
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("16Mi") },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") },
                                },
                            },
                        ],
                    },
                },
            },
        };
    }

    private static Dictionary<string, string> Labels(IReadOnlyDictionary<string, string>? more = null)
    {
        var labels = new Dictionary<string, string> { [LabelKey] = LabelValue };
        foreach (var (key, value) in more ?? new Dictionary<string, string>())
        {
            labels[key] = value;
        }

        return labels;
    }
}
