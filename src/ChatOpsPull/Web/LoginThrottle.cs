using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Web;

/// <summary>
/// Counts failed sign-ins per user name and per client address (in this replica's memory). After Web:MaxFailedLogins
/// failures within Web:LockoutDuration the name or address is locked for Web:LockoutDuration; every failure also costs a
/// growing delay (0.25 s × failures, at most 2 s) so guessing is slow even below the limit.
/// </summary>
public sealed class LoginThrottle(IOptionsMonitor<LocalUsersOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Record> _records = new(StringComparer.Ordinal);

    /// <summary>When locked, how long until the next attempt is allowed.</summary>
    public TimeSpan? LockedFor(string user, string address)
    {
        var now = time.GetUtcNow();
        TimeSpan? longest = null;
        foreach (var key in Keys(user, address))
        {
            if (_records.TryGetValue(key, out var record) && record.LockedUntil is { } until && until > now)
            {
                var left = until - now;
                longest = longest is null || left > longest ? left : longest;
            }
        }

        return longest;
    }

    /// <summary>Records a failure; returns the delay to impose before answering.</summary>
    public TimeSpan Failed(string user, string address)
    {
        var now = time.GetUtcNow();
        var current = options.CurrentValue;
        var worst = 0;
        foreach (var key in Keys(user, address))
        {
            var record = _records.AddOrUpdate(
                key,
                _ => new Record(1, now, null),
                (_, r) => now - r.FirstFailure > current.LockoutDuration && (r.LockedUntil is null || r.LockedUntil <= now)
                    ? new Record(1, now, null)
                    : r with { Failures = r.Failures + 1 });
            if (record.Failures >= current.MaxFailedLogins && record.LockedUntil is null)
            {
                _records[key] = record with { LockedUntil = now + current.LockoutDuration };
            }

            worst = Math.Max(worst, record.Failures);
        }

        if (_records.Count > 10_000)
        {
            foreach (var (key, record) in _records)
            {
                if (now - record.FirstFailure > current.LockoutDuration && (record.LockedUntil is null || record.LockedUntil <= now))
                {
                    _records.TryRemove(key, out _);
                }
            }
        }

        return TimeSpan.FromMilliseconds(Math.Min(2000, 250 * worst));
    }

    /// <summary>A successful sign-in clears the name's record (not the address's: one good password must not reset guessing from there).</summary>
    public void Succeeded(string user) => _records.TryRemove("user:" + user.ToUpperInvariant(), out _);

    private static string[] Keys(string user, string address) => ["user:" + user.ToUpperInvariant(), "addr:" + address];

    private sealed record Record(int Failures, DateTimeOffset FirstFailure, DateTimeOffset? LockedUntil);
}
