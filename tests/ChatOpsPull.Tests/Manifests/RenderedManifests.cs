using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;
using k8s;
using YamlDotNet.Serialization;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>One object of a rendered kustomization: its YAML text, the plain tree and the KubernetesClient model.</summary>
public sealed record RenderedObject(string Yaml, object Tree, IKubernetesObject Model)
{
    public string Kind => Model.Kind;

    public string Name => Json["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;

    /// <summary>The model serialized as the API would receive it.</summary>
    public JsonObject Json => (JsonObject)JsonNode.Parse(KubernetesJson.Serialize(Model))!;

    public override string ToString() => $"{Kind}/{Name}";
}

/// <summary>Runs <c>kubectl kustomize</c> (offline: it only reads the files) and reads what it prints.</summary>
public static class RenderedManifests
{
    /// <summary>
    /// Every kustomization an operator may apply: the default (remediate), each install profile, the PostgreSQL overlay and
    /// the admission overlay (manifests/overlays/admission-cert-manager needs cert-manager's kinds: AdmissionManifestTests).
    /// </summary>
    public static readonly string[] Kustomizations =
    [
        "manifests",
        "manifests/profiles/observe",
        "manifests/profiles/remediate",
        "manifests/profiles/observe-namespaced",
        "manifests/profiles/remediate-namespaced",
        "manifests/overlays/postgres",
        "manifests/overlays/admission",
    ];

    public static TheoryData<string> AllKustomizations => new(Kustomizations);

    public static string RepositoryRoot { get; } = FindRoot();

    public static string Path(string relative) => System.IO.Path.Combine(RepositoryRoot, relative);

    public static async Task<string> RenderAsync(string kustomization)
    {
        try
        {
            return await ExternalProcess.RunAsync("kubectl", ["kustomize", Path(kustomization)], RepositoryRoot, TimeSpan.FromMinutes(1));
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException(
                $"kubectl kustomize {kustomization} failed. The manifests need the kustomize built into kubectl 1.21 or later (\"labels\", \"patches\"); check `kubectl version --client`.\n{e.Message}",
                e);
        }
    }

    public static async Task<IReadOnlyList<RenderedObject>> ObjectsAsync(string kustomization) => Parse(await RenderAsync(kustomization));

    /// <summary>The Secret templates in manifests/templates (applied by hand, never by a kustomization).</summary>
    public static IReadOnlyList<RenderedObject> Templates() =>
        Directory.GetFiles(Path("manifests/templates"), "*.yaml").Order(StringComparer.Ordinal).SelectMany(f => Parse(File.ReadAllText(f))).ToList();

    public static IReadOnlyList<RenderedObject> Parse(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        return yaml.Split("\n---\n")
            .Select(doc => doc.Trim())
            .Where(doc => doc.Length > 0 && doc != "---")
            .Select(doc => new RenderedObject(doc, deserializer.Deserialize<object>(doc)!, (IKubernetesObject)KubernetesYaml.LoadAllFromString(doc).Single()))
            .ToList();
    }

    /// <summary>Paths of fields in the YAML that the API's model of that kind does not have (a typo Kubernetes would drop).</summary>
    public static IEnumerable<string> UnknownFields(RenderedObject rendered) => UnknownFields(rendered.Tree, rendered.Json, "$");

    private static IEnumerable<string> UnknownFields(object? raw, JsonNode? typed, string path)
    {
        switch (raw)
        {
            case Dictionary<object, object> map:
                foreach (var (key, value) in map)
                {
                    var name = key.ToString()!;
                    if (typed is not JsonObject obj || !obj.ContainsKey(name))
                    {
                        yield return $"{path}.{name}";
                        continue;
                    }

                    foreach (var unknown in UnknownFields(value, obj[name], $"{path}.{name}"))
                    {
                        yield return unknown;
                    }
                }

                break;
            case List<object> list:
                for (var i = 0; i < list.Count; i++)
                {
                    var item = typed is JsonArray array && i < array.Count ? array[i] : null;
                    foreach (var unknown in UnknownFields(list[i], item, $"{path}[{i}]"))
                    {
                        yield return unknown;
                    }
                }

                break;
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "ChatOpsPull.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with ChatOpsPull.sln) is not above " + AppContext.BaseDirectory);
    }
}
