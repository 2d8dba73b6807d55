using ChatOpsPull.Chat;

namespace ChatOpsPull.Chat.Digest;

/// <summary>Posts a channel's digest now (the <c>digest</c> command); the scheduled digest uses the same path.</summary>
public interface IDigestPublisher
{
    /// <returns>What the person who asked sees: "Digest posted" or why not (no schedule for this channel, nothing to say…).</returns>
    Task<ChatReply> PublishNowAsync(ChatPlatform platform, string channelId, CancellationToken cancellationToken);
}
