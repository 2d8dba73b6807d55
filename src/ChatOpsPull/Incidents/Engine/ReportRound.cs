using System.Data.Common;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// The incidents of one subject while a round of reports is applied in one transaction: read once for every pod of the
/// round (open ones at once, recently closed ones only when a report needs them), changed in memory report by report —
/// each change one version, so every notice still carries its own — and written once per incident at the end
/// (<see cref="FlushAsync"/>), guarded by the version read. A storm round of a hundred pods of one workload costs a few
/// statements, not a few hundred. Its writes (inserts, tickets, audit lines, the incidents) wait in <see cref="Writes"/>
/// and are sent together at the end — on PostgreSQL one round trip — or before a read that comes later in the round.
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
    private readonly StatementBatch _writes = new();
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

    /// <summary>Writes of the round not sent yet: add to it; sent by <see cref="FlushAsync"/> (or <see cref="SendWritesAsync"/>).</summary>
    public StatementBatch Writes => _writes;

    /// <param name="closedSince">
    /// Where a command is a round trip to a server (<see cref="ISqlDialect.CommandsAreRoundTrips"/>), the closed incidents
    /// resolved since then are read in the same round trip as the open ones, as a report that joins none needs them (the
    /// first of a new incident, which waits for its diagnosis); elsewhere only when needed (<see cref="ClosedAsync"/>).
    /// </param>
    /// <param name="pending">The subject lock when not taken yet: the first read takes it in its own round trip.</param>
    public static async Task<ReportRound> ReadAsync(
        DbConnection connection, DbTransaction transaction, string cluster, string @namespace, string subject, IReadOnlyCollection<string> pods, DateTimeOffset closedSince, TransactionLock? pending)
    {
        var round = new ReportRound(connection, transaction, cluster, @namespace, subject, pods);
        var eager = SqlDialects.For(connection).CommandsAreRoundTrips ? closedSince : (DateTimeOffset?)null;
        var (open, closed) = await IncidentStore.OpenForSubjectAsync(connection, transaction, cluster, @namespace, subject, pods, eager, pending).ConfigureAwait(false);
        round._open = [.. open];
        round._open.ForEach(i => round._stored[i.Id] = i);
        if (closed is not null)
        {
            round._closed = [.. closed];
            round._closed.ForEach(i => round._stored.TryAdd(i.Id, i));
        }

        return round;
    }

    /// <summary>
    /// Closed incidents of the subject resolved since <paramref name="since"/>, read on first need (a report that joins
    /// nothing) unless read with the open ones (then since the round began: a wider window, which grouping narrows again).
    /// </summary>
    public async Task<IReadOnlyList<Incident>> ClosedAsync(DateTimeOffset since)
    {
        if (_closed is null)
        {
            await SendWritesAsync().ConfigureAwait(false);
            _closed = [.. await IncidentStore.ClosedForSubjectAsync(_connection, _transaction, _cluster, _namespace, _subject, since, _pods).ConfigureAwait(false)];
            _closed.ForEach(i => _stored.TryAdd(i.Id, i));
        }

        return _closed;
    }

    /// <summary>A new incident: its insert goes in <see cref="Writes"/> first (its diagnosis ticket and audit line come after it), open for the rest of the round.</summary>
    public void Insert(Incident incident)
    {
        IncidentStore.Insert(_writes, incident);
        _stored[incident.Id] = incident;
        _open.Add(incident);
    }

    /// <summary>Sends the writes waiting in <see cref="Writes"/> (a read later in the round must see them).</summary>
    public Task SendWritesAsync() => _writes.ExecuteAsync(_connection, _transaction);

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

    /// <summary>
    /// Writes each changed incident once, over the version read, with the round's other writes: one batch. Another writer
    /// in between fails the round (lost race).
    /// </summary>
    public async Task FlushAsync()
    {
        foreach (var id in _changed)
        {
            var latest = _open.Find(i => i.Id == id) ?? throw new InvalidOperationException($"incident {id} changed in this round but is not open");
            IncidentStore.WriteOver(_writes, _stored[id], latest);
            _stored[id] = latest;
        }

        _changed.Clear();
        await SendWritesAsync().ConfigureAwait(false);
    }
}
