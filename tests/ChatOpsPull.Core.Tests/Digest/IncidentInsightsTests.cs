using ChatOpsPull.Core.Digest;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Core.Tests.Digest;

public class IncidentInsightsTests
{
    private static readonly DateTimeOffset From = new(2026, 3, 16, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddDays(7);

    private static IncidentFacts Incident(string id, string image, PullCause cause, DateTimeOffset opened, DateTimeOffset? resolved, IncidentState? state = null, int pods = 1) =>
        new(id, "prod", "shop", "deployment/" + id, image, cause, state ?? (resolved is null ? IncidentState.Open : IncidentState.Resolved), opened, resolved, pods);

    [Fact]
    public void Counts_opened_resolved_failed_and_open_in_the_period()
    {
        var incidents = new[]
        {
            Incident("a", "img/a:1", PullCause.AuthFailed, From.AddHours(1), From.AddHours(1).AddMinutes(10)),
            Incident("b", "img/a:1", PullCause.AuthFailed, From.AddHours(2), From.AddHours(2).AddMinutes(30), pods: 4),
            Incident("c", "img/c:1", PullCause.ImageNotFound, From.AddHours(3), From.AddHours(6)),
            Incident("d", "img/d:1", PullCause.Network, From.AddDays(-2), From.AddHours(1)),
            Incident("e", "img/a:1", PullCause.AuthFailed, From.AddDays(2), null, pods: 3),
            Incident("f", "img/f:1", PullCause.RateLimited, From.AddDays(-10), null),
            Incident("g", "img/g:1", PullCause.Tls, From.AddDays(1), From.AddDays(1).AddHours(1), IncidentState.Failed),
            Incident("h", "img/h:1", PullCause.Tls, From.AddDays(-20), From.AddDays(-19)),
        };

        var summary = IncidentInsights.Summarize(incidents, From, To);

        Assert.Equal(5, summary.Opened);
        Assert.Equal(4, summary.Resolved);
        Assert.Equal(1, summary.Failed);
        Assert.Equal(["e", "f"], summary.StillOpen.Select(i => i.Id));
        // resolved in period: a 10 min, b 30 min, c 3 h, d 2 d 1 h → median (30 min + 3 h) / 2
        Assert.Equal(TimeSpan.FromMinutes(105), summary.MedianTimeToResolve);
        Assert.Equal("d", summary.WorstResolved!.Id);
        Assert.Equal(TimeSpan.FromHours(49), summary.WorstTimeToResolve);
        Assert.Equal(("img/a:1", 3, 8), (summary.TopImages[0].Key, summary.TopImages[0].Incidents, summary.TopImages[0].Pods));
        Assert.Equal((PullCause.AuthFailed, 3), (summary.Causes[0].Key, summary.Causes[0].Incidents));
        Assert.DoesNotContain(summary.TopImages, c => c.Key == "img/h:1");
        Assert.False(summary.IsQuiet);
    }

    [Fact]
    public void A_period_without_incidents_is_quiet()
    {
        var summary = IncidentInsights.Summarize([Incident("old", "i:1", PullCause.Tls, From.AddDays(-9), From.AddDays(-8))], From, To);
        Assert.True(summary.IsQuiet);
        Assert.Null(summary.MedianTimeToResolve);
        Assert.Null(summary.WorstTimeToResolve);
    }
}

public class WorkloadImageFindingsTests
{
    [Theory]
    [InlineData("nginx", ImageTagKind.Floating)]
    [InlineData("nginx:latest", ImageTagKind.Floating)]
    [InlineData("registry.example.com:5000/team/app", ImageTagKind.Floating)]
    [InlineData("nginx:1.27.3", ImageTagKind.Immutable)]
    [InlineData("ghcr.io/acme/api:v2.0.1-rc.1", ImageTagKind.Immutable)]
    [InlineData("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ImageTagKind.Immutable)]
    [InlineData("nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ImageTagKind.Immutable)]
    [InlineData("nginx:1.27", ImageTagKind.Other)]
    [InlineData("nginx:stable", ImageTagKind.Other)]
    [InlineData("Not A Reference", ImageTagKind.Invalid)]
    public void Classifies_tags(string image, ImageTagKind expected) =>
        Assert.Equal(expected, WorkloadImageFindings.Classify(image));

    [Fact]
    public void Finds_floating_tags_and_Always_on_immutable_once_per_workload_container()
    {
        var uses = new[]
        {
            new ContainerImageUse("shop", "deployment/web", "web", "nginx:latest", "Always"),
            new ContainerImageUse("shop", "deployment/web", "web", "nginx:latest", "Always"),
            new ContainerImageUse("shop", "deployment/api", "api", "ghcr.io/acme/api:1.4.2", "Always"),
            new ContainerImageUse("shop", "deployment/api", "sidecar", "envoy:v1.31.0", "IfNotPresent"),
            new ContainerImageUse("ops", "statefulset/db", "db", "postgres:16", "Always"),
        };

        var report = WorkloadImageFindings.Find(uses);

        var floating = Assert.Single(report.FloatingTags);
        Assert.Equal(("deployment/web", "web"), (floating.Use.Workload, floating.Use.Container));
        var always = Assert.Single(report.AlwaysOnImmutable);
        Assert.Equal("ghcr.io/acme/api:1.4.2", always.Use.Image);
    }

    [Fact]
    public void Credential_expiry_lists_expired_and_soon_soonest_first()
    {
        var now = new DateTimeOffset(2026, 3, 24, 8, 0, 0, TimeSpan.Zero);
        var all = new[]
        {
            new CredentialExpiry("shop/ecr", "1.dkr.ecr.eu-west-1.amazonaws.com", "Amazon ECR token", now.AddHours(5)),
            new CredentialExpiry("shop/old", "registry.example.com", "JWT", now.AddHours(-2)),
            new CredentialExpiry("shop/far", "ghcr.io", "JWT", now.AddDays(30)),
        };

        var soon = CredentialExpiry.Soon(all, now, TimeSpan.FromDays(3));

        Assert.Equal(["shop/old", "shop/ecr"], soon.Select(c => c.Secret));
        Assert.True(soon[0].IsExpired(now));
    }
}
