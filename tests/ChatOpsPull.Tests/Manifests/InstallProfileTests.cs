using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// What each install profile promises (docs/install-profiles.md): observe writes nothing but its Lease, every profile
/// tells the bot which it is, remediate ships the admission policy for the bot's own account, the namespaced variants bind
/// only in the namespaces the bot watches, and those variants are exactly what manifests/namespaced/generate writes.
/// </summary>
public sealed class InstallProfileTests
{
    private static readonly string[] Writes = ["create", "update", "patch", "delete", "deletecollection"];

    public static TheoryData<string, string> Profiles => new()
    {
        { "manifests", "Remediate" },
        { "manifests/profiles/observe", "Observe" },
        { "manifests/profiles/remediate", "Remediate" },
        { "manifests/profiles/observe-namespaced", "Observe" },
        { "manifests/profiles/remediate-namespaced", "Remediate" },
        { "manifests/overlays/postgres", "Remediate" },
        { "manifests/overlays/admission", "Remediate" },
    };

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Each_profile_tells_the_bot_which_it_is(string kustomization, string profile)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);

        Assert.Equal(profile, Env(objects).GetValueOrDefault("CHATOPSPULL__Bot__Profile"));
    }

    [Theory]
    [InlineData("manifests/profiles/observe")]
    [InlineData("manifests/profiles/observe-namespaced")]
    public async Task Observe_profiles_grant_no_write_but_their_own_lease(string kustomization)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);
        var writes = objects.Where(o => o.Kind is "ClusterRole" or "Role")
            .SelectMany(o => o.Json["rules"]!.AsArray().Select(r => (Role: o, Rule: r!)))
            .Where(r => r.Rule["verbs"]!.AsArray().Any(v => Writes.Contains(v!.GetValue<string>())))
            .ToList();

        var lease = Assert.Single(writes);
        Assert.Equal(("Role", "chatopspull-leader-election"), (lease.Role.Kind, lease.Role.Name));
        Assert.Equal(["leases"], lease.Rule["resources"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.DoesNotContain(objects, o => o.Kind is "ValidatingAdmissionPolicy" or "ValidatingAdmissionPolicyBinding");
    }

    [Theory]
    [InlineData("manifests")]
    [InlineData("manifests/profiles/remediate")]
    [InlineData("manifests/profiles/remediate-namespaced")]
    [InlineData("manifests/overlays/postgres")]
    [InlineData("manifests/overlays/admission")]
    public async Task Remediate_profiles_guard_the_bots_own_writes_with_the_admission_policy(string kustomization)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);
        var policy = objects.Single(o => o.Kind == "ValidatingAdmissionPolicy");
        var binding = objects.Single(o => o.Kind == "ValidatingAdmissionPolicyBinding");
        var account = objects.Single(o => o.Kind == "ServiceAccount").Json["metadata"]!;

        Assert.Equal("admissionregistration.k8s.io/v1", policy.Json["apiVersion"]!.GetValue<string>());
        Assert.Null(policy.Json["metadata"]!["namespace"]); // cluster-scoped: kustomize must not have put one on it
        Assert.Null(binding.Json["metadata"]!["namespace"]);
        Assert.Equal(policy.Name, binding.Json["spec"]!["policyName"]!.GetValue<string>());
        Assert.Equal(["Deny"], binding.Json["spec"]!["validationActions"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("Fail", policy.Json["spec"]!["failurePolicy"]!.GetValue<string>());
        var condition = Assert.Single(policy.Json["spec"]!["matchConditions"]!.AsArray())!["expression"]!.GetValue<string>();
        Assert.Equal($"request.userInfo.username == 'system:serviceaccount:{account["namespace"]}:{account["name"]}'", condition);
        var reference = await RenderedManifests.ObjectsAsync("manifests/profiles/remediate");
        Assert.True(JsonNode.DeepEquals(reference.Single(o => o.Kind == "ValidatingAdmissionPolicy").Json, policy.Json), "every remediate profile ships the same policy");
    }

    [Theory]
    [InlineData("manifests/profiles/observe-namespaced", new[] { "chatopspull-read" })]
    [InlineData("manifests/profiles/remediate-namespaced", new[] { "chatopspull-read", "chatopspull-remediate" })]
    public async Task Namespaced_profiles_bind_roles_only_in_the_namespaces_the_bot_watches(string kustomization, string[] roles)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);
        var watched = Env(objects).Where(e => e.Key.StartsWith("CHATOPSPULL__Kubernetes__Namespaces__", StringComparison.Ordinal)).Select(e => e.Value).Order().ToList();
        var bindings = objects.Where(o => o.Kind == "RoleBinding" && roles.Contains(o.Json["roleRef"]!["name"]!.GetValue<string>())).ToList();

        Assert.Equal(["payments", "shop"], watched);
        Assert.Equal(["chatopspull-nodes"], objects.Where(o => o.Kind == "ClusterRoleBinding").Select(o => o.Name));
        foreach (var role in roles)
        {
            Assert.Equal(watched, bindings.Where(b => b.Name == role).Select(b => b.Json["metadata"]!["namespace"]!.GetValue<string>()).Order());
            Assert.All(bindings.Where(b => b.Name == role), b => Assert.Equal("ClusterRole", b.Json["roleRef"]!["kind"]!.GetValue<string>()));
        }
    }

    [Theory]
    [InlineData("observe")]
    [InlineData("remediate")]
    public async Task The_namespaced_profiles_are_what_the_generator_writes(string profile)
    {
        var copy = Directory.CreateTempSubdirectory("chatopspull-generate-").FullName;
        try
        {
            CopyDirectory(RenderedManifests.Path("manifests"), Path.Combine(copy, "manifests"));
            var folder = $"manifests/profiles/{profile}-namespaced";
            Directory.Delete(Path.Combine(copy, folder), recursive: true);

            await ExternalProcess.RunAsync("bash", ["manifests/namespaced/generate", profile, "shop", "payments"], copy, TimeSpan.FromMinutes(1));

            foreach (var file in new[] { "kustomization.yaml", "rolebindings.yaml" })
            {
                Assert.Equal(
                    await File.ReadAllTextAsync(RenderedManifests.Path($"{folder}/{file}")),
                    await File.ReadAllTextAsync(Path.Combine(copy, folder, file)));
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Theory]
    [InlineData("Shop")]
    [InlineData("shop;rm")]
    [InlineData("-shop")]
    public async Task The_generator_refuses_a_name_that_is_not_a_namespace_and_writes_nothing(string name)
    {
        var copy = Directory.CreateTempSubdirectory("chatopspull-generate-").FullName;
        try
        {
            CopyDirectory(RenderedManifests.Path("manifests/namespaced"), Path.Combine(copy, "manifests/namespaced"));
            await using var generator = ExternalProcess.Start("bash", ["manifests/namespaced/generate", "observe", "payments", name], copy);
            var exit = await generator.WaitForExitAsync(TimeSpan.FromMinutes(1));

            Assert.Equal(2, exit);
            Assert.Contains("is not a namespace name", generator.Output, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(copy, "manifests/profiles")));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static Dictionary<string, string> Env(IReadOnlyList<RenderedObject> objects) =>
        objects.Single(o => o.Kind == "Deployment").Json["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .Where(e => e!["value"] is not null)
            .ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>());

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }
}
