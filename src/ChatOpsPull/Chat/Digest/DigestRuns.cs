using ChatOpsPull.Chat;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Chat.Digest;

/// <summary>One digest posted to one channel.</summary>
/// <param name="ChartFile">The chart's file name under the chart directory, or null.</param>
/// <param name="ChartSent">The chart was handed to the platform (Slack upload queued, Teams card carries it).</param>
public sealed record DigestRun(
    ChatPlatform Platform,
    string Channel,
    string CardKey,
    string ScheduleId,
    DateTimeOffset From,
    DateTimeOffset To,
    string? ChartFile,
    bool ChartSent,
    bool Empty,
    DateTimeOffset PostedAt);

/// <summary>
/// Table <c>digest_runs</c>: which digests were posted where, with their chart. A retried job finds its run and does not
/// upload the chart twice; charts older than Digest:ChartRetention are deleted from disk and forgotten here.
/// </summary>
public sealed class DigestRuns(BotDatabase database)
{
    public static readonly SchemaMigration Migration = new(
        "0601-digest-runs",
        """
        CREATE TABLE digest_runs (
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            card_key TEXT NOT NULL,
            schedule_id TEXT NOT NULL,
            period_from {bigint} NOT NULL,
            period_to {bigint} NOT NULL,
            chart_file TEXT NULL,
            chart_sent INTEGER NOT NULL,
            empty INTEGER NOT NULL,
            posted_at {bigint} NOT NULL,
            PRIMARY KEY (platform, channel, card_key)
        );
        CREATE INDEX ix_digest_runs_posted ON digest_runs (posted_at);
        """);

    public async Task<DigestRun?> FindAsync(ChatPlatform platform, string channel, string cardKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Row.Columns} FROM digest_runs WHERE platform = @platform AND channel = @channel AND card_key = @cardKey",
            new { platform = platform.ToString(), channel, cardKey },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row?.ToRun();
    }

    /// <summary>The runs of one schedule, newest first.</summary>
    public async Task<IReadOnlyList<DigestRun>> ListAsync(string scheduleId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Row.Columns} FROM digest_runs WHERE schedule_id = @scheduleId ORDER BY posted_at DESC, card_key DESC",
            new { scheduleId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => r.ToRun()).ToList();
    }

    public async Task SaveAsync(DigestRun run, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO digest_runs (platform, channel, card_key, schedule_id, period_from, period_to, chart_file, chart_sent, empty, posted_at)
            VALUES (@platform, @channel, @cardKey, @scheduleId, @from, @to, @chartFile, @chartSent, @empty, @postedAt)
            ON CONFLICT (platform, channel, card_key) DO UPDATE SET
                chart_file = excluded.chart_file, chart_sent = excluded.chart_sent, empty = excluded.empty, posted_at = excluded.posted_at
            """,
            new
            {
                platform = run.Platform.ToString(),
                channel = run.Channel,
                cardKey = run.CardKey,
                scheduleId = run.ScheduleId,
                from = BotDatabase.ToDb(run.From),
                to = BotDatabase.ToDb(run.To),
                chartFile = run.ChartFile,
                chartSent = run.ChartSent ? 1 : 0,
                empty = run.Empty ? 1 : 0,
                postedAt = BotDatabase.ToDb(run.PostedAt),
            },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Chart files of runs posted before <paramref name="before"/>; the caller deletes them and calls <see cref="ForgetChartsAsync"/>.</summary>
    public async Task<IReadOnlyList<string>> ChartsPostedBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var files = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT DISTINCT chart_file FROM digest_runs WHERE chart_file IS NOT NULL AND posted_at < @before",
            new { before = BotDatabase.ToDb(before) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return files.ToList();
    }

    public async Task ForgetChartsAsync(IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        if (files.Count == 0)
        {
            return;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE digest_runs SET chart_file = NULL WHERE " + database.Dialect.In("chart_file", "@files"),
            new { files = SqlList.Of(files) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

#pragma warning disable IDE1006, CA1812 // column names as Dapper maps them
    private sealed class Row
    {
        /// <summary>The columns a read maps, named: a statement prepared on a PostgreSQL connection keeps its result type when another replica's migration adds a column.</summary>
        public const string Columns = "platform, channel, card_key, schedule_id, period_from, period_to, chart_file, chart_sent, empty, posted_at";

        public string platform { get; set; } = "";
        public string channel { get; set; } = "";
        public string card_key { get; set; } = "";
        public string schedule_id { get; set; } = "";
        public long period_from { get; set; }
        public long period_to { get; set; }
        public string? chart_file { get; set; }
        public long chart_sent { get; set; }
        public long empty { get; set; }
        public long posted_at { get; set; }

        public DigestRun ToRun() => new(
            Enum.Parse<ChatPlatform>(platform),
            channel,
            card_key,
            schedule_id,
            BotDatabase.FromDb(period_from),
            BotDatabase.FromDb(period_to),
            chart_file,
            chart_sent != 0,
            empty != 0,
            BotDatabase.FromDb(posted_at));
    }
#pragma warning restore IDE1006, CA1812
}
