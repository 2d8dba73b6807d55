using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// Waits until a bot host has nothing in flight: no Slack work after an acknowledgement, no Hangfire job enqueued or
/// processing, no chat outbox entry pending or being sent, on two readings in a row (a job between its queue and its
/// processing state reads as neither). A "nothing else happened" assertion made after this cannot pass because a late duplicate had not arrived
/// yet (delayed Hangfire jobs, such as a retry or a later rollout check, are not in flight and are not waited for).
/// </summary>
public static class Drained
{
    public static async Task WaitAsync(IServiceProvider services, TimeSpan? timeout = null)
    {
        var slack = services.GetService<SlackBackgroundWork>();
        var jobs = services.GetService<JobStorage>();
        var outbox = services.GetService<ChatOutbox>();
        var quietReadings = 0;
        await Eventually.ValueAsync(
            async () =>
            {
                // Upstream first: work that ends between two reads has already handed its messages to the outbox.
                var slackWork = slack?.Running ?? 0;
                var monitoring = jobs?.GetMonitoringApi();
                var enqueued = monitoring?.Queues().Sum(q => q.Length) ?? 0;
                var processing = monitoring?.ProcessingCount() ?? 0;
                var counts = outbox is null ? null : await outbox.CountsAsync(CancellationToken.None);
                var state = (SlackWork: slackWork, Enqueued: enqueued, Processing: processing, OutboxPending: counts?.Pending ?? 0, OutboxSending: counts?.Sending ?? 0);
                quietReadings = state is { SlackWork: 0, Enqueued: 0, Processing: 0, OutboxPending: 0, OutboxSending: 0 } ? quietReadings + 1 : 0;
                return state;
            },
            _ => quietReadings >= 2,
            "Slack background work, the Hangfire queue and the chat outbox to drain",
            timeout);
    }
}
