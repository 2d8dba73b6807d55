using ChatOpsPull.Chat.Outbox;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// Waits until a bot host has nothing in flight: no Hangfire job enqueued or processing, no chat outbox entry pending or
/// being sent. A "nothing else happened" assertion made after this cannot pass because a late duplicate had not arrived
/// yet (delayed Hangfire jobs, such as a retry or a later rollout check, are not in flight and are not waited for).
/// </summary>
public static class Drained
{
    public static async Task WaitAsync(IServiceProvider services, TimeSpan? timeout = null)
    {
        var jobs = services.GetService<JobStorage>();
        var outbox = services.GetService<ChatOutbox>();
        await Eventually.ValueAsync(
            async () =>
            {
                var monitoring = jobs?.GetMonitoringApi();
                var enqueued = monitoring?.Queues().Sum(q => q.Length) ?? 0;
                var processing = monitoring?.ProcessingCount() ?? 0;
                var counts = outbox is null ? null : await outbox.CountsAsync(CancellationToken.None);
                return (Enqueued: enqueued, Processing: processing, OutboxPending: counts?.Pending ?? 0, OutboxSending: counts?.Sending ?? 0);
            },
            s => s is { Enqueued: 0, Processing: 0, OutboxPending: 0, OutboxSending: 0 },
            "the Hangfire queue and the chat outbox to drain",
            timeout);
    }
}
