using System.Text.Json;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// Every kustomization (each install profile, the default, the PostgreSQL overlay) renders offline with kubectl, every object passes the Kubernetes OpenAPI schema (npm
/// kubernetes-models, tests/manifest-check) and has no field the API's model of its kind lacks (KubernetesClient's models).
/// </summary>
public sealed class ManifestValidationTests
{
    public static TheoryData<string> Kustomizations => RenderedManifests.AllKustomizations;

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task Every_rendered_object_passes_the_kubernetes_schema(string kustomization)
    {
        var rendered = await RenderedManifests.RenderAsync(kustomization);

        var (exit, lines) = await SchemaCheckAsync(rendered);

        Assert.True(exit == 0, string.Join('\n', lines));
        Assert.All(lines, line => Assert.True(JsonDocument.Parse(line).RootElement.GetProperty("ok").GetBoolean(), line));
        Assert.Equal(RenderedManifests.Parse(rendered).Count, lines.Count);
    }

    [Fact]
    public async Task The_secret_templates_pass_the_kubernetes_schema_and_have_no_unknown_fields()
    {
        var yaml = string.Join("\n---\n", Directory.GetFiles(RenderedManifests.Path("manifests/templates"), "*.yaml").Select(File.ReadAllText));

        var (exit, lines) = await SchemaCheckAsync(yaml);

        Assert.True(exit == 0, string.Join('\n', lines));
        Assert.Equal(2, lines.Count);
        Assert.All(RenderedManifests.Templates(), t => Assert.Empty(RenderedManifests.UnknownFields(t)));
    }

    [Fact]
    public async Task The_schema_check_rejects_a_wrong_type_and_an_unknown_kind()
    {
        const string broken = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: broken}
            spec:
              selector: {matchLabels: {app: x}}
              template:
                metadata: {labels: {app: x}}
                spec:
                  containers: [{name: x, image: x, ports: [{containerPort: http}]}]
            ---
            apiVersion: v1
            kind: Servic
            metadata: {name: typo}
            """;

        var (exit, lines) = await SchemaCheckAsync(broken);

        Assert.Equal(1, exit);
        Assert.Contains(lines, l => l.Contains("containerPort must be integer", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Servic is not a kind", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task No_rendered_object_has_a_field_its_kind_does_not_have(string kustomization)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);

        Assert.NotEmpty(objects);
        Assert.All(objects, o => Assert.Empty(RenderedManifests.UnknownFields(o)));
    }

    [Fact]
    public void The_unknown_field_check_finds_a_misspelt_field()
    {
        var objects = RenderedManifests.Parse("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: typo}
            spec:
              replicass: 2
              selector: {matchLabels: {app: x}}
              template:
                metadata: {labels: {app: x}}
                spec:
                  containers: [{name: x, image: x, imagePullPolcy: Always}]
            """);

        Assert.Equal(["$.spec.replicass", "$.spec.template.spec.containers[0].imagePullPolcy"], RenderedManifests.UnknownFields(objects.Single()));
    }

    private static async Task<(int Exit, IReadOnlyList<string> Lines)> SchemaCheckAsync(string yaml)
    {
        var checker = RenderedManifests.Path("tests/manifest-check/check.mjs");
        var input = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(input, yaml);
            await using var node = ExternalProcess.Start("node", [checker, input], RenderedManifests.Path("tests/manifest-check"));
            var exit = await node.WaitForExitAsync(TimeSpan.FromMinutes(1));
            var lines = node.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')).ToList();
            return (exit, lines);
        }
        finally
        {
            File.Delete(input);
        }
    }
}
