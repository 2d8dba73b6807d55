using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Mutes (image or namespace patterns, per cluster, until a time or removed), written with their audit line, and the
/// active ones as notice delivery reads them: cached for <see cref="CacheLifetime"/>, so a storm's notices do not each
/// read the table. A mute added or removed here is seen at once; one added by another replica within the lifetime.
/// </summary>
internal sealed class IncidentMutes(IncidentStore store, AuditLog audit, TimeProvider time)
{
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(5);

    private volatile ActiveMutes? _cache;

    /// <summary>Mutes incidents matching an image or namespace pattern (globs), until a time or forever (<paramref name="until"/> null).</summary>
    public async Task<IncidentMute> MuteAsync(MuteScope scope, string cluster, string pattern, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var mute = new IncidentMute("mut-" + IncidentIds.RandomChars(8), scope, cluster, pattern, until, actor.ToString(), now);
        await store.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                await IncidentStore.AddMuteAsync(connection, transaction, mute).ConfigureAwait(false);
                var what = $"{(scope == MuteScope.Image ? "image" : "namespace")} {pattern} in cluster {cluster} " + (until is { } u ? $"until {u:u}" : "until removed");
                return await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.MuteAdded, Detail: $"{mute.Id}: {what}")).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        _cache = null;
        return mute;
    }

    /// <summary>
    /// Mutes the incident's image name without tag or digest (every tag of that repository) in the incident's cluster.
    /// Null when the incident does not exist.
    /// </summary>
    public async Task<IncidentMute?> MuteImageOfAsync(string incidentId, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken)
    {
        var incident = await store.GetAsync(incidentId, cancellationToken).ConfigureAwait(false);
        if (incident is null)
        {
            return null;
        }

        var pattern = Core.Images.ImageReference.TryParse(incident.Image, out var reference, out _) ? reference.Name : incident.Image;
        return await MuteAsync(MuteScope.Image, incident.Key.Cluster, pattern, until, actor, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> UnmuteAsync(string muteId, AuditActor actor, CancellationToken cancellationToken)
    {
        var removed = await store.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                var done = await IncidentStore.RemoveMuteAsync(connection, transaction, muteId, time.GetUtcNow()).ConfigureAwait(false);
                if (done)
                {
                    await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.MuteRemoved, Detail: muteId)).ConfigureAwait(false);
                }

                return done;
            },
            cancellationToken).ConfigureAwait(false);
        _cache = null;
        return removed;
    }

    /// <summary>The mutes active now (from the cache while it is younger than <see cref="CacheLifetime"/>).</summary>
    public async Task<IReadOnlyList<IncidentMute>> ActiveAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache is { } cache && now >= cache.LoadedAt && now - cache.LoadedAt < CacheLifetime)
        {
            return cache.Mutes;
        }

        var mutes = await store.ListMutesAsync(now, cancellationToken).ConfigureAwait(false);
        _cache = new ActiveMutes(now, mutes);
        return mutes;
    }

    /// <summary>True when notifiers are not told about this incident now (snoozed, or a mute matches).</summary>
    public async Task<bool> IsSilencedAsync(Incident incident, CancellationToken cancellationToken) =>
        IncidentSilence.IsSilenced(incident, await ActiveAsync(cancellationToken).ConfigureAwait(false), time.GetUtcNow());

    private sealed record ActiveMutes(DateTimeOffset LoadedAt, IReadOnlyList<IncidentMute> Mutes);
}
