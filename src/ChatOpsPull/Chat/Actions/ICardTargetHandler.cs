namespace ChatOpsPull.Chat.Actions;

/// <summary>
/// Clicks on buttons of cards that are not incident cards (a "will fail" or "prevented" card carries its finding's id):
/// <see cref="CardActionHandler"/> hands a click to the handler that owns its target id, which decides on the server as
/// every click is decided.
/// </summary>
public interface ICardTargetHandler
{
    /// <summary>True when <paramref name="target"/> is an id this handler issues ("fnd-…").</summary>
    bool Owns(string target);

    Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken);
}
