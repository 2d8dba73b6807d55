using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Outbox;

/// <summary>
/// A message that waits for another one of its lane (a Teams thread reply for its card's post) must not hold the lane:
/// when a Teams 502 made a newer version of a card replace its failed post, the post sat behind its own thread replies,
/// and the reply at the head of the lane waited for it forever (the storm fault test stalled with 26 Teams rows pending).
/// </summary>
public sealed class OutboxDeferralTests : IAsyncLifetime
{
    private const string Lane = "19:deferral@thread.tacv2";
    private FakeSlackServer _fake = null!;
    private SlackTestHost? _host;

    public async Task InitializeAsync() => _fake = await FakeSlackServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
            SlackTestHost.DeleteDirectory(_host.DataDirectory);
        }

        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task A_reply_queued_before_the_post_it_waits_for_steps_aside_and_the_lane_sends_the_post_then_the_reply()
    {
        var delivery = new ReplyWaitsForPost();
        _host = SlackTestHost.Start(_fake, services: s => s.AddSingleton<IOutboxDelivery>(delivery));
        var outbox = _host.Get<IChatOutbox>();

        await outbox.EnqueueAsync(ChatPlatform.Teams, Lane, "reply", "reply", null, CancellationToken.None);
        await outbox.EnqueueAsync(ChatPlatform.Teams, Lane, "post", "post", null, CancellationToken.None);

        await Eventually.HoldsAsync(
            () => delivery.Sent.Count == 2,
            TimeSpan.FromSeconds(60),
            () => $"sent: [{string.Join(", ", delivery.Sent)}] after {delivery.Deferrals} deferrals");
        Assert.Equal(["post", "reply"], delivery.Sent);
        Assert.InRange(delivery.Deferrals, 1, 3);
        await Drained.WaitAsync(_host.Services);
        Assert.Equal(new OutboxCounts(0, 0, 2, 0, 0), await _host.Get<ChatOutbox>().CountsAsync(CancellationToken.None));
    }

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
