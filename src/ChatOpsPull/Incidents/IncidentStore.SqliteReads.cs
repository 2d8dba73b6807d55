using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;
using Microsoft.Data.Sqlite;

namespace ChatOpsPull.Incidents;

public sealed partial class IncidentStore
{
    /// <summary>
    /// The intake's reads on SQLite: each a statement kept prepared on the connection (<see cref="SqliteIndexedStatement.Query{T}"/>),
    /// its columns named in the text and read by position into the incident (no Dapper, no reflection per row). A storm
    /// reads a subject's incidents once per round: through Dapper each read prepared its statements again and mapped its
    /// rows by name. The texts are constants, so each is prepared once per connection.
    /// </summary>
    private static class SqliteSubject
    {
        public const string Open = $"SELECT {IncidentColumns} FROM incidents WHERE cluster = @cluster AND namespace = @namespace AND subject = @subject AND open_key IS NOT NULL";

        public const string Closed =
            $"SELECT {IncidentColumns} FROM incidents WHERE cluster = @cluster AND namespace = @namespace AND subject = @subject AND open_key IS NULL AND resolved_at >= @since ORDER BY resolved_at DESC LIMIT 5";

        // The same column lists as every other read, in their order: the rows below are read by position.
        private const string IncidentColumns = IncidentRow.Columns;

        private const string PodColumns = PodRow.Columns;

        private const string ById = ByIdSql;

        private const string PodsOf = PodsOfSql;

        private const string ThesePodsOf =
            $"SELECT {PodColumns} FROM incident_pods WHERE incident_id = @id AND pod IN (SELECT value FROM json_each(@pods)) ORDER BY first_seen, pod, container";

        /// <summary>A subject's incidents of <paramref name="which"/> (<see cref="Open"/> or <see cref="Closed"/>), each with the entries of <paramref name="pods"/> only.</summary>
        public static List<Incident> Read(SqliteConnection connection, string which, string cluster, string @namespace, string subject, DateTimeOffset? since, IReadOnlyCollection<string> pods)
        {
            var rows = SqliteIndexedStatement.Query(
                connection,
                which,
                [("cluster", cluster, typeof(string)), ("namespace", @namespace, typeof(string)), ("subject", subject, typeof(string)), ("since", BotDatabase.ToDb(since ?? default), typeof(long))],
                IncidentRowOf);
            if (rows.Count == 0)
            {
                return [];
            }

            var podList = SqlList.JsonArray(pods);
            return rows.ConvertAll(row => row.ToIncident(SqliteIndexedStatement.Query(
                connection,
                ThesePodsOf,
                [("id", row.id, typeof(string)), ("pods", podList, typeof(string))],
                PodOf)));
        }

        /// <summary>One incident with all its pods, or null.</summary>
        public static Incident? Get(SqliteConnection connection, string id)
        {
            var rows = SqliteIndexedStatement.Query(connection, ById, [("id", id, typeof(string))], IncidentRowOf);
            return rows.Count == 0 ? null : rows[0].ToIncident(SqliteIndexedStatement.Query(connection, PodsOf, [("id", id, typeof(string))], PodOf));
        }

        /// <summary>
        /// The diagnosis texts of the rows read lately: a storm's rounds read a diagnosed incident's row again and again, its
        /// diagnosis unchanged (and <see cref="IncidentJson"/> maps the same text to the diagnosis parsed once).
        /// </summary>
        private static readonly KnownTexts DiagnosisTexts = new(IncidentJson.ReadLimit);

        private static IncidentRow IncidentRowOf(SqliteRow row) => new()
        {
            id = row.Text(0),
            cluster = row.Text(1),
            @namespace = row.Text(2),
            subject = row.Text(3),
            cause = row.Text(4),
            open_key = row.NullableText(5),
            storm_key = row.Text(6),
            image = row.Text(7),
            state = row.Text(8),
            workload_kind = row.NullableText(9),
            workload_name = row.NullableText(10),
            opened_at = row.Int64(11),
            updated_at = row.Int64(12),
            resolved_at = row.NullableInt64(13),
            snoozed_until = row.NullableInt64(14),
            rollup_of = row.NullableText(15),
            diagnosis = row.NullableText(16, DiagnosisTexts),
            version = row.Int64(17),
            diagnosis_requested = row.Int64(18),
            diagnosis_applied = row.Int64(19),
        };

        private static AffectedPod PodOf(SqliteRow row) =>
            new(row.Text(1), row.Text(2), row.Text(3), row.Text(4), BotDatabase.FromDb(row.Int64(5)), BotDatabase.FromDb(row.Int64(6)))
            {
                ResolvedAt = BotDatabase.FromDb(row.NullableInt64(7)),
                NodeName = row.NullableText(8),
            };
    }
}
