using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Core.Tests.Incidents;

public sealed class IncidentRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<IncidentState, IncidentState> Legal => new()
    {
        { IncidentState.Open, IncidentState.Diagnosed },
        { IncidentState.Diagnosed, IncidentState.AwaitingApproval },
        { IncidentState.AwaitingApproval, IncidentState.Remediating },
        { IncidentState.Remediating, IncidentState.Resolved },
        { IncidentState.Remediating, IncidentState.Failed },
        { IncidentState.AwaitingApproval, IncidentState.Diagnosed },
        { IncidentState.Diagnosed, IncidentState.Diagnosed },
        { IncidentState.Resolved, IncidentState.Open },
        { IncidentState.Open, IncidentState.Resolved },
    };

    public static TheoryData<IncidentState, IncidentState> Illegal => new()
    {
        { IncidentState.Open, IncidentState.Remediating },
        { IncidentState.Open, IncidentState.AwaitingApproval },
        { IncidentState.Open, IncidentState.Open },
        { IncidentState.Resolved, IncidentState.Remediating },
        { IncidentState.Resolved, IncidentState.Diagnosed },
        { IncidentState.Resolved, IncidentState.Failed },
        { IncidentState.Remediating, IncidentState.AwaitingApproval },
        { IncidentState.Failed, IncidentState.Remediating },
    };

    [Theory]
    [MemberData(nameof(Legal))]
    public void Legal_transitions_are_allowed(IncidentState from, IncidentState to) =>
        Assert.True(IncidentTransitions.IsAllowed(from, to));

    [Theory]
    [MemberData(nameof(Illegal))]
    public void Illegal_transitions_are_refused_with_a_sentence(IncidentState from, IncidentState to)
    {
        Assert.False(IncidentTransitions.IsAllowed(from, to));
        Assert.StartsWith("An incident that is ", IncidentTransitions.Explain(from, to), StringComparison.Ordinal);
    }

    [Fact]
    public void A_diagnosis_makes_open_and_diagnosed_incidents_diagnosed_and_leaves_the_others_where_they_are()
    {
        Assert.Equal([IncidentState.Open, IncidentState.Diagnosed], IncidentTransitions.BecomeDiagnosed.Order());
        foreach (var state in Enum.GetValues<IncidentState>())
        {
            var after = IncidentTransitions.AfterDiagnosis(state);
            Assert.Equal(state is IncidentState.Open or IncidentState.Diagnosed ? IncidentState.Diagnosed : state, after);
            Assert.True(after == state || IncidentTransitions.IsAllowed(state, after));
        }
    }

    [Fact]
    public void State_names_round_trip()
    {
        foreach (var state in Enum.GetValues<IncidentState>())
        {
            Assert.True(IncidentTransitions.TryParse(state.ToSnakeCase(), out var parsed));
            Assert.Equal(state, parsed);
        }

        Assert.False(IncidentTransitions.TryParse("Open", out _));
    }

    [Fact]
    public void Ids_are_short_typeable_and_distinct()
    {
        var ids = Enumerable.Range(0, 5000).Select(_ => IncidentIds.New()).ToList();
        Assert.All(ids, id => Assert.Matches("^inc-[0-9a-hjkmnp-tv-z]{8}$", id));
        Assert.All(ids, id => Assert.True(IncidentIds.IsWellFormed(id)));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.False(IncidentIds.IsWellFormed("inc-ABCDEFGH"));
        Assert.False(IncidentIds.IsWellFormed("inc-abc"));
    }

    private static Incident Storm(string workload, string ns = "shop", int minutesAgo = 1, string? rollupOf = null, string id = "") =>
        new(id.Length > 0 ? id : "inc-" + workload.PadRight(8, '0')[..8], new IncidentKey("prod", ns, "deployment/" + workload, PullCause.ImageNotFound),
            "registry.example.com/base:2.0", IncidentState.Open, Now.AddMinutes(-minutesAgo), Now, [], 1)
        { RollupOf = rollupOf };

    [Fact]
    public void Fewer_workloads_than_the_threshold_do_not_roll_up()
    {
        Assert.Null(IncidentRollup.Plan([Storm("a", minutesAgo: 3), Storm("b", minutesAgo: 2)], Now, TimeSpan.FromMinutes(10), 3));
    }

    [Fact]
    public void A_storm_rolls_up_under_the_incident_opened_first()
    {
        var plan = IncidentRollup.Plan([Storm("b", minutesAgo: 2), Storm("a", minutesAgo: 3), Storm("c", ns: "web", minutesAgo: 1)], Now, TimeSpan.FromMinutes(10), 3);
        Assert.NotNull(plan);
        Assert.Equal("inc-a0000000", plan.Parent.Id);
        Assert.Equal(["inc-b0000000", "inc-c0000000"], plan.Children.Select(c => c.Id));
    }

    [Fact]
    public void Later_workloads_join_the_existing_parent_and_rolled_up_ones_are_left_alone()
    {
        var plan = IncidentRollup.Plan(
            [Storm("a", minutesAgo: 3), Storm("b", minutesAgo: 2, rollupOf: "inc-a0000000"), Storm("c", minutesAgo: 2, rollupOf: "inc-a0000000"), Storm("d", minutesAgo: 0)],
            Now,
            TimeSpan.FromMinutes(10),
            3);
        Assert.NotNull(plan);
        Assert.Equal("inc-a0000000", plan.Parent.Id);
        Assert.Equal("inc-d0000000", Assert.Single(plan.Children).Id);

        Assert.Null(IncidentRollup.Plan(
            [Storm("a", minutesAgo: 3), Storm("b", minutesAgo: 2, rollupOf: "inc-a0000000"), Storm("c", minutesAgo: 2, rollupOf: "inc-a0000000")],
            Now,
            TimeSpan.FromMinutes(10),
            3));
    }

    [Fact]
    public void Workloads_outside_the_window_do_not_make_a_storm()
    {
        Assert.Null(IncidentRollup.Plan([Storm("a", minutesAgo: 30), Storm("b", minutesAgo: 2), Storm("c", minutesAgo: 1)], Now, TimeSpan.FromMinutes(10), 3));
    }

    [Fact]
    public void Mutes_match_image_in_every_usual_form_and_namespace_globs()
    {
        var incident = Storm("a") with { Image = "docker.io/library/nginx:1.25" };
        IncidentMute Mute(MuteScope scope, string pattern, DateTimeOffset? until = null) => new("mut-1", scope, "*", pattern, until, "alice", Now);

        Assert.True(Mute(MuteScope.Image, "nginx").Matches(incident, Now));
        Assert.True(Mute(MuteScope.Image, "nginx:1.25").Matches(incident, Now));
        Assert.True(Mute(MuteScope.Image, "docker.io/library/nginx").Matches(incident, Now));
        Assert.True(Mute(MuteScope.Image, "docker.io/library/*").Matches(incident, Now));
        Assert.False(Mute(MuteScope.Image, "redis").Matches(incident, Now));
        Assert.True(Mute(MuteScope.Namespace, "sh*").Matches(incident, Now));
        Assert.False(Mute(MuteScope.Namespace, "web").Matches(incident, Now));
        Assert.False(Mute(MuteScope.Namespace, "shop", Now.AddSeconds(-1)).Matches(incident, Now));
        Assert.False((Mute(MuteScope.Namespace, "shop") with { Cluster = "staging" }).Matches(incident, Now));
    }

    [Fact]
    public void Snooze_silences_until_its_time()
    {
        var incident = Storm("a") with { SnoozedUntil = Now.AddMinutes(5) };
        Assert.True(IncidentSilence.IsSilenced(incident, [], Now));
        Assert.False(IncidentSilence.IsSilenced(incident, [], Now.AddMinutes(5)));
    }
}
