using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Web;

/// <summary>One page of the audit log, newest first, and where the next (older) page starts.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? OlderThan);

/// <summary>Reads the audit log a page at a time (keyset paging on its id, so pages stay stable while lines are added).</summary>
public sealed class WebAuditPages(BotDatabase database)
{
    public async Task<AuditPage> ReadAsync(long? before, int size, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        const string Columns = "SELECT id, at, actor_platform, actor_id, actor_name, action, incident_id, approval_id, detail, outcome FROM audit_log";
        var rows = (before is null
                ? await connection.QueryAsync<Row>($"{Columns} ORDER BY id DESC LIMIT @limit", new { limit = size + 1 }).ConfigureAwait(false)
                : await connection.QueryAsync<Row>($"{Columns} WHERE id < @before ORDER BY id DESC LIMIT @limit", new { before = before.Value, limit = size + 1 }).ConfigureAwait(false))
            .ToList();
        var entries = rows.Take(size).Select(r => new AuditEntry(
                r.id,
                BotDatabase.FromDb(r.at),
                new AuditActor(r.actor_platform, r.actor_id, r.actor_name),
                r.action,
                r.incident_id,
                r.approval_id,
                r.detail,
                r.outcome switch
                {
                    "refused" => AuditOutcome.Refused,
                    "failed" => AuditOutcome.Failed,
                    _ => AuditOutcome.Done,
                }))
            .ToList();
        return new AuditPage(entries, rows.Count > size ? entries[^1].Id : null);
    }

#pragma warning disable IDE1006, CA1812, SA1300 // column names as Dapper maps them
    private sealed class Row
    {
        public long id { get; set; }
        public long at { get; set; }
        public string actor_platform { get; set; } = "";
        public string actor_id { get; set; } = "";
        public string actor_name { get; set; } = "";
        public string action { get; set; } = "";
        public string? incident_id { get; set; }
        public string? approval_id { get; set; }
        public string? detail { get; set; }
        public string outcome { get; set; } = "";
    }
#pragma warning restore IDE1006, CA1812, SA1300
}
