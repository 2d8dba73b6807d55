using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Outbox;

/// <summary>The outbox with its Slack delivery, against the fake Slack's rate limits and errors, and the lane rules every platform's delivery shares.</summary>
public sealed class SlackOutboxTests : IAsyncLifetime
{
    private const string DeferralLane = "19:deferral@thread.tacv2";
    private FakeSlackServer _fake = null!;
    private readonly List<SlackTestHost> _hosts = [];

    public async Task InitializeAsync() => _fake = await FakeSlackServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
            SlackTestHost.DeleteDirectory(host.DataDirectory);
        }

        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Hundred_cards_to_one_channel_within_a_second_are_all_delivered_paced_and_none_lost()
    {
        _fake.RatePerSecond = 20;
        _fake.Burst = 2;
        var host = Start(new() { ["Outbox:MessageInterval"] = "00:00:00.050" });
        var surface = host.Get<SlackSurface>();

        // All at once, as a storm arrives (each enqueue is one SQLite commit: on a loaded machine that takes a few ms).
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => surface.PublishAsync("C0STORM01", Card($"incident:inc-storm{i:D3}", $"Storm card {i}"), CancellationToken.None)));

        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage" && c.Ok) >= 100, TimeSpan.FromSeconds(60), "100 posted cards");
        await Drained.WaitAsync(host.Services);

        var calls = _fake.CallsTo("chat.postMessage").Where(c => c.Channel == "C0STORM01").OrderBy(c => c.At).ToList();
        var posted = calls.Where(c => c.Ok).Select(c => Title(c.Body)).ToList();
        Assert.Equal(100, posted.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"Storm card {i}").Order(), posted.Order());

        // Paced: sends start one interval apart, on average at least the interval, and every 429 waited out before the
        // next try. Arrival times at the fake jitter by tens of ms on a loaded machine, so two neighbours may land close
        // together; any six sends in a row still span five intervals less that jitter (unpaced sends: a few ms).
        var gaps = calls.Zip(calls.Skip(1), (a, b) => (b.At - a.At).TotalMilliseconds).ToList();
        var tightestSix = calls.Zip(calls.Skip(5), (a, b) => (b.At - a.At).TotalMilliseconds).Min();
        Assert.True(tightestSix >= 150, $"six sends in a row came within {tightestSix:F0} ms");
        Assert.True(gaps.Average() >= 48, $"sends were on average {gaps.Average():F0} ms apart");
        for (var i = 0; i < calls.Count - 1; i++)
        {
            if (calls[i].Status == 429)
            {
                Assert.True(calls[i + 1].At - calls[i].At >= TimeSpan.FromSeconds(0.95), $"send after a 429 came {(calls[i + 1].At - calls[i].At).TotalMilliseconds:F0} ms later");
            }
        }

        var counts = await host.Get<ChatOutbox>().CountsAsync(CancellationToken.None);
        Assert.Equal(new OutboxCounts(0, 0, 100, 0, 0), counts);
    }

    [Fact]
    public async Task Retry_after_is_honoured_for_the_whole_channel_and_other_channels_go_on()
    {
        var host = Start();
        var surface = host.Get<SlackSurface>();
        _fake.RateLimitNext("C0LIMITED", retryAfterSeconds: 2);

        await surface.PublishAsync("C0LIMITED", Card("incident:inc-a0000001", "First"), CancellationToken.None);
        await surface.PublishAsync("C0LIMITED", Card("incident:inc-a0000002", "Second"), CancellationToken.None);
        await surface.PublishAsync("C0FREE001", Card("incident:inc-a0000003", "Elsewhere"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage" && c.Ok) == 3, TimeSpan.FromSeconds(20), "three posted cards");

        var limited = _fake.CallsTo("chat.postMessage").Where(c => c.Channel == "C0LIMITED").OrderBy(c => c.At).ToList();
        Assert.Equal([429, 200, 200], limited.Select(c => c.Status));
        Assert.Equal(["First", "First", "Second"], limited.Select(c => Title(c.Body)));
        Assert.True(limited[1].At - limited[0].At >= TimeSpan.FromSeconds(1.95), $"retried after {(limited[1].At - limited[0].At).TotalMilliseconds:F0} ms");
        var elsewhere = _fake.CallsTo("chat.postMessage").Single(c => c.Channel == "C0FREE001");
        Assert.True(elsewhere.At - limited[0].At < TimeSpan.FromSeconds(1), "another channel waited for the rate-limited one");
        var rows = await host.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, "C0LIMITED", CancellationToken.None);
        Assert.All(rows, r => Assert.Equal(1, r.Attempts));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_growing_backoff_then_delivered()
    {
        var host = Start(new() { ["Outbox:BaseBackoff"] = "00:00:00.500", ["Outbox:MaxBackoff"] = "00:00:05" });
        _fake.FailNext(2, status: 503);

        await host.Get<SlackSurface>().PublishAsync("C0FLAKY01", Card("incident:inc-b0000001", "Flaky"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Ok), TimeSpan.FromSeconds(20), "the card");

        var attempts = _fake.CallsTo("chat.postMessage").OrderBy(c => c.At).ToList();
        Assert.Equal([503, 503, 200], attempts.Select(c => c.Status));
        var first = attempts[1].At - attempts[0].At;
        var second = attempts[2].At - attempts[1].At;
        // A retry waits its backoff from the moment the failure was answered, so each gap is at least its backoff (±20 %
        // jitter: 400–600 ms, then 800–1,200 ms). A second gap of 800 ms or more is beyond any first backoff: it grew. The
        // gaps are not compared with each other: a loaded machine may stretch the first past the second.
        Assert.True(first >= TimeSpan.FromMilliseconds(400), $"first retry after {first.TotalMilliseconds:F0} ms");
        Assert.True(second >= TimeSpan.FromMilliseconds(800), $"backoff did not grow: second retry after {second.TotalMilliseconds:F0} ms (first after {first.TotalMilliseconds:F0} ms)");
        // Slack's answer arrives before the bot records it: wait for the row, not only for the call.
        var rows = await Eventually.ValueAsync(
            () => host.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, "C0FLAKY01", CancellationToken.None),
            r => r.Count == 1 && r[0].State == OutboxState.Delivered,
            "the outbox row to be delivered",
            TimeSpan.FromSeconds(10));
        Assert.Equal(3, rows[0].Attempts);
    }

    [Fact]
    public async Task Persistent_server_errors_give_up_after_the_last_attempt_and_say_so()
    {
        var host = Start(new() { ["Outbox:MaxAttempts"] = "3" });
        _fake.FailNext(1000, status: 500);

        await host.Get<SlackSurface>().PublishAsync("C0DOWN001", Card("incident:inc-c0000001", "Down"), CancellationToken.None);
        await WaitForRowAsync(host, "C0DOWN001", r => r.State == OutboxState.Failed);

        Assert.Equal(3, _fake.CallsTo("chat.postMessage").Count);
        var failure = Assert.Single(await host.Get<ChatOutbox>().RecentFailuresAsync(10, CancellationToken.None));
        Assert.Equal("gave up after 3 attempts: http_500", failure.LastError);
        Assert.Equal("C0DOWN001", failure.Channel);
    }

    [Fact]
    public async Task Permanent_error_is_recorded_at_once_and_the_person_who_asked_is_told()
    {
        var host = Start();
        _fake.MissingChannels["C0GONE001"] = true;
        var command = new SlackSlashCommand("/pullbot", "status", "U2CERLKJA", "roadrunner", "C0GONE001", "T1", ResponseUrl: null, TriggerId: null);

        await host.Get<SlackReplies>().ReplyToCommandAsync(command, new ChatReply("All quiet."), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Channel == "U2CERLKJA"), TimeSpan.FromSeconds(20), "the DM about the failure");
        // The DM goes out on its own lane, so it may land before the failed send's row is written.
        await WaitForRowAsync(host, "C0GONE001", r => r.State == OutboxState.Failed);

        var failed = _fake.CallsTo("chat.postEphemeral").Single();
        Assert.Equal("channel_not_found", failed.Error);
        var failure = Assert.Single(await host.Get<ChatOutbox>().RecentFailuresAsync(10, CancellationToken.None));
        Assert.Equal("channel_not_found", failure.LastError);
        Assert.Equal(1, failure.Attempts);
        var dm = _fake.CallsTo("chat.postMessage").Single(c => c.Channel == "U2CERLKJA");
        Assert.Contains("channel_not_found", dm.Body["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("<#C0GONE001>", dm.Body["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_bot_token_is_a_permanent_error_and_the_token_is_not_recorded()
    {
        var host = Start(new() { ["Slack:BotToken"] = "xoxb-revoked-0000" });

        await host.Get<SlackSurface>().PublishAsync("C0AUTH001", Card("incident:inc-d0000001", "Auth"), CancellationToken.None);
        await WaitForRowAsync(host, "C0AUTH001", r => r.State == OutboxState.Failed);

        var row = Assert.Single(await host.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, "C0AUTH001", CancellationToken.None));
        Assert.Equal("invalid_auth", row.LastError);
        Assert.DoesNotContain("xoxb", row.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Card_is_posted_once_and_then_updated_in_place()
    {
        var host = Start();
        var surface = host.Get<SlackSurface>();

        await surface.PublishAsync("C0CARDS01", Card("incident:inc-e0000001", "Opened"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Ok), TimeSpan.FromSeconds(20), "the card");
        await surface.PublishAsync("C0CARDS01", Card("incident:inc-e0000001", "Diagnosed"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.update") == 1, TimeSpan.FromSeconds(20), "the first update");
        await surface.PublishAsync("C0CARDS01", Card("incident:inc-e0000001", "Resolved"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.update") == 2, TimeSpan.FromSeconds(20), "the second update");

        var post = Assert.Single(_fake.CallsTo("chat.postMessage"));
        Assert.All(_fake.CallsTo("chat.update"), u => Assert.Equal(post.Ts, u.Ts));
        var message = Assert.Single(_fake.Messages);
        Assert.Equal(post.Ts, message.Ts);
        Assert.Equal("🟠 Resolved", message.Content["blocks"]![0]!["text"]!["text"]!.GetValue<string>());
        Assert.Equal(post.Ts, await host.Get<SlackCardMessages>().FindTsAsync("C0CARDS01", "incident:inc-e0000001", CancellationToken.None));
    }

    [Fact]
    public async Task Pending_updates_of_one_card_coalesce_into_one_send_of_the_newest()
    {
        var host = Start(new() { ["Outbox:MessageInterval"] = "00:00:01.500" });
        var surface = host.Get<SlackSurface>();
        await surface.PublishAsync("C0BUSY001", Card("incident:inc-f0000001", "Version 0"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage"), TimeSpan.FromSeconds(20), "the card");

        for (var version = 1; version <= 10; version++)
        {
            await surface.PublishAsync("C0BUSY001", Card("incident:inc-f0000001", $"Version {version}"), CancellationToken.None);
        }

        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.update"), TimeSpan.FromSeconds(20), "the update");
        await Drained.WaitAsync(host.Services); // a second update would still be pending

        var update = Assert.Single(_fake.CallsTo("chat.update"));
        Assert.Equal("Version 10", Title(update.Body));
        var rows = await host.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, "C0BUSY001", CancellationToken.None);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(OutboxState.Delivered, r.State));
    }

    [Fact]
    public async Task Thread_reply_goes_under_the_cards_message()
    {
        var host = Start();
        var surface = host.Get<SlackSurface>();

        await surface.PublishAsync("C0THREAD1", Card("incident:inc-90000001", "Card"), CancellationToken.None);
        await surface.ReplyInThreadAsync("C0THREAD1", "incident:inc-90000001", "3 more pods joined: *api-7d9c-x*", null, CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage" && c.Ok) == 2, TimeSpan.FromSeconds(20), "card and reply");

        var posts = _fake.CallsTo("chat.postMessage").OrderBy(c => c.At).ToList();
        Assert.Null(posts[0].Body["thread_ts"]);
        Assert.Equal(posts[0].Ts, posts[1].Body["thread_ts"]!.GetValue<string>());
        Assert.Equal("3 more pods joined: *api-7d9c-x*", posts[1].Body["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_thread_line_told_again_with_its_once_key_after_it_was_sent_is_not_sent_again_while_a_new_key_with_the_same_text_is()
    {
        var host = Start();
        var surface = host.Get<SlackSurface>();
        await surface.PublishAsync("C0ONCE001", Card("incident:inc-90000010", "Card"), CancellationToken.None);
        await surface.ReplyInThreadAsync("C0ONCE001", "incident:inc-90000010", "bob approved", "announcement:approval:apr-1:v2", CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage" && c.Ok) == 2, TimeSpan.FromSeconds(20), "card and line");

        // Told again (a retell after a crash) once sent, then while pending behind a new line with the same text.
        await surface.ReplyInThreadAsync("C0ONCE001", "incident:inc-90000010", "bob approved", "announcement:approval:apr-1:v2", CancellationToken.None);
        await surface.ReplyInThreadAsync("C0ONCE001", "incident:inc-90000010", "bob approved", "announcement:approval:apr-2:v2", CancellationToken.None);
        await surface.ReplyInThreadAsync("C0ONCE001", "incident:inc-90000010", "bob approved", "announcement:approval:apr-2:v2", CancellationToken.None);
        await surface.PublishAsync("C0ONCE001", Card("incident:inc-90000010", "Card, later"), CancellationToken.None); // the lane's last row
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.update" && c.Ok), TimeSpan.FromSeconds(20), "the card's update, after the lines");

        var lines = _fake.CallsTo("chat.postMessage").Where(c => c.Ok && c.Body["thread_ts"] is not null).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Equal("bob approved", l.Body["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_thread_line_given_up_after_its_retries_is_sent_when_told_again_while_one_refused_because_its_channel_is_gone_is_not()
    {
        var host = Start(new() { ["Outbox:MaxAttempts"] = "2" });
        var surface = host.Get<SlackSurface>();
        await surface.PublishAsync("C0RETELL1", Card("incident:inc-90000020", "Card"), CancellationToken.None);
        await surface.PublishAsync("C0GONE002", Card("incident:inc-90000021", "Card"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage" && c.Ok) == 2, TimeSpan.FromSeconds(20), "both cards");

        // Slack answers 500 to the line until the outbox gives it up; the other line's channel is gone.
        _fake.FailNext(2, status: 500);
        await surface.ReplyInThreadAsync("C0RETELL1", "incident:inc-90000020", "3 more pods joined", "incident:inc-90000020:v3:PodsChanged", CancellationToken.None);
        await WaitForRowAsync(host, "C0RETELL1", r => r.Operation == SlackOperations.ThreadReply && r.State == OutboxState.Failed);
        _fake.MissingChannels["C0GONE002"] = true;
        await surface.ReplyInThreadAsync("C0GONE002", "incident:inc-90000021", "3 more pods joined", "incident:inc-90000021:v3:PodsChanged", CancellationToken.None);
        await WaitForRowAsync(host, "C0GONE002", r => r.Operation == SlackOperations.ThreadReply && r.State == OutboxState.Failed);

        // Both told again (a retell), Slack answering again: the line given up is sent, once; the refused one is not queued.
        await surface.ReplyInThreadAsync("C0RETELL1", "incident:inc-90000020", "3 more pods joined", "incident:inc-90000020:v3:PodsChanged", CancellationToken.None);
        await surface.ReplyInThreadAsync("C0GONE002", "incident:inc-90000021", "3 more pods joined", "incident:inc-90000021:v3:PodsChanged", CancellationToken.None);
        await WaitForRowAsync(host, "C0RETELL1", r => r.Operation == SlackOperations.ThreadReply && r.State == OutboxState.Delivered);
        await surface.ReplyInThreadAsync("C0RETELL1", "incident:inc-90000020", "3 more pods joined", "incident:inc-90000020:v3:PodsChanged", CancellationToken.None);
        await Drained.WaitAsync(host.Services);

        Assert.Single(_fake.CallsTo("chat.postMessage"), c => c.Ok && c.Channel == "C0RETELL1" && c.Body["thread_ts"] is not null);
        var outbox = host.Get<ChatOutbox>();
        Assert.Equal(2, (await outbox.ListAsync(ChatPlatform.Slack, "C0RETELL1", CancellationToken.None)).Count(r => r.Operation == SlackOperations.ThreadReply));
        Assert.Single(await outbox.ListAsync(ChatPlatform.Slack, "C0GONE002", CancellationToken.None), r => r.Operation == SlackOperations.ThreadReply);
    }

    [Fact]
    public async Task A_once_key_is_kept_as_long_as_its_row_and_goes_with_it_when_delivered_rows_are_purged()
    {
        var host = Start();
        var outbox = host.Get<ChatOutbox>();
        var first = await outbox.EnqueueOnceAsync(ChatPlatform.Slack, "C0ONCE002", SlackOperations.PostMessage, new SlackOutboxPayload(new JsonObject { ["text"] = "hi" }).Serialize(), "slack.line:C0ONCE002:k", CancellationToken.None);
        Assert.NotNull(first);
        await WaitForRowAsync(host, "C0ONCE002", r => r.Id == first && r.State == OutboxState.Delivered);
        Assert.Null(await outbox.EnqueueOnceAsync(ChatPlatform.Slack, "C0ONCE002", SlackOperations.PostMessage, "{}", "slack.line:C0ONCE002:k", CancellationToken.None));

        // The outbox's retention (Outbox:KeepDelivered) removes the delivered row, and its key with it: the keys stay bounded.
        var queue = new OutboxQueue(host.Get<ChatOpsPull.Storage.BotDatabase>(), host.Get<SqliteWriteGate>());
        Assert.Equal(1, await queue.PurgeAsync(DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds(), CancellationToken.None));
        Assert.NotNull(await outbox.EnqueueOnceAsync(ChatPlatform.Slack, "C0ONCE002", SlackOperations.PostMessage, new SlackOutboxPayload(new JsonObject { ["text"] = "hi" }).Serialize(), "slack.line:C0ONCE002:k", CancellationToken.None));
    }

    [Fact]
    public async Task Thread_reply_queued_before_its_cards_post_waits_for_the_post_and_goes_under_it_not_into_the_channel()
    {
        var host = Start();
        var surface = host.Get<SlackSurface>();
        var limited = true;
        _fake.RateLimitWhile("C0THREAD2", () => Volatile.Read(ref limited), retryAfterSeconds: 1);
        await surface.PublishAsync("C0THREAD2", Card("incident:inc-90000002", "Another card first"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Channel == "C0THREAD2" && c.Status == 429), TimeSpan.FromSeconds(20), "the channel to be rate limited");

        // While the channel waits, the reply is queued ahead of its card's post (as after a 429 and a newer card version).
        await surface.ReplyInThreadAsync("C0THREAD2", "incident:inc-90000003", "3 more pods joined", null, CancellationToken.None);
        await surface.PublishAsync("C0THREAD2", Card("incident:inc-90000003", "Card"), CancellationToken.None);
        Volatile.Write(ref limited, false);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage" && c.Ok) == 3, TimeSpan.FromSeconds(30), "two cards and the reply");

        var posts = _fake.CallsTo("chat.postMessage").Where(c => c.Ok).OrderBy(c => c.At).ToList();
        var card = Assert.Single(posts, p => p.Body["blocks"] is JsonArray && Title(p.Body) == "Card");
        var reply = Assert.Single(posts, p => p.Body["text"]?.GetValue<string>() == "3 more pods joined");
        Assert.Equal(card.Ts, reply.Body["thread_ts"]?.GetValue<string>());
        Assert.True(reply.At > card.At);
    }

    [Fact]
    public async Task Card_whose_message_was_deleted_is_posted_again_and_followed_from_then_on()
    {
        var host = Start();
        var surface = host.Get<SlackSurface>();
        await surface.PublishAsync("C0DELETE1", Card("incident:inc-80000001", "One"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage"), TimeSpan.FromSeconds(20), "the card");
        var first = _fake.CallsTo("chat.postMessage").Single();
        Assert.True(_fake.DeleteMessage("C0DELETE1", first.Ts!));

        await surface.PublishAsync("C0DELETE1", Card("incident:inc-80000001", "Two"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "chat.postMessage") == 2, TimeSpan.FromSeconds(20), "the card again");
        await surface.PublishAsync("C0DELETE1", Card("incident:inc-80000001", "Three"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.update" && c.Ok), TimeSpan.FromSeconds(20), "the update");

        var second = _fake.CallsTo("chat.postMessage").OrderBy(c => c.At).Last();
        Assert.Equal("message_not_found", _fake.CallsTo("chat.update")[0].Error);
        Assert.Equal(second.Ts, _fake.CallsTo("chat.update").Single(c => c.Ok).Ts);
        Assert.Equal("🟠 Three", Assert.Single(_fake.Messages).Content["blocks"]![0]!["text"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invalid_blocks_answer_is_a_permanent_failure_with_slacks_error()
    {
        var host = Start();
        var body = new JsonObject { ["text"] = "x", ["blocks"] = new JsonArray(new JsonObject { ["type"] = "header", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = "not plain" } }) };

        await host.Get<IChatOutbox>().EnqueueAsync(ChatPlatform.Slack, "C0BLOCKS1", SlackOperations.PostMessage,
            new SlackOutboxPayload(body).Serialize(), null, CancellationToken.None);
        await WaitForRowAsync(host, "C0BLOCKS1", r => r.State == OutboxState.Failed);

        Assert.Equal("invalid_blocks", Assert.Single(await host.Get<ChatOutbox>().RecentFailuresAsync(5, CancellationToken.None)).LastError);
    }

    /// <summary>
    /// A message that waits for another one of its lane (a Teams thread reply for its card's post) must not hold the lane:
    /// when a Teams 502 made a newer version of a card replace its failed post, the post sat behind its own thread replies,
    /// and the reply at the head of the lane waited for it forever (the storm fault test stalled with 26 Teams rows pending).
    /// </summary>
    [Fact]
    public async Task A_reply_queued_before_the_post_it_waits_for_steps_aside_and_the_lane_sends_the_post_then_the_reply()
    {
        var delivery = new ReplyWaitsForPost();
        var host = Start(services: s => s.AddSingleton<IOutboxDelivery>(delivery));
        var outbox = host.Get<IChatOutbox>();

        await outbox.EnqueueAsync(ChatPlatform.Teams, DeferralLane, "reply", "reply", null, CancellationToken.None);
        await outbox.EnqueueAsync(ChatPlatform.Teams, DeferralLane, "post", "post", null, CancellationToken.None);

        await Eventually.HoldsAsync(
            () => delivery.Sent.Count == 2,
            TimeSpan.FromSeconds(60),
            () => $"sent: [{string.Join(", ", delivery.Sent)}] after {delivery.Deferrals} deferrals");
        Assert.Equal(["post", "reply"], delivery.Sent);
        Assert.InRange(delivery.Deferrals, 1, 3);
        await Drained.WaitAsync(host.Services);
        Assert.Equal(new OutboxCounts(0, 0, 2, 0, 0), await host.Get<ChatOutbox>().CountsAsync(CancellationToken.None));
    }

    private SlackTestHost Start(Dictionary<string, string?>? settings = null, string? dataDirectory = null, Action<IServiceCollection>? services = null)
    {
        var host = SlackTestHost.Start(_fake, settings, dataDirectory: dataDirectory, services: services);
        _hosts.Add(host);
        return host;
    }

    internal static async Task<OutboxRow> WaitForRowAsync(SlackTestHost host, string channel, Func<OutboxRow, bool> condition)
    {
        var rows = await Eventually.ValueAsync(
            () => host.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, channel, CancellationToken.None),
            rows => rows.Any(condition),
            $"an outbox row in {channel} to reach the expected state",
            describe: rows => string.Join(", ", rows.Select(r => $"{r.Id}:{r.State}/{r.Attempts}")));
        return rows.First(condition);
    }

    internal static Card Card(string key, string title) =>
        new(key, title, CardTone.Warning, title, [new CardFact("Namespace", "shop")], [CardSection.Markdown(null, "body")], []);

    internal static string Title(JsonObject body) =>
        body["blocks"]![0]!["text"]!["text"]!.GetValue<string>().Replace("🟠 ", string.Empty, StringComparison.Ordinal);

    /// <summary>A Teams delivery whose "reply" cannot go before its "post", as a thread reply waits for its card.</summary>
    private sealed class ReplyWaitsForPost : IOutboxDelivery
    {
        private readonly Lock _gate = new();
        private readonly List<string> _sent = [];
        private int _deferrals;

        public ChatPlatform Platform => ChatPlatform.Teams;

        public IReadOnlyList<string> Sent
        {
            get
            {
                lock (_gate)
                {
                    return [.. _sent];
                }
            }
        }

        public int Deferrals => Volatile.Read(ref _deferrals);

        public Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (message.Payload == "reply" && !_sent.Contains("post"))
                {
                    Interlocked.Increment(ref _deferrals);
                    return Task.FromResult(new DeliveryResult(DeliveryOutcome.Deferred, TimeSpan.FromMilliseconds(300), "the card is not posted yet"));
                }

                _sent.Add(message.Payload);
                return Task.FromResult(DeliveryResult.Delivered);
            }
        }
    }
}
