using System.Text.Json.Nodes;
using ChatOpsPull.Remediation;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// The rollout check against kubectl's own status viewers (kubectl/pkg/polymorphichelpers/rollout_status.go), on
/// objects as the API server serves them (rollingUpdate.partition defaulted to 0, as it is for every RollingUpdate
/// StatefulSet).
/// </summary>
public sealed class RolloutStatusTests
{
    private static JsonObject StatefulSet(int replicas, string strategy, int? partition, int generation, int observed, int ready, int updated, string current = "db-1", string update = "db-2")
    {
        var updateStrategy = new JsonObject { ["type"] = strategy };
        if (partition is not null)
        {
            updateStrategy["rollingUpdate"] = new JsonObject { ["partition"] = partition };
        }

        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "db", ["generation"] = generation },
            ["spec"] = new JsonObject { ["replicas"] = replicas, ["updateStrategy"] = updateStrategy },
            ["status"] = new JsonObject
            {
                ["observedGeneration"] = observed, ["replicas"] = replicas, ["readyReplicas"] = ready, ["updatedReplicas"] = updated,
                ["currentRevision"] = current, ["updateRevision"] = update,
            },
        };
    }

    [Fact]
    public void A_partitioned_statefulset_is_done_when_the_pods_from_the_partition_up_are_updated_though_the_revisions_differ()
    {
        var look = RolloutStatus.StatefulSet(StatefulSet(replicas: 3, "RollingUpdate", partition: 2, generation: 2, observed: 2, ready: 3, updated: 1));

        Assert.True(look.Done);
        Assert.False(look.NotSupported);
    }

    [Fact]
    public void A_partitioned_statefulset_waits_for_its_updated_pods_and_first_for_every_replica_to_be_ready()
    {
        Assert.Equal("partitioned roll out: 0 of 1 new pods updated", RolloutStatus.StatefulSet(StatefulSet(3, "RollingUpdate", 2, 2, 2, ready: 3, updated: 0)).Message);
        Assert.Equal("waiting for 1 pods to be ready", RolloutStatus.StatefulSet(StatefulSet(3, "RollingUpdate", 2, 2, 2, ready: 2, updated: 1)).Message);
        Assert.Equal("waiting for the statefulset controller to see the change", RolloutStatus.StatefulSet(StatefulSet(3, "RollingUpdate", 2, generation: 3, observed: 2, ready: 3, updated: 1)).Message);
        Assert.False(RolloutStatus.StatefulSet(StatefulSet(3, "RollingUpdate", 0, generation: 1, observed: 0, ready: 3, updated: 3)).Done);
    }

    [Fact]
    public void Without_a_rollingUpdate_block_the_revisions_decide()
    {
        Assert.False(RolloutStatus.StatefulSet(StatefulSet(2, "RollingUpdate", null, 2, 2, ready: 2, updated: 1)).Done);
        Assert.True(RolloutStatus.StatefulSet(StatefulSet(2, "RollingUpdate", null, 2, 2, ready: 2, updated: 2, current: "db-2")).Done);
    }

    [Theory]
    [InlineData("StatefulSet")]
    [InlineData("DaemonSet")]
    public void OnDelete_has_no_rollout_status_as_in_kubectl(string kind)
    {
        var look = kind == "StatefulSet"
            ? RolloutStatus.StatefulSet(StatefulSet(2, "OnDelete", null, 2, 2, ready: 0, updated: 0))
            : RolloutStatus.DaemonSet(new JsonObject { ["metadata"] = new JsonObject { ["generation"] = 2 }, ["spec"] = new JsonObject { ["updateStrategy"] = new JsonObject { ["type"] = "OnDelete" } }, ["status"] = new JsonObject { ["observedGeneration"] = 2 } });

        Assert.True(look.NotSupported);
        Assert.Equal("rollout status is only available for RollingUpdate strategy type", look.Message);
    }

    [Fact]
    public void A_daemonset_waits_for_updated_then_available_pods()
    {
        static JsonObject DaemonSet(int desired, int updated, int available) => new()
        {
            ["metadata"] = new JsonObject { ["generation"] = 2 },
            ["spec"] = new JsonObject { ["updateStrategy"] = new JsonObject { ["type"] = "RollingUpdate" } },
            ["status"] = new JsonObject { ["observedGeneration"] = 2, ["desiredNumberScheduled"] = desired, ["updatedNumberScheduled"] = updated, ["numberAvailable"] = available },
        };

        Assert.Equal("1 of 3 new pods updated", RolloutStatus.DaemonSet(DaemonSet(3, 1, 3)).Message);
        Assert.Equal("2 of 3 updated pods available", RolloutStatus.DaemonSet(DaemonSet(3, 3, 2)).Message);
        Assert.True(RolloutStatus.DaemonSet(DaemonSet(3, 3, 3)).Done);
    }

    [Fact]
    public void A_deployment_paused_mid_rollout_is_stuck_not_merely_slow()
    {
        var deployment = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "api", ["generation"] = 3 },
            ["spec"] = new JsonObject { ["replicas"] = 3, ["paused"] = true },
            ["status"] = new JsonObject { ["observedGeneration"] = 3, ["replicas"] = 3, ["updatedReplicas"] = 1, ["availableReplicas"] = 2 },
        };

        var look = RolloutStatus.Deployment(deployment);

        Assert.True(look.Stuck);
        Assert.Equal("deployment api was paused before its rollout finished (1 of 3 new replicas updated); it rolls on when someone resumes it", look.Message);
    }
}
