using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using Dapper;

namespace ChatOpsPull.Tests.Outbox;

public sealed class OutboxRestartTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "chatopspull-restart-" + Guid.NewGuid().ToString("N"));
    private FakeSlackServer _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeSlackServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _fake.DisposeAsync();
        SlackTestHost.DeleteDirectory(_dataDirectory);
    }

    [Fact]
    public async Task Host_stopped_with_sends_pending_is_followed_by_one_that_delivers_each_exactly_once()
    {
        var titles = Enumerable.Range(1, 6).Select(i => $"Restart card {i}").ToList();
        await using (var first = SlackTestHost.Start(_fake, new Dictionary<string, string?> { ["Outbox:MessageInterval"] = "00:00:05" }, dataDirectory: _dataDirectory))
        {
            var surface = first.Get<SlackSurface>();
            for (var i = 0; i < titles.Count; i++)
            {
                await surface.PublishAsync("C0RESTART", SlackOutboxTests.Card($"incident:inc-r000000{i}", titles[i]), CancellationToken.None);
            }

            await _fake.WaitUntilAsync(calls => calls.Any(c => c.Ok), TimeSpan.FromSeconds(20), "the first card");
            var pending = (await first.Get<ChatOutbox>().CountsAsync(CancellationToken.None)).Pending;
            Assert.True(pending >= 4, $"only {pending} rows were still pending when the host stopped");
        }

        var deliveredBefore = _fake.Calls.Count(c => c.Ok);
        await using (var second = SlackTestHost.Start(_fake, dataDirectory: _dataDirectory))
        {
            await _fake.WaitUntilAsync(calls => calls.Count(c => c.Ok) == 6, TimeSpan.FromSeconds(30), "all six cards");
            await Drained.WaitAsync(second.Services);
            Assert.Equal(new OutboxCounts(0, 0, 6, 0, 0), await second.Get<ChatOutbox>().CountsAsync(CancellationToken.None));
        }

        Assert.InRange(deliveredBefore, 1, 2);
        var posted = _fake.CallsTo("chat.postMessage").Where(c => c.Ok).Select(c => SlackOutboxTests.Title(c.Body)).ToList();
        Assert.Equal(titles.Order(), posted.Order());
    }

    [Fact]
    public async Task Row_left_sending_by_a_process_that_died_is_sent_after_restart_as_an_update_not_a_second_post()
    {
        const string key = "incident:inc-d1ed0001";
        await using (var first = SlackTestHost.Start(_fake, dataDirectory: _dataDirectory))
        {
            await first.Get<SlackSurface>().PublishAsync("C0CRASHED", SlackOutboxTests.Card(key, "Before the crash"), CancellationToken.None);
            await _fake.WaitUntilAsync(calls => calls.Any(c => c.Ok), TimeSpan.FromSeconds(20), "the card");

            // What a replica leaves behind when it dies in the middle of sending the card's next version.
            var payload = new SlackOutboxPayload(BlockKitRenderer.Render(SlackOutboxTests.Card(key, "After the crash")).ToJson(), CardKey: key);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await using var connection = await first.Get<BotDatabase>().OpenAsync();
            await connection.ExecuteAsync(
                """
                INSERT INTO chat_outbox (platform, channel, operation, payload, dedupe_key, attempts, not_before, created_at, updated_at, state, lease_owner, lease_until)
                VALUES ('slack', 'C0CRASHED', @operation, @payload, @dedupe, 1, @now, @now, @now, 'sending', 'dead-replica', @until)
                """,
                new { operation = SlackOperations.Card, payload = payload.Serialize(), dedupe = SlackSurface.CardDedupeKey("C0CRASHED", key), now, until = now + 3_600_000 });
            // A card to another channel, enqueued after the row, is sent: the dispatcher has passed over the leased row.
            await first.Get<SlackSurface>().PublishAsync("C0BARRIER", SlackOutboxTests.Card("incident:inc-ba441e01", "Barrier"), CancellationToken.None);
            await _fake.WaitUntilAsync(calls => calls.Any(c => c.Channel == "C0BARRIER" && c.Ok), TimeSpan.FromSeconds(20), "the barrier card");
            Assert.Empty(_fake.CallsTo("chat.update"));
        }

        await using (var second = SlackTestHost.Start(_fake, dataDirectory: _dataDirectory))
        {
            await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.update" && c.Ok), TimeSpan.FromSeconds(20), "the update");
            var resent = await SlackOutboxTests.WaitForRowAsync(second, "C0CRASHED", r => r.Id == 2 && r.State == OutboxState.Delivered);
            Assert.Equal(2, resent.Attempts);
            var rows = await second.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, "C0CRASHED", CancellationToken.None);
            Assert.All(rows, r => Assert.Equal(OutboxState.Delivered, r.State));
        }

        var post = Assert.Single(_fake.CallsTo("chat.postMessage"), c => c.Channel == "C0CRASHED");
        Assert.Equal(post.Ts, Assert.Single(_fake.CallsTo("chat.update")).Ts);
        Assert.Equal("🟠 After the crash", Assert.Single(_fake.Messages, m => m.Channel == "C0CRASHED").Content["blocks"]![0]!["text"]!["text"]!.GetValue<string>());
    }
}
