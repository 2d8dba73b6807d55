using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Manifests;

namespace ChatOpsPull.Tests.Fleet;

/// <summary>
/// The fleet's overlays as <c>kubectl kustomize</c> renders them: a cluster's bot in fleet mode on the shared PostgreSQL,
/// allowed to read only the kube-system namespace beyond its profile; the chat replica with no ServiceAccount token.
/// </summary>
public sealed class FleetManifestTests
{
    [Fact]
    public async Task A_cluster_bot_runs_in_fleet_mode_on_postgres_and_may_read_only_the_kube_system_namespace()
    {
        var objects = await RenderedManifests.ObjectsAsync("manifests/overlays/fleet-cluster");
        var env = Env(objects);

        Assert.Equal("true", env["CHATOPSPULL__Fleet__Enabled"]);
        Assert.Equal("Postgres", env["CHATOPSPULL__Storage__Provider"]);
        Assert.False(env.ContainsKey("CHATOPSPULL__Fleet__Role")); // Cluster, the default
        Assert.Equal("change-me", env["CHATOPSPULL__Bot__Cluster"]);
        var role = objects.Single(o => o.Kind == "ClusterRole" && o.Name == "chatopspull-api-server-identity").Json;
        var rule = Assert.Single(role["rules"]!.AsArray())!;
        Assert.Equal(["get"], Strings(rule["verbs"]));
        Assert.Equal(["namespaces"], Strings(rule["resources"]));
        Assert.Equal(["kube-system"], Strings(rule["resourceNames"]));
        var binding = objects.Single(o => o.Kind == "ClusterRoleBinding" && o.Name == "chatopspull-api-server-identity").Json;
        Assert.Equal("chatopspull", binding["subjects"]![0]!["name"]!.GetValue<string>());
        Assert.Contains(objects, o => o.Kind == "ValidatingAdmissionPolicy"); // the remediate profile's guard comes along
    }

    [Fact]
    public async Task The_chat_replica_mounts_no_service_account_token_and_runs_as_the_chat_role()
    {
        var objects = await RenderedManifests.ObjectsAsync("manifests/overlays/fleet-chat");
        var env = Env(objects);
        var pod = objects.Single(o => o.Kind == "Deployment").Json["spec"]!["template"]!["spec"]!;

        Assert.False(pod["automountServiceAccountToken"]!.GetValue<bool>());
        Assert.Equal("true", env["CHATOPSPULL__Fleet__Enabled"]);
        Assert.Equal("Chat", env["CHATOPSPULL__Fleet__Role"]);
        Assert.Equal("Postgres", env["CHATOPSPULL__Storage__Provider"]);
        Assert.DoesNotContain(objects, o => o.Kind is "ClusterRole" or "Role"
            && o.Json["rules"]!.AsArray().Any(r => Strings(r!["verbs"]).Any(v => v is "create" or "update" or "patch" or "delete") && !Strings(r!["resources"]).SequenceEqual(["leases"])));
    }

    private static Dictionary<string, string> Env(IReadOnlyList<RenderedObject> objects) =>
        objects.Single(o => o.Kind == "Deployment").Json["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .Where(e => e!["value"] is not null)
            .ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>());

    private static List<string> Strings(JsonNode? array) => array?.AsArray().Select(n => n!.GetValue<string>()).ToList() ?? [];
}
