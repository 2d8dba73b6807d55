using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Chat;

/// <summary>Who clicked or typed, as the platform vouched for it (verified signature / token / login).</summary>
/// <param name="Id">Slack user id ("U012AB3CD"), Teams AAD object id, or local web user name.</param>
/// <param name="Groups">Slack user-group ids / Teams groups the user is in, where known.</param>
public sealed record ChatUser(ChatPlatform Platform, string Id, string DisplayName, IReadOnlyList<string> Groups);

/// <summary>A typed command: "/pullbot status", or "@pullbot status" in Teams.</summary>
/// <param name="Text">The words after the command name ("diagnose shop/api-7d9c").</param>
public sealed record ChatCommandRequest(ChatUser User, string Text, string ChannelId);

/// <summary>A button click, already verified as coming from the platform.</summary>
/// <param name="CardKey">The card the button was on, where the platform tells us.</param>
public sealed record ChatActionRequest(ChatUser User, CardActionPayload Payload, string ChannelId, string? CardKey);

/// <summary>
/// The answer to a command or click. Ephemeral replies are shown only to the person who acted.
/// <see cref="Card"/> is a card to show in reply (status lists, check results); <see cref="UpdatedCard"/> replaces the clicked card.
/// </summary>
public sealed record ChatReply(string Text, bool Ephemeral = true)
{
    public Card? Card { get; init; }

    public Card? UpdatedCard { get; init; }

    /// <summary>
    /// The action was refused or changed nothing (e.g. "already approved"): <see cref="Text"/> is the answer the person
    /// must see. <see cref="UpdatedCard"/>, when set, only refreshes a stale card.
    /// </summary>
    public bool ChangedNothing { get; init; }
}

/// <summary>Handles the channel-neutral commands (status, diagnose, check, retry, snooze, digest, help).</summary>
public interface IChatCommandHandler
{
    Task<ChatReply> HandleAsync(ChatCommandRequest request, CancellationToken cancellationToken);
}

/// <summary>Handles button clicks; decides on the server, never trusting the card.</summary>
public interface IChatActionHandler
{
    Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// A chat surface that can show cards: posts a card the first time its key is seen in a channel and updates
/// that same message afterwards; thread replies go under it. Sends go through the paced, persistent outbound queue.
/// </summary>
public interface IChatSurface
{
    ChatPlatform Platform { get; }

    Task PublishAsync(string channelId, Card card, CancellationToken cancellationToken);

    /// <param name="onceKey">
    /// The identity of the news the line tells (not its text), or null: a line told again with the same identity, to the
    /// same channel, is not sent again — whether the first is still queued or was sent long ago.
    /// </param>
    Task ReplyInThreadAsync(string channelId, string cardKey, string text, string? onceKey, CancellationToken cancellationToken);
}
