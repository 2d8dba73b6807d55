using ChatOpsPull.Incidents;

namespace ChatOpsPull.Web;

/// <summary>One page of the audit log, newest first, and where the next (older) page starts.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? OlderThan);

/// <summary>Reads the audit log a page at a time (keyset paging on its id, so pages stay stable while lines are added).</summary>
public sealed class WebAuditPages(AuditLog audit)
{
    public async Task<AuditPage> ReadAsync(long? before, int size, CancellationToken cancellationToken)
    {
        // One line more than the page: whether an older page exists.
        var rows = before is null
            ? await audit.RecentAsync(size + 1, cancellationToken).ConfigureAwait(false)
            : await audit.OlderThanAsync(before.Value, size + 1, cancellationToken).ConfigureAwait(false);
        var entries = rows.Take(size).ToList();
        return new AuditPage(entries, rows.Count > size ? entries[^1].Id : null);
    }
}
