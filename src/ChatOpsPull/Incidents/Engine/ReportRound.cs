using System.Data.Common;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// The incidents of one subject while a round of reports is applied in one transaction: read once for every pod of the
/// round (open ones at once, recently closed ones only when a report needs them), changed in memory report by report —
/// each change one version, so every notice still carries its own — and written once per incident at the end
/// (<see cref="FlushAsync"/>), guarded by the version read. A storm round of a hundred pods of one workload costs a few
/// statements, not a few hundred.
/// </summary>
internal sealed class ReportRound
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly string _cluster;
    private readonly string _namespace;
    private readonly string _subject;
    private readonly IReadOnlyCollection<string> _pods;

    /// <summary>Each incident as the database holds it now (read, or inserted in this round): what <see cref="FlushAsync"/> writes over.</summary>
    private readonly Dictionary<string, Incident> _stored = new(StringComparer.Ordinal);
    private readonly List<string> _changed = [];
    private List<Incident> _open = [];
    private List<Incident>? _closed;

    private ReportRound(DbConnection connection, DbTransaction transaction, string cluster, string @namespace, string subject, IReadOnlyCollection<string> pods)
    {
        _connection = connection;
        _transaction = transaction;
        _cluster = cluster;
        _namespace = @namespace;
        _subject = subject;
        _pods = pods;
    }

    /// <summary>Open incidents of the subject, each with the round's pods' entries, as changed so far in this round.</summary>
    public IReadOnlyList<Incident> Open => _open;

    public static async Task<ReportRound> ReadAsync(DbConnection connection, DbTransaction transaction, string cluster, string @namespace, string subject, IReadOnlyCollection<string> pods)
    {
        var round = new ReportRound(connection, transaction, cluster, @namespace, subject, pods);
        round._open = [.. await IncidentStore.OpenForSubjectAsync(connection, transaction, cluster, @namespace, subject, pods).ConfigureAwait(false)];
        round._open.ForEach(i => round._stored[i.Id] = i);
        return round;
    }

    /// <summary>Closed incidents of the subject resolved since <paramref name="since"/>, read on first need (a report that joins nothing).</summary>
    public async Task<IReadOnlyList<Incident>> ClosedAsync(DateTimeOffset since)
    {
        if (_closed is null)
        {
            _closed = [.. await IncidentStore.ClosedForSubjectAsync(_connection, _transaction, _cluster, _namespace, _subject, since, _pods).ConfigureAwait(false)];
            _closed.ForEach(i => _stored.TryAdd(i.Id, i));
        }

        return _closed;
    }

    /// <summary>A new incident: inserted now (its diagnosis ticket and audit line refer to it), open for the rest of the round.</summary>
    public async Task InsertAsync(Incident incident)
    {
        await IncidentStore.InsertAsync(_connection, _transaction, incident).ConfigureAwait(false);
        _stored[incident.Id] = incident;
        _open.Add(incident);
    }

    /// <summary>
    /// <paramref name="changed"/> replaces <paramref name="current"/> (this round's latest of it) with version + 1, in memory;
    /// written by <see cref="FlushAsync"/>.
    /// </summary>
    public Incident Save(Incident current, Incident changed)
    {
        var next = changed with { Version = current.Version + 1 };
        var index = _open.FindIndex(i => i.Id == current.Id);
        if (index >= 0)
        {
            _open[index] = next;
        }
        else
        {
            _closed?.RemoveAll(i => i.Id == current.Id);
            _open.Add(next);
        }

        if (!_changed.Contains(next.Id))
        {
            _changed.Add(next.Id);
        }

        return next;
    }

    /// <summary>Writes each changed incident once, over the version read; another writer in between fails the round (lost race).</summary>
    public async Task FlushAsync()
    {
        foreach (var id in _changed)
        {
            var latest = _open.Find(i => i.Id == id) ?? throw new InvalidOperationException($"incident {id} changed in this round but is not open");
            await IncidentStore.WriteOverAsync(_connection, _transaction, _stored[id], latest).ConfigureAwait(false);
            _stored[id] = latest;
        }

        _changed.Clear();
    }
}
