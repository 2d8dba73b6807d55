using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Registry;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Prevention;

/// <summary>What storing an observation did to its finding.</summary>
public enum FindingChange
{
    /// <summary>A new finding (its card is posted).</summary>
    Opened,

    /// <summary>A resolved finding is back (its card is updated).</summary>
    Reopened,

    /// <summary>Its words, evidence or fixes changed (its card is updated).</summary>
    Updated,

    /// <summary>Seen again as it was (the card stays as it is).</summary>
    Unchanged,

    /// <summary>It is gone (its card says so).</summary>
    Resolved,
}

/// <summary>
/// Table <c>prevention_findings</c>: one row per finding (<see cref="PreventionFinding"/>), keyed by what it is about, so a
/// finding seen again by the next sweep or review updates its row (and card) instead of adding one. Replicas sharing
/// PostgreSQL share the rows; two replicas recording the same new finding at once end with one row.
/// </summary>
public sealed class FindingStore(BotDatabase database, TimeProvider time)
{
    public static readonly SchemaMigration Migration = new(
        "0901-prevention-findings",
        """
        CREATE TABLE prevention_findings (
            id TEXT PRIMARY KEY,
            finding_key TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            cluster TEXT NOT NULL,
            namespace TEXT NOT NULL,
            workload_kind TEXT NOT NULL,
            workload_name TEXT NOT NULL,
            container TEXT NOT NULL,
            image TEXT NOT NULL,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL,
            state TEXT NOT NULL,
            first_seen {bigint} NOT NULL,
            last_seen {bigint} NOT NULL,
            resolved_at {bigint} NULL,
            seen INTEGER NOT NULL
        );
        CREATE INDEX ix_prevention_findings_state ON prevention_findings (state, cluster);
        CREATE INDEX ix_prevention_findings_seen ON prevention_findings (last_seen);
        """);

    private const int MaxRaces = 5;

