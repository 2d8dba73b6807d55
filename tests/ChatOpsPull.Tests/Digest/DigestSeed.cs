using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Tests.Digest;

/// <summary>
/// A week of incidents, Pulled events and audit lines ending at <see cref="To"/>, written through the real stores
/// (IncidentStore's insert, PullEventStore, AuditLog). The numbers the digest must show are worked out beside each part.
/// </summary>
public sealed class DigestSeed(DateTimeOffset to)
{
    public const string Cluster = "prod-eu";

    public DateTimeOffset To { get; } = to;

    public DateTimeOffset From => To.AddDays(-7);

    public async Task WriteAsync(BotDatabase database)
    {
        var f = From;
        await InsertAsync(database, Incident("inc-a1", "shop", "deployment/api", "ghcr.io/acme/api:1.4.3", PullCause.AuthFailed, f.AddHours(1), f.AddHours(1).AddMinutes(10), pods: 2));
        await InsertAsync(database, Incident("inc-a2", "shop", "deployment/api", "ghcr.io/acme/api:1.4.3", PullCause.AuthFailed, f.AddDays(1), f.AddDays(1).AddMinutes(30), pods: 3));
        await InsertAsync(database, Incident("inc-b1", "shop", "deployment/web", "docker.io/library/nginx:1.99", PullCause.ImageNotFound, f.AddDays(2), f.AddDays(2).AddHours(3), pods: 1));
        await InsertAsync(database, Incident("inc-c1", "shop", "deployment/worker", "registry.example.com/shop/worker:2.0.0", PullCause.Network, f.AddDays(-2), f.AddHours(1), pods: 5));
        await InsertAsync(database, Incident("inc-d1", "shop", "deployment/checkout", "ghcr.io/acme/api:1.4.3", PullCause.AuthFailed, f.AddDays(5), null, pods: 4, state: IncidentState.AwaitingApproval));
        await InsertAsync(database, Incident("inc-e1", "shop", "deployment/cache", "docker.io/library/redis:7", PullCause.RateLimited, f.AddDays(-10), null, pods: 1));
        await InsertAsync(database, Incident("inc-f1", "ops", "deployment/proxy", "quay.io/x/proxy:1.0.0", PullCause.Tls, f.AddDays(3), f.AddDays(3).AddHours(1), pods: 2, state: IncidentState.Failed));
        await InsertAsync(database, Incident("inc-g1", "shop", "deployment/api", "foo:1", PullCause.ImageNotFound, f.AddDays(1), null, pods: 1, cluster: "staging"));
        await InsertAsync(database, Incident("inc-h1", "shop", "deployment/api", "old:1", PullCause.Tls, f.AddDays(-20), f.AddDays(-19), pods: 1));

        var pulls = new PullEventStore(database);
        for (var i = 0; i < 70; i++)
        {
            await pulls.RecordAsync(Pull($"nginx-{i}", "docker.io/library/nginx:1.27", 1000 + (i % 10 * 200), 60_000_000, f.AddMinutes((i * 144) + 1), "node-1"), CancellationToken.None);
        }

        for (var i = 0; i < 12; i++)
        {
            await pulls.RecordAsync(Pull($"model-{i}", "ghcr.io/acme/ml-model:3.0.0", 40_000 + (i * 1000), 900_000_000, f.AddHours(i * 13).AddMinutes(30), "node-" + ((i % 3) + 1)), CancellationToken.None);
        }

        for (var i = 0; i < 8; i++)
        {
            await pulls.RecordAsync(Pull($"api-{i}", "ghcr.io/acme/api:1.4.2", 3000, 80_000_000, f.AddHours((i * 20) + 2), "node-2"), CancellationToken.None);
        }

        await pulls.RecordAsync(Pull("legacy-0", "registry.example.com/shop/worker:2.0.0", null, null, f.AddDays(4), "node-1"), CancellationToken.None);
        await pulls.RecordAsync(Pull("staging-0", "docker.io/library/nginx:1.27", 99_000, null, f.AddDays(4), "node-9") with { Cluster = "staging" }, CancellationToken.None);
        await pulls.RecordAsync(Pull("before-0", "docker.io/library/nginx:1.27", 99_000, null, f.AddMinutes(-1), "node-1"), CancellationToken.None);

        var snoozes = new AuditLog(database, new FixedTime(f.AddDays(5).AddHours(1)));
        await snoozes.AppendAsync(new AuditRecord(new AuditActor("slack", "U1", "alice"), AuditActions.IncidentSnoozed, "inc-d1"));
        await snoozes.AppendAsync(new AuditRecord(new AuditActor("slack", "U1", "alice"), AuditActions.IncidentSnoozed, "inc-d1"));
        await snoozes.AppendAsync(new AuditRecord(new AuditActor("slack", "U2", "bob"), "approval.approved", "inc-a2", "apr-1"));
        await snoozes.AppendAsync(new AuditRecord(new AuditActor("slack", "U2", "bob"), AuditActions.MuteAdded));
        await snoozes.AppendAsync(new AuditRecord(AuditActor.Bot, AuditActions.IncidentOpened, "inc-d1"));
        await new AuditLog(database, new FixedTime(f.AddDays(-1))).AppendAsync(new AuditRecord(new AuditActor("slack", "U1", "alice"), AuditActions.IncidentSnoozed, "inc-e1"));
    }

    private static PullEventRecord Pull(string pod, string image, long? ms, long? size, DateTimeOffset at, string node) =>
        new(Cluster, "shop", pod, node, image, PullEventStore.RegistryHostOf(image), ms, size, at, pod + "/1");

    private static Incident Incident(string id, string ns, string subject, string image, PullCause cause, DateTimeOffset opened, DateTimeOffset? resolved, int pods, IncidentState? state = null, string cluster = Cluster)
    {
        var actualState = state ?? (resolved is null ? IncidentState.Open : IncidentState.Resolved);
        var podList = Enumerable.Range(0, pods)
            .Select(i => new AffectedPod($"{subject.Split('/')[1]}-{id}-{i}", "app", "ImagePullBackOff", "Back-off pulling image", opened, resolved ?? opened) { ResolvedAt = resolved })
            .ToList();
        return new Incident(id, new IncidentKey(cluster, ns, subject, cause), image, actualState, opened, resolved ?? opened, podList, 1)
        {
            ResolvedAt = resolved,
        };
    }

    private static Task<Incident> InsertAsync(BotDatabase database, Incident incident) =>
        database.InTransactionAsync((connection, transaction) => IncidentStore.InsertAsync(connection, transaction, incident));

    private sealed class FixedTime(DateTimeOffset at) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => at;
    }
}
