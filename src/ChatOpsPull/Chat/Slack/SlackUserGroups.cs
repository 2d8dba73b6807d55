using System.Text.Json.Nodes;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Which Slack user groups a user is in, for approver policies that name groups. One usergroups.list call
/// (include_users) fills a cache for five minutes; without the usergroups:read scope users simply have no groups.
/// </summary>
public sealed partial class SlackUserGroups(SlackApiClient api, TimeProvider time, ILogger<SlackUserGroups> log) : IDisposable
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;

    public async Task<IReadOnlyList<string>> GroupsOfAsync(string userId, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is null || time.GetUtcNow() - snapshot.At > CacheFor)
        {
            snapshot = await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return snapshot.ByUser.TryGetValue(userId, out var groups) ? groups : [];
    }

    private async Task<Snapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_snapshot is { } fresh && time.GetUtcNow() - fresh.At <= CacheFor)
            {
                return fresh;
            }

            var result = await api.CallFormAsync("usergroups.list", [new("include_users", "true")], cancellationToken).ConfigureAwait(false);
            var byUser = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            if (result.Ok && result.Body?["usergroups"] is JsonArray groups)
            {
                foreach (var group in groups.OfType<JsonObject>())
                {
                    var id = group["id"]?.GetValue<string>();
                    if (id is null || group["users"] is not JsonArray users)
                    {
                        continue;
                    }

                    foreach (var user in users.Select(u => u?.GetValue<string>()).OfType<string>())
                    {
                        if (!byUser.TryGetValue(user, out var list))
                        {
                            byUser[user] = list = [];
                        }

                        list.Add(id);
                    }
                }
            }
            else
            {
                LogGroupsUnavailable(log, result.Error ?? "unexpected answer");
            }

            var snapshot = new Snapshot(time.GetUtcNow(), byUser.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal));
            _snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    private sealed record Snapshot(DateTimeOffset At, IReadOnlyDictionary<string, IReadOnlyList<string>> ByUser);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack user groups are unavailable ({Error}); approvers named by group will not match.")]
    private static partial void LogGroupsUnavailable(ILogger logger, string error);
}
