using System.Text.Json;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// A report round on PostgreSQL reads its subject's open incidents and the recently closed ones (which a report joining
/// none needs) together: one statement for the incidents and one for the round's pods of them. What it answers must be
/// what the two reads apart answer: the open ones, and the latest five closed ones resolved since the window began, newest
/// first, each with only the asked pods' entries.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresSubjectReadTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Open_and_closed_incidents_read_together_are_the_ones_each_read_apart_finds_on_postgres()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        var database = await storage.OpenMigratedAsync(IncidentSchema.Incidents, IncidentSchema.DiagnosisTakenUntil);
        var since = At.AddMinutes(-10);
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await IncidentStore.InsertAsync(connection, transaction, Incident("open-a", "deployment/api", PullCause.ImageNotFound, resolvedAt: null));
            await IncidentStore.InsertAsync(connection, transaction, Incident("open-b", "deployment/api", PullCause.AuthFailed, resolvedAt: null));
            await IncidentStore.InsertAsync(connection, transaction, Incident("open-web", "deployment/web", PullCause.ImageNotFound, resolvedAt: null));
            foreach (var n in Enumerable.Range(0, 8))
            {
                // Resolved 1, 2 … 8 minutes before At, all inside the window; two more below resolved before it began.
                await IncidentStore.InsertAsync(connection, transaction, Incident($"closed-{n}", "deployment/api", PullCause.ImageNotFound, At.AddMinutes(-1 - n)));
            }

            await IncidentStore.InsertAsync(connection, transaction, Incident("closed-old-1", "deployment/api", PullCause.ImageNotFound, since.AddMinutes(-1)));
            await IncidentStore.InsertAsync(connection, transaction, Incident("closed-old-2", "deployment/api", PullCause.ImageNotFound, since.AddMinutes(-5)));
            await IncidentStore.InsertAsync(connection, transaction, Incident("closed-web", "deployment/web", PullCause.ImageNotFound, At.AddMinutes(-1)));
            return true;
        });

        var (together, apart) = await database.InTransactionAsync(async (connection, transaction) =>
        {
            var both = await IncidentStore.OpenForSubjectAsync(connection, transaction, "prod", "shop", "deployment/api", ["api-1", "api-3"], since, null);
            var open = await IncidentStore.OpenForSubjectAsync(connection, transaction, "prod", "shop", "deployment/api", ["api-1", "api-3"], null, null);
            var closed = await IncidentStore.ClosedForSubjectAsync(connection, transaction, "prod", "shop", "deployment/api", since, ["api-1", "api-3"]);
            return (both, (open.Open, (IReadOnlyList<Incident>?)closed));
        });

        Assert.Equal(["open-a", "open-b"], together.Open.Select(i => i.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["closed-0", "closed-1", "closed-2", "closed-3", "closed-4"], together.Closed!.Select(i => i.Id)); // the latest five, newest first
        Assert.All(together.Open.Concat(together.Closed!), i => Assert.Equal(["api-1", "api-3"], i.Pods.Select(p => p.Pod)));
        Assert.Equal(Json(apart.Open.OrderBy(i => i.Id, StringComparer.Ordinal)), Json(together.Open.OrderBy(i => i.Id, StringComparer.Ordinal)));
        Assert.Equal(Json(apart.Item2!), Json(together.Closed!));
    }

    [Fact]
    public async Task A_report_reads_its_subjects_open_and_closed_incidents_in_one_statement_and_their_pods_in_another_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("web-1", workload: "web"), default); // another subject: warms the code, not this one's rows

        var sent = await SentToPostgres.CountAsync(() => rig.Engine.ReportAsync(Failures.Pod("api-1"), default));

        output.WriteLine(sent.Describe());
        var read = sent.Texts[0]; // the round's first command: the subject lock, then the read
        Assert.Equal(3, read.Split(';', StringSplitOptions.RemoveEmptyEntries).Count(s => s.Trim().Length > 0)); // lock, incidents, pods
        Assert.Contains("open_key IS NULL", read, StringComparison.Ordinal); // the closed ones are in it
        var opened = Assert.Single(await rig.Store.ListOpenAsync(), i => i.Key.Subject == "deployment/api");
        Assert.Equal(["api-1"], opened.Pods.Select(p => p.Pod));
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    private static Incident Incident(string id, string subject, PullCause cause, DateTimeOffset? resolvedAt) => new(
        id,
        new IncidentKey("prod", "shop", subject, cause),
        "registry.example/shop/api:9",
        resolvedAt is null ? IncidentState.Open : IncidentState.Resolved,
        At.AddHours(-1),
        resolvedAt ?? At,
        [Pod("api-1", resolvedAt), Pod("api-2", resolvedAt), Pod("api-3", resolvedAt)],
        1)
    {
        ResolvedAt = resolvedAt,
    };

    private static AffectedPod Pod(string name, DateTimeOffset? resolvedAt) =>
        new(name, "app", "ErrImagePull", "manifest unknown", At.AddHours(-1), At.AddHours(-1)) { ResolvedAt = resolvedAt };
}
