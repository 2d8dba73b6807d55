using System.Net;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Faults;

/// <summary>
/// Storms under faults (issue 16), on the real parts: the whole bot, its watcher on the Kubernetes API stand-in, both
/// alert webhooks, PostgreSQL or SQLite, the fake Slack Web API and the Bot Connector stand-in. Each name says what the
/// test breaks and what it proves. Every test ends on the same promise (<see cref="StormBed.AssertStormEndedRightAsync"/>):
/// every pod in exactly one incident, every card posted once, every card's last version the card the bot builds now.
/// </summary>
[Collection(FaultTests.Name)]
public sealed class StormFaultTests(FaultParts parts, ITestOutputHelper output)
{
    /// <summary>How long PostgreSQL stays down (issue 16: "started again 10 s later").</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PostgreSQL_stopped_10_s_mid_storm_webhooks_answer_503_watcher_holds_reports_and_every_pod_ends_in_one_incident_with_each_card_sent_once()
    {
        using var storage = await TestStorage.PostgresAsync(parts.Postgres);
        await using var bed = await StormBed.StartAsync(parts, storage, "C0PGSTORM");
        bed.Say = output.WriteLine;

        // Before the fault: the storm has begun on every source.
        bed.SeedFailingDeployment("api", 10);
        bed.SeedFailingDeployment("web", 10);
        using (var first = await bed.PostAlertmanagerAsync(bed.AlertmanagerBatch("checkout", 8)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var first = await bed.PostGenericAsync(bed.GenericBatch("payments", 8)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await bed.WaitForEveryPodAsync("the storm before the outage");

        // PostgreSQL stops in the middle of it; the storm goes on.
        bed.Phase("storm stored; stopping PostgreSQL");
        await parts.Postgres.StopAsync();
        var stoppedAt = DateTime.UtcNow;
        bed.Phase("PostgreSQL stopped");
        try
        {
            bed.SeedFailingDeployment("worker", 10);
            bed.SeedFailingDeployment("web-canary", 6);
            var alertmanager = bed.AlertmanagerBatch("cart", 8);
            var generic = bed.GenericBatch("ledger", 8);

            using (var refused = await bed.PostAlertmanagerAsync(alertmanager))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
            }

            using (var refused = await bed.PostGenericAsync(generic))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            }

            var (status, _) = await bed.ReadyzAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);

            // The watcher saw the new pods and holds them (it says so) instead of dropping them.
            await Eventually.HoldsAsync(
                () => bed.Logs.Lines.Any(l => l.Contains("holds its reports", StringComparison.Ordinal)),
                StormBed.Patience,
                () => "the watcher never said it holds its reports: " + bed.Tail());
            Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("this change is dropped", StringComparison.Ordinal));

            // The outage lasts its 10 s (this is the fault's length, not a wait for something to happen).
            var left = Outage - (DateTime.UtcNow - stoppedAt);
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(left);
            }

            await parts.Postgres.StartAgainAsync();
            bed.Phase("PostgreSQL started again");