    /// <summary>Stores <paramref name="observation"/> as a new finding or into the one it already is.</summary>
    public async Task<(PreventionFinding Finding, FindingChange Change)> RecordAsync(FindingObservation observation, CancellationToken cancellationToken)
    {
        var key = observation.Key;
        var detail = Detail.From(observation);
        var now = time.GetUtcNow();
        for (var race = 1; ; race++)
        {
            await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            var existing = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Row.Columns} FROM prevention_findings WHERE finding_key = @key", new { key }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (existing is null)
            {
                var id = NewId();
                try
                {
                    var inserted = await connection.ExecuteAsync(new CommandDefinition(
                        """
                        INSERT INTO prevention_findings (id, finding_key, source, kind, cluster, namespace, workload_kind, workload_name, container, image, summary, detail, state, first_seen, last_seen, resolved_at, seen)
                        VALUES (@id, @key, @source, @kind, @cluster, @namespace, @workloadKind, @workloadName, @container, @image, @summary, @detail, 'open', @now, @now, NULL, 1)
                        ON CONFLICT (finding_key) DO NOTHING
                        """,
                        new
                        {
                            id,
                            key,
                            source = observation.Source.ToString(),
                            kind = observation.Kind.Name(),
                            cluster = observation.Cluster,
                            @namespace = observation.Namespace,
                            workloadKind = observation.WorkloadKind,
                            workloadName = observation.WorkloadName,
                            container = observation.Container,
                            image = observation.Image,
                            summary = observation.Summary,
                            detail = detail.Serialize(),
                            now = BotDatabase.ToDb(now),
                        },
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                    if (inserted == 1)
                    {
                        return ((await GetAsync(connection, id, cancellationToken).ConfigureAwait(false))!, FindingChange.Opened);
                    }
                }
                catch (DbException e) when (database.Dialect.IsUniqueViolation(e) && race < MaxRaces)
                {
                }

                continue; // another replica inserted it a moment ago: update that one
            }

            var before = existing.ToFinding();
            var reopened = existing.state != "open";
            var changed = reopened || existing.summary != observation.Summary || existing.image != observation.Image || existing.kind != observation.Kind.Name()
                || !Detail.Read(existing.detail).SameAs(detail);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE prevention_findings SET kind = @kind, image = @image, summary = @summary, detail = @detail, state = 'open', last_seen = @now,
                    resolved_at = NULL, seen = seen + 1
                WHERE id = @id
                """,
                new { id = before.Id, kind = observation.Kind.Name(), image = observation.Image, summary = observation.Summary, detail = detail.Serialize(), now = BotDatabase.ToDb(now) },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            var after = (await GetAsync(connection, before.Id, cancellationToken).ConfigureAwait(false))!;
            return (after, reopened ? FindingChange.Reopened : changed ? FindingChange.Updated : FindingChange.Unchanged);
        }
    }

    /// <summary>Marks an open finding resolved; null when it is not open (or gone).</summary>
    public async Task<PreventionFinding?> ResolveAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE prevention_findings SET state = 'resolved', resolved_at = @now WHERE id = @id AND state = 'open'",
            new { id, now = BotDatabase.ToDb(time.GetUtcNow()) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return changed == 1 ? await GetAsync(connection, id, cancellationToken).ConfigureAwait(false) : null;
    }

    public async Task<PreventionFinding?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The finding read on a connection the caller holds: a write reads back its row without taking a second pooled connection.</summary>
    private static async Task<PreventionFinding?> GetAsync(DbConnection connection, string id, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Row.Columns} FROM prevention_findings WHERE id = @id", new { id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row?.ToFinding();
    }

    /// <summary>The open finding with this key, if any.</summary>
    public async Task<PreventionFinding?> FindOpenAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Row.Columns} FROM prevention_findings WHERE finding_key = @key AND state = 'open'", new { key }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row?.ToFinding();
    }

    /// <summary>Open findings, oldest first; <paramref name="source"/> and <paramref name="cluster"/> narrow them when given.</summary>
    public async Task<IReadOnlyList<PreventionFinding>> ListOpenAsync(FindingSource? source, string? cluster, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var sql = $"SELECT {Row.Columns} FROM prevention_findings WHERE state = 'open'"
            + (source is null ? string.Empty : " AND source = @source")
            + (cluster is null ? string.Empty : " AND cluster = @cluster")
            + " ORDER BY first_seen, id";
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            sql,
            new { source = source?.ToString(), cluster },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => r.ToFinding()).ToList();
    }

    /// <summary>Findings first seen or seen again in [from, to) (the digest's "prevented" count).</summary>
    public async Task<IReadOnlyList<PreventionFinding>> ListSeenAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Row.Columns} FROM prevention_findings WHERE last_seen >= @from AND last_seen < @to ORDER BY first_seen, id",
            new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => r.ToFinding()).ToList();
    }

    /// <summary>Open findings by source ("prevented", "will_fail") and kind.</summary>
    public async Task<IReadOnlyList<(string Source, string Kind, int Count)>> CountOpenAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(string Source, string Kind, long Count)>(new CommandDefinition(
            "SELECT source, kind, COUNT(*) FROM prevention_findings WHERE state = 'open' GROUP BY source, kind",
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => (r.Source == nameof(FindingSource.Admission) ? "prevented" : "will_fail", r.Kind, (int)r.Count)).ToList();
    }

    private static string NewId() => "fnd-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    /// <summary>The finding's JSON column: evidence, plans and the admission change.</summary>
    private sealed record Detail(string? Fix, IReadOnlyList<Evidence> Evidence, IReadOnlyList<RemediationPlan> Plans, AdmissionChange? Change)
    {
        public static Detail From(FindingObservation o) => new(o.Fix, o.Evidence, o.Plans, o.Change);

        public static Detail Read(string json) => JsonSerializer.Deserialize<Detail>(json, RemediationJson.Options) ?? new Detail(null, [], [], null);

        public string Serialize() => JsonSerializer.Serialize(this, RemediationJson.Options);

        /// <summary>
        /// The same words and fixes. Evidence timings differ from check to check and do not count, nor does whether a
        /// registry answer was asked afresh or reused from an earlier check (<see cref="RegistryReuseNote"/>).
        /// </summary>
        public bool SameAs(Detail other) =>
            Fix == other.Fix
            && Change == other.Change
            && Plans.Select(p => p.Key).SequenceEqual(other.Plans.Select(p => p.Key), StringComparer.Ordinal)
            && Compared(Evidence).SequenceEqual(Compared(other.Evidence));

        private static IEnumerable<(string, EvidenceOutcome, string)> Compared(IEnumerable<Evidence> evidence) =>
            RegistryReuseNote.Without(evidence).Select(e => (e.Check, e.Outcome, e.Detail));
    }

#pragma warning disable IDE1006, CA1812 // column names as Dapper maps them
    private sealed class Row
    {
        /// <summary>The columns a read maps, named: a statement prepared on a PostgreSQL connection keeps its result type when another replica's migration adds a column.</summary>
        public const string Columns =
            "id, finding_key, source, kind, cluster, namespace, workload_kind, workload_name, container, image, summary, detail, state, first_seen, last_seen, resolved_at, seen";

        public string id { get; set; } = "";
        public string finding_key { get; set; } = "";
        public string source { get; set; } = "";
        public string kind { get; set; } = "";
        public string cluster { get; set; } = "";
        public string @namespace { get; set; } = "";
        public string workload_kind { get; set; } = "";
        public string workload_name { get; set; } = "";
        public string container { get; set; } = "";
        public string image { get; set; } = "";
        public string summary { get; set; } = "";
        public string detail { get; set; } = "";
        public string state { get; set; } = "";
        public long first_seen { get; set; }
        public long last_seen { get; set; }
        public long? resolved_at { get; set; }
        public long seen { get; set; }

        public PreventionFinding ToFinding()
        {
            var d = Detail.Read(detail);
            return new PreventionFinding(
                id,
                finding_key,
                Enum.Parse<FindingSource>(source),
                FindingKinds.All.First(k => k.Name() == kind),
                cluster,
                @namespace,
                workload_kind,
                workload_name,
                container,
                image,
                summary,
                d.Fix,
                d.Evidence,
                d.Plans,
                state == "open" ? FindingState.Open : FindingState.Resolved,
                BotDatabase.FromDb(first_seen),
                BotDatabase.FromDb(last_seen),
                BotDatabase.FromDb(resolved_at),
                (int)seen)
            {
                Change = d.Change,
            };
        }
    }
#pragma warning restore IDE1006, CA1812
}
