using ChatOpsPull.Chat.Cards;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// Who sees the Approve/Deny buttons on a card in a Teams conversation (AAD object ids). The approval policy decides
/// every click on the server anyway; this only decides what each person is shown. Null: everyone sees every button.
/// The approvals capability may register its own (policy-backed) implementation; the default reads
/// <see cref="TeamsOptions.CardApprovers"/>.
/// </summary>
public interface ITeamsCardApprovers
{
    ValueTask<IReadOnlyList<string>?> ApproversForAsync(string conversationId, Card card, CancellationToken cancellationToken);
}

public sealed class ConfiguredTeamsCardApprovers(IOptionsMonitor<TeamsOptions> options) : ITeamsCardApprovers
{
    public ValueTask<IReadOnlyList<string>?> ApproversForAsync(string conversationId, Card card, CancellationToken cancellationToken)
    {
        var approvers = options.CurrentValue.CardApprovers;
        return ValueTask.FromResult<IReadOnlyList<string>?>(approvers.Count == 0 ? null : approvers.ToList());
    }
}