            // Alertmanager and the generic sender retry what was refused; the watcher delivers what it held.
            await StormBed.SendUntilTakenAsync(bed.PostAlertmanagerAsync, alertmanager);
            await StormBed.SendUntilTakenAsync(bed.PostGenericAsync, generic);
        }
        finally
        {
            await EnsurePostgresRunningAsync();
        }

        await bed.AssertStormEndedRightAsync();
        Assert.Equal(HttpStatusCode.OK, (await bed.ReadyzAsync()).Status);
        Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("this change is dropped", StringComparison.Ordinal));
    }

    /// <summary>
    /// The full disk is a real one: a 32 MiB tmpfs the test mounts (the CI runs as root) holding the bot's data directory
    /// (its SQLite database and Hangfire's), filled to the last byte by a filler file mid-storm and freed again by
    /// deleting it. No file-size limit or max_page_count stands in for it.
    /// </summary>
    [Fact]
    public async Task SQLite_disk_full_mid_storm_webhooks_answer_503_readyz_fails_with_a_clear_log_line_and_every_pod_ends_in_one_incident_after_space_returns()
    {
        await using var disk = await SmallDisk.MountAsync(32);
        using var storage = TestStorage.SqliteIn(disk.Directory);
        await using var bed = await StormBed.StartAsync(parts, storage, "C0DISKFULL");
        bed.Say = output.WriteLine;

        bed.SeedFailingDeployment("api", 10);
        using (var first = await bed.PostAlertmanagerAsync(bed.AlertmanagerBatch("checkout", 8)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await bed.WaitForEveryPodAsync("the storm before the disk filled");

        // The disk fills up mid-storm; the storm goes on.
        var filler = disk.Fill();
        bed.Phase("disk full");
        var alertmanager = bed.AlertmanagerBatch("cart", 8);
        var generic = bed.GenericBatch("ledger", 8);
        using (var refused = await bed.PostAlertmanagerAsync(alertmanager))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        using (var refused = await bed.PostGenericAsync(generic))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        bed.SeedFailingDeployment("worker", 10);
        await Eventually.HoldsAsync(
            () => bed.Logs.Lines.Any(l => l.Contains("holds its reports", StringComparison.Ordinal)),
            StormBed.Patience,
            () => "the watcher never said it holds its reports: " + bed.Tail());

        // While it lasts: one clear error naming the file and the cause, and /readyz fails on "writes" saying why.
        var said = bed.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("cannot write", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(said);
        Assert.Contains(Path.Combine(disk.Directory, "chatopspull.db"), line, StringComparison.Ordinal);
        Assert.Contains("SQLite error 13", line, StringComparison.Ordinal);
        Assert.Contains("/readyz fails", line, StringComparison.Ordinal);
        var (status, body) = await bed.ReadyzAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var writes = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "writes");
        Assert.False(writes.GetProperty("ready").GetBoolean());
        Assert.Contains("cannot write", writes.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Space comes back: readiness recovers, held and refused reports are stored.
        File.Delete(filler);
        bed.Phase("space freed");
        await Eventually.HoldsAsync(
            () => bed.ReadyzAsync().GetAwaiter().GetResult().Status == HttpStatusCode.OK,
            StormBed.Patience,
            () => "/readyz never recovered: " + bed.ReadyzAsync().GetAwaiter().GetResult().Body);
        await StormBed.SendUntilTakenAsync(bed.PostAlertmanagerAsync, alertmanager);
        await StormBed.SendUntilTakenAsync(bed.PostGenericAsync, generic);

        await bed.AssertStormEndedRightAsync();
        Assert.Contains(bed.Logs.Lines, l => l.Contains("writes again after", StringComparison.Ordinal));
        Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("this change is dropped", StringComparison.Ordinal));
    }

    /// <summary>
    /// The bot runs on a clock that follows real time and jumps 30 s at once when the test says (its timers are real
    /// timers re-armed by the jump), so Slack's 30 s of 429s cost no wall-clock time; the fake Slack stamps its calls with the same clock, so "nothing
    /// was sent before Retry-After ran out" is read from the calls themselves.
    /// </summary>
    [Fact]
    public async Task Slack_429_with_Retry_After_30_s_and_Teams_502_mid_storm_lose_nothing_double_nothing_and_cards_end_right()
    {
        const string slackChannel = "C0LIMITED";
        var clock = new JumpingClock();
        parts.Slack.Clock = clock;
        using var storage = TestStorage.Sqlite();
        try
        {
            await using var bed = await StormBed.StartAsync(parts, storage, slackChannel, TeamsTestHost.GeneralChannel, clock);
            bed.Say = output.WriteLine;

            // Slack answers every post and update in the channel with 429, Retry-After 30, for 30 s; Teams' connector answers 502 six times.
            var limitedUntil = clock.GetUtcNow() + TimeSpan.FromSeconds(30);
            parts.Slack.RateLimitWhile(slackChannel, () => clock.GetUtcNow() < limitedUntil, retryAfterSeconds: 30);
            parts.Teams.FailNext(502, times: 6);

            bed.SeedFailingDeployment("api", 10);
            bed.SeedFailingDeployment("web", 8);
            using (var taken = await bed.PostAlertmanagerAsync(bed.AlertmanagerBatch("checkout", 8)))
            {
                Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
            }

            using (var taken = await bed.PostGenericAsync(bed.GenericBatch("payments", 8)))
            {
                Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
            }

            await bed.WaitForEveryPodAsync("the storm");

            // Slack said 429; every card of the channel now waits in the outbox, none given up.
            await parts.Slack.WaitUntilAsync(calls => calls.Any(c => c.Channel == slackChannel && c.Status == 429), StormBed.Patience, "a 429");
            await Eventually.HoldsAsync(
                () => bed.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, slackChannel, CancellationToken.None).GetAwaiter().GetResult() is { Count: > 0 } rows
                       && rows.All(r => r.State is OutboxState.Pending or OutboxState.Superseded),
                StormBed.Patience,
                () => "the Slack rows did not all wait");

            // The 30 s pass at once.
            bed.Phase("Slack rate limited, every row waits; the clock jumps 31 s");
            clock.Jump(TimeSpan.FromSeconds(31));
            await bed.AssertStormEndedRightAsync();

            // Retry-After was honoured: after each 429 the channel heard nothing until the 30 s were over.
            var calls = parts.Slack.Calls.Where(c => c.Channel == slackChannel).OrderBy(c => c.At).ToList();
            var limited = calls.Where(c => c.Status == 429).ToList();
            Assert.NotEmpty(limited);
            foreach (var answer in limited)
            {
                var next = calls.FirstOrDefault(c => c.At > answer.At && c.Status != 429);
                Assert.True(next is null || next.At >= answer.At + TimeSpan.FromSeconds(29.9), $"a send {(next!.At - answer.At).TotalSeconds:F1} s after a 429 with Retry-After 30");
            }

            Assert.True(calls.Count(c => c.Status == 429) <= 2, $"{limited.Count} sends were answered 429: the channel did not wait Retry-After");
            Assert.Equal(6, parts.Teams.Calls.Count(c => c.Status == 502));
        }
        finally
        {
            parts.Slack.Clock = TimeProvider.System;
        }
    }

    private async Task EnsurePostgresRunningAsync()
    {
        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(parts.Postgres.AdminConnectionString);
            await connection.OpenAsync();
        }
        catch (Npgsql.NpgsqlException)
        {
            await parts.Postgres.StartAgainAsync();
        }
    }

    /// <summary>A small tmpfs mounted for one test; unmounted (lazily if something still holds it) on dispose.</summary>
    private sealed class SmallDisk : IAsyncDisposable
    {
        private readonly string _mountPoint;

        private SmallDisk(string mountPoint)
        {
            _mountPoint = mountPoint;
            Directory = System.IO.Directory.CreateDirectory(Path.Combine(mountPoint, "data")).FullName;
        }

        public string Directory { get; }

        public static async Task<SmallDisk> MountAsync(int megabytes)
        {
            var mountPoint = System.IO.Directory.CreateTempSubdirectory("chatopspull-disk-").FullName;
            try
            {
                await ExternalProcess.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={megabytes}m,mode=0777", "tmpfs", mountPoint]);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"This test mounts a {megabytes} MiB tmpfs as its full disk and needs root (the CI runs as root): {e.Message}", e);
            }

            return new SmallDisk(mountPoint);
        }

        /// <summary>Fills the disk to the last byte with one file; returns its path (delete it to free the space).</summary>
        public string Fill()
        {
            var path = Path.Combine(_mountPoint, "filler");
            var block = new byte[64 * 1024];
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            try
            {
                while (true)
                {
                    file.Write(block);
                }
            }
            catch (IOException)
            {
                // ENOSPC: full; now the last few bytes
            }

            try
            {
                while (true)
                {
                    file.Write(block, 0, 512);
                }
            }
            catch (IOException)
            {
            }

            return path;
        }

        public async ValueTask DisposeAsync()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                await ExternalProcess.RunAsync("umount", [_mountPoint]);
            }
            catch (InvalidOperationException)
            {
                await ExternalProcess.RunAsync("umount", ["-l", _mountPoint]);
            }

            try
            {
                System.IO.Directory.Delete(_mountPoint, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
