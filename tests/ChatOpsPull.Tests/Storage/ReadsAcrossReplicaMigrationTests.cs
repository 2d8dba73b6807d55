using System.Data.Common;
using System.Text.Json;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Digest;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Prevention;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// During a rolling upgrade another replica's migration adds columns while this replica's pooled PostgreSQL connections
/// hold its reads prepared. A prepared <c>SELECT *</c> then fails once (0A000, "cached plan must not change result type");
/// outside a retry pipeline that is an HTTP 500 on the web page, a failed chat command or job run. The stores' reads name
/// their columns, so each answers as before on its first call after the other replica's <c>ADD COLUMN</c>.
/// The pool holds one connection, so every read runs (and is prepared) on the connection that reads after the migration;
/// a prepared <c>SELECT *</c> on it, the control, fails as it would have.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class ReadsAcrossReplicaMigrationTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset From = At.AddHours(-1);
    private static readonly DateTimeOffset To = At.AddHours(1);

    private static readonly JsonSerializerOptions Json = new() { IncludeFields = true };

    /// <summary>The tables the stores read, each given a column by the other replica.</summary>
    private static readonly string[] Tables =
        ["incidents", "incident_pods", "audit_log", "approval_requests", "remediation_runs", "remediation_steps", "digest_runs", "prevention_findings"];

    private static readonly RemediationPlan Plan = new(
        RemediationKind.RestartWorkload, "shop", "Deployment", "api", "Restart deployment/api", "Rolls every pod.", RemediationRisk.Medium, new Dictionary<string, string>());

    private static readonly FindingObservation Observation = new(
        FindingSource.Sweep, FindingKind.ImageMissing, "prod", "shop", "Deployment", "api", "api", "registry.example/shop/api:9", "tag 9 is not in the registry", null, [], [], null);

    /// <summary>Every read path whose SQL named <c>*</c> before: each store's read methods, by name.</summary>
    private static readonly (string Name, Func<Stores, Task<object?>> Read)[] Reads =
    [
        ("IncidentStore.GetAsync", async s => await s.Incidents.GetAsync("inc-open")),
        ("IncidentStore.ListOpenAsync", async s => await s.Incidents.ListOpenAsync("prod", "shop")),
        ("IncidentStore.FindOpenAsync", async s => await s.Incidents.FindOpenAsync(OpenKey)),
        ("IncidentStore.ListClosedAsync", async s => await s.Incidents.ListClosedAsync(From, To, "prod")),
        ("IncidentStore.ListOpenedAsync", async s => await s.Incidents.ListOpenedAsync(From, To)),
        ("IncidentStore.ListRolledUpAsync", async s => await s.Incidents.ListRolledUpAsync("inc-open")),
        ("IncidentStore.GetForDiagnosisAsync", async s => await s.Incidents.GetForDiagnosisAsync("inc-open", 1)),
        ("IncidentStore.GetWithTicketAsync", s => InTransactionAsync(s, (c, t) => IncidentStore.GetWithTicketAsync(c, t, "inc-open", null))),
        ("IncidentStore.OpenForSubjectAsync", s => InTransactionAsync(s, (c, t) => IncidentStore.OpenForSubjectAsync(c, t, "prod", "shop", "deployment/api", ["api-1"], From, null))),
        ("IncidentStore.ClosedForSubjectAsync", s => InTransactionAsync(s, (c, t) => IncidentStore.ClosedForSubjectAsync(c, t, "prod", "shop", "deployment/web", From, ["web-1"]))),
        ("IncidentStore.OpenInStormAsync", s => InTransactionAsync(s, (c, t) => IncidentStore.OpenInStormAsync(c, t, IncidentRollup.StormKey("prod", "registry.example/shop/api:9", PullCause.ImageNotFound)))),
        ("AuditLog.ForIncidentAsync", async s => await s.Audit.ForIncidentAsync("inc-open")),
        ("AuditLog.ForApprovalAsync", async s => await s.Audit.ForApprovalAsync("apr-1")),
        ("AuditLog.RecentAsync", async s => await s.Audit.RecentAsync(10)),
        ("AuditLog.OlderThanAsync", async s => await s.Audit.OlderThanAsync(long.MaxValue, 10)),
        ("ApprovalStore.GetAsync", async s => await s.Approvals.GetAsync("apr-1")),
        ("ApprovalStore.FindPendingAsync", async s => await s.Approvals.FindPendingAsync("inc-open", "prod", Plan)),
        ("ApprovalStore.GetSignedAsync", async s => await s.Approvals.GetSignedAsync("apr-1")),
        ("ApprovalStore.ListPendingAsync", async s => await s.Approvals.ListPendingAsync("shop")),
        ("ApprovalStore.ListForIncidentAsync", async s => await s.Approvals.ListForIncidentAsync("inc-open")),
        ("ApprovalStore.ListRequestedAsync", async s => await s.Approvals.ListRequestedAsync(From, To)),
        ("ApprovalStore.ListExpiredPendingAsync", async s => await s.Approvals.ListExpiredPendingAsync(To.AddDays(2))),
        ("RemediationRunStore.GetAsync", async s => await s.Runs.GetAsync("apr-1")),
        ("RemediationRunStore.ListForIncidentsAsync", async s => await s.Runs.ListForIncidentsAsync(["inc-open"])),
        ("RemediationRunStore.GetStepAsync", async s => await s.Runs.GetStepAsync("apr-1", "patch")),
        ("RemediationRunStore.ListStepsAsync", async s => await s.Runs.ListStepsAsync("apr-1")),
        ("RemediationRunStore.BeginStepAsync", async s => await s.Runs.BeginStepAsync("apr-1", "patch", "set the image")),
        ("DigestRuns.FindAsync", async s => await s.Digests.FindAsync(ChatPlatform.Slack, "C1", "digest:daily:1", CancellationToken.None)),
        ("DigestRuns.ListAsync", async s => await s.Digests.ListAsync("daily", CancellationToken.None)),
        ("FindingStore.GetAsync", async s => await s.Findings.GetAsync((await s.Findings.FindOpenAsync(Observation.Key, CancellationToken.None))!.Id, CancellationToken.None)),
        ("FindingStore.FindOpenAsync", async s => await s.Findings.FindOpenAsync(Observation.Key, CancellationToken.None)),
        ("FindingStore.ListOpenAsync", async s => await s.Findings.ListOpenAsync(FindingSource.Sweep, "prod", CancellationToken.None)),
        ("FindingStore.ListSeenAsync", async s => await s.Findings.ListSeenAsync(DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1), CancellationToken.None)),
    ];

    private static IncidentKey OpenKey => new("prod", "shop", "deployment/api", PullCause.ImageNotFound);

    [Fact]
    public async Task Every_store_read_answers_as_before_on_its_first_call_after_another_replica_adds_a_column_to_its_table()
    {
        var created = await TestStorage.PostgresAsync(postgres);
        using var storage = created with { ConnectionString = created.ConnectionString + ";Maximum Pool Size=1" };
        await using var host = new BotTestHost(storage) { BackgroundWork = false };
        var database = host.Services.GetRequiredService<BotDatabase>();
        await database.MigrateAsync();
        var stores = new Stores(
            database,
            host.Services.GetRequiredService<IncidentStore>(),
            host.Services.GetRequiredService<AuditLog>(),
            host.Services.GetRequiredService<ApprovalStore>(),
            host.Services.GetRequiredService<RemediationRunStore>(),
            host.Services.GetRequiredService<DigestRuns>(),
            host.Services.GetRequiredService<FindingStore>());
        await SeedAsync(stores);

        // Recording a finding reads its row back on the connection it holds: it needs no second one from this pool of one
        // (it took one, and waited for its own first connection until the pool's timeout, when it did).
        Assert.Equal(FindingChange.Opened, (await stores.Findings.RecordAsync(Observation, CancellationToken.None)).Change);
        Assert.Equal(FindingChange.Unchanged, (await stores.Findings.RecordAsync(Observation, CancellationToken.None)).Change);

        // Three calls each: Npgsql prepares a statement on its second use (Auto Prepare Min Usages=2).
        var before = new Dictionary<string, string>();
        foreach (var (name, read) in Reads)
        {
            for (var i = 0; i < 3; i++)
            {
                before[name] = Answer(await read(stores));
            }

            Assert.False(before[name] is "null" or "[]", $"{name} found nothing in the seeded rows: {before[name]}");
        }

        const string Control = "SELECT * FROM incidents WHERE id = @id"; // sent as "... id = $1"
        await using (var connection = await database.OpenAsync())
        {
            for (var i = 0; i < 3; i++)
            {
                await connection.QueryAsync(Control, new { id = "inc-open" });
            }

            Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT * FROM incidents WHERE id = %'"));
        }

        await using (var otherReplica = new NpgsqlConnection(storage.ConnectionString + ";Pooling=false"))
        {
            await otherReplica.OpenAsync();
            foreach (var table in Tables)
            {
                await otherReplica.ExecuteAsync($"ALTER TABLE {table} ADD COLUMN added_by_another_replica TEXT NOT NULL DEFAULT 'new'");
            }
        }

        var failed = new List<string>();
        foreach (var (name, read) in Reads)
        {
            try
            {
                var after = Answer(await read(stores));
                if (after != before[name])
                {
                    failed.Add($"{name}: {after} (before: {before[name]})");
                }
            }
            catch (DbException e)
            {
                failed.Add($"{name}: {e.GetType().Name} {e.Message}");
            }
        }

        failed.ForEach(output.WriteLine);
        Assert.Empty(failed);

        await using (var connection = await database.OpenAsync())
        {
            var stale = await Assert.ThrowsAsync<PostgresException>(() => connection.QueryAsync(Control, new { id = "inc-open" }));
            Assert.Equal(PostgresErrorCodes.FeatureNotSupported, stale.SqlState);
        }
    }

    private static string Answer(object? value) => JsonSerializer.Serialize(value, Json);

    private static Task<object?> InTransactionAsync<T>(Stores stores, Func<DbConnection, DbTransaction, Task<T>> read) =>
        stores.Database.InTransactionAsync<object?>(async (connection, transaction) => (object?)await read(connection, transaction));

    /// <summary>One row or more for every read: an open incident with a closed one rolled up under it, audit lines, an approval, its run and step, a digest run (the finding is recorded apart).</summary>
    private static async Task SeedAsync(Stores stores)
    {
        var pod = new AffectedPod("api-1", "api", "ErrImagePull", "manifest unknown", At, At) { NodeName = "node-1" };
        var open = new Incident("inc-open", OpenKey, "registry.example/shop/api:9", IncidentState.Open, At, At, [pod], 1)
        {
            Workload = new WorkloadRef("Deployment", "api"),
        };
        var closed = new Incident(
            "inc-closed",
            new IncidentKey("prod", "shop", "deployment/web", PullCause.AuthFailed),
            "registry.example/shop/web:2",
            IncidentState.Resolved,
            At,
            At,
            [new AffectedPod("web-1", "web", "ErrImagePull", "unauthorized", At, At) { ResolvedAt = At }],
            2)
        {
            ResolvedAt = At,
            RollupOf = "inc-open",
        };
        var request = new ApprovalRequest("apr-1", "inc-open", Plan, Actor.System, At, To.AddDays(1), ApprovalStatus.Pending, 1, [], 1) { Cluster = "prod" };
        var run = new RemediationRun("apr-1", "inc-open", Plan, RunStatus.Queued, string.Empty, At, null);
        await stores.Database.InTransactionAsync(async (connection, transaction) =>
        {
            await IncidentStore.InsertAsync(connection, transaction, open);
            await IncidentStore.InsertAsync(connection, transaction, closed);
            await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, "inc-open", 1, null);
            await ApprovalStore.InsertAsync(connection, transaction, request);
            return await RemediationRunStore.InsertQueuedAsync(connection, transaction, run, "prod", open.Image);
        });
        await stores.Audit.AppendAsync(new AuditRecord(AuditActor.Bot, AuditActions.IncidentOpened, "inc-open"));
        await stores.Audit.AppendAsync(new AuditRecord(AuditActor.Bot, "approval.requested", "inc-open", "apr-1", "restart"));
        await stores.Runs.BeginStepAsync("apr-1", "patch", "set the image");
        await stores.Digests.SaveAsync(new DigestRun(ChatPlatform.Slack, "C1", "digest:daily:1", "daily", From, To, null, false, false, At), CancellationToken.None);
    }

    private sealed record Stores(
        BotDatabase Database,
        IncidentStore Incidents,
        AuditLog Audit,
        ApprovalStore Approvals,
        RemediationRunStore Runs,
        DigestRuns Digests,
        FindingStore Findings);
}
