using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Digest;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.DependencyInjection;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Tests.Commands;

/// <summary>Incidents reported through the real engine, and small readers for what Slack and Teams got.</summary>
public static class CommandTestKit
{
    public const string Cluster = "test-cluster";

    /// <summary>The kubelet message from tests/fixtures/kubernetes/events-web-pull-failure.json.</summary>
    public const string NotFoundMessage =
        "Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/web:1.4.3-typo\": failed to resolve reference \"registry.example.com/shop/web:1.4.3-typo\": registry.example.com/shop/web:1.4.3-typo: not found";

    /// <summary>Reports a failing pod of a Deployment through the incident engine and returns the incident it opened or joined.</summary>
    public static async Task<Incident> ReportAsync(IServiceProvider services, string @namespace, string deployment, string pod, string image = "registry.example.com/shop/web:1.4.3-typo")
    {
        var engine = services.GetRequiredService<IncidentEngine>();
        await engine.ReportAsync(
            new PullFailure(FailureSource.KubernetesWatch, Cluster, @namespace, pod, "web", ContainerKind.Regular, image, "ErrImagePull", NotFoundMessage, DateTimeOffset.UtcNow)
            {
                Workload = new WorkloadRef("Deployment", deployment),
            },
            CancellationToken.None);
        var open = await services.GetRequiredService<IncidentStore>().ListOpenAsync(Cluster, @namespace);
        return open.Single(i => i.Workload?.Name == deployment);
    }

    /// <summary>Every text in a Block Kit message (section text, fields, context, headers, button labels and values).</summary>
    public static string BlockTexts(JsonNode? message)
    {
        var texts = new List<string>();
        Walk(message, texts);
        return string.Join("\n", texts);
    }

    private static void Walk(JsonNode? node, List<string> texts)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (value is JsonValue v && v.TryGetValue<string>(out var s) && key is "text" or "value" or "alt_text")
                    {
                        texts.Add(s);
                    }
                    else
                    {
                        Walk(value, texts);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Walk(item, texts);
                }

                break;
        }
    }
}

/// <summary>A digest publisher that records where it was asked to post.</summary>
public sealed class RecordingDigestPublisher : IDigestPublisher
{
    public List<(ChatPlatform Platform, string Channel)> Published { get; } = [];

    public Task<ChatReply> PublishNowAsync(ChatPlatform platform, string channelId, CancellationToken cancellationToken)
    {
        Published.Add((platform, channelId));
        return Task.FromResult(new ChatReply("Digest posted in this channel."));
    }
}
